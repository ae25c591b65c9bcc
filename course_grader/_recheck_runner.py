"""Runs INSIDE the sandbox: a submission's setup + solution cells, then the calls asked for.

Usage: ``python _recheck_runner.py job.json``. Standalone on purpose (stdlib, NumPy and
IPython only; the course's packages are not in the sandbox). The grader imports this
file too, for the codec, so both sides speak the same format.

The job holds the cells' sources and the calls ``{"function": name, "args": [...]}``.
One JSON line per event goes to the original stdout (everything the student's code
prints goes to /dev/null)::

    {"cell": i, "ok": bool, "error": str}     after each cell
    {"call": k, "result": <encoded>}           or {"call": k, "error": str}
    {"tamper": [names...]}                     names the cells rebound or replaced
    {"done": true}

Results are only data: the verdicts are made by the grader, in its own process.
"""

from __future__ import annotations

import base64
import io
import json
import math

import numpy as np

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
        if math.isfinite(obj):
            return obj
        return {"__float__": repr(obj)}
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


def _short(err: BaseException | None) -> str:
    if err is None:
        return ""
    return f"{type(err).__name__}: {str(err)[:300]}"


def _snapshot(ns: dict, modules: dict) -> dict:
    """Identities of what the setup cell defined and of the modules' public attributes."""
    snap = {("ns", k): id(v) for k, v in ns.items() if not k.startswith("_")}
    for mname, mod in modules.items():
        for attr in dir(mod):
            if not attr.startswith("_"):
                try:
                    snap[(mname, attr)] = id(getattr(mod, attr))
                except Exception:
                    pass
    return snap


def main(job_path: str) -> None:  # pragma: no cover - runs in the sandbox
    import builtins
    import os
    import signal
    import sys

    with open(job_path, encoding="utf-8") as f:
        job = json.load(f)
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")

    def emit(obj):
        out.write(json.dumps(obj) + "\n")
        out.flush()

    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    sys.stdout = sys.stderr = open(os.devnull, "w")
    # the working folder may hold the learner's helper modules: reachable, never shadowing
    sys.path.append(os.getcwd())

    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    cfg = Config()
    cfg.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=cfg, user_ns={})
    ns = shell.user_ns

    def on_alarm(signum, frame):
        raise TimeoutError("took too long (time limit of the re-check)")

    signal.signal(signal.SIGALRM, on_alarm)
    cells = job["cells"]
    snap = None
    for i, src in enumerate(cells):
        if i == job.get("setup_cells", 1):
            snap = _snapshot(ns, {"numpy": np, "builtins": builtins, "math": math})
        emit({"start": i})
        try:
            signal.alarm(int(job.get("cell_seconds", 30)))
            try:
                r = shell.run_cell(src, store_history=False, silent=True)
            finally:
                signal.alarm(0)
            emit({"cell": i, "ok": bool(r.success),
                  "error": _short(r.error_before_exec or r.error_in_exec)})
        except BaseException as err:
            emit({"cell": i, "ok": False, "error": _short(err)})
    if snap is not None:
        now = _snapshot(ns, {"numpy": np, "builtins": builtins, "math": math})
        changed = sorted(f"{m}.{a}" if m != "ns" else a
                         for (m, a), ident in snap.items() if now.get((m, a)) != ident)
        emit({"tamper": changed[:50]})
    for k, call in enumerate(job["calls"]):
        fn = ns.get(call["function"])
        if not callable(fn):
            emit({"call": k, "error": f"{call['function']} is not defined as a function"})
            continue
        emit({"call_start": k})
        try:
            args = decode(call["args"])
            signal.alarm(int(job.get("call_seconds", 20)))
            try:
                res = fn(*args)
            finally:
                signal.alarm(0)
            emit({"call": k, "result": encode(res)})
        except BaseException as err:
            emit({"call": k, "error": _short(err)})
    emit({"done": True})
    out.close()
    os._exit(0)


if __name__ == "__main__":  # pragma: no cover
    import sys

    main(sys.argv[1])
