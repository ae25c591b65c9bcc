"""lstm_ref: the NumPy reference behind the course *LSTM Networks: Solving Long-Term
Dependencies*.

Pure functions in Keras' weight layout, batch first (x is (N, T, D)). Forward functions
return ``(hs, cache)``; backward functions take ``(dhs, cache)`` and return a dict of
gradients. ``lstm_forward(x, *keras_layer.get_weights())[0]`` equals the layer's output.

The functions here are written to be read. ``lstm_ref.fast`` holds optimised twins of
``lstm_forward`` and ``lstm_backward`` (same signatures), tested equal to them.
"""

from . import fast
from .activations import sigmoid
from .datasets import load_co2, load_fine_foods, load_hamlet, load_stock, load_sunspots
from .gradcheck import numerical_gradient, rel_error
from .gru import gru_backward, gru_forward, gru_step
from .keras_bridge import restartable, weights_from_keras
from .lstm import lstm_backward, lstm_forward, lstm_gates, lstm_step
from .params import count_params
from .rnn import rnn_backward, rnn_forward, rnn_step
from .sampling import (
    language_model_logits,
    sample_categorical,
    sample_sequence,
    softmax_temperature,
)
from .seed import keras_to_seed_weights, lstm_cell, seed_weights_to_keras
from .series import chronological_split, create_sequences
from .tasks import adding_problem, init_weights, state_gradient_norms

__version__ = "1.0.0"

__all__ = [
    "adding_problem",
    "chronological_split",
    "count_params",
    "create_sequences",
    "fast",
    "gru_backward",
    "gru_forward",
    "gru_step",
    "init_weights",
    "keras_to_seed_weights",
    "load_co2",
    "load_fine_foods",
    "load_stock",
    "load_sunspots",
    "lstm_backward",
    "lstm_cell",
    "lstm_forward",
    "lstm_gates",
    "lstm_step",
    "numerical_gradient",
    "rel_error",
    "restartable",
    "rnn_backward",
    "rnn_forward",
    "rnn_step",
    "seed_weights_to_keras",
    "sigmoid",
    "state_gradient_norms",
    "weights_from_keras",
    # chapter 7
    "load_hamlet",
    "language_model_logits",
    "sample_categorical",
    "sample_sequence",
    "softmax_temperature",
]
