"""What a Colab student sees before the grade: each released notebook, answered with the solutions,
runs in a kernel that can import neither `course` nor nbgrader, and no test cell fails; then each
mistake students make, one at a time, fails a visible test cell. Every mistake below costs points
under grading (the hidden checks in course/lectures/<lecture>.py see it), so none is lost without warning.

Training is cut short in these kernels (one epoch on as many images as the `smoke` grading profile
trains on: 3,000 in pooling, 6,000 elsewhere), as a student short of time might do; a mistake runs
only its own cell and the test cell after it."""

import copy
import json
import re

import nbformat
import numpy as np
import pytest
from conftest import COURSE
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from course.instructor.demo import (
    IM2COL_LOOPS,
    IM2COL_LOOPS_REPLACED,
    SEED_MODEL_FUNCTIONAL,
    SEED_MODEL_SEQUENTIAL,
    Student,
    submission,
)
from course_kernel.profiles import EVALUATION_BATCH, profile_named

pytestmark = pytest.mark.slow  # grades or runs whole notebooks

# Run before the notebook, after `_TRAIN_IMAGES` and `_EVALUATION_BATCH` are set: a kernel with
# Colab's packages alone, and a short `fit` that keeps the settings it was called with where grading
# keeps them (`result.requested`).
COLAB_KERNEL = """
import sys
for name in [n for n in sys.modules if n.split('.')[0] in ('course', 'course_kernel', 'nbgrader')]:
    del sys.modules[name]

class NotInColab:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('course', 'course_kernel', 'nbgrader'):
            raise ModuleNotFoundError(f'No module named {name!r}')

sys.meta_path.insert(0, NotInColab())

import keras
_trainer = next(c for c in keras.Model.__mro__ if 'fit' in c.__dict__)
_fit = _trainer.fit

def short_fit(self, x=None, y=None, batch_size=None, epochs=1, verbose='auto', validation_split=0.0, **kwargs):
    history = _fit(self, x[:_TRAIN_IMAGES], y[:_TRAIN_IMAGES], batch_size=batch_size, epochs=1, verbose=0,
                   validation_split=validation_split, **kwargs)
    history.requested = {'epochs': epochs, 'batch_size': batch_size, 'validation_split': validation_split}
    return history

_trainer.fit = short_fit

# Evaluation in large batches, as grading kernels run it: the same accuracies, in less time.
for _name in ('evaluate', 'predict'):
    def _batched(self, x=None, *args, __original=getattr(_trainer, _name), **kwargs):
        kwargs.setdefault('batch_size', _EVALUATION_BATCH)
        return __original(self, x, *args, **kwargs)
    setattr(_trainer, _name, _batched)
"""
# The same models through Keras's functional API (keras.Input ... keras.Model), added at the end of
# the model's cell (basics': the demo's, in place of the Sequential one): grading counts no
# InputLayer, and neither may a visible test.
FUNCTIONAL = {
    "mlp1": """
import keras
inputs = keras.Input(shape=(784,))
model = keras.Model(inputs, Dense(10, activation='softmax')(Dense(32, activation='relu')(inputs)))
model.compile(loss='categorical_crossentropy', optimizer='Adam', metrics=['accuracy'])
""",
    "mlp2": """
import keras
inputs = keras.Input(shape=(784,))
model_128 = keras.Model(inputs, Dense(10, activation='softmax')(Dense(128, activation='relu')(inputs)))
model_128.compile(loss='categorical_crossentropy', optimizer='Adam', metrics=['accuracy'])
""",
    "cnn": """
import keras
inputs = keras.Input(shape=(28, 28, 1))
features = Conv2D(filters=32, kernel_size=3, strides=1, padding='same', activation='relu')(inputs)
model = keras.Model(inputs, Dense(10, activation='softmax')(Dropout(0.5)(Flatten()(features))))
model.compile(loss='categorical_crossentropy', optimizer='Adam', metrics=['accuracy'])
""",
    "pooling": """
import keras
inputs = keras.Input(shape=(28, 28, 1))
x = Conv2D(filters=32, kernel_size=3, strides=1, padding='same', activation='relu')(inputs)
x = Conv2D(filters=64, kernel_size=3, strides=1, padding='same', activation='relu')(x)
x = Dropout(0.5)(Flatten()(MaxPooling2D(pool_size=2)(x)))
model_pool = keras.Model(inputs, Dense(10, activation='softmax')(x))
model_pool.compile(loss='categorical_crossentropy', optimizer='Adam', metrics=['accuracy'])
""",
}
# A Pooling.backward that writes each window's gradient with `=`: right while windows do not
# overlap, wrong where one pixel is the maximum of two windows.
POOLING_BACKWARD_ASSIGNED = """
def backward_assigned(self, dout):
    dx = np.zeros(self.x.shape)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            rows = slice(i * self.stride, i * self.stride + self.pool_h)
            columns = slice(j * self.stride, j * self.stride + self.pool_w)
            window = self.x[:, :, rows, columns]
            mask = window == window.max(axis=(2, 3), keepdims=True)
            dx[:, :, rows, columns] = mask * dout[:, :, i:i + 1, j:j + 1]
    return dx


Pooling.backward = backward_assigned
"""
# scratch_cnn's loops, cut short as a student short of time would (grading's smoke budget).
SHORT_ITERATIONS = 50
# (assignment, solution cell, (text, replacement), a list of them, or code added at its end, the
# test cell that fails).
MISTAKES = [
    ("basics", "activations", ("return 1 / (1 + np.exp(-x))", "return 1 / (1 + np.exp(x))"), "test_activations"),
    ("basics", "error", ("return -np.sum(np.log(correct))", "return -np.mean(np.log(correct))"), "test_error"),
    ("basics", "network", ("z = tanh(x @ W1 + b1)", "z = tanh(x @ W1.T + b1)"), "test_network"),
    ("basics", "softmax", ("np.exp(f - np.max(f, axis=1, keepdims=True))", "np.exp(f)"), "test_softmax"),
    ("basics", "softmax", ("np.max(f, axis=1, keepdims=True)", "np.max(f)"), "test_softmax"),
    ("basics", "edge_filter", ("image[i:i + kh, j:j + kw] * kernel", "image[i:i + kh, j:j + kw] * kernel[::-1, ::-1]"),
     "test_edge_filter"),
    # SciPy, which grading's NumPy-only process lacks (numpy_alone warns): imported in the function, as the
    # course's environment may lack SciPy.
    ("basics", "edge_filter", "def apply_filter(image, kernel):\n    import scipy.signal\n\n"
                              "    return scipy.signal.correlate2d(image, kernel, mode='valid')\n", "test_edge_filter"),
    ("basics", "gradient_descent", ("for _ in range(steps):", "for _ in range(steps - 1):"), "test_gradient_descent"),
    ("basics", "sgd_momentum", ("self.momentum * self.v[key] - self.learning_rate", "-self.learning_rate"),
     "test_sgd_momentum"),
    ("basics", "adagrad_adam", ("self.learning_rate * np.sqrt(1.0 - self.beta2 ** self.iter) / "
                                "(1.0 - self.beta1 ** self.iter)", "self.learning_rate"), "test_adagrad_adam"),
    ("basics", "model", ("layers.Conv2D(16, (5, 5), padding='same'", "layers.Conv2D(16, (5, 5), padding='valid'"),
     "test_model"),
    ("basics", "model", ("layers.MaxPooling2D((2, 2), name=", "layers.MaxPooling2D((2, 2), padding='same', name="),
     "test_model"),  # still 14x14
    ("basics", "network", ("return sigmoid(z @ w2 + b2)", "return np.squeeze(sigmoid(z @ w2 + b2))"),
     "test_network"),  # right for N > 1 only
    ("mlp1", "model", ("activation='softmax'", "activation='sigmoid'"), "test_model"),
    ("mlp1", "model", ("activation='relu'", "activation='sigmoid'"), "test_model"),
    ("mlp1", "model", ("loss='categorical_crossentropy'", "loss='mse'"), "test_model"),
    ("mlp1", "model", ("optimizer='Adam'", "optimizer='sgd'"), "test_model"),
    ("mlp1", "model", "model.fit(x_train, y_train, epochs=30, batch_size=64, validation_split=0.2)", "test_model"),
    ("mlp1", "training", ("epochs=30", "epochs=5"), "test_history"),
    ("mlp1", "training", ("batch_size=64", "batch_size=32"), "test_history"),
    ("mlp1", "training", ("validation_split=0.2", "validation_split=0.1"), "test_history"),
    ("mlp1", "training", (", validation_split=0.2", ""), "test_history"),
    ("mlp1", "preprocessing", (") / 255", ")"), "test_preprocessing"),
    ("mlp1", "preprocessing", ("/ 255", "/ 256"), "test_preprocessing"),
    ("mlp1", "labels", ("y_train = to_categorical", "to_categorical"), "test_labels"),
    ("mlp1", "evaluation", ("model.evaluate(x_test, y_test)", "model.evaluate(x_train, y_train)"), "test_accuracy"),
    ("mlp2", "history_values", ("result.history['val_accuracy']", "result.history['val_loss']"),
     "test_history_values"),
    ("mlp2", "learning_curves", ("result.history['accuracy'], label", "result.history['loss'], label"),
     "test_learning_curves"),
    ("mlp2", "model_128", ("activation='softmax'", "activation='sigmoid'"), "test_model_128"),
    ("mlp2", "model_128", "model_128.fit(x_train, y_train, epochs=50, batch_size=64, validation_split=0.2)",
     "test_model_128"),
    ("mlp2", "model_deep", ("loss='categorical_crossentropy'", "loss='mse'"), "test_model_deep"),
    ("mlp2", "model_deep", ("model_deep.add(Dense(32, activation='relu'))\n", ""), "test_model_deep"),
    ("mlp2", "model_dropout", ("Dropout(0.5)", "Dropout(0.2)"), "test_model_dropout"),
    ("mlp2", "model_dropout", ("model_dropout.add(Dropout(0.5))\nmodel_dropout.add(Dense(64, activation='relu'))",
                               "model_dropout.add(Dense(64, activation='relu'))\nmodel_dropout.add(Dropout(0.5))"),
     "test_model_dropout"),
    ("cnn", "convolution", ("window = image[i * stride:i * stride + kernel_h, j * stride:j * stride + kernel_w]",
                            "window = image[i:i + kernel_h, j:j + kernel_w]"), "test_convolution_slides"),
    ("cnn", "convolution", ("(kernel_w // 2, kernel_w // 2)", "(kernel_h // 2, kernel_h // 2)"),
     "test_convolution_keras"),
    ("cnn", "convolution", "def convolve(image, kernel, stride=1, padding='valid'):\n    import scipy.signal\n\n"
                           "    return scipy.signal.correlate2d(image, kernel, mode='valid')[::stride, ::stride]\n",
     "test_convolution_slides"),
    ("cnn", "model", ("padding='same', input_shape", "padding='valid', input_shape"), "test_model"),
    ("cnn", "model", ("strides=1", "strides=2"), "test_model"),
    ("cnn", "model", ("Dropout(0.5)", "Dropout(0.25)"), "test_model"),
    ("cnn", "model", ("activation='softmax'", "activation='sigmoid'"), "test_model"),
    ("cnn", "model", "model.fit(x_train, y_train, epochs=50, batch_size=64, validation_split=0.2)", "test_model"),
    ("cnn", "model_two_conv", ("Conv2D(filters=64", "Conv2D(filters=32"), "test_model_two_conv"),
    ("cnn", "model_two_conv", ("loss='categorical_crossentropy'", "loss='mse'"), "test_model_two_conv"),
    ("pooling", "max_pool", ("if stride is None:\n        stride = pool_size", "stride = pool_size"), "test_max_pool"),
    ("pooling", "average_pool", ("if stride is None:\n        stride = pool_size", "stride = pool_size"),
     "test_average_pool"),
    # Right for square maps, or for maps with a positive value in every window, only: the drawn maps
    # are not square and go down to -9.
    ("pooling", "max_pool", ("out_w = (feature_map.shape[1]", "out_w = (feature_map.shape[0]"), "test_max_pool"),
    ("pooling", "max_pool", ("pooled[i, j] = window.max()", "pooled[i, j] = max(0, window.max())"), "test_max_pool"),
    ("pooling", "average_pool", ("out_w = (feature_map.shape[1]", "out_w = (feature_map.shape[0]"),
     "test_average_pool"),
    ("pooling", "model_pool", ("model_pool.add(MaxPooling2D", "model_pool.add(AveragePooling2D"), "test_model_pool"),
    ("pooling", "model_pool", "model_pool.fit(x_train, y_train, epochs=50, batch_size=64, validation_split=0.2)",
     "test_model_pool"),
    ("pooling", "param_counts", ("side = 28 // pool_size", "side = 28 / pool_size"), "test_param_counts"),
    ("pooling", "param_counts", ("(7 * 7 * 128 + 1) * 10", "7 * 7 * 128 * 10"), "test_param_counts"),
    ("pooling", "model_deep", ("model_deep.add(Flatten())\nmodel_deep.add(Dropout(0.5))", "model_deep.add(Flatten())"),
     "test_model_deep"),
    ("pooling", "predicted_shapes", ("(576,)", "(576)"), "test_predicted_shapes"),
    ("pooling", "predicted_shapes", ("(5, 5, 64)", "(6, 6, 64)"), "test_predicted_shapes"),
    ("pooling", "predicted_shapes", ("22 * 22 * 64", "24 * 24 * 64"), "test_predicted_shapes"),
    ("pooling", "model_valid", ("(3, 3), activation='relu'", "(3, 3), padding='same', activation='relu'"),
     "test_model_valid"),
    ("pooling", "misclassified", ("predicted_labels != true_labels", "predicted_labels == true_labels"),
     "test_misclassified"),
    ("pooling", "misclassified", ("[int(i) for i", "[int(i) + 1 for i"), "test_misclassified"),
    # scratch_cnn: what only images and filters that are not square, several channels, padding,
    # overlapping pools or another iters_num show.
    ("scratch_cnn", "im2col", ("col = col.transpose(0, 4, 5, 1, 2, 3)", "col = col.transpose(0, 4, 5, 2, 3, 1)"),
     "test_im2col"),
    ("scratch_cnn", "im2col", ("for x in range(filter_w):", "for x in range(filter_h):"), "test_im2col"),
    ("scratch_cnn", "im2col", [("out_h = (H + 2 * pad - filter_h)", "out_h = (H - filter_h)"),
                               ("out_w = (W + 2 * pad - filter_w)", "out_w = (W - filter_w)"),
                               ("img = np.pad(input_data, [(0, 0), (0, 0), (pad, pad), (pad, pad)], 'constant')",
                                "img = input_data")], "test_im2col"),
    ("scratch_cnn", "pooling", [("out_h = int(1 + (H - self.pool_h)", "out_h = int(1 + (H - self.pool_w)"),
                                ("out_w = int(1 + (W - self.pool_w)", "out_w = int(1 + (W - self.pool_h)"),
                                ("im2col(x, self.pool_h, self.pool_w,", "im2col(x, self.pool_w, self.pool_h,")],
     "test_pooling_forward"),
    ("scratch_cnn", "pooling", POOLING_BACKWARD_ASSIGNED, "test_pooling_backward"),
    ("scratch_cnn", "train", ("for i in range(iters_num):", f"for i in range({SHORT_ITERATIONS}):"),
     "test_training"),
]
# Other right answers, which grading accepts: no visible test may fail them.
ALSO_RIGHT = [
    ("basics", "softmax", ("np.max(f, axis=1, keepdims=True)", "f.max(axis=-1, keepdims=True)"), "test_softmax"),
    ("basics", "model", ("optimizer='adam'", "optimizer='Adam'"), "test_model"),
    ("basics", "model", ("metrics=['acc']", "metrics=['accuracy']"), "test_model"),
    ("basics", "model", (SEED_MODEL_SEQUENTIAL, SEED_MODEL_FUNCTIONAL), "test_model"),
    ("mlp1", "model", ("metrics=['accuracy']", "metrics=['acc']"), "test_model"),
    ("mlp1", "model", FUNCTIONAL["mlp1"], "test_model"),
    ("mlp2", "model_128", FUNCTIONAL["mlp2"], "test_model_128"),
    ("mlp2", "model_dropout", ("metrics=['accuracy']", "metrics=['acc']"), "test_model_dropout"),
    ("cnn", "model", FUNCTIONAL["cnn"], "test_model"),
    ("pooling", "model_pool", FUNCTIONAL["pooling"], "test_model_pool"),
    ("pooling", "model_deep", ("metrics=['accuracy']", "metrics=['acc']"), "test_model_deep"),
    ("scratch_cnn", "im2col", (IM2COL_LOOPS_REPLACED, IM2COL_LOOPS), "test_im2col"),
    ("mlp1", "preprocessing", (") / 255", ").astype('float32') / 255"), "test_preprocessing"),
    ("mlp1", "model", ("loss='categorical_crossentropy'", "loss='CategoricalCrossentropy'"), "test_model"),
    ("mlp1", "model", ("optimizer='Adam'", "optimizer='adam'"), "test_model"),
    ("cnn", "model", ("kernel_size=3, strides=1", "kernel_size=(3, 3), strides=(1, 1)"), "test_model"),
    ("pooling", "predicted_shapes", ("(576,)", "[576]"), "test_predicted_shapes"),
]
ASSIGNMENTS = sorted({m[0] for m in MISTAKES})
FROM_THE_DATA = {"preprocessing", "labels"}


def grade_id(cell) -> str:
    return cell.metadata.get("nbgrader", {}).get("grade_id", "")


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def colab(request, tmp_path_factory):
    """A kernel that ran the released notebook, answered with the solutions, from top to bottom, in an
    empty folder as Colab's: (assignment, the client, the notebook, the cells that failed)."""
    assignment = request.param
    nb = submission(COURSE, assignment, Student("the solutions"))
    for cell in nb.cells if assignment == "scratch_cnn" else ():  # its loops: 1,000 and 100 iterations
        if grade_id(cell) in ("settings", "settings_double"):
            cell.source = re.sub(r"^iters_num = \d+", f"iters_num = {SHORT_ITERATIONS}", cell.source, flags=re.M)
    folder = tmp_path_factory.mktemp(assignment)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}})
    with client.setup_kernel():
        # Straight to the kernel: executing a cell through the client puts it into the notebook.
        execute = run_sync(client.kc.execute_interactive)
        numbers = (f"_TRAIN_IMAGES = {profile_named('smoke', assignment).max_train_samples}\n"
                   f"_EVALUATION_BATCH = {EVALUATION_BATCH}\n")
        assert execute(numbers + COLAB_KERNEL, timeout=120)["content"]["status"] == "ok"
        for package in ("course", "course_kernel", "nbgrader"):
            reply = execute(f"import {package}", timeout=60)["content"]
            assert reply.get("ename") == "ModuleNotFoundError", (package, reply)
        failed = []
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                try:
                    client.execute_cell(cell, index)
                except CellExecutionError as error:
                    failed.append((grade_id(cell), str(error)[-1500:]))
        yield assignment, client, copy.deepcopy(nb), failed, folder


def test_the_solutions_pass_every_visible_test_in_colab(colab):
    assignment, _, _, failed, _ = colab
    assert not failed, (assignment, failed)


def run_cells(client, nb, first: str, last: str, replaced: dict) -> None:
    """Run the code cells of `nb` (the answered notebook, as it was) from grade id `first` to
    `last`, with some sources replaced."""
    indices = {grade_id(c): i for i, c in enumerate(nb.cells) if grade_id(c)}
    for index in range(indices[first], indices[last] + 1):
        cell = nb.cells[index]
        if cell.cell_type == "code":
            source = replaced.get(grade_id(cell), cell.source)
            client.execute_cell(nbformat.from_dict(copy.deepcopy(dict(cell, source=source))), index)


def changed(nb, position: dict, solution: str, change) -> tuple:
    """(the cell to run from, the solution cell's source with `change`: a (text, replacement) pair,
    a list of them, or code added at its end). A change in preparing the data runs again from loading it."""
    source = nb.cells[position[solution]].source
    if isinstance(change, str):
        source += "\n" + change
    else:
        for text, replacement in [change] if isinstance(change, tuple) else change:
            assert text in source, (solution, text)
            source = source.replace(text, replacement)
    return ("data" if solution in FROM_THE_DATA else solution), source


def test_every_mistake_fails_a_visible_test(colab):
    assignment, client, nb, *_ = colab
    position = {grade_id(c): i for i, c in enumerate(nb.cells)}
    # The last cells' mistakes first: each is then put right by running its cell again, and what a
    # later mistake needs (a model trained by a given cell further up) is as the solutions left it.
    mistakes = sorted((m for m in MISTAKES if m[0] == assignment), key=lambda m: -position[m[1]])
    silent = []
    for _, solution, mistake, test in mistakes:
        first, wrong = changed(nb, position, solution, mistake)
        try:
            run_cells(client, nb, first, test, {solution: wrong})
            silent.append((solution, mistake))
        except CellExecutionError as error:
            # A test's message, Japanese then English, not a traceback from the student's own cell.
            assert "AssertionError" in str(error), (solution, mistake, str(error)[-600:])
        run_cells(client, nb, first, test, {})  # the solution again
    assert not silent, f"{assignment}: mistakes that no visible test catches: {silent}"


def test_other_right_answers_pass(colab):
    assignment, client, nb, *_ = colab
    position = {grade_id(c): i for i, c in enumerate(nb.cells)}
    for _, solution, change, test in (m for m in ALSO_RIGHT if m[0] == assignment):
        first, right = changed(nb, position, solution, change)
        run_cells(client, nb, first, test, {solution: right})
        run_cells(client, nb, first, test, {})


# Run in the Colab kernel around a test cell: every call of what the notebook defined under these
# names is recorded (one per kind of arguments), and written to a file for the test to read.
RECORDING = """
import json as _json
import numpy as _np


def _plain(value):
    if isinstance(value, _np.ndarray):
        return {'array': value.tolist()}
    if isinstance(value, _np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value if value is None or isinstance(value, (bool, int, float, str)) else type(value).__name__


def _kind(value):  # what two calls must share to be recorded once
    if isinstance(value, _np.ndarray) and value.dtype.kind in 'iuf' and value.size:
        return [list(value.shape), bool((value < 0).any()), float(_np.abs(value).max()) > 100]
    if isinstance(value, (list, tuple)):
        return [_kind(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _kind(v) for k, v in value.items()}
    return repr(value)[:40]


class _Recorded:
    def __init__(self, target, name, init=((), {})):
        object.__setattr__(self, '_target', target)
        object.__setattr__(self, '_name', name)
        object.__setattr__(self, '_init', init)

    def __call__(self, *args, **kwargs):
        key = _json.dumps([self._name, _kind(args), _kind(kwargs), _kind(self._init)])
        _recorded.setdefault(key, [self._name, _plain(args), _plain(kwargs), _plain(self._init)])
        result = self._target(*args, **kwargs)
        return _Recorded(result, self._name + '()', (args, kwargs)) if isinstance(self._target, type) else result

    def __getattr__(self, attribute):
        value = getattr(self._target, attribute)
        return _Recorded(value, f'{self._name}.{attribute}', self._init) if callable(value) else value

    def __setattr__(self, attribute, value):
        setattr(self._target, attribute, value)


_recorded = {}
_kept = {name: globals()[name] for name in NAMES if name in globals()}
globals().update({name: _Recorded(value, name) for name, value in _kept.items()})
"""
STOP_RECORDING = """
globals().update(_kept)
with open('recorded.json', 'w') as _file:
    _json.dump(list(_recorded.values()), _file)
"""


class Stub:
    """Stands for what a notebook defines while the grader's calls on drawn inputs are recorded."""

    def __init__(self, name: str, log: list, init=((), {})):
        self.name, self.log, self.init = name, log, init

    def __call__(self, *args, **kwargs):
        self.log.append((self.name, args, kwargs, self.init))
        return Stub(self.name + "()", self.log, (args, kwargs))

    def __getattr__(self, attribute):
        return Stub(f"{self.name}.{attribute}", self.log, self.init)


class Stubs(dict):
    def __init__(self, log: list):
        super().__init__()
        self.log = log

    def __missing__(self, name):
        return Stub(name, self.log)


def family(lecture, name: str, args, kwargs, init) -> tuple:
    declared = lecture.families[name]
    if "()." in name:  # a method: the class's arguments, then the method's
        return declared(*init[0], **init[1], call=args)
    return declared(*args, **kwargs)


def drawn_calls(lecture, draws: int = 20) -> dict:
    """{test cell: [(name, args, kwargs, init)]}: how grading calls what the notebook defines, on
    inputs drawn with `draws` seeds."""
    from course.lectures.numpy_calls import calling
    from course_kernel.handover import arguments

    calls = {}
    for seed in range(draws):
        rng = np.random.default_rng(seed)
        for cell in lecture.tests:
            log = calls.setdefault(cell, [])
            for function, cases in lecture.inputs(cell, rng).items():
                call = calling(function, Stubs(log))
                for case in cases:
                    call(*arguments(case), **case.get("kwargs", {}))
    return {cell: log for cell, log in calls.items() if log}


def arrays(value):
    if isinstance(value, dict) and set(value) == {"array"}:
        return np.array(value["array"], dtype=float)
    if isinstance(value, list):
        return [arrays(v) for v in value]
    if isinstance(value, dict):
        return {k: arrays(v) for k, v in value.items()}
    return value


def test_visible_tests_try_every_family_of_input_grading_draws(colab):
    """Each function a test cell's hidden part calls on drawn inputs is called by the visible part
    on inputs of every family the draw produces (course/lectures/families.py): a square map, a
    negative value, one image, a stride or pad are never met first at grading."""
    from course.lectures import LECTURES

    assignment, client, nb, _, folder = colab
    lecture = LECTURES[assignment]
    position = {grade_id(c): i for i, c in enumerate(nb.cells)}
    execute = run_sync(client.kc.execute_interactive)
    missing = {}
    for cell, calls in drawn_calls(lecture).items():
        undeclared = {name for name, *_ in calls} - set(lecture.families)
        assert not undeclared, f"{assignment}.FAMILIES lacks {sorted(undeclared)}"
        names = sorted({name.split("(")[0].split(".")[0] for name, *_ in calls})
        assert execute(f"NAMES = {names!r}\n" + RECORDING, timeout=60)["content"]["status"] == "ok"
        try:
            client.execute_cell(nb.cells[position[cell]], position[cell])
        finally:
            assert execute(STOP_RECORDING, timeout=60)["content"]["status"] == "ok"
        recorded = json.loads((folder / "recorded.json").read_text())
        tried = {(name, family(lecture, name, *arrays([args, kwargs, init]))) for name, args, kwargs, init in recorded
                 if name in lecture.families}
        drawn = {(name, family(lecture, name, args, kwargs, init)) for name, args, kwargs, init in calls}
        if drawn - tried:
            missing[cell] = sorted(drawn - tried)
    assert not missing, f"{assignment}: families grading draws that no visible test tries: {missing}"


@pytest.mark.parametrize("helper, lectures", [
    ("test_helpers", ["cnn", "mlp1", "mlp2", "pooling"]),
    ("numpy_alone", ["basics", "cnn", "pooling", "scratch_cnn"]),  # runs a NumPy task's function as grading does
    ("keras_version", ["basics", "cnn", "mlp1", "mlp2", "pooling", "scratch_cnn"]),  # says what to do without Keras 3
])
def test_the_test_helpers_are_the_same_in_every_lecture(helper, lectures):
    """A locked helper cell is written once and copied: a fix to one copy must reach them all."""
    copies = {}
    for path in sorted((COURSE / "source").glob("*/*.ipynb")):
        cells = [c for c in nbformat.read(path, as_version=4).cells if grade_id(c) == helper]
        if cells:
            copies[path.stem] = cells[0].source
    assert sorted(copies) == lectures
    first = next(iter(copies.values()))
    assert all(source == first for source in copies.values()), [name for name, s in copies.items() if s != first]
