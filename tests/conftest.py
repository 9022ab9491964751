"""Shared fixtures and helpers. Keras is imported where a test needs it, not at collection: the
tests that need no TensorFlow start at once (`make check`)."""

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture
def profile_env(monkeypatch):
    """Set the profile for one test; the rest of the suite sees no grading variables."""
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("COURSE_PROFILE", raising=False)

    def set_profile(name):
        monkeypatch.setenv("COURSE_PROFILE", name)

    return set_profile


@pytest.fixture
def restore_fit():
    from course_kernel.profiles import _fit_class

    trainer = _fit_class()
    originals = {name: getattr(trainer, name) for name in ("fit", "evaluate", "predict")}
    yield
    for name, method in originals.items():
        setattr(trainer, name, method)


def mlp(hidden=32, output_activation="softmax"):
    import keras

    model = keras.Sequential([
        keras.Input(shape=(784,)),
        keras.layers.Dense(hidden, activation="relu"),
        keras.layers.Dense(10, activation=output_activation),
    ])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


def tiny_data(n=100):
    rng = np.random.default_rng(0)
    return rng.random((n, 784), dtype="float32"), np.eye(10)[rng.integers(0, 10, n)]
