"""What a Colab student sees before the grade: each released notebook, answered with the solutions,
runs in a kernel that can import neither `course` nor nbgrader, and no test cell fails; then each
mistake students make, one at a time, fails a visible test cell. Every mistake below costs points
under grading (the hidden checks in course/lectures/<lecture>.py see it), so none is lost without warning.

Training is cut short in these kernels (one epoch on as many images as the `smoke` grading profile
trains on: 3,000 in pooling, 6,000 elsewhere), as a student short of time might do; a mistake runs
only its own cell and the test cell after it."""

import copy

import nbformat
import pytest
from conftest import COURSE
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from course.instructor.demo import Student, submission
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
# (assignment, solution cell, (text, replacement) or code added at its end, the test cell that fails).
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
    ("basics", "model", ("metrics=['acc']", "metrics=['accuracy']"), "test_model"),
    ("basics", "model", ("layers.Conv2D(16, (5, 5), padding='same'", "layers.Conv2D(16, (5, 5), padding='valid'"),
     "test_model"),
    ("mlp1", "model", ("activation='softmax'", "activation='sigmoid'"), "test_model"),
    ("mlp1", "model", ("activation='relu'", "activation='sigmoid'"), "test_model"),
    ("mlp1", "model", ("loss='categorical_crossentropy'", "loss='mse'"), "test_model"),
    ("mlp1", "model", ("metrics=['accuracy']", "metrics=['acc']"), "test_model"),
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
    ("mlp2", "model_dropout", ("metrics=['accuracy']", "metrics=['acc']"), "test_model_dropout"),
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
    ("pooling", "model_pool", ("model_pool.add(MaxPooling2D", "model_pool.add(AveragePooling2D"), "test_model_pool"),
    ("pooling", "model_pool", "model_pool.fit(x_train, y_train, epochs=50, batch_size=64, validation_split=0.2)",
     "test_model_pool"),
    ("pooling", "param_counts", ("side = 28 // pool_size", "side = 28 / pool_size"), "test_param_counts"),
    ("pooling", "param_counts", ("(7 * 7 * 128 + 1) * 10", "7 * 7 * 128 * 10"), "test_param_counts"),
    ("pooling", "model_deep", ("model_deep.add(Flatten())\nmodel_deep.add(Dropout(0.5))", "model_deep.add(Flatten())"),
     "test_model_deep"),
    ("pooling", "model_deep", ("metrics=['accuracy']", "metrics=['acc']"), "test_model_deep"),
    ("pooling", "predicted_shapes", ("(576,)", "(576)"), "test_predicted_shapes"),
    ("pooling", "predicted_shapes", ("(5, 5, 64)", "(6, 6, 64)"), "test_predicted_shapes"),
    ("pooling", "predicted_shapes", ("22 * 22 * 64", "24 * 24 * 64"), "test_predicted_shapes"),
    ("pooling", "model_valid", ("(3, 3), activation='relu'", "(3, 3), padding='same', activation='relu'"),
     "test_model_valid"),
    ("pooling", "model_valid", ("metrics=['accuracy']", "metrics=['acc']"), "test_model_valid"),
    ("pooling", "misclassified", ("predicted_labels != true_labels", "predicted_labels == true_labels"),
     "test_misclassified"),
    ("pooling", "misclassified", ("[int(i) for i", "[int(i) + 1 for i"), "test_misclassified"),
]
# Other right answers, which grading accepts: no visible test may fail them.
ALSO_RIGHT = [
    ("basics", "softmax", ("np.max(f, axis=1, keepdims=True)", "f.max(axis=-1, keepdims=True)"), "test_softmax"),
    ("basics", "model", ("optimizer='adam'", "optimizer='Adam'"), "test_model"),
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
        yield assignment, client, copy.deepcopy(nb), failed


def test_the_solutions_pass_every_visible_test_in_colab(colab):
    assignment, _, _, failed = colab
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
    or code added at its end). A change in preparing the data runs again from loading it."""
    answer = nb.cells[position[solution]].source
    if isinstance(change, tuple):
        assert change[0] in answer, (solution, change)
        source = answer.replace(*change)
    else:
        source = answer + "\n" + change
    return ("data" if solution in FROM_THE_DATA else solution), source


def test_every_mistake_fails_a_visible_test(colab):
    assignment, client, nb, _ = colab
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
    assignment, client, nb, _ = colab
    position = {grade_id(c): i for i, c in enumerate(nb.cells)}
    for _, solution, change, test in (m for m in ALSO_RIGHT if m[0] == assignment):
        first, right = changed(nb, position, solution, change)
        run_cells(client, nb, first, test, {solution: right})
        run_cells(client, nb, first, test, {})


@pytest.mark.parametrize("helper, lectures", [
    ("test_helpers", ["cnn", "mlp1", "mlp2", "pooling"]),
    ("numpy_alone", ["basics", "cnn", "pooling", "scratch_cnn"]),  # runs a NumPy task's function as grading does
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
