"""Tasks that say "in NumPy" are judged by running the student's code where only NumPy exists
(course/grading/numpy_only.py, in its sandbox): honest answers written another way keep their
points, answers that reach Keras, SciPy or the notebook's helpers by any route lose them. Each case
is a demo-class reference notebook with one edit, its task's code run as grading runs it, and the
task's checks on what came back."""

import json

import nbformat
import numpy as np
import pytest
from conftest import COURSE, cgroup_possible
from nbformat.v4 import new_code_cell

from course.grading.execute import draw_inputs, numpy_only_requests, run_numpy_only
from course.grading.sandbox import missing_tools
from course.grading.verifier import Artefacts, verify_cell
from course.lectures import LECTURES
from course_kernel.profiles import PROFILES

pytestmark = pytest.mark.skipif(bool(missing_tools()), reason="bubblewrap is not installed")


def reference(assignment):
    return nbformat.read(COURSE / "submitted" / "alice" / assignment / f"{assignment}.ipynb", as_version=4)


def index(nb, grade_id):
    return next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def verdict(tmp_path, nb, assignment, test_cell, values=None, timeout=180):
    """None where the task keeps its points, else the checks' message (Japanese, then English)."""
    lecture = LECTURES[assignment]
    inputs = draw_inputs(lecture, np.random.default_rng(0))
    request = numpy_only_requests(nb, lecture, inputs)[test_cell]
    handed = tmp_path / "handed"
    handed.mkdir()
    outputs = run_numpy_only(request, tmp_path / "run", sandbox=True, timeout=timeout)
    for name, described in {**outputs, **(values or {})}.items():
        (handed / f"{name}.json").write_text(json.dumps(described))
    try:
        verify_cell(assignment, test_cell, Artefacts(handed, inputs[test_cell]), PROFILES["smoke"])
    except AssertionError as error:
        return str(error)
    return None


def edit_cell(nb, grade_id, source=None, before="", after=""):
    cell = nb.cells[index(nb, grade_id)]
    cell.source = before + (cell.source if source is None else source) + after
    return nb


def insert(nb, grade_id, source, offset=0):
    nb.cells.insert(index(nb, grade_id) + offset, new_code_cell(source))
    return nb


def stripped(nb, grade_id, delete=False):
    """The cell without its nbgrader metadata; `delete`: deleted, its code in a new cell in its place."""
    i = index(nb, grade_id)
    if delete:
        nb.cells[i] = new_code_cell(nb.cells[i].source)
    else:
        nb.cells[i].metadata.pop("nbgrader")
    return nb


SLIDING_CONVOLVE = """
def convolve(image, kernel, stride=1, padding='valid'):
    from numpy.lib.stride_tricks import sliding_window_view
    image, kernel = np.asarray(image, float), np.asarray(kernel, float)
    if padding == 'same':
        image = np.pad(image, [((k - 1) // 2, k // 2) for k in kernel.shape])
    windows = sliding_window_view(image, kernel.shape)[::stride, ::stride]
    return np.einsum('ijkl,kl->ij', windows, kernel)
"""
POOL_HELPER = """
def _pool(feature_map, pool_size, stride, reduce):
    stride = stride or pool_size
    h, w = np.shape(feature_map)
    out = np.empty(((h - pool_size) // stride + 1, (w - pool_size) // stride + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = reduce(feature_map[i * stride:i * stride + pool_size, j * stride:j * stride + pool_size])
    return out
"""
TYPED_POOL = """from __future__ import annotations
from typing import Tuple
import matplotlib.pyplot as plt


def average_pool(feature_map: FeatureMap, pool_size: int = 2, stride: int | None = None) -> Tuple[int]:
    match stride:
        case None:
            step = pool_size
        case _:
            step = stride
    return _pool(np.asarray(feature_map, float), pool_size, step, np.mean)


display(average_pool(x_train[0, :, :, 0]))
"""
TF_LOGGING = ("import os\nos.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'\nimport warnings\n"
              "warnings.filterwarnings('ignore')\nimport tensorflow as tf\ntf.get_logger().setLevel('ERROR')\n")

HONEST = {
    "a trial call on the notebook's data in the same cell": (
        "cnn", "test_convolution_keras",
        lambda nb: edit_cell(nb, "convolution", after="\nfm = convolve(small, kernel, stride=2)\n"
                                                       "edges = convolve(x_train[0, :, :, 0], kernel)\n")),
    "a loop-free answer (sliding_window_view, einsum) after a %time magic": (
        "cnn", "test_convolution_slides",
        lambda nb: edit_cell(nb, "convolution", "%time import numpy\n" + SLIDING_CONVOLVE)),
    "a helper in the student's own earlier cell, typing, __future__, match, display, matplotlib": (
        "pooling", "test_average_pool",
        lambda nb: insert(edit_cell(nb, "average_pool", TYPED_POOL), "average_pool", POOL_HELPER)),
    "TensorFlow's logging set at the top of the cell": (
        "scratch_cnn", "test_im2col", lambda nb: edit_cell(nb, "im2col", before=TF_LOGGING)),
    "a shell command and a plot in the cell": (
        "basics", "test_edge_filter",
        lambda nb: edit_cell(nb, "edge_filter", before="!nvidia-smi\nfiles = !ls\n",
                             after="\nplt.imshow(apply_filter(seed_image, vertical_edge))\n")),
    "the layers, with a trial on the notebook's data": (
        "scratch_cnn", "test_convolution_backward",
        lambda nb: edit_cell(nb, "convolution", after="\nprint(Convolution(W, b).forward(x_train[:1]).shape)\n")),
}

KERAS_CONVOLVE = """
def convolve(image, kernel, stride=1, padding='valid'):
    keras = {keras}
    kernel = np.asarray(kernel, 'float32')
    layer = keras.layers.Conv2D(1, kernel.shape, strides=stride, padding=padding, use_bias=False)
    layer.build((1, *np.shape(image), 1))
    layer.set_weights([kernel[:, :, None, None]])
    return np.asarray(layer(np.asarray(image, 'float32')[None, :, :, None]))[0, :, :, 0]
"""
SUBCLASSES = """
def convolve(image, kernel, stride=1, padding='valid'):
    conv = next(c for c in object.__subclasses__() if c.__name__ == 'Conv2D')
    return conv(1, np.shape(kernel))(image)
"""
NUMPY_ALONE = "NumPy alone"

HOSTILE = {
    "Keras through np.__builtins__": (
        "cnn", "test_convolution_keras",
        lambda nb: edit_cell(nb, "convolution", KERAS_CONVOLVE.format(keras="np.__builtins__['__import__']('keras')")),
        "ModuleNotFoundError: No module named 'keras'"),
    "Keras through collections._sys.modules": (
        "cnn", "test_convolution_slides",
        lambda nb: edit_cell(nb, "convolution", "import collections\n" + KERAS_CONVOLVE.format(
            keras="collections._sys.modules['keras']")), "KeyError"),
    "Keras's Conv2D found through object.__subclasses__()": (
        "cnn", "test_convolution_slides", lambda nb: edit_cell(nb, "convolution", SUBCLASSES), "StopIteration"),
    "the solution cell's metadata stripped, Keras inside": (
        "cnn", "test_convolution_keras",
        lambda nb: stripped(edit_cell(nb, "convolution", "import keras\n" + KERAS_CONVOLVE.format(keras="keras")),
                            "convolution"),
        NUMPY_ALONE),
    "the solution cell deleted, SciPy's function in a new cell": (
        "cnn", "test_convolution_keras",
        lambda nb: stripped(edit_cell(nb, "convolution", "from scipy.signal import correlate2d as convolve"),
                            "convolution", delete=True),
        "The statement that defines convolve `from scipy.signal import correlate2d as convolve` raised"),
    "an honest cell, then a later cell that rebinds the name to Keras's layer": (
        "pooling", "test_max_pool",
        lambda nb: insert(nb, "max_pool", "from keras.layers import MaxPooling2D\n"
                                          "max_pool = lambda m, size=2, stride=None: MaxPooling2D(size, stride)(m)", 1),
        "NameError: name 'MaxPooling2D' is not defined"),
    "a %time import": (
        "basics", "test_edge_filter",
        lambda nb: edit_cell(nb, "edge_filter", "%time from scipy.signal import correlate2d as apply_filter"),
        "`from scipy.signal import correlate2d as apply_filter` raised ModuleNotFoundError"),
    "a cell Python cannot parse but IPython runs": (
        "basics", "test_softmax",
        lambda nb: edit_cell(nb, "softmax", "files = !ls\nimport scipy.special\nsoftmax = scipy.special.softmax\n"),
        "The statement that defines softmax `softmax = scipy.special.softmax` raised NameError"),
    "a helper from a given cell (the test's Keras pooling)": (
        "scratch_cnn", "test_pooling_forward",
        lambda nb: edit_cell(nb, "pooling", after="\nclass Pooling(Pooling):\n    def forward(self, x):\n"
                                                  "        return keras_max_pooling(x, 2, 2, self.stride)\n"),
        "NameError: name 'keras_max_pooling' is not defined"),
    "a dead assignment beside the test's helper": (
        "cnn", "test_convolution_keras",
        lambda nb: edit_cell(nb, "convolution", "if False:\n    keras_convolution = None\n"
                                                "convolve = lambda *args, **kw: keras_convolution(*args, **kw)\n"),
        "NameError: name 'keras_convolution' is not defined"),
}


@pytest.mark.parametrize("case", HONEST)
def test_honest_answers_written_another_way_keep_their_points(tmp_path, case):
    assignment, test_cell, edit = HONEST[case]
    assert verdict(tmp_path, edit(reference(assignment)), assignment, test_cell) is None


@pytest.mark.parametrize("case", HOSTILE)
def test_answers_that_reach_beyond_numpy_lose_their_points(tmp_path, case):
    assignment, test_cell, edit, reason = HOSTILE[case]
    message = verdict(tmp_path, edit(reference(assignment)), assignment, test_cell)
    assert message is not None and reason in message and NUMPY_ALONE in message, message


def test_the_reference_solution_keeps_every_numpy_only_task(tmp_path):
    values = {"params_221": {"kind": "value", "value": 9}, "params_2221": {"kind": "value", "value": 15}}
    for assignment in ("basics", "cnn", "pooling", "scratch_cnn"):
        for test_cell in LECTURES[assignment].numpy_only:
            folder = tmp_path / assignment / test_cell
            folder.mkdir(parents=True)
            assert verdict(folder, reference(assignment), assignment, test_cell, values) is None, test_cell


def test_layers_run_with_the_graders_im2col(tmp_path):
    """A wrong im2col costs im2col's points, not the layers' too; no reference code reaches the kernel."""
    wrong = edit_cell(reference("scratch_cnn"), "im2col", after="\n_right = im2col\n"
                      "im2col = lambda *args: _right(*args)[:, ::-1]\n")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert "im2col" in verdict(tmp_path / "a", wrong, "scratch_cnn", "test_im2col")
    assert verdict(tmp_path / "b", wrong, "scratch_cnn", "test_convolution_forward") is None
    inputs = draw_inputs(LECTURES["scratch_cnn"], np.random.default_rng(0))
    assert "def im2col" not in json.dumps(inputs)


def test_the_numpy_only_process_holds_nothing_else(tmp_path):
    """Nothing but NumPy and the standard library can be imported, whatever the route; the process is
    not root and has no capabilities; its environment is empty."""
    probe = """
import importlib, os, sys
found = []
for name in ('keras', 'tensorflow', 'scipy', 'course', 'course_kernel', 'IPython', 'matplotlib'):
    try:
        importlib.import_module(name)
        found.append(name)
    except ImportError:
        pass
status = open('/proc/self/status').read()
capabilities = status.split('CapEff:')[1].split()[0]
shadow = os.path.exists('/etc/shadow')
probe = lambda: np.array([len(found), os.getuid(), int(capabilities, 16), len(os.environ), shadow])
"""
    nb = insert(reference("cnn"), "convolution", probe)
    edit_cell(nb, "convolution", after="\n_convolve = convolve\nconvolve = lambda *args, **kwargs: probe()\n")
    request = numpy_only_requests(nb, LECTURES["cnn"], {"test_convolution_slides": {"convolve": [{"args": []}]}})
    outputs = run_numpy_only(request["test_convolution_slides"], tmp_path / "run", sandbox=True)
    found, uid, capabilities, variables, shadow = outputs["convolve"]["outputs"][0]["output"]
    assert (found, capabilities, shadow) == (0, 0, False) and uid != 0 and variables <= 6, outputs


def test_without_the_sandbox_numpy_alone_is_on_the_path(tmp_path):
    """`course grade --no-sandbox`: an honest answer keeps its points and an import of Keras fails."""
    lecture, rng = LECTURES["cnn"], np.random.default_rng(0)
    inputs = draw_inputs(lecture, rng)
    for name, source, kept in (("honest", None, True),
                               ("keras", "import keras\nconvolve = lambda *args, **kw: keras", False)):
        nb = reference("cnn")
        if source:
            edit_cell(nb, "convolution", source)
        request = numpy_only_requests(nb, lecture, inputs)["test_convolution_keras"]
        outputs = run_numpy_only(request, tmp_path / name, sandbox=False)["convolve"]["outputs"]
        assert all(("output" in output) == kept for output in outputs), outputs


def test_a_cell_that_never_ends_fails_the_task_in_time(tmp_path):
    nb = insert(reference("cnn"), "convolution", "while True:\n    pass")
    message = verdict(tmp_path, nb, "cnn", "test_convolution_slides", timeout=2)
    assert "could not be run to its end with NumPy alone: the notebook's NumPy tasks ran for more" in message


def test_a_task_may_start_few_processes(tmp_path):
    """A pids cgroup of its own, where the machine lets the grader make one: a fork bomb in a trial
    stops at a few processes, and they end with the task."""
    if not cgroup_possible("pids"):
        pytest.skip("this machine lets the grader make no pids cgroup")
    forker = """
import os, time
forked = 0
for _ in range(64):
    try:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        forked += 1
    except OSError:
        break
convolve = lambda *args, **kwargs: np.array(forked)
"""
    nb = insert(reference("cnn"), "convolution", forker, offset=1)
    request = numpy_only_requests(nb, LECTURES["cnn"], {"test_convolution_slides": {"convolve": [{"args": []}]}})
    outputs = run_numpy_only(request["test_convolution_slides"], tmp_path / "run", sandbox=True, timeout=20)
    assert outputs["convolve"]["outputs"][0]["output"] < 16, outputs
