"""The test helpers every assignment notebook carries in its read-only "setup" cell.

The text between the two marker lines below is copied verbatim into each notebook
(``tests/test_assignments.py`` checks it), so the notebooks need no file besides
themselves. Pure NumPy. Every helper raises ``AssertionError`` with a message that says
what went wrong (which output, which shape, how far off, on what input) and never the
expected values. Shapes are compared exactly (no broadcasting), lists are rejected where
an array is asked for, NaN and infinity are rejected.

``where`` is a short description of the input, e.g. ``"for x (3, 2), h_prev (3, 4)"`` or
``"with zero weights"``; it ends every message.
"""

import numpy as np


# --- BEGIN CHECKS ---
def shapes(**arrays):
    """'x (3, 2), h_prev (3, 4)': the shapes of some inputs, for messages."""
    return ", ".join(f"{k} {np.shape(v)}" for k, v in arrays.items())


def check_array(what, got, shape, where="", dtype=None):
    """Fail unless `got` is a finite float NumPy array of exactly `shape` (and `dtype`)."""
    on = f" {where}" if where else ""
    assert isinstance(got, np.ndarray), (
        f"{what} is a {type(got).__name__}, expected a NumPy array{on}")
    assert got.shape == tuple(shape), (
        f"{what} has shape {got.shape} but expected {tuple(shape)}{on}")
    assert np.issubdtype(got.dtype, np.floating), (
        f"{what} has dtype {got.dtype}, expected a float dtype{on}")
    assert dtype is None or got.dtype == dtype, (
        f"{what} has dtype {got.dtype} but expected {np.dtype(dtype)}{on}")
    assert np.isfinite(got).all(), f"{what} holds NaN or infinity{on}"


def check_close(what, got, want, where="", tol=1e-6, dtype=None):
    """Fail unless `got` has exactly `want`'s shape and is within `tol` of it.

    The tolerance is relative to the largest magnitude in `want` (absolute below 1).
    """
    want = np.asarray(want, dtype=np.float64)
    check_array(what, got, want.shape, where, dtype)
    err = float(np.max(np.abs(got.astype(np.float64) - want), initial=0.0))
    lim = tol * max(1.0, float(np.max(np.abs(want), initial=0.0)))
    on = f" {where}" if where else ""
    assert err <= lim, f"{what}: max abs error {err:.1e} (tolerance {lim:.0e}){on}"


def check_number(what, got, want, where="", tol=1e-6):
    """Fail unless `got` is a real scalar (not an array, not a bool) within `tol` of `want`."""
    on = f" {where}" if where else ""
    number = isinstance(got, (int, float, np.integer, np.floating))
    number = number and not isinstance(got, (bool, np.bool_))
    assert number, (
        f"{what} is a {type(got).__name__}, expected a number{on}")
    assert np.isfinite(got), f"{what} is {got}{on}"
    lim = tol * max(1.0, abs(float(want)))
    assert abs(float(got) - float(want)) <= lim, f"{what} is {float(got):.6g}, which is wrong{on}"


def check_int(what, got, want, where=""):
    """Fail unless `got` is an int (Python or NumPy, not a bool) equal to `want`."""
    on = f" {where}" if where else ""
    integer = isinstance(got, (int, np.integer)) and not isinstance(got, (bool, np.bool_))
    assert integer, f"{what} is a {type(got).__name__}, expected an int{on}"
    assert got == want, f"{what} is {got}, which is wrong{on}"


def check_tuple(what, got, n, where=""):
    """Fail unless `got` is a tuple of `n` items."""
    on = f" {where}" if where else ""
    assert isinstance(got, tuple), (
        f"{what} returned a {type(got).__name__}, expected a tuple of {n} items{on}")
    assert len(got) == n, f"{what} returned {len(got)} items, expected {n}{on}"


def check_raises(what, call, error=ValueError, where=""):
    """Fail unless `call()` raises `error` (a helpful error beats a silent wrong answer)."""
    on = f" {where}" if where else ""
    try:
        call()
    except error:
        return
    except Exception as exc:
        raise AssertionError(
            f"{what} raised {type(exc).__name__}, expected {error.__name__}{on}") from None
    raise AssertionError(f"{what} raised nothing, expected {error.__name__}{on}")
# --- END CHECKS ---


def checks_block() -> str:
    """The text between the markers (both marker lines included), as notebooks carry it."""
    from pathlib import Path

    text = Path(__file__).read_text(encoding="utf-8")
    start = text.index("# --- BEGIN CHECKS ---")
    end = text.index("# --- END CHECKS ---") + len("# --- END CHECKS ---")
    return text[start:end]
