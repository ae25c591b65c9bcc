"""Runs INSIDE the student's sandboxed kernel: call the graded functions, return data.

Right after each graded test cell has run, :class:`course_grader.execute.SandboxedExecute`
executes one more (invisible) cell in the same kernel: this file's source, compiled into
a namespace of its own, then ``main(globals(), job)``. ``job`` lists the calls of that
part, ``{"function": name, "args": <encoded tuple>, "describe": kind, "feeds": <encoded
list>, "given": {...}}``, drawn by the grader at grading time; ``"given"`` holds, for an
earlier part's function this one calls, the grader's answers at the arguments it expects
(so a wrong ``lstm_gates`` does not sink a right ``lstm_step``; :func:`given_function`).
Each call's result goes back as one
display message of type :data:`MIME`, holding only data (arrays, numbers, strings;
never pickles)::

    {"call": k, "result": <encoded>, "mutated": [argument indices changed in place]}
    {"call": k, "error": "ValueError: ..."}

The grader compares those data with its references in its own process; nothing here
decides a score. Standalone on purpose (stdlib and NumPy; Keras only to describe what a
model-building function returned): the course's packages are not in the sandbox. The
grader imports this file too, for the codec, so both sides speak the same format.
"""

from __future__ import annotations

import base64
import io
import math

import numpy as np

MIME = "application/vnd.lstm-course.probe+json"
MAX_DEPTH = 20
MAX_ITEMS = 10_000


class Unsupported:
    """Stands for a value the codec does not carry (its type name only)."""

    def __init__(self, type_name: str):
        self.type_name = type_name

    def __repr__(self):
        return f"<{self.type_name}>"


def encode(obj, depth: int = 0, count: list | None = None):
    """Encode arrays, scalars, str, None and (nested) tuple/list/dict as JSON-able data."""
    count = count if count is not None else [0]
    count[0] += 1
    if depth > MAX_DEPTH or count[0] > MAX_ITEMS:
        raise ValueError("result too deeply nested or too large")
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return obj if abs(obj) < 2**62 else {"__bigint__": str(obj)}
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else {"__float__": repr(obj)}
    if isinstance(obj, (np.ndarray, np.generic)):
        arr = np.asarray(obj)
        if arr.dtype.hasobject:
            return {"__unsupported__": f"numpy array of dtype {arr.dtype}"}
        buf = io.BytesIO()
        np.save(buf, arr, allow_pickle=False)
        key = "__ndarray__" if isinstance(obj, np.ndarray) else "__npscalar__"
        return {key: base64.b64encode(buf.getvalue()).decode("ascii")}
    if isinstance(obj, tuple):
        return {"__tuple__": [encode(v, depth + 1, count) for v in obj]}
    if isinstance(obj, list):
        return [encode(v, depth + 1, count) for v in obj]
    if isinstance(obj, dict):
        return {"__dict__": [[encode(k, depth + 1, count), encode(v, depth + 1, count)]
                             for k, v in obj.items()]}
    return {"__unsupported__": type(obj).__name__}


def decode(data, depth: int = 0):
    """Inverse of :func:`encode`; never unpickles."""
    if depth > MAX_DEPTH + 2:
        raise ValueError("data too deeply nested")
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [decode(v, depth + 1) for v in data]
    if isinstance(data, dict) and len(data) == 1:
        (key, value), = data.items()
        if key in ("__ndarray__", "__npscalar__"):
            arr = np.load(io.BytesIO(base64.b64decode(value)), allow_pickle=False)
            return arr if key == "__ndarray__" else arr[()]
        if key == "__tuple__":
            return tuple(decode(v, depth + 1) for v in value)
        if key == "__dict__":
            out = {}
            for k, v in value:
                k = decode(k, depth + 1)
                try:
                    hash(k)
                except TypeError:
                    k = repr(k)
                out[k] = decode(v, depth + 1)
            return out
        if key == "__float__":
            return float(value)
        if key == "__bigint__":
            return int(value)
        if key == "__unsupported__":
            return Unsupported(str(value))
    raise ValueError("malformed data")


# ---------------------------------------------------------------- describing Keras objects
def describe_model(model, feeds):
    """A Keras model as data: its layers' kinds and settings, its parameter count, the
    output of the whole model on each feed, and each layer's output shape on the first
    feed when the layers are applied one after the other."""
    import keras

    out = {"type": type(model).__name__, "is_model": isinstance(model, keras.Model)}
    if not out["is_model"]:
        return out
    layers = []
    for layer in model.layers:
        info = {"class": type(layer).__name__}
        for attr in ("units", "return_sequences", "mask_zero", "input_dim", "output_dim"):
            value = getattr(layer, attr, None)
            if isinstance(value, (bool, int)):
                info[attr] = value
        activation = getattr(layer, "activation", None)
        if activation is not None:
            info["activation"] = str(getattr(activation, "__name__", activation))
        layers.append(info)
    out["layers"] = layers
    out["outputs"] = [np.asarray(model(np.asarray(f))) for f in feeds]
    if feeds:
        shapes, y = [], np.asarray(feeds[0])
        for layer in model.layers:
            y = layer(y)
            shapes.append(tuple(int(n) for n in y.shape))
        out["layer_shapes"] = shapes
    out["params"] = int(model.count_params())
    return out


def describe_vectorizer(layer, feeds):
    """A text-vectorisation layer as data: its vocabulary and its output on each feed."""
    import keras

    out = {"type": type(layer).__name__,
           "is_vectorizer": isinstance(layer, keras.layers.TextVectorization)}
    if out["is_vectorizer"]:
        out["vocabulary"] = [str(w) for w in layer.get_vocabulary()]
        out["outputs"] = [np.asarray(layer(list(f))) for f in feeds]
    return out


DESCRIBE = {"model": describe_model, "vectorizer": describe_vectorizer}


def _short(err: BaseException) -> str:
    return f"{type(err).__name__}: {str(err)[:300]}"


def _changed(before, after) -> bool:
    if isinstance(before, np.ndarray):
        return not (isinstance(after, np.ndarray) and before.shape == after.shape
                    and np.array_equal(before, after, equal_nan=True))
    if isinstance(before, (list, tuple)):
        return (not isinstance(after, type(before)) or len(before) != len(after)
                or any(_changed(b, a) for b, a in zip(before, after, strict=True)))
    return False


def _same(a, b) -> bool:
    """Arguments equal up to rounding (arrays: same shape, allclose), else ==."""
    if isinstance(b, np.ndarray):
        try:
            a = np.asarray(a, dtype=np.float64)
        except (TypeError, ValueError):
            return False
        return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-9, atol=1e-12))
    if isinstance(b, (tuple, list)):
        return (isinstance(a, (tuple, list)) and len(a) == len(b)
                and all(_same(x, y) for x, y in zip(a, b, strict=True)))
    try:
        return bool(a == b)
    except Exception:
        return False


def given_function(table: list, own):
    """A stand-in for an earlier part's function: the grader's answer for the calls it
    expects (``table`` of (args, result)), the learner's own function for any other."""
    import copy

    def stand_in(*args, **kwargs):
        if not kwargs:
            for key, result in table:
                if len(key) == len(args) and all(
                        _same(a, k) for a, k in zip(args, key, strict=True)):
                    return copy.deepcopy(result)
        return own(*args, **kwargs)

    return stand_in


def main(user_ns: dict, job: dict) -> None:  # pragma: no cover - runs in the kernel
    """Run ``job``'s calls on the functions of ``user_ns``; publish one message each."""
    import contextlib
    import copy
    import json
    import signal

    from IPython.display import publish_display_data

    def emit(obj):
        publish_display_data({MIME: json.loads(json.dumps(obj))})

    def on_alarm(signum, frame):
        raise TimeoutError(f"the call took longer than {job['call_seconds']} s")

    for k, call in enumerate(job["calls"]):
        fn = user_ns.get(call["function"])
        if not callable(fn):
            emit({"call": k, "error": f"{call['function']} is not defined as a function"})
            continue
        own = {name: user_ns.get(name) for name in call.get("given") or {}
               if callable(user_ns.get(name))}
        try:
            for name, fn_own in own.items():
                user_ns[name] = given_function(decode(call["given"][name]), fn_own)
            args = decode(call["args"])
            kept = copy.deepcopy(args)
            sink = io.StringIO()
            old = signal.signal(signal.SIGALRM, on_alarm)
            signal.alarm(int(job["call_seconds"]))
            try:
                with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                    result = fn(*args)
                    describe = DESCRIBE.get(call.get("describe") or "")
                    if describe is not None:
                        result = describe(result, decode(call["feeds"]))
            finally:
                signal.alarm(0)
                signal.signal(signal.SIGALRM, old)
            mutated = [i for i, (b, a) in enumerate(zip(kept, args, strict=True))
                       if _changed(b, a)]
            emit({"call": k, "result": encode(result), "mutated": mutated})
        except BaseException as err:  # everything the learner's code raises
            emit({"call": k, "error": _short(err)})
        finally:
            user_ns.update(own)
