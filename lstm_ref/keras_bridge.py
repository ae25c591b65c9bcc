"""Read a Keras recurrent layer's weights into ``lstm_ref``'s functions.

This module never imports Keras: it reads the layer's ``get_config()`` and
``get_weights()``, so ``lstm_ref`` stays a NumPy-only package.
"""

from __future__ import annotations

import numpy as np

__all__ = ["restartable", "weights_from_keras"]

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


def restartable(model):
    """Train one compiled Keras model from several fresh starts, compiling it only once.

    Compiling a model (with XLA, ``jit_compile=True``) costs seconds on a CPU, more than
    a short training run. The same run as a new model's needs only two things put back:
    the initial weights and the optimizer's state before its first step (Adam's step
    count and moments). This captures that optimizer state and returns ``restart``.

    Parameters
    ----------
    model : keras.Model
        A compiled model that has not been trained yet.

    Returns
    -------
    restart : callable
        ``restart(weights)`` loads ``weights`` (a list of arrays shaped like
        ``model.get_weights()``, e.g. a new model's for another seed) and resets the
        optimizer to its state before the first step. Data order and dropout masks still
        come from the global seed (``keras.utils.set_random_seed``).

    Examples
    --------
    >>> model = make_model(seed=0); model.compile(optimizer="adam", loss="mse")
    >>> restart = restartable(model)
    >>> for seed in (0, 1, 2):
    ...     restart(make_model(seed).get_weights())
    ...     model.fit(x, y)
    """
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        raise ValueError(f"{type(model).__name__} has no optimizer: compile it before "
                         "restartable()")
    if not optimizer.built:
        optimizer.build(model.trainable_variables)
    start = [v.numpy() for v in optimizer.variables]

    def restart(weights) -> None:
        model.set_weights(weights)
        for var, value in zip(optimizer.variables, start, strict=True):
            var.assign(value)

    return restart
