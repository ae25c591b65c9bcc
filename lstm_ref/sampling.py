r"""Sampling from a character-level LSTM language model, in NumPy.

The model is the one of chapter 7, in Keras::

    keras.Sequential([keras.Input((None,), dtype="int32"),
                      keras.layers.Embedding(V, D),
                      keras.layers.LSTM(H, return_sequences=True),
                      keras.layers.Dense(V)])          # logits of the next symbol

and its weights are passed here in that order, each as Keras stores it:
``embedding`` (V, D), the LSTM's ``kernel`` (D, 4H), ``recurrent_kernel`` (H, 4H) and
``bias`` (4H,), the dense layer's ``dense_kernel`` (H, V) and ``dense_bias`` (V,). A model
fed one-hot vectors instead of an embedding is the special case ``embedding = np.eye(V)``.

Sampling at temperature :math:`\tau` draws the next symbol from

.. math::

    p_\tau(k) = \frac{\exp(z_k / \tau)}{\sum_j \exp(z_j / \tau)}

where :math:`z` are the logits: :math:`\tau = 1` is the model's own distribution,
:math:`\tau < 1` sharpens it (:math:`\tau \to 0`: always the most likely symbol) and
:math:`\tau > 1` flattens it (:math:`\tau \to \infty`: uniform).
"""

from __future__ import annotations

import numbers

import numpy as np

from . import _checks
from .lstm import lstm_forward, lstm_step

__all__ = ["language_model_logits", "sample_categorical", "sample_sequence",
           "softmax_temperature"]


def _temperature(temperature: object) -> float:
    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real):
        raise TypeError(f"temperature must be a real number >= 0, got "
                        f"{type(temperature).__name__} {temperature!r}")
    t = float(temperature)
    if not np.isfinite(t) or t < 0:
        raise ValueError(f"temperature must be finite and >= 0 (0 means: always the most "
                         f"likely symbol), got {temperature!r}")
    return t


def softmax_temperature(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    r"""Probabilities :math:`\mathrm{softmax}(z / \tau)` along the last axis.

    Computed stably (the largest scaled logit is subtracted before exponentiating), so a
    small temperature does not overflow.

    Parameters
    ----------
    logits : ndarray, shape (..., V)
        Unnormalised log-probabilities :math:`z` (what a ``Dense(V)`` without activation
        outputs), float32 or float64, finite.
    temperature : float
        :math:`\tau \ge 0`. ``1`` gives the model's distribution; ``0`` puts all the mass
        on the largest logit (the first one in a tie), the limit :math:`\tau \to 0`.

    Returns
    -------
    ndarray, shape (..., V)
        Non-negative, summing to 1 along the last axis; dtype of ``logits``.

    Raises
    ------
    TypeError
        If ``logits`` is not a floating array or ``temperature`` is not a number.
    ValueError
        If ``temperature`` is negative, NaN or infinite, or ``logits`` holds NaN or
        infinity or has no last axis of size >= 1.
    """
    z = _checks.as_float_array("logits", logits)
    t = _temperature(temperature)
    if z.ndim == 0 or z.shape[-1] == 0:
        raise ValueError(f"logits must have a last axis of size V >= 1 (one logit per "
                         f"symbol), got shape {z.shape}")
    if not np.all(np.isfinite(z)):
        raise ValueError("logits hold NaN or infinity; a softmax of them is undefined")
    if t == 0.0:
        out = np.zeros_like(z)
        np.put_along_axis(out, np.argmax(z, axis=-1)[..., None], 1.0, axis=-1)
        return out
    # Subtract the largest logit first: every scaled value is then <= 0 (the largest is
    # exactly 0), so exp never overflows; a tiny temperature only sends the others to -inf
    # and their probabilities to 0, the greedy limit.
    with np.errstate(over="ignore", under="ignore"):
        s = (z - z.max(axis=-1, keepdims=True)) / z.dtype.type(t)
        e = np.exp(s)
    return e / e.sum(axis=-1, keepdims=True)


def _generator(rng: object) -> np.random.Generator:
    if rng is None or isinstance(rng, (numbers.Integral, np.random.SeedSequence)):
        return np.random.default_rng(rng)
    if isinstance(rng, np.random.Generator):
        return rng
    raise TypeError(f"rng must be a numpy.random.Generator, an int seed or None, got "
                    f"{type(rng).__name__}")


def sample_categorical(probs: np.ndarray, rng: np.random.Generator | int | None = None
                       ) -> np.ndarray:
    """Draw one index per row of ``probs`` by inverting the cumulative distribution.

    Row ``r`` gets the smallest ``k`` with ``cumsum(probs[r])[k] > u[r]``, for ``u`` drawn
    uniformly in [0, 1) by ``rng.random``: the draws depend only on ``rng`` and
    ``probs``, so two implementations that compute the same probabilities and share a
    seed sample the same symbols.

    Parameters
    ----------
    probs : ndarray, shape (..., V)
        Probabilities along the last axis: non-negative, each row summing to 1 (within
        1e-4, which float32 rounding needs).
    rng : numpy.random.Generator, int or None
        The random source, or a seed for ``np.random.default_rng``.

    Returns
    -------
    ndarray of int64, shape (...)
        Indices in [0, V); an index of probability 0 is never drawn.
    """
    p = _checks.as_float_array("probs", probs)
    if p.ndim == 0 or p.shape[-1] == 0:
        raise ValueError(f"probs must have a last axis of size V >= 1, got shape {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError("probs must be finite and non-negative")
    total = p.sum(axis=-1)
    if np.any(np.abs(total - 1.0) > 1e-4):
        worst = float(total.flat[np.argmax(np.abs(total - 1.0))])
        raise ValueError(f"each row of probs must sum to 1, found a row summing to "
                         f"{worst:.6g}; did you pass logits instead of probabilities?")
    gen = _generator(rng)
    cdf = np.cumsum(p, axis=-1, dtype=np.float64)
    u = gen.random(p.shape[:-1]) * cdf[..., -1]     # scaled: rows summing to 1 - 1e-7 too
    idx = (cdf <= u[..., None]).sum(axis=-1)
    # Rounding can leave u at or above the last nonzero mass: take the last symbol that
    # has probability > 0 rather than one that has none.
    last_nonzero = p.shape[-1] - 1 - np.argmax((p > 0)[..., ::-1], axis=-1)
    return np.minimum(idx, last_nonzero).astype(np.int64)


def _model_weights(embedding, kernel, recurrent_kernel, bias, dense_kernel, dense_bias):
    kernel, recurrent_kernel, bias, D, H = _checks.recurrent_weights(
        kernel, recurrent_kernel, bias, 4)
    embedding = _checks.as_float_array("embedding", embedding)
    if embedding.ndim != 2 or embedding.shape[1] != D:
        raise ValueError(f"embedding must have shape (V, D) = (V, {D}) with D from the LSTM "
                         f"kernel's first dimension, got shape {embedding.shape}")
    V = embedding.shape[0]
    dense_kernel = _checks.as_float_array("dense_kernel", dense_kernel)
    dense_bias = _checks.as_float_array("dense_bias", dense_bias)
    if dense_kernel.shape != (H, V):
        raise ValueError(f"dense_kernel must have shape (H, V) = ({H}, {V}) (H from the LSTM, "
                         f"V from the embedding: the sampled symbol is fed back in), got "
                         f"shape {dense_kernel.shape}")
    if dense_bias.shape != (V,):
        raise ValueError(f"dense_bias must have shape (V,) = ({V},), got shape "
                         f"{dense_bias.shape}")
    return embedding, kernel, recurrent_kernel, bias, dense_kernel, dense_bias, V


def _ids(name: str, ids: object, V: int) -> np.ndarray:
    if not isinstance(ids, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array of integer ids, got "
                        f"{type(ids).__name__}")
    if not np.issubdtype(ids.dtype, np.integer):
        raise TypeError(f"{name} must hold integer ids (symbol indices), got dtype "
                        f"{ids.dtype}")
    if ids.ndim != 2 or ids.shape[1] < 1:
        hint = " (a single sequence? add a batch axis: ids[None])" if ids.ndim == 1 else ""
        raise ValueError(f"{name} must have shape (N, T) with T >= 1, got shape "
                         f"{ids.shape}{hint}")
    if ids.min() < 0 or ids.max() >= V:
        raise ValueError(f"{name} must hold ids in [0, V) = [0, {V}) (V from the "
                         f"embedding), got values from {ids.min()} to {ids.max()}")
    return ids


def language_model_logits(ids, embedding, kernel, recurrent_kernel, bias, dense_kernel,
                          dense_bias, h0=None, c0=None):
    """Logits of the next symbol after every prefix: the model run on a whole sequence.

    Equals the Keras model's output ``model(ids)`` (Embedding, LSTM with
    ``return_sequences=True``, Dense without activation) for the same weights.

    Parameters
    ----------
    ids : ndarray of int, shape (N, T)
        Symbol indices in [0, V).
    embedding : ndarray, shape (V, D)
    kernel, recurrent_kernel, bias : ndarray, shapes (D, 4H), (H, 4H), (4H,)
        The LSTM's weights in Keras' layout (gate order i, f, c, o).
    dense_kernel, dense_bias : ndarray, shapes (H, V), (V,)
    h0, c0 : ndarray, shape (N, H), optional
        Initial states; zeros when omitted.

    Returns
    -------
    logits : ndarray, shape (N, T, V)
        ``logits[:, t]`` scores the symbol that follows ``ids[:, t]``.
    state : tuple of ndarray, each (N, H)
        ``(h_T, c_T)``, the LSTM's states after the last symbol (to continue from).
    """
    emb, W, U, b, Wd, bd, V = _model_weights(embedding, kernel, recurrent_kernel, bias,
                                             dense_kernel, dense_bias)
    ids = _ids("ids", ids, V)
    hs, cache = lstm_forward(emb[ids], W, U, b, h0, c0)
    return hs @ Wd + bd, (hs[:, -1].copy(), cache["cs"][:, -1].copy())


def sample_sequence(prime, length, embedding, kernel, recurrent_kernel, bias, dense_kernel,
                    dense_bias, temperature=1.0, rng=None):
    """Generate ``length`` symbols after ``prime``, one :func:`lstm_step` at a time.

    The LSTM reads the prime; then, ``length`` times: the dense layer turns the hidden
    state into logits, :func:`softmax_temperature` into probabilities,
    :func:`sample_categorical` picks the next symbol, and that symbol's embedding is the
    next step's input (the model runs on its own output: no teacher forcing).

    Parameters
    ----------
    prime : ndarray of int, shape (N, P)
        The N starting sequences, P >= 1 symbols each.
    length : int
        How many symbols to generate, >= 0.
    embedding, kernel, recurrent_kernel, bias, dense_kernel, dense_bias : ndarray
        As in :func:`language_model_logits`.
    temperature : float
        :math:`\\tau \\ge 0`; ``0`` picks the most likely symbol every time (greedy).
    rng : numpy.random.Generator, int or None
        The random source (or a seed). One ``rng.random(N)`` draw per generated step.

    Returns
    -------
    ndarray of int64, shape (N, length)
        The generated symbols (the prime is not repeated).
    """
    emb, W, U, b, Wd, bd, V = _model_weights(embedding, kernel, recurrent_kernel, bias,
                                             dense_kernel, dense_bias)
    prime = _ids("prime", prime, V)
    if isinstance(length, bool) or not isinstance(length, numbers.Integral) or length < 0:
        raise ValueError(f"length must be an int >= 0, got {length!r}")
    t = _temperature(temperature)
    gen = _generator(rng)
    N = prime.shape[0]
    H = U.shape[0]
    dtype = _checks.result_dtype(emb, W, U, b)
    h = np.zeros((N, H), dtype=dtype)
    c = np.zeros((N, H), dtype=dtype)
    for k in range(prime.shape[1] - 1):              # all but the last prime symbol
        h, c = lstm_step(emb[prime[:, k]], h, c, W, U, b)
    out = np.empty((N, int(length)), dtype=np.int64)
    current = prime[:, -1]
    for k in range(int(length)):
        h, c = lstm_step(emb[current], h, c, W, U, b)
        probs = softmax_temperature(h @ Wd + bd, t)
        current = sample_categorical(probs, gen)
        out[:, k] = current
    return out
