"""Out-of-kernel re-checks of the graded parts that ask for a function lstm_ref also has.

nbgrader's in-kernel tests can be defeated from inside the kernel (``np.allclose =
lambda *a, **k: True``). So after autograde, the grader re-runs each submission's
solution cells in a fresh sandboxed Python (no ``lstm_ref`` on its path), calls the
learner's function on inputs drawn at grading time, and compares the results in its own
process with ``lstm_ref``. A part whose re-check fails scores 0, whatever the kernel said.

Each assignment lists its re-checked parts in ``PARTS``; the grader reads only this.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def compare_arrays(got: Any, want: Any, *, rtol: float = 1e-5, atol: float = 1e-6) -> str | None:
    """Return None when ``got`` matches ``want``, else a short reason (no expected values).

    Strict: a tuple must be a tuple of the same length, arrays must have the same shape
    (no broadcasting), no NaN, and close within ``rtol``/``atol``.
    """
    if isinstance(want, tuple):
        if not isinstance(got, tuple) or len(got) != len(want):
            return f"expected a tuple of {len(want)} values, got {type(got).__name__}"
        for k, (g, w) in enumerate(zip(got, want, strict=True)):
            reason = compare_arrays(g, w, rtol=rtol, atol=atol)
            if reason:
                return f"item {k}: {reason}"
        return None
    if isinstance(want, (int, np.integer)) and not isinstance(want, bool):
        if isinstance(got, bool) or not isinstance(got, (int, np.integer)) or got != want:
            return "wrong integer value"
        return None
    if not isinstance(got, np.ndarray):
        return f"expected a NumPy array, got {type(got).__name__}"
    want = np.asarray(want)
    if got.shape != want.shape:
        return f"shape {got.shape}, expected {want.shape}"
    if not np.issubdtype(got.dtype, np.number):
        return f"dtype {got.dtype} is not numeric"
    if not np.all(np.isfinite(got)):
        return "result holds NaN or infinity"
    err = float(np.max(np.abs(got.astype(np.float64) - want.astype(np.float64)), initial=0.0))
    tol = atol + rtol * float(np.max(np.abs(want), initial=0.0))
    if err > tol:
        return f"max abs error {err:.2e} exceeds tolerance {tol:.1e}"
    return None


@dataclass(frozen=True)
class Part:
    """One re-checked part of an assignment.

    Attributes
    ----------
    grade_id : str
        The nbgrader ``grade_id`` of the test cell whose points this re-check guards
        (the hidden test cell of that part).
    function : str
        Name of the function the learner's solution cells define.
    make_inputs : callable (numpy.random.Generator) -> list of tuple
        Argument tuples to call the function with, drawn at grading time.
    reference : callable
        The reference (usually from ``lstm_ref``) called with the same arguments.
    compare : callable (got, want) -> str or None
        None if the result is acceptable, else a reason that reveals no expected value.
    """

    grade_id: str
    function: str
    make_inputs: Callable[[np.random.Generator], list[tuple]]
    reference: Callable[..., Any]
    compare: Callable[[Any, Any], str | None] = field(default=compare_arrays)


#: assignment name -> its re-checked parts. Filled in with the assignments.
PARTS: dict[str, list[Part]] = {}
