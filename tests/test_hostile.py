"""A class of broken, hostile and faking mlp1 submissions, graded with the real instructor command
in a scratch course. Every one ends with a score and a reason; none harms the others or the
grading machine."""

import csv
import json
import os
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import COURSE
from nbformat.v4 import new_code_cell, new_markdown_cell
from test_grading import grade

from course.grading.coordinator import STATE
from course.grading.gradebook import gradebook_url

pytestmark = pytest.mark.slow  # grades or runs whole notebooks

# Limits tight enough to hit quickly: a cell may run 30 s, a notebook 90 s, a kernel 4 GB and 256
# processes and threads, a file 256 MB. Three kernels of one thread at a time on 2 cores: while
# the sleepers and the dawdler wait out their limits, the others have the cores.
LIMITS = {"COURSE_CELL_TIMEOUT_S": "30", "COURSE_MEMORY_LIMIT_GB": "4", "COURSE_KERNEL_THREADS": "1",
          "COURSE_FILE_LIMIT_GB": "0.25", "COURSE_PROCESS_LIMIT": "256"}
NOTEBOOK_TIMEOUT = "90"

# What the snooping student tries from inside their notebook, and how each attempt ended.
SNOOP = """
import json, os, pathlib, resource, socket, subprocess, sys
course = pathlib.Path(r"COURSE_PATH")  # the course folder, found out somehow
probes = {}
def probe(name, action):
    try:
        action()
        probes[name] = "done"
    except Exception as error:
        probes[name] = type(error).__name__
probe("read gradebook", lambda: (course / "gradebook.db").read_bytes())
probe("read the hidden tests", lambda: (pathlib.Path.cwd() / "mlp1.ipynb").read_bytes())
probe("read source", lambda: (course / "source" / "mlp1" / "mlp1.ipynb").read_bytes())
probe("read another student", lambda: (course / "submitted" / "zoe" / "mlp1" / "mlp1.ipynb").read_bytes())
probe("write the course", lambda: (course / "hacked.txt").write_text("x"))
probe("write home", lambda: (pathlib.Path.home() / "hacked.txt").write_text("x"))
probe("overwrite the dataset", lambda: next(pathlib.Path.home().glob(".keras/datasets/*/*.gz")).write_bytes(b""))
probe("network", lambda: socket.create_connection(("1.1.1.1", 53), timeout=3))
probe("lift the memory limit", lambda: resource.setrlimit(resource.RLIMIT_AS, (-1, -1)))
# As root, bubblewrap would leave root's capabilities inside: a remount makes a read-only folder writable.
environment = next(p for p in sys.path if p.endswith("site-packages"))
probe("remount the environment", lambda: subprocess.run(["mount", "-o", "remount,bind,rw", environment], check=True))
probe("write the environment", lambda: (pathlib.Path(environment) / "course-hostile.pth").write_text("import os"))
probe("read /etc/shadow", lambda: pathlib.Path("/etc/shadow").read_text())
probe("a user namespace", lambda: subprocess.run(["unshare", "--user", "--map-root-user", "true"], check=True))
probe("the grading run's variables", lambda: print(os.environ["GRADING_API_TOKEN"]))
print("PROBES", json.dumps(probes))
"""
# A variable set for the grading run, which no notebook may see.
SECRET = {"GRADING_API_TOKEN": "token-of-the-grading-run"}

FAKE_TRAINING = """
import keras
result = keras.callbacks.History()
result.history = {key: [0.99] * 30 for key in ['loss', 'accuracy', 'val_loss', 'val_accuracy']}
result.params = {'epochs': 30}
model.evaluate = lambda *args, **kwargs: [0.01, 0.99]
print('test accuracy 0.9900 (threshold 0.100, profile smoke)')
0.99
"""


# Forgers: code in the notebook that tries to keep points it has not earned, knowing only what a
# notebook can see at run time. Their tricks fool every check in the kernel; the verifier, which
# decides from what the hidden tests handed over, is not fooled.
# Only the course's modules: replacing every check_* of every module breaks h5py, and with it the
# notebook's own hand-over.
PATCH_CHECKS = """
import sys
try:
    # the grader's own: a grading kernel cannot import them
    import course.lectures, course.lectures.checks, course.grading.verifier
except ImportError:
    pass
import course_kernel.handover
def passes(*args, **kwargs):
    return None
for module in [m for name, m in sys.modules.items() if name.split('.')[0] in ('course', 'course_kernel')]:
    for name in list(vars(module)):
        if name.startswith('check_') or name in ('verify_cell', 'check_here'):
            try:
                setattr(module, name, passes)
            except Exception:
                pass
"""
SIGMOID = ("'softmax'", "'sigmoid'")  # same parameter count: the visible tests pass
ZERO_WEIGHTS = """
import keras, numpy as np
from keras.datasets import fashion_mnist
for weight in model.weights:
    weight.assign(np.zeros(weight.shape))
labels = keras.utils.to_categorical(fashion_mnist.load_data()[1][1], 10)
keras.Model.predict = lambda self, x, *args, **kwargs: labels[:len(x)]
keras.Model.__call__ = lambda self, x, *args, **kwargs: labels[:len(x)]
"""
FAKE_HISTORY = """
import keras, numpy as np
result = keras.callbacks.History()
result.history = {key: [0.5] for key in ['loss', 'accuracy', 'val_loss', 'val_accuracy']}
result.params = {'epochs': 1, 'steps': 75}
result.requested = {'epochs': 30, 'batch_size': 64, 'validation_split': 0.2}
"""
DECOY_SAVE = """
import keras
decoy = keras.models.clone_model(model)
decoy.compile(loss='categorical_crossentropy', optimizer='Adam', metrics=['accuracy'])
keras.saving.save_model = lambda model, path, *args, **kwargs: keras.Model.save(decoy, path)
"""
TAMPER_HANDOVER = """
import keras, pathlib, shutil
handover = pathlib.Path('.course-handover')
shutil.rmtree(handover, ignore_errors=True)
handover.mkdir()
keras.Sequential([keras.Input((784,)), keras.layers.Dense(32, activation='relu'),
                  keras.layers.Dense(10, activation='softmax')]).save(handover / 'model.keras')
"""
# Limits a notebook cannot lift: processes (the children wait, then end, so that the kernel can
# go on), and the size of a file.
FORK_BOMB = """
import os, time
children = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(20)
            os._exit(0)
        children += 1
except OSError as error:
    raise RuntimeError(f'no more processes after {children}: {error}') from None
"""
# Fills its /dev/shm, then starts three allocators one after another, each within its own
# address space but together (with the kernel and the file) past the class's 4 GB: the kernel's
# memory cgroup ends the largest process each time, an allocator, never another notebook's
# process; the notebook goes on, and the class report says why its processes died. Each
# allocator has the kernel fill its pages at once (MAP_POPULATE: a page fault at a time took 6 s
# for 1.8 GB in the sandbox here) and holds them until the notebook lets it go, with no sleeping:
# alone it takes 11 s here, and the class's cells may take 30 s, for a busy machine.
HOARDER = """
import subprocess, sys
with open('/dev/shm/hoard', 'wb') as hoard:
    try:
        while True:
            hoard.write(bytes(2**20))
    except OSError:
        pass
code = ("import mmap, sys; block = mmap.mmap(-1, 1800 * 2**20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | "
        "mmap.MAP_POPULATE); print('ready', flush=True); sys.stdin.read()")
children = []
for _ in range(3):
    children.append(subprocess.Popen([sys.executable, '-c', code], stdin=subprocess.PIPE, stdout=subprocess.PIPE))
    children[-1].stdout.readline()  # allocated, or ended
for child in children:
    child.stdin.close()
print(sorted(child.wait() for child in children))
"""
DISK_FILLER = """
with open('filler.bin', 'wb') as filler:
    while True:
        filler.write(bytes(2**20))
"""
# Handed in beside the notebook: the course's packages, replaced by ones whose hand-over hands
# nothing over. Were they imported, every hidden test would fail.
SHADOW_FILES = {"course_kernel/__init__.py": "",
                "course_kernel/handover.py": "def hand_over(*args, **kwargs):\n    pass\n",
                "course/__init__.py": "raise ImportError('shadowed')\n", "notes.txt": "my notes\n"}
FIT = "result = model.fit(x_train, y_train, epochs=30, batch_size=64, validation_split=0.2)\n"
SCORE = "score = [0.35, 0.88]\nprint('Test accuracy:', score[1])"


def reference(assignment: str = "mlp1"):
    """The demo class's reference solution (alice's notebook)."""
    return nbformat.read(COURSE / "submitted" / "alice" / assignment / f"{assignment}.ipynb", as_version=4)


def cell_index(nb, grade_id):
    return next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def with_code(grade_id, code):
    """The reference notebook with `code` run at the start of a solution cell."""
    return edited(prepend(grade_id, code))


def edited(*edits, assignment: str = "mlp1"):
    nb = reference(assignment)
    for edit in edits:
        edit(nb)
    return nb


def duplicate_model_cells(nb):
    i = cell_index(nb, "model")
    nb.cells[i + 2:i + 2] = [nbformat.from_dict(json.loads(json.dumps(nb.cells[i + j]))) for j in (0, 1)]
    for cell in nb.cells[i + 2:i + 4]:
        cell.id = cell.id + "-copy"


def retype_test(nb):
    i = cell_index(nb, "test_accuracy")
    nb.cells[i] = new_markdown_cell(nb.cells[i].source, metadata=nb.cells[i].metadata, id=nb.cells[i].id)


def slow_cells(nb):
    # Each cell stays within the cell timeout; together they pass the notebook's wall time.
    nb.cells[3:3] = [new_code_cell("import time\ntime.sleep(13)") for _ in range(8)]


def prepend(grade_id, code):
    def edit(nb):
        cell = nb.cells[cell_index(nb, grade_id)]
        cell.source = code + "\n" + cell.source
    return edit


def new_cell_after(grade_id, code):
    def edit(nb):
        nb.cells.insert(cell_index(nb, grade_id) + 1, new_code_cell(code))
    return edit


def set_source(grade_id, text):
    def edit(nb):
        nb.cells[cell_index(nb, grade_id)].source = text
    return edit


def delete(grade_id):
    def edit(nb):
        del nb.cells[cell_index(nb, grade_id)]
    return edit


def forged(*edits):
    """The reference notebook with `edits`: (grade_id, code put before the cell's own, or a
    (text, replacement) pair, or a whole new source given as ("=", source))."""
    nb = reference()
    nb.cells.insert(0, new_code_cell("# my notes"))
    for grade_id, edit in edits:
        cell = nb.cells[cell_index(nb, grade_id)] if grade_id else nb.cells[0]
        if isinstance(edit, tuple):
            cell.source = edit[1] if edit[0] == "=" else cell.source.replace(*edit)
        else:
            cell.source = edit + "\n" + cell.source
    return nb


MLP2 = nbformat.read(COURSE / "submitted" / "alice" / "mlp2" / "mlp2.ipynb", as_version=4)
# student: (what they hand in as mlp1.ipynb, expected score out of 10, words the reason must contain)
CLASS = {
    "invalid": (b'{"cells": [', 0, "invalid JSON"),
    "empty": (b"", 0, "empty file"),
    "nbformat3": (b'{"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": []}', 0, "nbformat 3"),
    "mixup": (MLP2, 0, "notebook of mlp2"),
    "forever": (with_code("model", "while True:\n    pass"), 3, "model raised"),
    "sleeper": (with_code("training", "import time\ntime.sleep(3600)"), 6, "training raised"),
    "exiter": (with_code("labels", "import os\nos._exit(1)"), 0, "kernel died"),
    "hog": (with_code("model", "hog = bytearray(64 * 2**30)"), 3, "MemoryError"),
    "hoarder": (with_code("model", HOARDER), 10, "memory limit of 4 GB reached"),
    "dawdler": (edited(slow_cells), 0, f"more than {NOTEBOOK_TIMEOUT} s"),
    # Test cells copied, one deleted and one turned into a markdown cell: each is restored.
    "tamperer": (edited(duplicate_model_cells, delete("test_model"), retype_test), 10, None),
    "faker": (edited(set_source("training", FAKE_TRAINING)), 6, "test_history -2"),
    # Probes the sandbox from its notebook, and hands in files that would shadow the course's modules.
    "snoop": (with_code("preprocessing", SNOOP), 10,
              "ignored course/, course_kernel/, notes.txt (only mlp1.ipynb is graded)"),
    # Forgers (the list) lose exactly the points of what they fake.
    "patcher": (forged((None, PATCH_CHECKS), ("model", SIGMOID)), 7, "test_model -3 (AssertionError: Layer 2"),
    "zeroer": (forged(("training", ("=", FIT + ZERO_WEIGHTS)), ("evaluation", ("=", SCORE))), 8, "test_accuracy -2"),
    "historian": (forged(("training", ("=", FAKE_HISTORY)), ("evaluation", ("=", SCORE))), 6,
                  "test_history -2 (AssertionError: The model's optimizer ran 0 steps"),
    "mse": (forged(("model", ("loss='categorical_crossentropy'", "loss='mse'"))), 7, "test_model -3"),
    "replacer": (forged((None, PATCH_CHECKS), ("model", SIGMOID), ("training", TAMPER_HANDOVER)), 7,
                 "test_model -3"),
    "saver": (forged((None, PATCH_CHECKS), ("training", ("=", FIT + DECOY_SAVE + ZERO_WEIGHTS)),
                     ("evaluation", ("=", SCORE))), 6, "The model's optimizer ran 0 steps"),
}


CLASS.update({
    # Colab's and browsers' downloads: renamed when there is one, not chosen between when there are two.
    # zoe's is the reference solution: the class's control.
    "zoe": (None, 10, None),
    "yuki": (None, 0, "2 candidate notebooks (mlp1 (1).ipynb, mlp1.ipynb): keep the one to grade"),
    # A fork bomb in a graded cell, then a file without end in a cell of its own.
    "bomber": (edited(prepend("evaluation", FORK_BOMB), new_cell_after("evaluation", DISK_FILLER)), 8,
               "test_accuracy -2"),
})

DOWNLOADS = {"zoe": ["Copy of mlp1.ipynb"], "yuki": ["mlp1.ipynb", "mlp1 (1).ipynb"]}
def imports_reference(grade_id: str, statement: str):
    """The student's own answer, replaced by the course's reference wherever that can be imported
    (a grading kernel of the old layout could; Colab cannot)."""
    def edit(nb):
        cell = nb.cells[cell_index(nb, grade_id)]
        cell.source += f"\ntry:\n    {statement}\nexcept ImportError:\n    pass\n"
    return edit


def unanswered(*grade_ids):
    """Tasks left as released (their imports kept): their cells raise at once, and nothing trains."""
    def edit(nb):
        for grade_id in grade_ids:
            cell = nb.cells[cell_index(nb, grade_id)]
            imports = [line for line in cell.source.splitlines() if line.startswith(("from ", "import "))]
            cell.source = "\n".join(imports + ["raise NotImplementedError()"])
    return edit


def append(grade_id, code):
    def edit(nb):
        nb.cells[cell_index(nb, grade_id)].source += "\n" + code
    return edit


def replace_in(grade_id, text, replacement):
    def edit(nb):
        cell = nb.cells[cell_index(nb, grade_id)]
        assert text in cell.source, (grade_id, text)
        cell.source = cell.source.replace(text, replacement)
    return edit


def stripped(grade_id, code=None):
    """The solution cell without its nbgrader metadata (`code` in place of its own, where given)."""
    def edit(nb):
        cell = nb.cells[cell_index(nb, grade_id)]
        cell.metadata.pop("nbgrader")
        cell.source = cell.source if code is None else code
    return edit


def replaced_by_new_cell(grade_id, code):
    """The solution cell deleted, `code` in a new cell in its place."""
    def edit(nb):
        nb.cells[cell_index(nb, grade_id)] = new_code_cell(code)
    return edit


# Routes past NumPy for the tasks that say "in NumPy" (each test on its own task of basics), which
# grading runs where only NumPy exists (course/grading/numpy_only.py).
KERAS_SIGMOID = ("sigmoid = lambda x: np.asarray(np.__builtins__['__import__']('keras').activations.sigmoid("
                 "np.asarray(x, 'float32')))")
KERAS_ERROR = """import keras


def cross_entropy_error(p, t):
    return float(np.sum(keras.ops.convert_to_numpy(keras.losses.categorical_crossentropy(t, p))))
"""
KERAS_NETWORK = """import keras


def forward_221(x, W1, b1, w2, b2):
    z = keras.ops.convert_to_numpy(keras.ops.tanh(x @ W1 + b1))
    return keras.ops.convert_to_numpy(keras.ops.sigmoid(z @ w2 + b2))
"""
KERAS_DESCENT = """files = !ls
import keras


def gradient_descent(grad, w0, learning_rate, steps):
    path = [float(w0)]
    for _ in range(steps):
        path.append(path[-1] - learning_rate * grad(path[-1]))
    return keras.ops.convert_to_numpy(keras.ops.convert_to_tensor(path, 'float64'))
"""
SUBCLASS_SGD = """def _classes(cls):
    for sub in type.__subclasses__(cls):
        yield sub
        yield from _classes(sub)


class SGD:
    def __init__(self, learning_rate=0.01):
        found = next(c for c in _classes(object) if str(c.__module__).startswith('keras') and c.__name__ == 'SGD')
        self.keras = found(learning_rate)

    def update(self, params, grads):
        for key in params:
            params[key] -= float(self.keras.learning_rate) * grads[key]
"""
# Honest answers written other ways than the reference: none of them costs a point.
TYPED_ACTIVATIONS = """from __future__ import annotations
from typing import Tuple


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def tanh(x: np.ndarray) -> np.ndarray:
    return np.tanh(x)


def relu(x: np.ndarray) -> np.ndarray:
    match np.ndim(x):
        case 0:
            return max(0.0, float(x))
        case _:
            return np.where(x > 0, x, 0.0)
"""
STEP_HELPER = "def _step(value, change):\n    return value - change\n"
TF_LOGGING = "import os\nos.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'\nimport warnings\nwarnings.filterwarnings('ignore')\n"
SLIDING_MAX_POOL = """from numpy.lib.stride_tricks import sliding_window_view


def max_pool(feature_map, pool_size=2, stride=None):
    windows = sliding_window_view(np.asarray(feature_map, float), (pool_size, pool_size))
    return windows[::stride or pool_size, ::stride or pool_size].max(axis=(2, 3))
"""
POOL_HELPER = """def _pool(feature_map, pool_size, stride, reduce):
    feature_map = np.asarray(feature_map, dtype=float)
    stride = stride or pool_size
    out = np.empty(((feature_map.shape[0] - pool_size) // stride + 1, (feature_map.shape[1] - pool_size) // stride + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = reduce(feature_map[i * stride:i * stride + pool_size, j * stride:j * stride + pool_size])
    return out
"""
KERAS_CONVOLVE = """def convolve(image, kernel, stride=1, padding='valid'):
    keras = np.__builtins__['__import__']('keras')
    kernel = np.asarray(kernel, 'float32')
    layer = keras.layers.Conv2D(1, kernel.shape, strides=stride, padding=padding, use_bias=False)
    layer.build((1, *np.shape(image), 1))
    layer.set_weights([kernel[:, :, None, None]])
    return np.asarray(layer(np.asarray(image, 'float32')[None, :, :, None]))[0, :, :, 0]
"""
BASICS_MODELS = {"test_model", "test_result"}
CNN_MODELS = ("model", "model_two_conv")
POOLING_MODELS = ("model_pool", "model_deep", "model_valid")
# Tasks that say "in NumPy": (assignment, student): (notebook, the NumPy tasks' tests whose points it
# loses, other tests it fails: its models are left unanswered so that nothing trains).
NUMPY_ONLY_CLASS = {
    # Keras or SciPy by seven routes, one a task; adagrad_adam answered honestly keeps its points.
    ("basics", "smuggler"): (edited(
        unanswered("model"), append("activations", KERAS_SIGMOID), stripped("error", KERAS_ERROR),
        replaced_by_new_cell("network", KERAS_NETWORK + "\n\nparams_221, params_2221 = 9, 15\n"),
        new_cell_after("softmax", "from scipy.special import softmax"),
        set_source("edge_filter", "%time from scipy.signal import correlate2d as apply_filter"),
        set_source("gradient_descent", KERAS_DESCENT), append("sgd_momentum", SUBCLASS_SGD), assignment="basics"),
        {"test_activations", "test_error", "test_network", "test_softmax", "test_edge_filter",
         "test_gradient_descent", "test_sgd_momentum"}, BASICS_MODELS),
    # Trial calls on the notebook's data, typing and __future__, match, a helper in a cell of its
    # own, plots and TensorFlow's logging settings in the cells.
    ("basics", "tinkerer"): (edited(
        unanswered("model"), set_source("activations", TYPED_ACTIVATIONS),
        append("edge_filter", "edges = apply_filter(train_images[0].reshape(28, 28), vertical_edge)"),
        append("gradient_descent", "import matplotlib.pyplot as plt\npath = gradient_descent(dE, 2.0, 0.05, 100)\n"
                                   "plt.plot(path)\ndisplay(path[-1])"),
        new_cell_after("network", STEP_HELPER), prepend("adagrad_adam", TF_LOGGING),
        replace_in("sgd_momentum", "params[key] -= self.learning_rate * grads[key]",
                   "params[key] = _step(params[key], self.learning_rate * grads[key])"),
        assignment="basics"), set(), BASICS_MODELS),
    ("cnn", "smuggler"): (edited(unanswered(*CNN_MODELS), set_source("convolution", KERAS_CONVOLVE), assignment="cnn"),
                          {"test_convolution_slides", "test_convolution_keras"},
                          {"test_model", "test_result", "test_model_two_conv", "test_result_two_conv"}),
    ("pooling", "tinkerer"): (edited(
        unanswered(*POOLING_MODELS), append("max_pool", SLIDING_MAX_POOL), new_cell_after("max_pool", POOL_HELPER),
        set_source("average_pool", "def average_pool(feature_map, pool_size=2, stride=None):\n"
                                   "    return _pool(feature_map, pool_size, stride, np.mean)\n"),
        assignment="pooling"), set(),
        {"test_model_pool", "test_result_pool", "test_model_deep", "test_result_deep", "test_model_valid",
         "test_result_valid", "test_misclassified"}),
    # Tries the course's reference where it can be imported: nowhere while grading, so its own
    # im2col is graded; all else answered but the training loop.
    ("scratch_cnn", "importer"): (edited(unanswered("train"), imports_reference(
        "im2col", "from course.lectures.scratch import im2col"), assignment="scratch_cnn"), set(),
        {"test_training"}),
}


def write(path: Path, submission) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(submission, bytes):
        path.write_bytes(submission)
    else:
        nbformat.write(submission, path)


@pytest.fixture(scope="module")
def hostile_class(tmp_path_factory):
    course = tmp_path_factory.mktemp("hostile")
    shutil.copytree(COURSE / "source", course / "source")
    shutil.copy(COURSE / "nbgrader_config.py", course)
    for student, (submission, _, _) in CLASS.items():
        submission = reference() if submission is None else submission
        if student == "snoop":
            submission = with_code("preprocessing", SNOOP.replace("COURSE_PATH", str(course)))
        write(course / "submitted" / student / "mlp1" / "mlp1.ipynb", submission)
    for name, text in SHADOW_FILES.items():
        write(course / "submitted" / "snoop" / "mlp1" / name, text.encode())
    for student, names in DOWNLOADS.items():
        (course / "submitted" / student / "mlp1" / "mlp1.ipynb").unlink()
        for name in names:
            write(course / "submitted" / student / "mlp1" / name, reference())
    for (assignment, student), (submission, *_) in NUMPY_ONLY_CLASS.items():
        write(course / "submitted" / student / assignment / f"{assignment}.ipynb", submission)
    os.environ.update(LIMITS, **SECRET)
    try:
        run = grade(course, "mlp1", *sorted({a for a, _ in NUMPY_ONLY_CLASS}), "--timeout", NOTEBOOK_TIMEOUT,
                    "--workers", "3")
    finally:
        for key in {**LIMITS, **SECRET}:
            os.environ.pop(key)
    with open(course / "grades.csv", newline="") as f:
        report = {(row["student_id"], row["assignment"]): row for row in csv.DictReader(f)}
    return course, run, report


def test_every_submission_ends_with_a_score_and_a_reason(hostile_class):
    _, run, report = hostile_class
    assert run.returncode == 1  # some notebooks could not be graded, and the command says so
    assert sorted(report) == sorted([(student, "mlp1") for student in CLASS] + [(s, a) for a, s in NUMPY_ONLY_CLASS])
    for student, (_, score, reason) in CLASS.items():
        row = report[student, "mlp1"]
        assert (float(row["score"]), row["max_score"]) == (score, "10"), (student, row)
        if reason:
            assert reason in row["reasons"], (student, row)
        if score == 0:
            assert row["status"] == "not graded" and row["reasons"], (student, row)


def test_numpy_tasks_lose_exactly_their_points_when_they_reach_past_numpy(hostile_class):
    from nbgrader.api import Gradebook

    course, _, report = hostile_class
    with Gradebook(gradebook_url(course)) as gradebook:
        for (assignment, student), (_, lost, unanswered_tests) in NUMPY_ONLY_CLASS.items():
            notebook = gradebook.find_submission_notebook(assignment, assignment, student)
            failed = {g.name for g in notebook.grades if not g.needs_manual_grade and g.score < g.max_score}
            assert failed == lost | unanswered_tests, (assignment, student, failed)
    reasons = report["smuggler", "basics"]["reasons"]
    assert reasons.count("NumPy alone") >= 3, reasons


def test_a_colab_download_is_renamed(hostile_class):
    _, run, _ = hostile_class
    assert "Copy of mlp1.ipynb: renamed to mlp1.ipynb" in run.stderr


def test_sandbox_kept_the_snoop_inside_its_folder(hostile_class):
    course, _, _ = hostile_class
    nb = nbformat.read(course / "autograded" / "snoop" / "mlp1" / "mlp1.ipynb", as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    probes = json.loads(text.split("PROBES ", 1)[1].splitlines()[0])
    # Writes may land in the sandbox's own empty /tmp and home, which vanish with it; never here.
    writes = {"write the course", "write home"}
    assert len(probes) == 14 and all(probes[name] != "done" for name in set(probes) - writes), probes
    assert not (course / "hacked.txt").exists() and not (Path.home() / "hacked.txt").exists()
    assert not any(Path(folder, "course-hostile.pth").exists() for folder in sys.path)
    for folder in ("autograded", "feedback"):
        for path in (course / folder / "snoop").rglob("*.*"):
            assert SECRET["GRADING_API_TOKEN"] not in path.read_text(errors="replace"), path


def test_a_notebook_past_its_memory_loses_only_its_own_processes(hostile_class):
    course, _, report = hostile_class
    nb = nbformat.read(course / "autograded" / "hoarder" / "mlp1" / "mlp1.ipynb", as_version=4)
    cell = next(c for c in nb.cells if "/dev/shm/hoard" in c.source)
    codes = json.loads(next(o.text for o in cell.outputs if o.get("name") == "stdout").splitlines()[0])
    assert -9 in codes, codes  # ended by its kernel's memory cgroup; everyone else's grade is as expected
    assert "a process the notebook started was ended" in report["hoarder", "mlp1"]["reasons"]


def test_failures_are_remembered_not_retried(hostile_class):
    course, _, _ = hostile_class
    state = json.loads((course / STATE).read_text())["mlp1"]
    assert {s for s, graded in state.items() if graded["reason"]} == {
        "invalid", "empty", "nbformat3", "mixup", "exiter", "dawdler", "yuki"}
    report = (course / "grades.csv").read_bytes()
    run = grade(course, "mlp1")  # nothing changed: nothing runs again, and the report stays as it was
    assert run.returncode == 1
    assert not re.search(r"^graded ", run.stdout, re.M)
    assert (course / "grades.csv").read_bytes() == report


def test_grading_refuses_without_bubblewrap_unless_told(tmp_path, monkeypatch):
    shutil.copytree(COURSE / "source" / "mlp1", tmp_path / "source" / "mlp1")
    shutil.copy(COURSE / "nbgrader_config.py", tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap, no prlimit; nbgrader comes from this Python's bin/
    run = grade(tmp_path)
    assert run.returncode == 1 and "bwrap and prlimit not found" in run.stderr and "--no-sandbox" in run.stderr
    assert not (tmp_path / "release").exists()
