"""Shared fixtures and helpers for the lstm_ref tests.

Keras is imported lazily (only by the ``keras`` fixture), so ``pytest -m "not keras"``
never pays TensorFlow's start-up cost.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# TensorFlow reads these when it is first imported: set them before any test can import it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

# No example database on disk (the tests must leave the work tree clean), no deadline
# (timings on a shared 2-core machine are noisy), a fixed example budget.
settings.register_profile(
    "lstm_ref",
    max_examples=60,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "lstm_ref"))

KINDS = ("rnn", "lstm", "gru")
#: Gate blocks per kind (G in the docstrings).
GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def random_weights(
    kind: str, D: int, H: int, rng: np.random.Generator, dtype=np.float64, scale: float = 0.5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keras-layout weights of ``kind`` drawn from N(0, scale^2)."""
    G = GATES[kind]
    bias_shape = (2, G * H) if kind == "gru" else (G * H,)
    return tuple(
        (scale * rng.standard_normal(shape)).astype(dtype)
        for shape in ((D, G * H), (H, G * H), bias_shape)
    )


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240607)


@pytest.fixture(scope="session")
def keras():
    """The keras module (TensorFlow backend), imported once per session."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    keras = pytest.importorskip("keras")
    assert keras.backend.backend() == "tensorflow", "these oracles assume the TF backend"
    return keras


@pytest.fixture(scope="session")
def tf(keras):
    return pytest.importorskip("tensorflow")
