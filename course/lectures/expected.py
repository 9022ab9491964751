"""What each test cell must hand over, and what the verifier expects of it: the course's
answers, read from here, never from the notebook being graded.

`EXPECTED[assignment][test cell's grade_id]` lists checks: functions of the cell's artefacts
(course.grading.verifier.Artefacts) and the grading profile. `inputs_for` draws, when a notebook is graded,
the inputs on which the cell's student functions are called.
"""

import functools

import numpy as np

from course.lectures import scratch
from course.lectures.checks import (
    LECTURE_COMPILE,
    check_by_hand,
    check_compile,
    check_digest,
    check_gradient,
    check_history,
    check_layers,
    check_learning_curves,
    check_loss_list,
    check_misclassified,
    check_outputs,
    check_test_accuracy,
    check_test_score,
    check_trained,
    convolution_cases,
    dataset,
    fail,
    keras_convolution,
    keras_pooling,
    pooling_cases,
)
from course_kernel.handover import REFERENCE_CODE, digest


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


def model(name: str, layers: list):
    """The layer table, and the compile settings (every model a student builds, they compile)."""
    def check(a, profile):
        check_layers(a[name], layers)
        check_compile(a[name], **LECTURE_COMPILE)
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


# {assignment: {solution cell computed by hand in NumPy: (what it defines, names from the
# notebook's other solution cells it may use)}}. The grading process gives the verifier these
# cells' code as handed in (course/grading/execute.py).
BY_HAND = {
    "cnn": {"convolution": ("convolve", ())},
    "pooling": {"max_pool": ("max_pool", ()), "average_pool": ("average_pool", ())},
    "scratch_cnn": {"im2col": ("im2col", ()), "col2im": ("col2im", ()),
                    "convolution": ("Convolution", ("im2col", "col2im")), "pooling": ("Pooling", ("im2col", "col2im"))},
}


def by_hand(assignment: str, cell: str):
    """The solution cell `cell` computes by hand: no Keras, SciPy, course reference or other cell's helper."""
    defined, allowed = BY_HAND[assignment][cell]
    return lambda a, profile: check_by_hand(cell, a.source(cell), defined, allowed)


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


def _conv(filters, shape, params, padding="same"):
    return ("Conv2D", shape, params, {"filters": filters, "kernel_size": (3, 3), "strides": (1, 1),
                                     "padding": padding, "activation": "relu"})


def _dense(units, params, activation="relu"):
    return ("Dense", (None, units), params, {"units": units, "activation": activation})


def _pool(shape):
    return ("MaxPooling2D", shape, 0, {"pool_size": (2, 2), "strides": (2, 2), "padding": "valid"})


def _dropout(shape):
    return ("Dropout", shape, 0, {"rate": 0.5})


LECTURE_FIT = {"epochs": 30, "batch_size": 64, "validation_split": 0.2}
SLIDES_IMAGE = [[0, 2, 3, 1, 2, 3], [4, 2, 1, 2, 3, 0], [2, 2, 1, 3, 2, 1], [1, 1, 2, 3, 1, 2],
                [1, 4, 2, 2, 3, 1], [2, 0, 2, 1, 4, 0]]
SLIDES_KERNEL = [[1, 2, 2], [0, 0, 1], [2, 1, 1]]
POOL_SIZES = list(range(1, 8))
SIMPLE_CONV_NET_PARAMS = 30 * (5 * 5 + 1) + (12 * 12 * 30 + 1) * 100 + (100 + 1) * 10  # 433,890
PREDICTED_SHAPES = [[26, 26, 32], [13, 13, 32], [11, 11, 64], [5, 5, 64], [3, 3, 64], [576], [64], [10]]

EXPECTED = {
    "mlp1": {
        "test_preprocessing": [images("train", (60000, 784)), images("test", (10000, 784))],
        "test_labels": [images("train"), images("test")],
        "test_model": [model("model", [_dense(32, 25120), _dense(10, 330, "softmax")])],
        "test_history": [history("result", "model", **LECTURE_FIT)],
        "test_accuracy": [score("score", "model"), accuracy("model", "mlp1")],
    },
    "mlp2": {
        "test_history_values": [same_as_history("loss", "result", "loss"),
                                same_as_history("val_accuracy", "result", "val_accuracy")],
        "test_learning_curves": [lambda a, profile: check_learning_curves(a["fig"], a["result"])],
        "test_model_128": [model("model_128", [_dense(128, 100480), _dense(10, 1290, "softmax")])],
        "test_result_128": [trained("result_128", "model_128", "mlp2")],
        "test_model_deep": [model("model_deep", [_dense(128, 100480), _dense(64, 8256), _dense(32, 2080),
                                                 _dense(10, 330, "softmax")])],
        "test_result_deep": [trained("result_deep", "model_deep", "mlp2")],
        "test_model_dropout": [model("model_dropout", [_dense(128, 100480), _dropout((None, 128)), _dense(64, 8256),
                                                       _dense(32, 2080), _dense(10, 330, "softmax")])],
        "test_result_dropout": [trained("result_dropout", "model_dropout", "mlp2")],
    },
    "cnn": {
        "test_preprocessing": [images("train", (60000, 28, 28, 1)), images("test", (10000, 28, 28, 1)),
                               images("train"), images("test")],
        "test_convolution_slides": [by_hand("cnn", "convolution"), function("convolve", keras_convolution)],
        "test_convolution_keras": [by_hand("cnn", "convolution"), function("convolve", keras_convolution)],
        "test_model": [model("model", [_conv(32, (None, 28, 28, 32), 320), ("Flatten", (None, 25088), 0, {}),
                                       _dropout((None, 25088)), _dense(10, 250890, "softmax")])],
        "test_result": [trained("result", "model", "cnn")],
        "test_model_two_conv": [model("model_two_conv", [
            _conv(32, (None, 28, 28, 32), 320), _conv(64, (None, 28, 28, 64), 18496), ("Flatten", (None, 50176), 0, {}),
            _dropout((None, 50176)), _dense(10, 501770, "softmax")])],
        "test_result_two_conv": [trained("result_two_conv", "model_two_conv", "cnn")],
    },
    "pooling": {
        "test_max_pool": [by_hand("pooling", "max_pool"), function("max_pool", keras_pooling("max"))],
        "test_average_pool": [by_hand("pooling", "average_pool"),
                              function("average_pool", keras_pooling("average"))],
        "test_model_pool": [model("model_pool", [
            _conv(32, (None, 28, 28, 32), 320), _conv(64, (None, 28, 28, 64), 18496), _pool((None, 14, 14, 64)),
            ("Flatten", (None, 12544), 0, {}), _dropout((None, 12544)), _dense(10, 125450, "softmax")])],
        "test_result_pool": [trained("result_pool", "model_pool", "pooling")],
        "test_param_counts": [
            function("dense_params", lambda pool_size: ((28 // pool_size) ** 2 * 64 + 1) * 10),
            equals("deep_param_counts", [320, 18496, 0, 0, 36928, 73856, 0, 0, 0, 0, 62730],
                   "層ごとのパラメータ数が違います", "per-layer parameter counts"),
        ],
        "test_model_deep": [model("model_deep", [
            _conv(32, (None, 28, 28, 32), 320), _conv(64, (None, 28, 28, 64), 18496), _pool((None, 14, 14, 64)),
            _dropout((None, 14, 14, 64)), _conv(64, (None, 14, 14, 64), 36928), _conv(128, (None, 14, 14, 128), 73856),
            _pool((None, 7, 7, 128)), _dropout((None, 7, 7, 128)), ("Flatten", (None, 6272), 0, {}),
            _dropout((None, 6272)), _dense(10, 62730, "softmax")])],
        "test_result_deep": [trained("result_deep", "model_deep", "pooling")],
        "test_predicted_shapes": [
            equals("predicted_shapes", PREDICTED_SHAPES, "出力の形の予想が違います", "predicted output shapes"),
            equals("features_without_pooling", 30976, "プーリングなしの特徴の数が違います (22×22×64)",
                   "features without pooling (22x22x64)"),
        ],
        "test_model_valid": [model("model_valid", [
            _conv(32, (None, 26, 26, 32), 320, "valid"), _conv(64, (None, 24, 24, 64), 18496, "valid"),
            _pool((None, 12, 12, 64)), _conv(64, (None, 10, 10, 64), 36928, "valid"), _pool((None, 5, 5, 64)),
            ("Flatten", (None, 1600), 0, {}), _dense(64, 102464), _dense(10, 650, "softmax")])],
        "test_result_valid": [trained("result_valid", "model_valid", "pooling")],
        "test_misclassified": [misclassified("misclassified", "model_deep")],
    },
    "scratch_cnn": {
        "test_im2col": [by_hand("scratch_cnn", "im2col"), function("im2col", scratch.im2col)],
        "test_col2im": [by_hand("scratch_cnn", "col2im"), function("col2im", scratch.col2im)],
        "test_convolution_forward": [by_hand("scratch_cnn", "convolution"),
                                     function("convolution_forward", scratch.keras_convolution)],
        "test_convolution_backward": [by_hand("scratch_cnn", "convolution")] + [
            gradient(f"convolution_d{p}", scratch.numerical_convolution_gradient(p)) for p in ("x", "W", "b")],
        "test_pooling_forward": [by_hand("scratch_cnn", "pooling"), function("pooling_forward", scratch.keras_pooling)],
        "test_pooling_backward": [by_hand("scratch_cnn", "pooling"),
                              gradient("pooling_dx", scratch.numerical_pooling_gradient)],
        "test_param_count": [
            function("conv_net_params", lambda *args: scratch.keras_simple_conv_net(*args).count_params()),
            equals("simple_conv_net_params", SIMPLE_CONV_NET_PARAMS, "SimpleConvNet のパラメータ数が違います",
                   "SimpleConvNet's parameter count"),
        ],
        "test_training": [trained_from_scratch("train_loss_list", "network", "scratch_cnn")],
    },
}


# scratch_cnn's cases, NCHW: (N, C, H, W, filter_h, filter_w, stride, pad). With and without
# padding, strides 1 to 3, one and several channels, square and other filters; one the seed prints.
IM2COL_CASES = [(2, 1, 4, 4, 3, 3, 1, 0), (2, 3, 7, 7, 3, 3, 1, 1), (1, 2, 8, 6, 2, 3, 2, 1),
                (3, 2, 9, 9, 5, 5, 2, 2), (2, 1, 6, 7, 4, 2, 3, 0), (1, 3, 5, 5, 1, 1, 1, 0)]
# (N, C, H, W, FN, FH, FW, stride, pad); the last is SimpleConvNet's first layer on a 28×28 image.
CONVOLUTION_LAYER_CASES = [(2, 1, 6, 6, 3, 3, 3, 1, 0), (2, 3, 7, 7, 4, 3, 3, 1, 1), (1, 2, 8, 7, 3, 2, 3, 2, 1),
                           (2, 3, 9, 9, 2, 5, 5, 2, 2), (1, 1, 28, 28, 2, 5, 5, 1, 0)]
# (N, C, H, W, pool_h, pool_w, stride): SimpleConvNet's 2×2 stride 2 first, then others (no padding:
# the lecture's Pooling never pads, and Keras's MaxPooling2D cannot).
POOLING_LAYER_CASES = [(2, 3, 4, 4, 2, 2, 2), (1, 2, 6, 8, 2, 2, 2), (2, 1, 7, 7, 3, 3, 2), (1, 3, 6, 6, 3, 3, 1),
                       (2, 2, 5, 6, 2, 3, 1)]


def _scratch_cases(cell: str, rng) -> dict:
    def array(*shape, scale=1.0):
        return (rng.standard_normal(shape) * scale).round(3).tolist()

    def distinct(*shape):  # no ties for a maximum, even after a numerical derivative's step
        return (rng.permutation(int(np.prod(shape))).reshape(shape) / 10).tolist()

    if cell == "test_im2col":
        return {"im2col": [{"args": [rng.integers(-9, 10, (n, c, h, w)).tolist(), fh, fw, stride, pad]}
                           for n, c, h, w, fh, fw, stride, pad in IM2COL_CASES]}
    if cell == "test_col2im":
        cases = []
        for n, c, h, w, fh, fw, stride, pad in IM2COL_CASES:
            rows = n * scratch.output_size(h, fh, stride, pad) * scratch.output_size(w, fw, stride, pad)
            cases.append({"args": [rng.integers(-9, 10, (rows, c * fh * fw)).tolist(), {"tuple": [n, c, h, w]},
                                   fh, fw, stride, pad]})
        return {"col2im": cases}
    layers = [(n, c, h, w, fn, fh, fw, stride, pad, scratch.output_size(h, fh, stride, pad),
               scratch.output_size(w, fw, stride, pad))
              for n, c, h, w, fn, fh, fw, stride, pad in CONVOLUTION_LAYER_CASES]
    if cell == "test_convolution_forward":
        return {"convolution_forward": [{"args": [array(n, c, h, w), array(fn, c, fh, fw, scale=0.5), array(fn),
                                                  stride, pad]}
                                        for n, c, h, w, fn, fh, fw, stride, pad, _, _ in layers]}
    if cell == "test_convolution_backward":
        cases = [{"args": [array(n, c, h, w), array(fn, c, fh, fw, scale=0.5), array(fn), array(n, fn, oh, ow),
                           stride, pad]}
                 for n, c, h, w, fn, fh, fw, stride, pad, oh, ow in layers[:4]]  # 28×28 costs the verifier seconds
        return {f"convolution_d{p}": cases for p in ("x", "W", "b")}
    pools = [(n, c, h, w, ph, pw, stride, (h - ph) // stride + 1, (w - pw) // stride + 1)
             for n, c, h, w, ph, pw, stride in POOLING_LAYER_CASES]
    if cell == "test_pooling_forward":
        return {"pooling_forward": [{"args": [array(n, c, h, w), ph, pw, stride]}
                                    for n, c, h, w, ph, pw, stride, _, _ in pools]}
    if cell == "test_pooling_backward":
        return {"pooling_dx": [{"args": [distinct(n, c, h, w), array(n, c, oh, ow), ph, pw, stride]}
                               for n, c, h, w, ph, pw, stride, oh, ow in pools]}
    if cell == "test_param_count":
        return {"conv_net_params": [{"args": [int(rng.integers(1, 65)), int(size), int(rng.integers(10, 301))]}
                                    for size in rng.permutation([3, 5, 7, 9])]}
    return {}


def inputs_for(assignment: str, cell: str, rng) -> dict:
    """{function name: [{"args": [...], "kwargs": {...}}]}: what the cell's student functions are
    called on, drawn anew each time a notebook is graded."""
    if (assignment, cell) == ("cnn", "test_convolution_slides"):
        crop = [row[:5] for row in SLIDES_IMAGE[:5]]
        return {"convolve": [{"args": [SLIDES_IMAGE, SLIDES_KERNEL], "kwargs": {"stride": 1, "padding": "valid"}},
                             {"args": [crop, SLIDES_KERNEL], "kwargs": {"stride": 1, "padding": "valid"}},
                             {"args": [crop, SLIDES_KERNEL], "kwargs": {"stride": 2, "padding": "valid"}},
                             {"args": [SLIDES_IMAGE, SLIDES_KERNEL], "kwargs": {"stride": 1, "padding": "same"}}]}
    if (assignment, cell) == ("cnn", "test_convolution_keras"):
        return {"convolve": convolution_cases(rng)}
    if assignment == "pooling" and cell in ("test_max_pool", "test_average_pool"):
        return {cell.removeprefix("test_"): pooling_cases(rng)}
    if assignment == "scratch_cnn":
        inputs = _scratch_cases(cell, rng)
        if any(name.startswith(("convolution_", "pooling_")) for name in inputs):
            inputs[REFERENCE_CODE] = scratch.reference_code()
        return inputs
    if (assignment, cell) == ("pooling", "test_param_counts"):
        return {"dense_params": [{"args": [size]} for size in rng.permutation(POOL_SIZES).tolist()]}
    return {}
