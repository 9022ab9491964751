"""Checks that hidden tests call. Each failure says in Japanese, then English, what was
expected and what was found. Checks return None, so a test cell's last expression is never
a number (nbgrader would take a number as partial credit).
"""

import json
import math
from importlib import resources

import numpy as np

from course.data import load_fashion_mnist
from course.profiles import active_profile, installed_profile

HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy")
# The lecture's learning-curve figure: the lines of its left and right subplots.
LEARNING_CURVES = (("loss", "val_loss"), ("accuracy", "val_accuracy"))
# The settings that define a layer, as `get_config()` names them.
DEFINING_SETTINGS = ("units", "filters", "kernel_size", "strides", "padding", "activation", "pool_size", "rate")


def fail(japanese: str, english: str):
    raise AssertionError(f"{japanese}\n{english}")


def layer_table(model) -> list:
    """One row per layer: (class name, output shape, parameter count, defining settings)."""
    rows = []
    for layer in model.layers:
        config = layer.get_config()
        settings = {key: _plain(config[key]) for key in DEFINING_SETTINGS if key in config}
        try:
            shape = tuple(layer.output.shape)
        except (AttributeError, ValueError):
            shape = None  # the model was never built
        rows.append((type(layer).__name__, shape, layer.count_params(), settings))
    return rows


def _plain(value):
    return tuple(value) if isinstance(value, list) else value


def _format_row(row) -> str:
    name, shape, params, settings = row
    args = ", ".join(f"{k}={v!r}" for k, v in settings.items())
    return f"{name}({args}) -> {shape}, {params:,} params"


def check_layers(model, expected: list) -> None:
    """Compare the model's layer table with `expected`, rows like
    ``("Dense", (None, 32), 25120, {"units": 32, "activation": "relu"})``."""
    if not model.built:
        fail(
            "モデルが作られていません。最初の層に input_shape を指定しましたか？",
            "The model is not built: give the first layer an input_shape.",
        )
    found = layer_table(model)
    table = "\n".join(f"  {i}. {_format_row(row)}" for i, row in enumerate(found, 1))
    if len(found) != len(expected):
        fail(
            f"層の数が違います: 期待 {len(expected)}、実際 {len(found)}。\n{table}",
            f"Expected {len(expected)} layers, found {len(found)}.",
        )
    for i, (want, got) in enumerate(zip(expected, found, strict=True), 1):
        name, shape, params, settings = want
        got_settings = {key: got[3].get(key) for key in settings}
        got_row = (got[0], got[1], got[2], got_settings)
        for what_ja, what_en, w, g in (
            ("種類", "class", name, got[0]),
            ("設定", "settings", settings, got_settings),
            ("出力の形", "output shape", tuple(shape), got[1]),
            ("パラメータ数", "parameter count", params, got[2]),
        ):
            if w != g:
                fail(
                    f"{i} 番目の層の{what_ja}が違います: 期待 {_format_row(want)}、"
                    f"実際 {_format_row(got_row)}",
                    f"Layer {i} ({what_en}) differs: expected {w!r}, found {g!r}.",
                )
    total = sum(row[2] for row in expected)
    if model.count_params() != total:
        fail(
            f"パラメータの総数が違います: 期待 {total:,}、実際 {model.count_params():,}",
            f"Total parameters: expected {total:,}, found {model.count_params():,}.",
        )


def check_history(result, **stated) -> None:
    """`result` is what `model.fit(...)` returned, and every epoch the grading budget allowed ran.

    `stated` holds the `fit` settings the task states (`epochs=30, batch_size=64,
    validation_split=0.2`) where the student writes the call; a given cell, which grading runs as
    it is, states none.
    """
    if not (hasattr(result, "history") and hasattr(result, "params")):
        fail(
            f"result が model.fit(...) の戻り値ではありません ({type(result).__name__})。",
            f"result should be what model.fit(...) returns, found a {type(result).__name__}.",
        )
    keys = sorted(result.history)
    if keys != sorted(HISTORY_KEYS):
        fail(
            f"result.history のキーが違います: 期待 {sorted(HISTORY_KEYS)}、実際 {keys}。"
            "metrics=['accuracy'] と validation_split を指定しましたか？",
            f"result.history keys: expected {sorted(HISTORY_KEYS)}, found {keys} "
            "(did you pass metrics=['accuracy'] and validation_split?).",
        )
    profile = installed_profile()
    requested = getattr(result, "requested", None)
    if profile is None:
        profile = active_profile()
        if profile.capped:
            fail(
                "採点用のエポック上限が有効ではありません (採点環境の問題です)。",
                f"The {profile.name} profile's fit cap is not installed: grade with nbgrader and "
                "this course's nbgrader_config.py.",
            )
        # Outside a grading kernel: only the epochs can be told from the history.
        requested = requested or {"epochs": result.params["epochs"]}
    elif requested is None:
        fail(
            "result がこのノートブックの model.fit(...) の戻り値ではありません。",
            "result was not returned by model.fit(...) in this notebook.",
        )
    for setting, value in stated.items():
        found = requested.get(setting)
        if found != value:
            fail(
                f"{setting} が違います: 期待 {value}、実際 {found}",
                f"{setting}: expected {value}, found {found}.",
            )
    expected_run = profile.epochs_run(requested["epochs"])
    lengths = {key: len(values) for key, values in result.history.items()}
    if result.params["epochs"] != expected_run or set(lengths.values()) != {expected_run}:
        fail(
            f"学習が最後まで実行されていません: {expected_run} エポック分の記録が必要ですが {lengths} でした。",
            f"Training did not run every epoch: expected {expected_run} values per key, found {lengths}.",
        )


def _thresholds() -> dict:
    return json.loads(resources.files("course").joinpath("thresholds.json").read_text("utf-8"))


def threshold(assignment: str, model_name: str, profile) -> float:
    """The accuracy `model_name` must reach, calibrated under the same budget as `profile`'s."""
    try:
        entry = _thresholds()[assignment][model_name][profile.name]
    except KeyError:
        raise KeyError(
            f"No accuracy threshold for {assignment}/{model_name} under profile {profile.name}: "
            f"run `python -m course.calibrate {assignment} --profile {profile.name}`"
        ) from None
    if entry.get("budget", profile.description) != profile.description:
        fail(
            "採点の学習条件が基準を決めたときと違います (採点環境の問題です)。",
            f"Training ran with {profile.description}, but the {assignment}/{model_name} threshold "
            f"was calibrated with {entry['budget']}: grade from the assignment's own folder, or "
            f"recalibrate with `python -m course.calibrate {assignment} --profile {profile.name}`.",
        )
    return entry["threshold"]


def _test_set(model) -> tuple:
    """The 10,000 test images, freshly loaded and scaled to [0, 1] as the lecture does, shaped to
    the model's input, and their labels: the student's own data is not used."""
    (_, _), (x_test, y_test) = load_fashion_mnist()
    input_shape = tuple(model.inputs[0].shape[1:])
    if math.prod(input_shape) != 28 * 28:
        fail(
            f"モデルの入力の形 {input_shape} が 28×28 の画像に合いません。",
            f"The model's input shape {input_shape} does not fit 28x28 images.",
        )
    return x_test.reshape((-1,) + input_shape).astype("float32") / 255, y_test


def _predicted_labels(model, x, batch_size=32) -> np.ndarray:
    import keras

    # Called on the class, so a notebook that replaced model.predict is not used.
    return np.argmax(keras.Model.predict(model, x, batch_size=batch_size, verbose=0), axis=1)


def measure_test_accuracy(model) -> float:
    """Accuracy on the test images, recomputed with the model's own weights."""
    x, y = _test_set(model)
    return float(np.mean(_predicted_labels(model, x, batch_size=1000) == y))


def check_test_score(score, model) -> None:
    """`score` is `model.evaluate` on the test data, [loss, accuracy]: evaluated again here on the
    freshly loaded test images with the model's own loss and metrics."""
    import keras

    x, y = _test_set(model)
    expected = keras.Model.evaluate(model, x, np.eye(10)[y], batch_size=1000, verbose=0)
    try:
        found = [float(value) for value in score]
    except (TypeError, ValueError):
        found = None
    if found is None or len(found) != len(expected) or not np.allclose(found, expected, rtol=1e-3, atol=1e-4):
        want = "[" + ", ".join(f"{value:.4f}" for value in expected) + "]"
        fail(
            f"score がテスト用データでの評価と違います: 期待 {want}、実際 {score}。"
            "model.evaluate(x_test, y_test) の戻り値を入れましたか？",
            f"score should be model.evaluate on the test data, {want}, found {score} "
            "(evaluate on x_test and y_test).",
        )


def check_misclassified(indices, model) -> None:
    """`indices` lists, in order, the test images `model` gets wrong. The predictions are made
    again here (as the lecture's `predict` makes them), so any trained model passes."""
    x, y = _test_set(model)
    expected = np.flatnonzero(_predicted_labels(model, x) != y)
    try:
        found = [int(i) for i in indices]
    except (TypeError, ValueError):
        fail("misclassified は画像の番号（整数）のリストにします。",
             f"misclassified should be a list of image indices (integers), found {type(indices).__name__}.")
    if found != expected.tolist():
        missing = sorted(set(expected.tolist()) - set(found))
        extra = sorted(set(found) - set(expected.tolist()))
        fail(
            f"間違えた画像の番号が違います: モデルが間違えたのは {len(expected)} 枚、答えは {len(found)} 個です。",
            f"The model gets {len(expected)} test images wrong; misclassified lists {len(found)}. "
            f"Missing: {missing[:10]}, not misclassified: {extra[:10]}.",
        )


def check_test_accuracy(model, assignment: str, model_name: str = "model") -> None:
    """The model's recomputed test accuracy reaches the active profile's threshold."""
    profile = installed_profile() or active_profile(assignment)
    limit = threshold(assignment, model_name, profile)
    accuracy = measure_test_accuracy(model)
    print(f"test accuracy {accuracy:.4f} (threshold {limit:.3f}, profile {profile.name})")
    if accuracy < limit:
        fail(
            f"テストデータでの正解率 {accuracy:.4f} が基準 {limit:.3f} に届きません。"
            "前処理・モデル・学習を見直してください。",
            f"Test accuracy {accuracy:.4f} is below the threshold {limit:.3f} "
            f"({profile.name} profile): check the preprocessing, the model and the training.",
        )


def check_array(name: str, actual, expected: np.ndarray) -> None:
    """`actual` equals `expected` in shape and (to float precision) in value."""
    actual = np.asarray(actual)
    if actual.shape != expected.shape:
        fail(
            f"{name} の形が違います: 期待 {expected.shape}、実際 {actual.shape}",
            f"{name} should have shape {expected.shape}, found {actual.shape}.",
        )
    if not np.allclose(actual, expected, atol=1e-5):
        if expected.size <= 64:
            want, got = (np.array2string(a, precision=4) for a in (expected, actual))
        else:
            want, got = (f"min {a.min()} max {a.max()} mean {a.mean():.4f}" for a in (expected, actual))
        fail(f"{name} の値が違います。", f"{name} has other values than expected.\nexpected:\n{want}\nfound:\n{got}")


# Random cases on which a student's NumPy layer must agree with Keras's: (height, width, kernel
# height, kernel width, stride, padding), square kernels and others. 'same' only with stride 1
# and odd sizes, where it pads (size - 1) / 2 zeros on either side, as the lecture shows; Keras
# pads unevenly otherwise.
CONVOLUTION_CASES = [(6, 6, 3, 3, 1, "valid"), (7, 5, 3, 3, 2, "valid"), (8, 9, 2, 2, 1, "valid"),
                     (9, 7, 4, 4, 3, "valid"), (5, 8, 1, 1, 2, "valid"), (6, 6, 3, 3, 1, "same"),
                     (7, 9, 5, 5, 1, "same"), (6, 7, 2, 3, 1, "valid"), (8, 7, 3, 1, 2, "valid"),
                     (7, 8, 3, 5, 1, "same"), (5, 6, 1, 3, 1, "same")]
POOLING_CASES = [(4, 4, 2, None), (6, 8, 2, None), (7, 7, 2, None), (9, 6, 3, None), (6, 6, 3, 1),
                 (8, 7, 2, 1), (9, 9, 3, 2)]


def _one_image(layer, image) -> np.ndarray:
    """A Keras 2-D layer applied to one single-channel image."""
    batch = np.asarray(image, "float32")[None, :, :, None]
    return np.asarray(layer(batch))[0, :, :, 0]


def check_convolution(convolve) -> None:
    """`convolve(image, kernel, stride=..., padding=...)` agrees with `keras.layers.Conv2D`."""
    import keras

    rng = np.random.default_rng(2024)
    for height, width, kernel_h, kernel_w, stride, padding in CONVOLUTION_CASES:
        image = rng.integers(-4, 5, (height, width)).astype(float)
        kernel = rng.integers(-2, 3, (kernel_h, kernel_w)).astype(float)
        # A zeros initializer draws no random numbers: later models train as if this check had not run.
        layer = keras.layers.Conv2D(1, (kernel_h, kernel_w), strides=stride, padding=padding, use_bias=False,
                                    kernel_initializer="zeros")
        layer.build((1, height, width, 1))
        layer.set_weights([kernel[:, :, None, None]])
        call = f"convolve(image {height}×{width}, kernel {kernel_h}×{kernel_w}, stride={stride}, padding={padding!r})"
        check_array(call, convolve(image, kernel, stride=stride, padding=padding), _one_image(layer, image))


def check_pooling(pool, kind: str) -> None:
    """`pool(feature_map, pool_size, stride)` agrees with Keras's MaxPooling2D or AveragePooling2D."""
    import keras

    layer_class = {"max": keras.layers.MaxPooling2D, "average": keras.layers.AveragePooling2D}[kind]
    rng = np.random.default_rng(2024)
    for height, width, size, stride in POOLING_CASES:
        feature_map = rng.integers(-9, 10, (height, width)).astype(float)
        expected = _one_image(layer_class(pool_size=size, strides=stride), feature_map)
        call = f"{pool.__name__}(feature map {height}×{width}, pool_size={size}, stride={stride})"
        check_array(call, pool(feature_map, size, stride), expected)


def check_learning_curves(fig, result) -> None:
    """The lecture's figure: two side-by-side subplots plotting result.history's loss curves
    and accuracy curves, with those labels (checked on the figure's data, not its pixels)."""
    if not hasattr(fig, "axes") or len(fig.axes) != 2:
        found = len(fig.axes) if hasattr(fig, "axes") else type(fig).__name__
        fail(
            f"fig にはグラフが 2 つ（plt.subplot(1, 2, 1) と (1, 2, 2)）必要です。実際: {found}",
            f"fig should hold 2 subplots (plt.subplot(1, 2, 1) and (1, 2, 2)), found {found}.",
        )
    for i, (axes, labels) in enumerate(zip(fig.axes, LEARNING_CURVES, strict=True), 1):
        lines = axes.get_lines()
        found = tuple(line.get_label() for line in lines)
        if found != labels:
            fail(
                f"{i} つ目のグラフの線のラベルが違います: 期待 {labels}、実際 {found}",
                f"Subplot {i} should plot the lines {labels} (with label=...), found {found}.",
            )
        for line in lines:
            key = line.get_label()
            if not np.allclose(np.asarray(line.get_ydata(), float), result.history[key]):
                fail(
                    f"{i} つ目のグラフの {key} の線が result.history['{key}'] ではありません。",
                    f"Subplot {i}: the line {key!r} does not plot result.history[{key!r}].",
                )
