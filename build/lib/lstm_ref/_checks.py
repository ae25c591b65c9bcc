"""Input validation shared by every public function.

Every error names the argument, the shape (or dtype) expected and the one received, so
that a learner who passes ``x`` of shape (T, D) instead of (N, T, D) reads exactly that.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def as_float_array(name: str, value: object) -> np.ndarray:
    """Return ``value`` as a floating NumPy array, or raise a clear error.

    NumPy arrays and array-likes that implement ``__array__`` (TensorFlow tensors, for
    example) are accepted; Python lists, scalars and ``None`` are not, because a list of
    the wrong nesting silently becomes an array of the wrong shape.
    """
    if value is None:
        raise TypeError(f"{name} is None; expected a NumPy array")
    if not isinstance(value, np.ndarray):
        if isinstance(value, (list, tuple, int, float, str, bytes, dict)) or not hasattr(
            value, "__array__"
        ):
            raise TypeError(
                f"{name} must be a NumPy array, got {type(value).__name__}; "
                f"wrap it with np.asarray(..., dtype=np.float32) first"
            )
        value = np.asarray(value)
    if not np.issubdtype(value.dtype, np.floating):
        raise TypeError(
            f"{name} has dtype {value.dtype}; expected a floating dtype "
            f"(float32 or float64)"
        )
    return value


def _fmt(shape: Sequence[object]) -> str:
    parts = [str(s) for s in shape]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def _dims(n: int) -> str:
    return f"{n} dimension" + ("" if n == 1 else "s")


def check_shape(name: str, arr: np.ndarray, expected: Sequence[object]) -> None:
    """Check ``arr.shape`` against ``expected``, whose entries are ints or labels.

    A label such as ``"N"`` matches any size; ints must match exactly. The message shows
    the expected shape with the labels resolved where they are known.
    """
    if arr.ndim != len(expected):
        raise ValueError(
            f"{name} must have {_dims(len(expected))} with shape {_fmt(expected)}, "
            f"got {_dims(arr.ndim)} with shape {_fmt(arr.shape)}"
        )
    for size, want in zip(arr.shape, expected, strict=True):
        if isinstance(want, (int, np.integer)) and size != want:
            raise ValueError(
                f"{name} must have shape {_fmt(expected)}, got shape {_fmt(arr.shape)}"
            )


def result_dtype(*arrays: np.ndarray | None) -> np.dtype:
    """The floating dtype the computation runs in: NumPy's promotion of the inputs."""
    return np.result_type(*[a.dtype for a in arrays if a is not None])


def recurrent_weights(
    kernel: object,
    recurrent_kernel: object,
    bias: object,
    gates: int,
    *,
    bias_rows: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """Validate a Keras-layout weight triple and return it with (D, H).

    ``gates`` is the number of gate blocks (1 for SimpleRNN, 4 for LSTM, 3 for GRU).
    ``bias_rows`` is 2 for Keras' GRU with ``reset_after=True`` (bias (2, 3H)).
    """
    kernel = as_float_array("kernel", kernel)
    recurrent_kernel = as_float_array("recurrent_kernel", recurrent_kernel)
    bias = as_float_array("bias", bias)
    if recurrent_kernel.ndim != 2:
        raise ValueError(
            f"recurrent_kernel must have 2 dimensions with shape (H, {gates}H), got "
            f"shape {_fmt(recurrent_kernel.shape)}"
        )
    H = recurrent_kernel.shape[0]
    if recurrent_kernel.shape[1] != gates * H:
        raise ValueError(
            f"recurrent_kernel must have shape (H, {gates}H) = ({H}, {gates * H}) for "
            f"H = {H}, got shape {_fmt(recurrent_kernel.shape)}"
            + (" (is the gate count right for this cell?)" if gates > 1 else "")
        )
    if kernel.ndim != 2 or kernel.shape[1] != gates * H:
        raise ValueError(
            f"kernel must have shape (D, {gates}H) = (D, {gates * H}) to match "
            f"recurrent_kernel's H = {H}, got shape {_fmt(kernel.shape)}"
        )
    want_bias: tuple[int, ...] = (gates * H,) if bias_rows is None else (bias_rows, gates * H)
    if bias.shape != want_bias:
        label = f"({gates}H,)" if bias_rows is None else f"({bias_rows}, {gates}H)"
        raise ValueError(
            f"bias must have shape {label} = {_fmt(want_bias)} for H = {H}, "
            f"got shape {_fmt(bias.shape)}"
        )
    return kernel, recurrent_kernel, bias, kernel.shape[0], H


def sequence_input(name: str, x: object, D: int) -> np.ndarray:
    """Validate a batch-first sequence ``x`` of shape (N, T, D)."""
    x = as_float_array(name, x)
    if x.ndim != 3:
        hint = ""
        if x.ndim == 2:
            hint = " (a single sequence? add a batch axis: x[None])"
        raise ValueError(
            f"{name} must have 3 dimensions (N, T, D) = (N, T, {D}), got shape "
            f"{_fmt(x.shape)}{hint}"
        )
    if x.shape[2] != D:
        raise ValueError(
            f"{name} must have shape (N, T, D) with D = {D} (from kernel's first "
            f"dimension), got shape {_fmt(x.shape)}"
        )
    if x.shape[1] < 1:
        raise ValueError(f"{name} must have at least one time step, got shape {_fmt(x.shape)}")
    return x


def step_input(name: str, x: object, D: int) -> np.ndarray:
    """Validate a one-step input ``x`` of shape (N, D)."""
    x = as_float_array(name, x)
    if x.ndim != 2 or x.shape[1] != D:
        raise ValueError(
            f"{name} must have shape (N, D) = (N, {D}) with D from kernel's first "
            f"dimension, got shape {_fmt(x.shape)}"
        )
    return x


def state(name: str, value: object, N: int, H: int, dtype: np.dtype) -> np.ndarray:
    """Validate an (N, H) state, or build zeros when ``value`` is None."""
    if value is None:
        return np.zeros((N, H), dtype=dtype)
    value = as_float_array(name, value)
    if value.shape != (N, H):
        raise ValueError(
            f"{name} must have shape (N, H) = ({N}, {H}), got shape {_fmt(value.shape)}"
        )
    return value


def upstream(name: str, value: object, shape: tuple[int, ...]) -> np.ndarray:
    """Validate an upstream gradient that must match a forward output's shape."""
    value = as_float_array(name, value)
    if value.shape != shape:
        raise ValueError(
            f"{name} must have the shape of the forward output {_fmt(shape)}, "
            f"got shape {_fmt(value.shape)}"
        )
    return value
