"""Checks that hidden tests call. Each failure says in Japanese, then English, what was
expected and what was found. Checks return None, so a test cell's last expression is never
a number (nbgrader would take a number as partial credit).
"""

import json
import math
from importlib import resources

import numpy as np

from course.data import load_fashion_mnist
from course.profiles import active_profile, fit_cap_profile

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


def check_history(result, epochs: int) -> None:
    """`result` is what `model.fit(..., epochs=epochs)` returned, and every epoch ran."""
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
    profile = active_profile()
    requested = getattr(result, "requested_epochs", None)
    if profile.capped and fit_cap_profile() != profile.name:
        fail(
            "採点用のエポック上限が有効ではありません (採点環境の問題です)。",
            f"The {profile.name} profile's fit cap is not installed: grade with nbgrader and "
            "this course's nbgrader_config.py.",
        )
    if requested is None:
        requested = result.params["epochs"]
    if requested != epochs:
        fail(
            f"エポック数が違います: 期待 {epochs}、実際 {requested}",
            f"epochs: expected {epochs}, found {requested}.",
        )
    expected_run = profile.epochs_run(epochs)
    lengths = {key: len(values) for key, values in result.history.items()}
    if result.params["epochs"] != expected_run or set(lengths.values()) != {expected_run}:
        fail(
            f"学習が最後まで実行されていません: {expected_run} エポック分の記録が必要ですが {lengths} でした。",
            f"Training did not run every epoch: expected {expected_run} values per key, found {lengths}.",
        )


def _thresholds() -> dict:
    return json.loads(resources.files("course").joinpath("thresholds.json").read_text("utf-8"))


def threshold(assignment: str, model_name: str, profile_name: str) -> float:
    try:
        return _thresholds()[assignment][model_name][profile_name]["threshold"]
    except KeyError:
        raise KeyError(
            f"No accuracy threshold for {assignment}/{model_name} under profile {profile_name}: "
            f"run `python -m course.calibrate {assignment} --profile {profile_name}`"
        ) from None


def measure_test_accuracy(model) -> float:
    """Accuracy on the 10,000 test images, freshly loaded and scaled to [0, 1] as the lecture does,
    shaped to the model's input; neither the student's data nor their `predict` is used."""
    import keras

    (_, _), (x_test, y_test) = load_fashion_mnist()
    input_shape = tuple(model.inputs[0].shape[1:])
    if math.prod(input_shape) != 28 * 28:
        fail(
            f"モデルの入力の形 {input_shape} が 28×28 の画像に合いません。",
            f"The model's input shape {input_shape} does not fit 28x28 images.",
        )
    x = x_test.reshape((-1,) + input_shape).astype("float32") / 255
    # Called on the class, so a notebook that replaced model.predict is not used.
    probabilities = keras.Model.predict(model, x, batch_size=1000, verbose=0)
    return float(np.mean(np.argmax(probabilities, axis=1) == y_test))


def check_test_accuracy(model, assignment: str, model_name: str = "model") -> None:
    """The model's recomputed test accuracy reaches the active profile's threshold."""
    profile = active_profile()
    limit = threshold(assignment, model_name, profile.name)
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
    if not np.allclose(actual, expected, atol=1e-6):
        fail(
            f"{name} の値が違います: 期待 最小 {expected.min()}・最大 {expected.max()}、"
            f"実際 最小 {actual.min()}・最大 {actual.max()}",
            f"{name} has other values than expected: expected min {expected.min()} max "
            f"{expected.max()}, found min {actual.min()} max {actual.max()}.",
        )



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
