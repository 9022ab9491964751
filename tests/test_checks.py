import keras
import numpy as np
import pytest
from conftest import mlp, tiny_data

from course.data import load_fashion_mnist
from course.lectures.checks import (
    LEARNING_CURVES,
    LECTURE_COMPILE,
    check_array,
    check_compile,
    check_history,
    check_layers,
    check_misclassified,
    check_outputs,
    check_test_accuracy,
    check_test_score,
    check_trained,
    convolution_cases,
    keras_convolution,
    keras_pooling,
    measure_test_accuracy,
    pooling_cases,
    training_steps,
)
from course_kernel.handover import describe, digest
from course_kernel.profiles import PROFILES, Profile, install_fit_cap

MLP1_LAYERS = [
    ("Dense", (None, 32), 25120, {"units": 32, "activation": "relu"}),
    ("Dense", (None, 10), 330, {"units": 10, "activation": "softmax"}),
]


def test_layers_of_the_lecture_model_pass():
    check_layers(mlp(), MLP1_LAYERS)


def functional(*layers):
    """The same layers through Keras's functional API: `keras.Input` … `keras.Model`."""
    inputs = keras.Input(shape=(784,))
    outputs = inputs
    for layer in layers:
        outputs = layer(outputs)
    return keras.Model(inputs, outputs)


def test_the_lecture_model_written_with_the_functional_api_passes_and_another_fails():
    check_layers(functional(keras.layers.Dense(32, activation="relu"), keras.layers.Dense(10, activation="softmax")),
                 MLP1_LAYERS)
    with pytest.raises(AssertionError, match="Expected 2 layers, found 3"):
        check_layers(functional(keras.layers.Dense(32, activation="relu"), keras.layers.Dense(32, activation="relu"),
                                keras.layers.Dense(10, activation="softmax")), MLP1_LAYERS)


@pytest.mark.parametrize(
    "model, message",
    [
        (mlp(hidden=64), "1 番目の層の設定が違います"),
        (mlp(output_activation="sigmoid"), r"Layer 2 \(settings\) differs"),
        (keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, activation="softmax")]),
         "Expected 2 layers, found 1"),
        (keras.Sequential([keras.layers.Dense(32, activation="relu"), keras.layers.Dense(10, activation="softmax")]),
         "give the first layer an input_shape"),
    ],
)
def test_wrong_models_fail_with_what_differs(model, message):
    with pytest.raises(AssertionError, match=message):
        check_layers(model, MLP1_LAYERS)


def test_dropout_in_the_wrong_place_fails_despite_equal_parameter_count():
    def with_dropout(after_first):
        layers = [keras.Input((784,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(10)]
        layers.insert(2 if after_first else 3, keras.layers.Dropout(0.5))
        return keras.Sequential(layers)

    expected = [("Dense", (None, 32), 25120, {"units": 32, "activation": "relu"}),
                ("Dropout", (None, 32), 0, {"rate": 0.5}),
                ("Dense", (None, 10), 330, {"units": 10, "activation": "linear"})]
    check_layers(with_dropout(after_first=True), expected)
    with pytest.raises(AssertionError, match="Layer 2 .class. differs: expected 'Dropout', found 'Dense'"):
        check_layers(with_dropout(after_first=False), expected)


def fitted(epochs=3, **fit_args):
    x, y = tiny_data()
    return mlp().fit(x, y, epochs=epochs, verbose=0, **fit_args)


FULL, GRADE, SMOKE = PROFILES["full"], PROFILES["grade"], PROFILES["smoke"]


def test_history_of_the_lecture_fit_passes():
    check_history(describe(fitted(validation_split=0.2)), FULL, epochs=3)


def test_history_without_validation_fails():
    with pytest.raises(AssertionError, match="val_accuracy"):
        check_history(describe(fitted()), FULL, epochs=3)


def test_history_of_either_spelling_of_accuracy_passes_and_another_metric_fails():
    x, y = tiny_data()
    for metrics in (["acc"], ["mse"]):
        model = mlp()
        model.compile(**{**LECTURE_COMPILE, "metrics": metrics})
        result = describe(model.fit(x, y, epochs=3, validation_split=0.2, verbose=0))
        if metrics == ["acc"]:
            check_history(result, FULL, epochs=3)
            check_compile(model, **LECTURE_COMPILE)
        else:
            with pytest.raises(AssertionError, match="history's keys"):
                check_history(result, FULL, epochs=3)


def test_history_with_other_epochs_fails():
    with pytest.raises(AssertionError, match="epochs: expected 30, found 3"):
        check_history(describe(fitted(validation_split=0.2)), FULL, epochs=30)


@pytest.mark.parametrize(
    "fit_args, message",
    [
        ({"batch_size": 32, "validation_split": 0.2}, "batch_size: expected 64, found 32"),
        ({"validation_split": 0.2}, "batch_size: expected 64, found None"),
        ({"batch_size": 64, "validation_split": 0.1}, "validation_split: expected 0.2, found 0.1"),
    ],
)
def test_fit_settings_the_task_states_are_checked(restore_fit, fit_args, message):
    install_fit_cap(FULL)
    stated = {"epochs": 3, "batch_size": 64, "validation_split": 0.2}
    check_history(describe(fitted(batch_size=64, validation_split=0.2)), FULL, **stated)
    with pytest.raises(AssertionError, match=message):
        check_history(describe(fitted(**fit_args)), FULL, **stated)


def test_a_given_fit_shortened_by_the_student_passes_when_every_budgeted_epoch_ran(restore_fit):
    install_fit_cap(GRADE)
    check_history(describe(fitted(epochs=50, validation_split=0.2)), GRADE)  # what grading runs: capped to 3
    check_history(describe(fitted(epochs=2, validation_split=0.2)), GRADE)  # shortened: every epoch asked for ran


def test_history_stopped_early_fails():
    result = fitted(validation_split=0.2)
    for values in result.history.values():
        values.pop()
    with pytest.raises(AssertionError, match="did not run every epoch"):
        check_history(describe(result), FULL, epochs=3)


def test_history_replaced_by_a_dict_fails():
    with pytest.raises(AssertionError, match="what model.fit"):
        check_history(describe({"loss": [0.1] * 3}), FULL, epochs=3)


def test_a_history_made_by_hand_fails_under_a_grading_budget():
    result = keras.callbacks.History()
    result.history = {key: [0.9] for key in ("loss", "accuracy", "val_loss", "val_accuracy")}
    result.params = {"epochs": 1}
    check_history(describe(result), FULL, epochs=1)  # the lecture's epochs: nothing to tell it by
    with pytest.raises(AssertionError, match="not returned by model.fit"):
        check_history(describe(result), SMOKE, epochs=1)


def test_the_model_must_have_taken_the_steps_of_its_fit(restore_fit):
    install_fit_cap(SMOKE)
    x, y = tiny_data(6000)  # what the smoke budget trains on: 4,800 images and 1,200 for validation
    model = mlp()
    result = model.fit(x, y, epochs=30, batch_size=64, validation_split=0.2, verbose=0)
    assert training_steps(result.requested, SMOKE) == 75  # 1 epoch of ceil(4,800 / 64) batches
    check_trained(model, describe(result), SMOKE)
    with pytest.raises(AssertionError, match="ran 0 steps, but this fit runs 75"):
        check_trained(mlp(), describe(result), SMOKE)
    model.fit(x, y, epochs=30, batch_size=64, validation_split=0.2, verbose=0)  # trained twice
    with pytest.raises(AssertionError, match="ran 150 steps"):
        check_trained(model, describe(result), SMOKE)


def test_compile_settings_of_the_lecture_are_checked():
    check_compile(mlp(), **LECTURE_COMPILE)
    objects = mlp()
    objects.compile(loss=keras.losses.CategoricalCrossentropy(), optimizer=keras.optimizers.Adam(),
                    metrics=["accuracy"])
    check_compile(objects, **LECTURE_COMPILE)
    for settings, message in (({"loss": "mse"}, "loss: expected 'categorical_crossentropy', found 'mse'"),
                              ({"optimizer": "sgd"}, "optimizer: expected 'Adam', found 'SGD'"),
                              ({"metrics": ["mse"]}, r"metrics: expected \['accuracy'\], found \['mse'\]")):
        model = mlp()
        model.compile(**{**LECTURE_COMPILE, **settings})
        with pytest.raises(AssertionError, match=message):
            check_compile(model, **LECTURE_COMPILE)


def test_digests_agree_for_spellings_of_one_computation_only():
    (x, _), _ = load_fashion_mnist()
    x = x[:2000]
    expected = digest(x.reshape(-1, 784) / 255)
    for spelling in (x.reshape(-1, 784) / 255.0, x.reshape(2000, 784).astype("float32") / 255,
                     x.astype("float32").reshape(-1, 784) * (1 / 255), np.divide(x.reshape(-1, 784), 255)):
        assert digest(spelling) == expected
    assert digest(x.reshape(-1, 784) / 256) != expected
    assert digest(x.reshape(-1, 784)) != expected


@pytest.fixture(scope="module")
def trained_mlp():
    (x, y), _ = load_fashion_mnist()
    keras.utils.set_random_seed(0)
    model = mlp()
    model.fit(x[:6000].reshape(-1, 784) / 255, keras.utils.to_categorical(y[:6000], 10), epochs=1, verbose=0)
    return model


def test_trained_model_reaches_the_smoke_threshold(trained_mlp):
    assert check_test_accuracy(trained_mlp, "mlp1", "model", SMOKE) > 0.7


def test_untrained_model_fails_accuracy():
    with pytest.raises(AssertionError, match="below the threshold"):
        check_test_accuracy(mlp(), "mlp1", "model", SMOKE)


def test_accuracy_ignores_a_faked_predict(trained_mlp):
    honest = measure_test_accuracy(trained_mlp)
    model = mlp()
    model.predict = lambda *args, **kwargs: trained_mlp.predict(*args, **kwargs)
    assert measure_test_accuracy(model) < 0.5 < honest


def test_score_must_be_the_evaluation_on_the_test_data(trained_mlp):
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist()
    on_test = trained_mlp.evaluate(x_test.reshape(-1, 784) / 255, np.eye(10)[y_test], verbose=0)
    check_test_score(on_test, trained_mlp)
    on_train = trained_mlp.evaluate(x_train.reshape(-1, 784) / 255, np.eye(10)[y_train], verbose=0)
    with pytest.raises(AssertionError, match="score should be model.evaluate on the test data"):
        check_test_score(on_train, trained_mlp)
    with pytest.raises(AssertionError, match="score should be model.evaluate on the test data"):
        check_test_score(0.87, trained_mlp)
    # A student who forgot "/ 255" evaluates their model on their own unscaled images: the message
    # names that, not a wrong evaluation.
    unscaled = trained_mlp.evaluate(x_test.reshape(-1, 784).astype("float32"), np.eye(10)[y_test], verbose=0)
    with pytest.raises(AssertionError, match="not divided by 255"):
        check_test_score(unscaled, trained_mlp)


def test_missing_threshold_says_how_to_calibrate():
    with pytest.raises(KeyError, match="course calibrate mlp9 --profile smoke"):
        check_test_accuracy(mlp(), "mlp9", "model", SMOKE)


def test_array_checks_name_shape_and_values():
    import numpy as np

    expected = np.ones((4, 784)) / 2
    check_array("x", expected.copy(), expected)
    with pytest.raises(AssertionError, match=r"x should have shape \(4, 784\), found \(4, 28, 28\)"):
        check_array("x", np.ones((4, 28, 28)), expected)
    with pytest.raises(AssertionError, match="found:\nmin 127.5 max 127.5"):
        check_array("x", expected * 255, expected)


def learning_curves(result, labels=LEARNING_CURVES, swap=False):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(12, 4))
    for i, pair in enumerate(labels, 1):
        plt.subplot(1, 2, i)
        for label in pair:
            key = "loss" if swap and i == 2 else label
            plt.plot(result.history.get(key, result.history["accuracy"]), label=label)
        plt.legend()
    return fig


def test_learning_curves_of_the_lecture_pass():
    from course.lectures.checks import check_learning_curves

    result = fitted(validation_split=0.2)
    check_learning_curves(describe(learning_curves(result)), describe(result))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"labels": (("loss", "val_loss"),)}, "should hold 2 subplots"),
        ({"labels": (("loss", "val_loss"), ("acc", "val_acc"))}, "Subplot 2 should plot the lines"),
        ({"swap": True}, "Subplot 2: the line 'accuracy' does not plot"),
    ],
)
def test_wrong_learning_curves_fail(kwargs, message):
    from course.lectures.checks import check_learning_curves

    result = fitted(validation_split=0.2)
    with pytest.raises(AssertionError, match=message):
        check_learning_curves(describe(learning_curves(result, **kwargs)), describe(result))


def convolve(image, kernel, stride=1, padding="valid"):
    kernel_h, kernel_w = kernel.shape
    if padding == "same":
        image = np.pad(image, ((kernel_h // 2,) * 2, (kernel_w // 2,) * 2))
    windows = np.lib.stride_tricks.sliding_window_view(image, kernel.shape)[::stride, ::stride]
    return np.einsum("ijkl,kl->ij", windows, kernel)


def max_pool(feature_map, pool_size=2, stride=None):
    windows = np.lib.stride_tricks.sliding_window_view(feature_map, (pool_size, pool_size))
    return windows[::stride or pool_size, ::stride or pool_size].max(axis=(2, 3))


def check_convolution(function):
    cases = convolution_cases(np.random.default_rng(2024))
    check_outputs("convolve", describe(function, cases), cases, keras_convolution)


def test_convolution_is_compared_with_keras_conv2d():
    check_convolution(convolve)
    with pytest.raises(AssertionError, match=r"stride=1, padding='valid'\) has other values"):
        check_convolution(lambda image, kernel, stride, padding: convolve(image, kernel[::-1, ::-1], stride, padding))
    with pytest.raises(AssertionError, match=r"stride=2, padding='valid'\) should have shape \(3, 2\)"):
        check_convolution(lambda image, kernel, stride, padding: convolve(image, kernel, 1, padding))
    with pytest.raises(AssertionError, match=r"convolve\(image 6×6, kernel 3×3, stride=1, padding='valid'\) raised"):
        check_convolution(lambda image, kernel, stride, padding: image[99, 99])


def test_a_convolution_that_assumes_square_kernels_fails():
    def square_only(image, kernel, stride=1, padding="valid"):
        size = kernel.shape[0]  # the mistake: the kernel is taken to be size × size
        return convolve(image, kernel[:size, :size], stride, padding)

    with pytest.raises(AssertionError, match=r"kernel 2×3, stride=1, padding='valid'\) should have shape \(5, 5\)"):
        check_convolution(square_only)


def test_pooling_is_compared_with_keras_pooling_layers():
    cases = pooling_cases(np.random.default_rng(0))
    check_outputs("max_pool", describe(max_pool, cases), cases, keras_pooling("max"))
    with pytest.raises(AssertionError, match=r"max_pool\(feature map 4×4, pool_size=2, stride=None\) has other"):
        check_outputs("max_pool", describe(max_pool, cases), cases, keras_pooling("average"))


def test_misclassified_images_are_those_the_model_gets_wrong(trained_mlp):
    (_, _), (x_test, y_test) = load_fashion_mnist()
    predicted = np.argmax(trained_mlp.predict(x_test.reshape(-1, 784) / 255, verbose=0), axis=1)
    wrong = [int(i) for i in np.flatnonzero(predicted != y_test)]
    check_misclassified(wrong, trained_mlp)
    counts = rf"gets {len(wrong)} test images wrong; misclassified lists {len(wrong) - 1}"
    with pytest.raises(AssertionError, match=counts):
        check_misclassified(wrong[1:], trained_mlp)
    with pytest.raises(AssertionError, match="list of image indices"):
        check_misclassified(None, trained_mlp)


def test_threshold_of_another_budget_is_not_used(trained_mlp):
    with pytest.raises(AssertionError, match="calibrated with at most 1 epoch on the first 6,000 training images"):
        check_test_accuracy(trained_mlp, "mlp1", "model", Profile("smoke", 1, 1000))
