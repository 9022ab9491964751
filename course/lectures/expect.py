"""The building blocks of a lecture's expectations (course/lectures/<lecture>.py): each makes a
check, a function of a test cell's artefacts (course.grading.verifier.Artefacts) and the grading
profile that raises AssertionError with the reason, in Japanese and English.
"""

import functools

import numpy as np

from course.lectures.checks import (
    LECTURE_COMPILE,
    check_compile,
    check_digest,
    check_gradient,
    check_history,
    check_layers,
    check_loss_list,
    check_misclassified,
    check_outputs,
    check_test_accuracy,
    check_test_score,
    check_trained,
    dataset,
    fail,
)
from course_kernel.handover import digest


@functools.cache
def reference(split: str, kind: str) -> tuple:
    """(array, digest) of the training or test images scaled to [0, 1], or their one-hot labels."""
    (x_train, y_train), (x_test, y_test) = dataset()
    x, y = (x_train, y_train) if split == "train" else (x_test, y_test)
    array = x / 255 if kind == "images" else np.eye(10)[y]
    return array, digest(array)


def images(split: str, shape: tuple | None = None):
    """The check that `split`'s images were reshaped to `shape` and scaled to [0, 1], or (no shape)
    that its labels were made one-hot. `warm` computes the reference beforehand."""
    kind, name = ("images", f"x_{split}") if shape else ("labels", f"y_{split}")

    def check(a, profile):
        array, expected = reference(split, kind)
        check_digest(name, a[name], array.reshape(shape or array.shape), expected)
    check.warm = lambda: reference(split, kind)
    return check


def model(name: str, layers: list, compiled: dict = LECTURE_COMPILE):
    """The layer table, and the compile settings (every model a student builds, they compile)."""
    def check(a, profile):
        check_layers(a[name], layers)
        check_compile(a[name], **compiled)
    return check


def trained(result: str, name: str, assignment: str):
    """A `fit` of `name` ran in full under the budget, and its test accuracy reaches the threshold."""
    def check(a, profile):
        history(result, name)(a, profile)
        accuracy(name, assignment)(a, profile)
    return check


def accuracy(name: str, assignment: str):
    def check(a, profile):
        a.measured[name] = check_test_accuracy(a[name], assignment, name, profile)
    return check


def history(result: str, name: str, **stated):
    def check(a, profile):
        check_history(a[result], profile, **stated)
        check_trained(a[name], a[result], profile)
    return check


def _on_test_images(check_value):
    """A check of a value the student computed from the model's test predictions (`score`, the
    misclassified images), which it predicts again."""
    def make(name: str, model_name: str):
        def check(a, profile):
            check_value(a.value(name), a[model_name])
        return check
    return make


score = _on_test_images(check_test_score)
misclassified = _on_test_images(check_misclassified)


def function(name: str, reference):
    """The student's function gave, on the inputs drawn for this cell, what `reference` gives."""
    return lambda a, profile: check_outputs(name, a[name], a.inputs.get(name, []), reference)


def gradient(name: str, numerical):
    """The gradient the student's backward pass gave, on the inputs drawn for this cell, agrees
    with the numerical gradient."""
    return lambda a, profile: check_outputs(name, a[name], a.inputs.get(name, []), numerical, check_gradient)


def trained_from_scratch(losses: str, params: str, assignment: str):
    """The NumPy training loop ran every iteration the budget allowed and the loss went down; the
    network's parameters reach the test accuracy threshold (recomputed with the course's layers)."""
    def check(a, profile):
        check_loss_list(a[losses], profile)
        accuracy(params, assignment)(a, profile)
    return check


def equals(name: str, expected, ja: str, en: str):
    """A value the student works out by hand equals the lecture's."""
    def check(a, profile):
        found = a.value(name)
        if found != expected:
            fail(f"{ja}: 正しくは {expected}、答えは {found}", f"{en}: expected {expected}, found {found}.")
    return check


def same_as_history(name: str, result: str, key: str):
    def check(a, profile):
        history = a[result].get("history", {}) if isinstance(a[result], dict) else {}
        if a.value(name) != history.get(key):
            fail(f"{name} が result.history['{key}'] ではありません。", f"{name} should be result.history[{key!r}].")
    return check


def conv(filters, shape, params, padding="same"):
    return ("Conv2D", shape, params, {"filters": filters, "kernel_size": (3, 3), "strides": (1, 1),
                                     "padding": padding, "activation": "relu"})


def dense(units, params, activation="relu"):
    return ("Dense", (None, units), params, {"units": units, "activation": activation})


def pool(shape):
    return ("MaxPooling2D", shape, 0, {"pool_size": (2, 2), "strides": (2, 2), "padding": "valid"})


def dropout(shape):
    return ("Dropout", shape, 0, {"rate": 0.5})


# The lectures' fit settings (mlp1's task states them).
LECTURE_FIT = {"epochs": 30, "batch_size": 64, "validation_split": 0.2}
