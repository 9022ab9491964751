"""Python と深層学習 (seed 003): what each test cell of basics.ipynb must hand over, and its checks.

The NumPy tasks are checked against Keras where Keras has the same thing (the error against
`categorical_crossentropy`, the edge filter against `Conv2D`, the optimizers against
`keras.optimizers`) and against the formula elsewhere, on inputs drawn at grading time.
"""

import numpy as np

from course.lectures.checks import keras_convolution
from course.lectures.expect import equals, function, model, trained
from course.lectures.families import grid, nothing, rows, signs
from course.lectures.lecture import Lecture, NumPyOnly
from course.lectures.numpy_calls import error_slope

NAME = "basics"
NUMPY_ONLY = {
    "test_activations": NumPyOnly(("sigmoid", "tanh", "relu")),
    "test_error": NumPyOnly(("cross_entropy_error",)),
    "test_network": NumPyOnly(("forward_221",)),
    "test_softmax": NumPyOnly(("softmax",)),
    "test_edge_filter": NumPyOnly(("apply_filter",)),
    "test_gradient_descent": NumPyOnly(("gradient_descent",)),
    "test_sgd_momentum": NumPyOnly(("SGD", "Momentum")),
    "test_adagrad_adam": NumPyOnly(("AdaGrad", "Adam")),
}

# The seed's model: Reshape → Conv2D(16, 5×5, same) → MaxPooling → Flatten → Dense(1024) → Dense(10).
SEED_MODEL = [
    ("Reshape", (None, 28, 28, 1), 0, {}),
    ("Conv2D", (None, 28, 28, 16), 416, {"filters": 16, "kernel_size": (5, 5), "strides": (1, 1),
                                         "padding": "same", "activation": "relu"}),
    ("MaxPooling2D", (None, 14, 14, 16), 0, {"pool_size": (2, 2), "strides": (2, 2), "padding": "valid"}),
    ("Flatten", (None, 3136), 0, {}),
    ("Dense", (None, 1024), 3212288, {"units": 1024, "activation": "relu"}),
    ("Dense", (None, 10), 10250, {"units": 10, "activation": "softmax"}),
]  # 3,222,954 parameters
# The seed writes metrics=['acc']; 'accuracy' is accepted as in every lecture (checks.SPELLINGS).
SEED_COMPILE = {"loss": "categorical_crossentropy", "optimizer": "Adam", "metrics": ["accuracy"]}


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def relu(x):
    return np.maximum(0, x)


def softmax(f):
    exp = np.exp(f - np.max(f, axis=-1, keepdims=True))
    return exp / np.sum(exp, axis=-1, keepdims=True)


def keras_cross_entropy_error(p, t):
    """E = −log(P1 × … × PN): Keras's categorical_crossentropy of each row, summed."""
    import keras

    return float(np.sum(keras.ops.convert_to_numpy(keras.losses.categorical_crossentropy(t, p))))


def forward_221(x, w1, b1, w2, b2):
    """P = σ(w1 z1 + w2 z2 + b) of the 2-2-1 network, z = tanh(x W1 + b1)."""
    return sigmoid(np.tanh(x @ w1 + b1) @ w2 + b2)


def descend(w0, learning_rate, steps):
    path = [float(w0)]
    for _ in range(int(steps)):
        path.append(path[-1] - learning_rate * error_slope(path[-1]))
    return np.array(path)


def keras_steps(make_optimizer):
    """The weights after each step of a Keras optimizer given these gradients, as the notebook's
    `optimizer_path` gives them for the student's class."""
    def steps(w0, grads, *settings):
        import keras

        optimizer = make_optimizer(*settings)
        weights = keras.Variable(np.asarray(w0, "float32"))
        path = []
        for gradient in grads:
            optimizer.apply_gradients([(keras.ops.convert_to_tensor(np.asarray(gradient, "float32")), weights)])
            path.append(weights.numpy().copy())
        return np.array(path)
    return steps


def _sgd(learning_rate, momentum=0.0):
    import keras

    return keras.optimizers.SGD(learning_rate=learning_rate, momentum=momentum)


def _adagrad(learning_rate):
    import keras

    # The textbook's h starts at 0 (Keras's default is 0.1); Keras puts ε under the square root.
    return keras.optimizers.Adagrad(learning_rate=learning_rate, initial_accumulator_value=0.0, epsilon=1e-7)


def _adam(learning_rate, beta1, beta2):
    import keras

    return keras.optimizers.Adam(learning_rate=learning_rate, beta_1=beta1, beta_2=beta2, epsilon=1e-7)


TESTS = {
    "test_activations": [function("sigmoid", sigmoid), function("tanh", np.tanh),
                         function("relu", relu)],
    "test_error": [function("cross_entropy_error", keras_cross_entropy_error)],
    "test_network": [
        function("forward_221", forward_221),
        equals("params_221", 9, "2-2-1 のネットワークのパラメータ数が違います", "The 2-2-1 network's parameter count"),
        equals("params_2221", 15, "2-2-2-1 のネットワークのパラメータ数が違います",
               "The 2-2-2-1 network's parameter count"),
    ],
    "test_softmax": [function("softmax", softmax)],
    "test_edge_filter": [function("apply_filter", keras_convolution)],
    "test_gradient_descent": [function("descend", descend)],
    "test_sgd_momentum": [function("sgd_steps", keras_steps(_sgd)),
                          function("momentum_steps", keras_steps(_sgd))],
    "test_adagrad_adam": [function("adagrad_steps", keras_steps(_adagrad)),
                          function("adam_steps", keras_steps(_adam))],
    "test_model": [model("model", SEED_MODEL, SEED_COMPILE)],
    "test_result": [trained("history", "model", NAME)],
}

# The seed's 4×4 image and vertical-edge filter, whose map is a = 2, c = 2 / b = 1, d = −4.
SEED_IMAGE = [[3, 0, 2, 2], [1, 0, 3, 1], [3, 2, 2, 0], [1, 2, 2, 1]]
SEED_FILTER = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]


def _optimizer_cases(rng, *settings) -> list:
    """A few weights and five steps' gradients each; gradients of at least 0.1 in size, where
    ε sits (Keras's Adagrad puts it under the square root) changes nothing at 1e-5."""
    cases = []
    for size in (1, 3, 4):
        grads = rng.choice([-1, 1], (5, size)) * rng.uniform(0.1, 2.0, (5, size))
        cases.append({"args": [rng.normal(0, 1, size).round(3).tolist(), grads.round(3).tolist(),
                               *(float(round(value, 4)) for value in settings)]})
    return cases


def inputs(cell: str, rng) -> dict:
    """What the student's functions are called on: the seed's numbers and values drawn now."""
    def array(*shape, scale=1.0):
        return (rng.normal(0, scale, shape)).round(3).tolist()

    if cell == "test_activations":
        cases = [{"args": [rng.uniform(-10, 10, shape).round(3).tolist()]} for shape in ((7,), (3, 4))]
        return {"sigmoid": cases, "tanh": cases, "relu": cases}
    if cell == "test_error":
        cases = []
        for n, k in ((1, 2), (4, 3), (8, 10)):
            p = softmax(rng.normal(0, 1.5, (n, k)))
            cases.append({"args": [p.tolist(), np.eye(k)[rng.integers(0, k, n)].tolist()]})
        return {"cross_entropy_error": cases}
    if cell == "test_network":
        return {"forward_221": [{"args": [array(n, 2, scale=2), array(2, 2), array(2), array(2),
                                          round(float(rng.normal()), 3)]} for n in (1, 6)]}
    if cell == "test_softmax":
        large = rng.choice([-1000, 1000], (3, 4)) + rng.integers(-5, 6, (3, 4))
        return {"softmax": [{"args": [array(1, 2)]}, {"args": [array(5, 10, scale=3)]}, {"args": [large.tolist()]}]}
    if cell == "test_edge_filter":
        cases = [{"args": [SEED_IMAGE, SEED_FILTER]}]
        for height, width, kernel_height, kernel_width in ((6, 6, 3, 3), (7, 5, 2, 3), (5, 8, 4, 1)):
            cases.append({"args": [rng.integers(0, 10, (height, width)).tolist(),
                                   rng.integers(-3, 4, (kernel_height, kernel_width)).tolist()]})
        return {"apply_filter": cases}
    if cell == "test_gradient_descent":
        return {"descend": [{"args": [round(float(rng.uniform(-2, 2)), 3), round(float(rng.uniform(0.01, 0.05)), 3),
                                      int(rng.integers(5, 60))]} for _ in range(3)]}
    if cell == "test_sgd_momentum":
        return {"sgd_steps": _optimizer_cases(rng, rng.uniform(0.01, 0.5)),
                "momentum_steps": _optimizer_cases(rng, rng.uniform(0.01, 0.5), rng.uniform(0.5, 0.95))}
    if cell == "test_adagrad_adam":
        return {"adagrad_steps": _optimizer_cases(rng, rng.uniform(0.01, 0.5)),
                "adam_steps": _optimizer_cases(rng, rng.uniform(0.001, 0.3), rng.uniform(0.8, 0.95),
                                               rng.uniform(0.99, 0.999))}
    return {}


def _activation_family(x):
    return (f"{np.ndim(x)}-D", *signs(x))


FAMILIES = {
    "sigmoid": _activation_family, "tanh": _activation_family, "relu": _activation_family,
    "cross_entropy_error": lambda p, t: rows(p),
    "forward_221": lambda x, *weights: rows(x),
    "softmax": lambda f: (*rows(f), "large values" if np.abs(f).max() > 100 else "small values"),
    "apply_filter": lambda image, kernel: (*grid(image), *grid(kernel)),
    **dict.fromkeys(("gradient_descent", "SGD", "Momentum", "AdaGrad", "Adam", "SGD().update", "Momentum().update",
                     "AdaGrad().update", "Adam().update"), nothing),
}

LECTURE = Lecture(NAME, TESTS, numpy_only=NUMPY_ONLY, inputs=inputs, families=FAMILIES, grading_seconds=47.3)
