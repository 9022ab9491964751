"""The checks each lecture (course/lectures/<lecture>.py) makes of its test cells: in the verifier, on what the cell
handed over (a loaded model; everything else as course_kernel.handover.describe gives it), and in the
kernel on the values themselves. Each failure says in Japanese, then English, what was expected
and what was found.
"""

import functools
import hashlib
import json
import math
from pathlib import Path

import numpy as np

from course.data import load_fashion_mnist
from course.lectures.scratch import SIMPLE_CONV_NET_SHAPES, relative_error, simple_conv_net_scores
from course.protocol import CheckFailed, Message
from course_kernel.handover import arguments

THRESHOLDS = Path(__file__).with_name("thresholds.json")  # course calibrate writes it

# One reading of the dataset per process: every check compares with the same arrays.
dataset = functools.cache(load_fashion_mnist)

TRAIN_IMAGES = 60000
HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy")
# Keras's two spellings of the accuracy metric, both accepted: the seeds use 'acc' in one
# lecture and 'accuracy' in the others. `metrics=['acc']` gives history keys `acc` and `val_acc`.
SPELLINGS = {"acc": "accuracy", "val_acc": "val_accuracy"}
# The lecture's learning-curve figure: the lines of its left and right subplots.
LEARNING_CURVES = (("loss", "val_loss"), ("accuracy", "val_accuracy"))
# The settings that define a layer, as `get_config()` names them.
DEFINING_SETTINGS = ("units", "filters", "kernel_size", "strides", "padding", "activation", "pool_size", "rate")


def fail(japanese: str, english: str):
    raise CheckFailed(Message(japanese, english))


def layer_table(model) -> list:
    """One row per layer: (class name, output shape, parameter count, defining settings). A
    functional model's `InputLayer` is not a layer of the architecture: `Sequential` lists none."""
    rows = []
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            continue
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


def check_history(result, profile, **stated) -> None:
    """`result` describes what `model.fit(...)` returned (course_kernel.handover.describe), and every epoch
    the grading budget (`profile`) allowed ran.

    The history's keys are HISTORY_KEYS, or the same with `acc` (`metrics=['acc']`).
    `stated` holds the `fit` settings the task states (`epochs=30, batch_size=64,
    validation_split=0.2`) where the student writes the call; a given cell, which grading runs as
    it is, states none.
    """
    if not isinstance(result, dict) or result.get("kind") != "history":
        found = result.get("kind") if isinstance(result, dict) else type(result).__name__
        fail(
            f"result が model.fit(...) の戻り値ではありません ({found})。",
            f"result should be what model.fit(...) returns, found a {found}.",
        )
    history = result["history"] if isinstance(result["history"], dict) else {}
    found, expected = sorted(history), sorted(HISTORY_KEYS)
    if sorted(SPELLINGS.get(key, key) for key in found) != expected:
        fail(
            f"history のキーが違います: 期待 {expected}、実際 {found}。"
            "metrics=['accuracy']（'acc' でも同じ）と検証用データを指定しましたか？",
            f"The history's keys: expected {expected}, found {found} "
            "(did you pass metrics=['accuracy'], or 'acc', and validation data?).",
        )
    requested = result.get("requested")
    if not isinstance(requested, dict):
        if profile.capped:
            fail(
                "result がこのノートブックの model.fit(...) の戻り値ではありません。",
                "result was not returned by model.fit(...) in this notebook.",
            )
        # Outside a grading kernel: only the epochs can be told from the history.
        requested = {"epochs": (result.get("params") or {}).get("epochs")}
    for setting, value in stated.items():
        found = requested.get(setting)
        if found != value:
            fail(
                f"{setting} が違います: 期待 {value}、実際 {found}",
                f"{setting}: expected {value}, found {found}.",
            )
    expected_run = profile.epochs_run(requested.get("epochs") or 0)
    lengths = {key: len(values) for key, values in history.items()}
    if set(lengths.values()) != {expected_run}:
        fail(
            f"学習が最後まで実行されていません: {expected_run} エポック分の記録が必要ですが {lengths} でした。",
            f"Training did not run every epoch: expected {expected_run} values per key, found {lengths}.",
        )


def training_steps(requested: dict, profile, samples: int = TRAIN_IMAGES) -> int:
    """The optimizer steps a capped `fit` on the training images runs for these settings."""
    samples = min(samples, profile.max_train_samples or samples)
    kept = math.floor(samples * (1.0 - (requested.get("validation_split") or 0.0)))
    return profile.epochs_run(requested["epochs"]) * math.ceil(kept / (requested.get("batch_size") or 32))


def check_trained(model, result, profile) -> None:
    """The model's own optimizer took the steps of the `fit` that returned `result`, once: its
    weights come from that training, not from another run or from none."""
    requested = result.get("requested") if isinstance(result, dict) else None
    if not isinstance(requested, dict) or not isinstance(requested.get("epochs"), int):
        return  # check_history has said why
    expected = training_steps(requested, profile)
    found = int(model.optimizer.iterations.numpy()) if model.optimizer is not None else 0
    if found != expected:
        fail(
            f"モデルの学習のステップ数が違います: 期待 {expected:,}、実際 {found:,}。"
            "model.fit(...) を 1 回だけ、x_train 全体で実行してください。",
            f"The model's optimizer ran {found:,} steps, but this fit runs {expected:,}: train it with "
            "one model.fit(...) on the whole of x_train.",
        )


# What the lecture's compile(...) gives: loss, optimizer class, metrics.
LECTURE_COMPILE = {"loss": "categorical_crossentropy", "optimizer": "Adam", "metrics": ["accuracy"]}


def _loss_name(loss) -> str:
    """'categorical_crossentropy' for that string or for keras.losses.CategoricalCrossentropy()."""
    if isinstance(loss, dict):
        loss = loss.get("class_name") or loss.get("config", {}).get("name")
    name = str(loss)
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_").lower()


def _metric_names(metrics) -> list:
    names = []
    for metric in metrics if isinstance(metrics, list) else [metrics]:
        if isinstance(metric, dict):
            metric = metric.get("config", {}).get("name") or metric.get("class_name")
        names.append(SPELLINGS.get(str(metric), str(metric)))
    return names


def check_compile(model, loss: str, optimizer: str, metrics: list) -> None:
    """The model was compiled as the lecture does: `compile(loss=..., optimizer=..., metrics=...)`."""
    config = model.get_compile_config() if model.compiled else None
    if not config:
        fail("モデルが compile されていません。", "The model was not compiled: call model.compile(...).")
    found = {
        "loss": _loss_name(config.get("loss")),
        "optimizer": type(model.optimizer).__name__,
        "metrics": _metric_names(config.get("metrics")),
    }
    for setting, want in (("loss", loss), ("optimizer", optimizer), ("metrics", metrics)):
        if found[setting] != want:
            fail(
                f"compile の {setting} が違います: 期待 {want!r}、実際 {found[setting]!r}",
                f"compile(...) {setting}: expected {want!r}, found {found[setting]!r}.",
            )


def _thresholds() -> dict:
    return json.loads(THRESHOLDS.read_text("utf-8"))


def threshold(assignment: str, model_name: str, profile) -> float:
    """The accuracy `model_name` must reach, calibrated under the same budget as `profile`'s."""
    try:
        entry = _thresholds()[assignment][model_name][profile.name]
    except KeyError:
        raise KeyError(
            f"No accuracy threshold for {assignment}/{model_name} under profile {profile.name}: "
            f"run `course calibrate {assignment} --profile {profile.name}`"
        ) from None
    if entry.get("budget", profile.description) != profile.description:
        fail(
            "採点の学習条件が基準を決めたときと違います (採点環境の問題です)。",
            f"Training ran with {profile.description}, but the {assignment}/{model_name} threshold "
            f"was calibrated with {entry['budget']}: grade from the assignment's own folder, or "
            f"recalibrate with `course calibrate {assignment} --profile {profile.name}`.",
        )
    return entry["threshold"]


def _test_set(model) -> tuple:
    """The 10,000 test images, freshly loaded and scaled to [0, 1] as the lecture does, shaped to
    the model's input, and their labels: the student's own data is not used."""
    (_, _), (x_test, y_test) = dataset()
    input_shape = tuple(model.inputs[0].shape[1:])
    if math.prod(input_shape) != 28 * 28:
        fail(
            f"モデルの入力の形 {input_shape} が 28×28 の画像に合いません。",
            f"The model's input shape {input_shape} does not fit 28x28 images.",
        )
    return x_test.reshape((-1,) + input_shape).astype("float32") / 255, y_test


def test_labels() -> np.ndarray:
    return dataset()[1][1]


_predictions = {}  # {the model's architecture and weights: its test predictions}


def test_probabilities(model) -> np.ndarray:
    """The model's predictions for the 10,000 test images, made once per set of weights (one
    verification predicts a model for its accuracy and again for its mistakes)."""
    import keras

    digest = hashlib.sha256(model.to_json().encode())
    for weight in model.get_weights():
        digest.update(np.ascontiguousarray(weight).tobytes())
    key = digest.hexdigest()
    if key not in _predictions:
        x, _ = _test_set(model)
        # Called on the class, so a notebook that replaced model.predict is not used.
        _predictions[key] = keras.Model.predict(model, x, batch_size=1000, verbose=0)
    return _predictions[key]


def measure_test_accuracy(model) -> float:
    """Accuracy on the test images, recomputed with the model's own weights: a Keras model, or
    scratch_cnn's SimpleConvNet from its parameters (the network itself in a kernel, its
    `params` as handed over in the verifier)."""
    if isinstance(getattr(model, "params", None), dict):
        return scratch_accuracy(model.params)
    if isinstance(model, dict) and model.get("kind") == "value":
        return scratch_accuracy(model["value"] if isinstance(model["value"], dict) else {})
    return float(np.mean(np.argmax(test_probabilities(model), axis=1) == test_labels()))


def scratch_accuracy(params: dict) -> float:
    """SimpleConvNet's accuracy on the 10,000 test images, computed with the course's own layers
    (course.lectures.scratch) from the parameters alone."""

    arrays = {}
    for name, shape in SIMPLE_CONV_NET_SHAPES.items():
        try:
            found = np.asarray(params[name], dtype=np.float64)
        except (KeyError, TypeError, ValueError):
            found = None
        if found is None or found.shape != shape:
            fail(f"network.params['{name}'] の形が {shape} ではありません ({getattr(found, 'shape', None)})。",
                 f"network.params[{name!r}] should have shape {shape}, found {getattr(found, 'shape', None)}.")
        arrays[name] = found
    (_, _), (x_test, y_test) = dataset()
    x = x_test.reshape(-1, 1, 28, 28) / 255
    predicted = np.concatenate([np.argmax(simple_conv_net_scores(arrays, x[i:i + 1000]), axis=1)
                                for i in range(0, len(x), 1000)])
    return float(np.mean(predicted == y_test))


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
    def matches(values):
        return found is not None and len(found) == len(values) and np.allclose(found, values, rtol=1e-3, atol=1e-4)

    if not matches(expected):
        # The commonest cause: the model was evaluated on images that were never divided by 255.
        if found is not None and matches(keras.Model.evaluate(model, x * 255, np.eye(10)[y], batch_size=1000,
                                                              verbose=0)):
            fail(
                "score は 255 で割っていない画像での評価です。前処理で x_test を 255 で割りましたか？",
                "score is the evaluation on test images that were not divided by 255: divide x_test (and "
                "x_train) by 255 in preprocessing.",
            )
        want = "[" + ", ".join(f"{value:.4f}" for value in expected) + "]"
        fail(
            f"score がテスト用データでの評価と違います: 期待 {want}、実際 {score}。"
            "model.evaluate(x_test, y_test) の戻り値を入れましたか？",
            f"score should be model.evaluate on the test data, {want}, found {score} "
            "(evaluate on x_test and y_test).",
        )


# Images whose two most probable classes are closer than this may be predicted either way in the
# kernel (which predicts in batches of 32) and here (1,000): neither answer costs points.
NEAR_TIE = 1e-4


def check_misclassified(indices, model) -> None:
    """`indices` lists, in order, the test images `model` gets wrong. The predictions are made
    again here, so any trained model passes."""
    y = test_labels()
    probabilities = test_probabilities(model)
    top_two = np.sort(probabilities, axis=1)[:, -2:]
    either_way = set(np.flatnonzero(top_two[:, 1] - top_two[:, 0] < NEAR_TIE).tolist())
    expected = np.flatnonzero(np.argmax(probabilities, axis=1) != y).tolist()
    try:
        found = [int(i) for i in indices]
    except (TypeError, ValueError):
        fail("misclassified は画像の番号（整数）のリストにします。",
             f"misclassified should be a list of image indices (integers), found {type(indices).__name__}.")
    missing = sorted(set(expected) - set(found) - either_way)
    extra = sorted(set(found) - set(expected) - either_way)
    if missing or extra or found != sorted(set(found)):
        fail(
            f"間違えた画像の番号が違います: モデルが間違えたのは {len(expected)} 枚、答えは {len(found)} 個です。",
            f"The model gets {len(expected)} test images wrong; misclassified lists {len(found)}. "
            f"Missing: {missing[:10]}, not misclassified: {extra[:10]}.",
        )


def check_test_accuracy(model, assignment: str, model_name: str, profile) -> float:
    """The model's recomputed test accuracy reaches `profile`'s threshold; returns it."""
    limit = threshold(assignment, model_name, profile)
    accuracy = measure_test_accuracy(model)
    if accuracy < limit:
        fail(
            f"テストデータでの正解率 {accuracy:.4f} が基準 {limit:.3f} に届きません。"
            "前処理・モデル・学習を見直してください。",
            f"Test accuracy {accuracy:.4f} is below the threshold {limit:.3f} "
            f"({profile.name} profile): check the preprocessing, the model and the training.",
        )
    return accuracy


def check_digest(name: str, described, expected: np.ndarray, expected_digest: str) -> None:
    """`described` (an array as course_kernel.handover.describe gives it) holds `expected`'s values, whose
    digest (course_kernel.handover.digest) is `expected_digest`."""
    if not isinstance(described, dict) or described.get("kind") != "array":
        fail(f"{name} が配列ではありません。", f"{name} should be a NumPy array.")
    shape = tuple(described["shape"])
    if shape != expected.shape:
        fail(
            f"{name} の形が違います: 期待 {expected.shape}、実際 {shape}",
            f"{name} should have shape {expected.shape}, found {shape}.",
        )
    if described["digest"] != expected_digest:
        fail(
            f"{name} の値が違います (最小 {described['min']}、最大 {described['max']})。",
            f"{name} has other values than expected: min {described['min']}, max {described['max']} "
            f"(expected min {expected.min():g}, max {expected.max():g}).",
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


# Cases on which a student's NumPy layer must agree with Keras's: (height, width, kernel height,
# kernel width, stride, padding), square kernels and others. 'same' only with stride 1 and odd
# sizes, where it pads (size - 1) / 2 zeros on either side, as the lecture shows; Keras pads
# unevenly otherwise. The values are drawn when the notebook is graded (a Lecture's inputs).
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


def convolution_cases(rng) -> list:
    return [{"args": [rng.integers(-4, 5, (h, w)).tolist(), rng.integers(-2, 3, (kh, kw)).tolist()],
             "kwargs": {"stride": stride, "padding": padding}} for h, w, kh, kw, stride, padding in CONVOLUTION_CASES]


def pooling_cases(rng) -> list:
    return [{"args": [rng.integers(-9, 10, (h, w)).tolist(), size, stride]} for h, w, size, stride in POOLING_CASES]


def keras_convolution(image, kernel, stride=1, padding="valid") -> np.ndarray:
    """What `keras.layers.Conv2D` computes for one image and one kernel."""
    import keras

    kernel = np.asarray(kernel, float)
    # A zeros initializer draws no random numbers: later models train as if this had not run.
    layer = keras.layers.Conv2D(1, kernel.shape, strides=stride, padding=padding, use_bias=False,
                                kernel_initializer="zeros")
    layer.build((1, *np.shape(image), 1))
    layer.set_weights([kernel[:, :, None, None]])
    return _one_image(layer, image)


def keras_pooling(kind: str):
    """What Keras's MaxPooling2D or AveragePooling2D computes for one feature map."""
    def pool(feature_map, size, stride):
        import keras

        layer_class = {"max": keras.layers.MaxPooling2D, "average": keras.layers.AveragePooling2D}[kind]
        return _one_image(layer_class(pool_size=size, strides=stride), feature_map)
    return pool


# How messages name the arguments of a student's function: an array by its label and shape, a
# number as label=value (unlabelled: the value alone).
ARGUMENT_LABELS = {"convolve": ("image", "kernel"), "max_pool": ("feature map", "pool_size", "stride"),
                   "average_pool": ("feature map", "pool_size", "stride"),
                   "im2col": ("input_data", "filter_h", "filter_w", "stride", "pad"),
                   "col2im": ("col", "input_shape", "filter_h", "filter_w", "stride", "pad"),
                   "convolution_forward": ("x", "W", "b", "stride", "pad"),
                   **{f"convolution_d{p}": ("x", "W", "b", "dout", "stride", "pad") for p in ("x", "W", "b")},
                   "pooling_forward": ("x", "pool_h", "pool_w", "stride"),
                   "pooling_dx": ("x", "dout", "pool_h", "pool_w", "stride"),
                   "conv_net_params": ("filter_num", "filter_size", "hidden_size")}


def _call_text(function: str, case: dict) -> str:
    """`convolve(image 6×6, kernel 3×3, stride=1, padding='valid')`: a call, arrays by their shape."""
    labels = ARGUMENT_LABELS.get(function, ())
    args = []
    for i, value in enumerate(case["args"]):
        label = labels[i] if i < len(labels) else None
        if isinstance(value, list):
            args.append(f"{label or 'array'} {'×'.join(map(str, np.shape(value)))}")
        elif isinstance(value, dict) and "tuple" in value:
            args.append(f"{label}={tuple(value['tuple'])}" if label else repr(tuple(value["tuple"])))
        else:
            args.append(f"{label}={value!r}" if label else repr(value))
    args += [f"{key}={value!r}" for key, value in case.get("kwargs", {}).items()]
    return f"{function}({', '.join(args)})"


NUMPY_ONLY_JA = ("採点では、この課題のコードを NumPy と標準ライブラリだけがある環境で実行します"
                 "（Keras・TensorFlow・SciPy やノートブックのデータはありません）。NumPy だけで書いてください。")
NUMPY_ONLY_EN = ("Grading runs this task's code where only NumPy and the standard library exist (no Keras, "
                 "TensorFlow, SciPy or the notebook's data): write it with NumPy alone.")


def refused(described: dict) -> None:
    """The task's code did not run with NumPy alone (course.grading.numpy_only.Refusal): say why."""
    name, statement, error = (str(described.get(key) or "") for key in ("name", "statement", "error"))
    if statement:
        fail(f"{name} を定義する文 `{statement}` が NumPy だけの環境でエラーになりました: {error}。{NUMPY_ONLY_JA}",
             f"The statement that defines {name} `{statement}` raised {error} with NumPy alone. {NUMPY_ONLY_EN}")
    if error:
        fail(f"{name} のコードを NumPy だけの環境で最後まで実行できませんでした: {error}。{NUMPY_ONLY_JA}",
             f"The code of {name} could not be run to its end with NumPy alone: {error}. {NUMPY_ONLY_EN}")
    fail(f"NumPy だけの環境では {name} が定義されません。{NUMPY_ONLY_JA}",
         f"{name} is not defined when your code runs with NumPy alone. {NUMPY_ONLY_EN}")


def check_outputs(function: str, described, cases: list, reference, compare=None) -> None:
    """The student's `function`, called on `cases` (in the NumPy-only process, or in the kernel),
    gave what `reference` gives (`compare(call, actual, expected)` fails where not; by default
    `check_array`)."""
    numpy_only = isinstance(described, dict) and described.get("numpy_only")
    if isinstance(described, dict) and described.get("kind") == "refused":
        refused(described)
    if not isinstance(described, dict) or described.get("kind") != "outputs":
        fail(f"{function} が関数ではありません。", f"{function} should be a function.")
    outputs = described["outputs"]
    if not cases or len(outputs) != len(cases):
        fail(f"{function} の結果がそろっていません。", f"{function} was not called on every test input.")
    for case, output in zip(cases, outputs, strict=True):
        call = _call_text(function, case)
        if "raised" in output:
            error = output["raised"]
            if numpy_only:  # it may work in the student's kernel, where Keras and the data are
                fail(f"{call} でエラーになりました: {error}。{NUMPY_ONLY_JA}",
                     f"{call} raised {error}. {NUMPY_ONLY_EN}")
            fail(f"{call} でエラーになりました: {error}", f"{call} raised {error}")
        expected = np.asarray(reference(*arguments(case), **case.get("kwargs", {})), float)
        try:
            actual = np.asarray(output["output"], float)
        except (TypeError, ValueError):
            fail(f"{call} の結果が数の配列ではありません。", f"{call} should return an array of numbers.")
        (compare or check_array)(call, actual, expected)


# A backward pass's gradient may differ from the numerical one by this much (relative error,
# course.lectures.scratch.relative_error): both are float64, and rounding gives about 1e-10.
GRADIENT_BOUND = 1e-5


def check_gradient(call: str, actual: np.ndarray, numerical: np.ndarray) -> None:
    """A gradient from a backward pass agrees with the numerical gradient."""

    if actual.shape != numerical.shape:
        fail(f"{call} の形が違います: 期待 {numerical.shape}、実際 {actual.shape}",
             f"{call} should have shape {numerical.shape}, found {actual.shape}.")
    error = relative_error(actual, numerical)
    if not error <= GRADIENT_BOUND:
        fail(f"{call} が数値微分で求めた勾配と合いません (相対誤差 {error:.2g}、基準 {GRADIENT_BOUND:g})。",
             f"{call} differs from the numerical gradient: relative error {error:.2g} "
             f"(at most {GRADIENT_BOUND:g}).")


LECTURE_ITERATIONS = 1000  # scratch_cnn: the seed's iters_num


def check_loss_list(described, profile) -> None:
    """`train_loss_list` has one loss per iteration the budget allowed, and the loss went down."""
    losses = described.get("value") if isinstance(described, dict) else None
    try:
        losses = np.asarray(losses, dtype=float).ravel() if isinstance(losses, list) else None
    except (TypeError, ValueError):
        losses = None
    if losses is None or losses.size == 0:
        fail("train_loss_list が loss の値のリストではありません。",
             "train_loss_list should be a list of the losses, one per iteration.")
    expected = profile.iterations_run(LECTURE_ITERATIONS)
    if len(losses) != expected:
        fail(f"train_loss_list の長さが {len(losses)} です。iters_num 回 ({expected} 回) 繰り返してください。",
             f"train_loss_list has {len(losses)} losses: the loop should run iters_num ({expected}) times.")
    window = max(1, len(losses) // 10)
    first, last = losses[:window].mean(), losses[-window:].mean()
    if not last < 0.9 * first:
        fail(f"loss が下がっていません (最初 {first:.3f}、最後 {last:.3f})。optimizer.update を呼びましたか？",
             f"The loss did not go down (first {first:.3f}, last {last:.3f}): "
             "does the loop call optimizer.update?")


def check_learning_curves(fig, result) -> None:
    """The lecture's figure: two side-by-side subplots plotting result.history's loss curves
    and accuracy curves, with those labels (checked on the figure's data, not its pixels).
    `fig` and `result` as course_kernel.handover.describe gives them."""
    axes = fig.get("axes") if isinstance(fig, dict) and fig.get("kind") == "figure" else None
    if axes is None or len(axes) != 2:
        found = len(axes) if axes is not None else "no figure"
        fail(
            f"fig にはグラフが 2 つ（plt.subplot(1, 2, 1) と (1, 2, 2)）必要です。実際: {found}",
            f"fig should hold 2 subplots (plt.subplot(1, 2, 1) and (1, 2, 2)), found {found}.",
        )
    history = result.get("history", {}) if isinstance(result, dict) else {}
    for i, (lines, labels) in enumerate(zip(axes, LEARNING_CURVES, strict=True), 1):
        found = tuple(line["label"] for line in lines)
        if found != labels:
            fail(
                f"{i} つ目のグラフの線のラベルが違います: 期待 {labels}、実際 {found}",
                f"Subplot {i} should plot the lines {labels} (with label=...), found {found}.",
            )
        for line in lines:
            key = line["label"]
            values = np.asarray(line["y"], float)
            if key not in history or values.shape != np.shape(history[key]) or not np.allclose(values, history[key]):
                fail(
                    f"{i} つ目のグラフの {key} の線が result.history['{key}'] ではありません。",
                    f"Subplot {i}: the line {key!r} does not plot result.history[{key!r}].",
                )
