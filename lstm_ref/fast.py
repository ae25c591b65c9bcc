r"""The LSTM layer of :mod:`lstm_ref.lstm`, optimised: same signatures, same results.

:func:`lstm_ref.lstm_forward` and :func:`lstm_ref.lstm_backward` are written to be read
beside the book: one step function and one loop over time. The two functions here compute
the same thing several times faster (``benchmarks/bench_lstm.py`` measures them against
Keras), for when the reference runs inside a training or evaluation loop. The tests check
that they equal the plain ones in float64 (within 1e-12: outputs, states and every
gradient) and equal Keras' ``LSTM`` layer. Read :mod:`lstm_ref.lstm` first: the notation,
the weight layout (gate blocks i, f, c, o), the shapes and the cache keys are the same.

How it is faster (details in the Notes of :func:`lstm_forward` and the comments of
:func:`lstm_backward`):

* feature-major storage, (T, features, N), so that every gate block of a step is one
  contiguous (H, N) block;
* one matrix product per step, :math:`[W^\top | b | U^\top] [x_t; 1; h_{t-1}]`;
* :math:`\sigma(a) = (1 + \tanh(a / 2)) / 2` with the sigmoid blocks of the weights halved
  once, so that one ``np.tanh`` serves all four gates;
* a backward pass that works through the sequence in cache-sized chunks of steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _checks

__all__ = ["lstm_backward", "lstm_forward"]

#: lstm_backward works through the sequence in chunks of about this many array elements
#: per (4H, N) gate block times steps (2**18 floats: 1 MB in float32), sized to stay in
#: cache. Results do not depend on it (tests set it small to exercise the chunking).
_CHUNK_ELEMENTS = 2**18


def lstm_forward(
    x: np.ndarray,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray,
    h0: np.ndarray | None = None,
    c0: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    r"""Run an LSTM over a batch of sequences: :func:`lstm_ref.lstm_forward`, faster.

    Parameters
    ----------
    x : ndarray, shape (N, T, D)
        Batch-first input sequences.
    kernel : ndarray, shape (D, 4H)
    recurrent_kernel : ndarray, shape (H, 4H)
    bias : ndarray, shape (4H,)
        Weights in Keras' layout, gate order i, f, c, o.
    h0, c0 : ndarray, shape (N, H), optional
        Initial hidden and cell states; zeros when omitted (as in Keras).

    Returns
    -------
    hs : ndarray, shape (N, T, H)
        Hidden state at every step (a view, see Notes).
    cache : dict
        What :func:`lstm_backward` needs: the keys and shapes of the cache of
        :func:`lstm_ref.lstm_forward` (``"gates"`` (N, T, 4H), ``"cs"`` (N, T, H), ...),
        as views of the feature-major storage.

    Notes
    -----
    Three implementation choices make this several times faster than the plain loop of
    :func:`lstm_ref.lstm_forward`, with the same results to rounding:

    * Arrays are stored feature-major, (T, features, N), so that at each step every gate
      block and state is one contiguous (H, N) block. ``hs`` and the cache entries are
      (N, T, ...) *views* of that storage (``hs.flags.c_contiguous`` is False;
      ``np.ascontiguousarray(hs)`` makes a copy in the usual layout if one is needed).
    * One matrix product per step gives the whole pre-activation:
      :math:`a_t^\top = [W^\top \,|\, b \,|\, U^\top]\,[x_t^\top; 1; h_{t-1}^\top]`, with
      :math:`h_{t-1}` written by the previous step straight into the right-hand block.
    * :math:`\sigma(a) = (1 + \tanh(a / 2)) / 2`. The sigmoid blocks of the weights are
      halved once (exact in floating point), so one fast ``np.tanh`` over the whole
      (4H, N) block serves all four gates; :func:`lstm_ref.sigmoid` (SciPy's ``expit``)
      is several times slower per element.
    """
    kernel, recurrent_kernel, bias, D, H = _checks.recurrent_weights(
        kernel, recurrent_kernel, bias, 4
    )
    x = _checks.sequence_input("x", x, D)
    dtype = _checks.result_dtype(x, kernel, recurrent_kernel, bias)
    N, T, _ = x.shape
    h0 = _checks.state("h0", h0, N, H, dtype)
    c0 = _checks.state("c0", c0, N, H, dtype)
    H2, H3 = 2 * H, 3 * H
    U = recurrent_kernel.astype(dtype, copy=False)
    half = np.full(4 * H, 0.5, dtype=dtype)        # halve the i, f, o blocks: see Notes
    half[H2:H3] = 1.0
    # [W^T | b | U^T], (4H, D + 1 + H), and the right-hand sides [x_t; 1; h_{t-1}] of all
    # steps, (T + 1, D + 1 + H, N): step t reads block t and writes h_t into block t + 1.
    WbU_T = np.concatenate([kernel, bias[None, :], U]).T * half[:, None]
    WbU_T = np.ascontiguousarray(WbU_T, dtype=dtype)
    xh = np.empty((T + 1, D + 1 + H, N), dtype=dtype)
    xh[:T, :D] = x.transpose(1, 2, 0)
    xh[T, :D] = 0.0
    xh[:, D] = 1.0
    xh[0, D + 1:] = h0.T
    hs = xh[1:, D + 1:]                            # (T, H, N) view: h_t of every step
    gates = np.empty((T, 4 * H, N), dtype=dtype)
    cs = np.empty((T, H, N), dtype=dtype)
    tanh_cs = np.empty((T, H, N), dtype=dtype)
    ig = np.empty((H, N), dtype=dtype)             # i * g, reused every step
    c = np.ascontiguousarray(c0.T, dtype=dtype)
    one_half = dtype.type(0.5)
    mul, add, tanh, matmul = np.multiply, np.add, np.tanh, np.matmul
    # Per-step views, made once: a = [i, f, g, o] pre-activations (4H, N) of step t.
    steps = zip(xh[:T], gates, gates[:, :H2], gates[:, :H], gates[:, H:H2],
                gates[:, H2:H3], gates[:, H3:], cs, tanh_cs, hs, strict=True)
    for xh_t, a, i_f, i, f, g, o, c_t, tc, h_t in steps:
        matmul(WbU_T, xh_t, out=a)      # x_t W + b + h_{t-1} U, sigmoid blocks halved
        tanh(a, out=a)                  # g, and tanh(a / 2) for i, f, o
        mul(i_f, one_half, out=i_f)     # i, f = (1 + tanh(a / 2)) / 2
        add(i_f, one_half, out=i_f)
        mul(o, one_half, out=o)         # o likewise
        add(o, one_half, out=o)
        mul(f, c, out=c_t)              # c_t = f * c_{t-1} + i * g
        mul(i, g, out=ig)
        add(c_t, ig, out=c_t)
        tanh(c_t, out=tc)
        mul(o, tc, out=h_t)             # h_t = o * tanh(c_t), into block t + 1 of xh
        c = c_t

    def batch_first(a: np.ndarray) -> np.ndarray:   # (T, F, N) -> (N, T, F), a view
        return a.transpose(2, 0, 1)

    hs = batch_first(hs)
    cache = {"x": x, "h0": h0, "c0": c0, "hs": hs, "cs": batch_first(cs),
             "tanh_cs": batch_first(tanh_cs), "gates": batch_first(gates),
             "kernel": kernel, "recurrent_kernel": U, "bias": bias}
    return hs, cache


def _feature_major_copy(a: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """(N, T, F) -> a C-contiguous (T, F, N) array; free when ``a`` is already a view of
    such an array (e.g. made with ``np.zeros_like(hs)``)."""
    N, T, F = a.shape
    if not a.flags.c_contiguous:
        return np.ascontiguousarray(a.transpose(1, 2, 0), dtype=dtype)
    # The usual (N, T, F) layout: transpose the (N, T*F) matrix 16 rows at a time, which
    # keeps reads and writes in cache (several times faster than one strided copy).
    out = np.empty((T, F, N), dtype=dtype)
    src, dst = a.reshape(N, T * F), out.reshape(T * F, N)
    for i in range(0, N, 16):
        dst[:, i : i + 16] = src[i : i + 16].T
    return out


def lstm_backward(dhs: np.ndarray, cache: dict[str, Any]) -> dict[str, np.ndarray]:
    r"""Backpropagation through time: :func:`lstm_ref.lstm_backward`, faster.

    Parameters
    ----------
    dhs : ndarray, shape (N, T, H)
        Gradient of the loss with respect to every hidden state ``hs``.
    cache : dict
        The cache returned by :func:`lstm_forward` (that of
        :func:`lstm_ref.lstm_forward` works too, more slowly).

    Returns
    -------
    grads : dict of ndarray
        ``"x"`` (N, T, D), ``"kernel"`` (D, 4H), ``"recurrent_kernel"`` (H, 4H),
        ``"bias"`` (4H,), ``"h0"`` (N, H), ``"c0"`` (N, H).
    """
    # Works feature-major, (T, features, N), like lstm_forward: the (N, T, ...) cache
    # entries are transposed back, which is free for a cache made by lstm_forward.
    #
    # With delta h_t and delta c_t the total gradients reaching h_t and c_t,
    #   delta c_t = delta c_{t+1} f_{t+1} + delta h_t o_t (1 - tanh^2 c_t)
    #   dL/da_t   = [delta c_t, delta c_t, delta c_t, delta h_t] * P_t,
    #   P_t       = [g_t i_t (1 - i_t), c_{t-1} f_t (1 - f_t), i_t (1 - g_t^2),
    #                tanh(c_t) o_t (1 - o_t)]                (blocks i, f, g, o)
    #   delta h_{t-1} = dL/dh_{t-1} (from dhs) + U dL/da_t^T.
    # P_t does not depend on the recursion. The steps are processed in chunks of about
    # 1 MB (which stay in cache): for each chunk, P of all its steps at once, then the
    # recursion step by step, then the chunk's share of dW, db, dU in one product.
    x, h0, c0 = cache["x"], cache["h0"], cache["c0"]
    kernel, U = cache["kernel"], cache["recurrent_kernel"]

    def feature_major(a: np.ndarray) -> np.ndarray:  # (N, T, F) -> (T, F, N)
        return a.transpose(1, 2, 0)

    hs = feature_major(cache["hs"])
    cs = feature_major(cache["cs"])
    tanh_cs = feature_major(cache["tanh_cs"])
    gates = feature_major(cache["gates"])          # (T, 4H, N): i, f, g, o
    T, H, N = hs.shape
    dhs = _checks.upstream("dhs", dhs, (N, T, H))
    dtype = np.result_type(hs, dhs)
    dhs = _feature_major_copy(dhs, dtype)         # (T, H, N)
    x_f = feature_major(x)                         # (T, D, N)
    D = x.shape[2]
    H2, H3, K = 2 * H, 3 * H, D + 1 + H
    # One product per step gives [dL/dx_t; U dL/da_t^T] = [W; U] dL/da_t^T, written into
    # block t of dxh; block T stays 0 (nothing flows back from after the last step).
    WU = np.concatenate([kernel, U]).astype(dtype, copy=False)   # (D + H, 4H)
    dxh = np.empty((T + 1, D + H, N), dtype=dtype)
    dxh[T] = 0.0
    dWbU_T = np.zeros((4 * H, K), dtype=dtype)     # sum_t dL/da_t^T [x_t; 1; h_{t-1}]
    C = max(1, min(T, _CHUNK_ELEMENTS // (4 * H * N)))   # steps per chunk
    P = np.empty((C, 4 * H, N), dtype=dtype)
    da = np.empty((4 * H, C, N), dtype=dtype)      # dL/da_t of the chunk's steps
    xh = np.empty((K, C, N), dtype=dtype)          # [x_t; 1; h_{t-1}] of the chunk's steps
    xh[D] = 1.0
    od = np.empty((C, H, N), dtype=dtype)          # o_t (1 - tanh^2 c_t): dh_t -> dc_t
    prod = np.empty((4 * H, K), dtype=dtype)
    dh = np.empty((H, N), dtype=dtype)
    dc = np.zeros((H, N), dtype=dtype)             # delta c_{t+1} f_{t+1}, then delta c_t
    tmp = np.empty((H, N), dtype=dtype)
    c_init = np.ascontiguousarray(c0.T, dtype=dtype)
    h_init = np.ascontiguousarray(h0.T, dtype=dtype)
    mul, add, sub, matmul = np.multiply, np.add, np.subtract, np.matmul
    back = slice(None, None, -1)
    for stop in range(T, 0, -C):
        start = max(0, stop - C)
        n = stop - start
        G, Pc, odc, tc = gates[start:stop], P[:n], od[:n], tanh_cs[start:stop]
        i, f, g, o = G[:, :H], G[:, H:H2], G[:, H2:H3], G[:, H3:]
        # P of the chunk's steps
        mul(G, G, out=Pc)                          # s (1 - s) ...
        sub(G, Pc, out=Pc)
        Pi, Pf, Pg, Po = Pc[:, :H], Pc[:, H:H2], Pc[:, H2:H3], Pc[:, H3:]
        mul(g, g, out=Pg)                          # ... and 1 - g^2 for the candidate
        sub(1.0, Pg, out=Pg)
        mul(Pi, g, out=Pi)
        mul(Pg, i, out=Pg)
        mul(Po, tc, out=Po)
        if start > 0:
            mul(Pf, cs[start - 1 : stop - 1], out=Pf)
        else:
            mul(Pf[1:], cs[: stop - 1], out=Pf[1:])
            mul(Pf[0], c_init, out=Pf[0])
        mul(tc, tc, out=odc)
        sub(1.0, odc, out=odc)
        mul(odc, o, out=odc)
        # the recursion, from the chunk's last step to its first (views made once);
        # P_t becomes dL/da_t in place
        P4 = Pc.reshape(n, 4, H, N)
        steps = zip(Pc[back], P4[back, :3], P4[back, 3], odc[back], f[back],
                    dhs[start:stop][back], dxh[start + 1 : stop + 1][back, D:],
                    dxh[start:stop][back], strict=True)
        for da_t, P3, P_o, od_t, f_t, dhs_t, dh_next, dxh_t in steps:
            add(dhs_t, dh_next, out=dh)            # delta h_t
            mul(dh, od_t, out=tmp)
            add(dc, tmp, out=dc)                   # delta c_t
            mul(dc, P3, out=P3)                    # dL/da_t, blocks i, f, g ...
            mul(dh, P_o, out=P_o)                  # ... and o
            matmul(WU, da_t, out=dxh_t)            # [dL/dx_t; U dL/da_t^T]
            mul(dc, f_t, out=dc)                   # delta c_t f_t, for step t - 1
        # the chunk's share of dW, db, dU: dL/da^T [x; 1; h_prev] over its (t, n) pairs
        da_c = da[:, :n]
        da_c[...] = Pc.transpose(1, 0, 2)
        xh_c = xh[:, :n]
        xh_c[:D] = x_f[start:stop].transpose(1, 0, 2)
        if start > 0:
            xh_c[D + 1 :] = hs[start - 1 : stop - 1].transpose(1, 0, 2)
        else:
            xh_c[D + 1 :, 0] = h_init
            xh_c[D + 1 :, 1:] = hs[: stop - 1].transpose(1, 0, 2)
        matmul(da_c.reshape(4 * H, n * N), xh_c.reshape(K, n * N).T, out=prod)
        add(dWbU_T, prod, out=dWbU_T)
    dWbU = dWbU_T.T                                # (D + 1 + H, 4H): dW, db, dU
    grads = {
        "x": np.ascontiguousarray(dxh[:T, :D].transpose(2, 0, 1), dtype=x.dtype),
        "kernel": np.ascontiguousarray(dWbU[:D], dtype=kernel.dtype),
        "recurrent_kernel": np.ascontiguousarray(dWbU[D + 1:],
                                                 dtype=cache["recurrent_kernel"].dtype),
        "bias": np.ascontiguousarray(dWbU[D], dtype=cache["bias"].dtype),
        "h0": np.ascontiguousarray(dxh[0, D:].T, dtype=h0.dtype),
        "c0": np.ascontiguousarray(dc.T, dtype=c0.dtype),
    }
    return grads
