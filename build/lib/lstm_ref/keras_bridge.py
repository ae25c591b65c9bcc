"""Read a Keras recurrent layer's weights into ``lstm_ref``'s functions.

This module never imports Keras: it reads the layer's ``get_config()`` and
``get_weights()``, so ``lstm_ref`` stays a NumPy-only package.
"""

from __future__ import annotations

import numpy as np

__all__ = ["weights_from_keras"]

_KINDS = {"SimpleRNN": "rnn", "LSTM": "lstm", "GRU": "gru"}


def weights_from_keras(layer) -> tuple[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Return ``(kind, (kernel, recurrent_kernel, bias))`` for a built Keras layer.

    Only configurations ``lstm_ref`` reproduces exactly are accepted: ``tanh``
    activation, ``sigmoid`` recurrent activation, a bias, forward direction, and for the
    GRU ``reset_after=True``. Anything else raises ``ValueError`` naming the setting,
    rather than giving outputs that silently differ from the layer's.

    Parameters
    ----------
    layer : keras.layers.SimpleRNN, LSTM or GRU
        A layer that has been built (called once, or part of a built model).

    Returns
    -------
    kind : {"rnn", "lstm", "gru"}
    weights : tuple of ndarray
        kernel (D, G·H), recurrent_kernel (H, G·H), bias (G·H,) or (2, 3H) for the GRU.
    """
    name = type(layer).__name__
    if name not in _KINDS:
        raise TypeError(f"layer must be a Keras SimpleRNN, LSTM or GRU, got {name}")
    kind = _KINDS[name]
    cfg = layer.get_config()
    wanted = {"activation": "tanh", "use_bias": True, "go_backwards": False}
    if kind != "rnn":
        wanted["recurrent_activation"] = "sigmoid"
    if kind == "gru":
        wanted["reset_after"] = True
    for key, value in wanted.items():
        if cfg.get(key, value) != value:
            raise ValueError(f"{name} has {key}={cfg.get(key)!r}; lstm_ref reproduces "
                             f"only {key}={value!r}")
    weights = layer.get_weights()
    if len(weights) != 3:
        raise ValueError(f"{name} must be built before its weights can be read "
                         f"(got {len(weights)} weight arrays); call it on an input first")
    kernel, recurrent_kernel, bias = (np.asarray(w) for w in weights)
    return kind, (kernel, recurrent_kernel, bias)
