"""Parameter counts of the recurrent layers, as Keras counts them."""

from __future__ import annotations

import numpy as np

__all__ = ["GATE_BLOCKS", "count_params"]

#: Gate blocks per layer kind: the multiplier in front of every weight count.
GATE_BLOCKS = {"rnn": 1, "lstm": 4, "gru": 3}


def count_params(kind: str, input_dim: int, units: int) -> int:
    r"""Trainable parameters of one recurrent layer with ``units`` = H, input size D.

    .. math::

        \text{rnn: } H(D + H + 1), \quad \text{lstm: } 4H(D + H + 1), \quad
        \text{gru: } 3H(D + H + 2)

    The GRU has two bias vectors per gate block because Keras' default
    ``reset_after=True`` keeps the recurrent bias separate.

    Parameters
    ----------
    kind : {"rnn", "lstm", "gru"}
    input_dim : int
        D, features per time step.
    units : int
        H, the layer's hidden size.

    Returns
    -------
    int
        Equal to ``model.count_params()`` of that single Keras layer.
    """
    if kind not in GATE_BLOCKS:
        raise ValueError(f"kind must be one of {sorted(GATE_BLOCKS)}, got {kind!r}")
    for name, v in (("input_dim", input_dim), ("units", units)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive int, got {v!r}")
    biases = 2 if kind == "gru" else 1
    return GATE_BLOCKS[kind] * units * (input_dim + units + biases)
