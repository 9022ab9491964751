"""The verifier: decides every hidden test's points from what the test handed over
(course_kernel/handover.py), in a process that never imports or runs student code.

    python -m course.grading.verifier ASSIGNMENT FOLDER    # writes verdicts.json (course.protocol.Verdicts) here

FOLDER holds `handed/<test cell>/` (the files each test cell's hand-over wrote, moved out of the
kernel's reach as the cell ended; for a NumPy-only task, its functions' outputs from the NumPy-only
process, course/grading/numpy_only.py) and `inputs/<test cell>.json` (what the grader gave the cell's
student functions). Models are loaded with Keras's safe mode:
no code from the notebook is deserialised. Everything is recomputed from them and from the dataset,
and compared with what the lecture expects (course/lectures/<lecture>.py). Grading starts it with the
notebook, in the sandbox, and writes to its stdin the name of each test cell as the cell ends: it
verifies that cell while the notebook runs on. An empty line says the notebook has run.
"""

import dataclasses
import itertools
import json
import os
import sys
import warnings
from pathlib import Path

import numpy as np

from course import protocol
from course.lectures import LECTURES, scratch
from course.lectures.checks import dataset, fail
from course.lectures.numpy_calls import calling
from course.protocol import CheckFailed, Message, Verdicts
from course_kernel.handover import DATA_SUFFIX, MODEL_SUFFIX, describe
from course_kernel.profiles import active_profile, grading_profile, use_kernel_threads

VERDICTS = "verdicts.json"  # written in its working folder


class Artefacts:
    """What one test cell handed over, by name, read from its files on first use."""

    def __init__(self, folder: Path, inputs: dict):
        self.folder, self.inputs, self.measured, self._loaded = folder, inputs, {}, {}

    def __getitem__(self, name: str):
        if name not in self._loaded:
            self._loaded[name] = self._load(name)
        return self._loaded[name]

    def _load(self, name: str):
        import keras

        model, data = self.folder / f"{name}{MODEL_SUFFIX}", self.folder / f"{name}{DATA_SUFFIX}"
        if model.is_file():
            try:
                with warnings.catch_warnings():  # an optimizer never built (a model not yet trained)
                    warnings.simplefilter("ignore")
                    return keras.saving.load_model(model, safe_mode=True)
            except Exception as error:
                fail(f"採点用に保存した {name} を読み込めません。", f"{name} as handed over cannot be loaded as a "
                     f"Keras model ({type(error).__name__}: {str(error)[:200]}).")
        if data.is_file():
            try:
                return json.loads(data.read_text("utf-8"))
            except ValueError:
                fail(f"採点用に保存した {name} を読み込めません。", f"{name} as handed over is not readable.")
        fail(f"{name} が採点用に渡されていません。テストのセルが最後まで実行されませんでした。",
             f"{name} was not handed over for grading: the test cell did not run to its end.")

    def value(self, name: str):
        described = self[name]
        if not isinstance(described, dict) or described.get("kind") != "value":
            fail(f"{name} はリストや数にします。", f"{name} should be a list or a number.")
        return described["value"]


class LiveArtefacts(Artefacts):
    """The values themselves, in the kernel that holds them (outside grading): models as they are,
    everything else as course_kernel.handover.describe gives it to the verifier."""

    def __init__(self, values: dict, inputs: dict):
        super().__init__(Path(), inputs)
        self.values = values

    def _load(self, name: str):
        import keras

        if name not in self.values:
            fail(f"{name} がテストに渡されていません。", f"{name} was not given to the test.")
        value = self.values[name]
        return value if isinstance(value, keras.Model) else describe(value, self.inputs.get(name))


def _namespace(values: dict, names) -> dict:
    """Where the task's code looks its names up (the notebook's globals, through its functions), so
    that the grader's im2col can stand in for the notebook's; else the values themselves."""
    for value in (values.get(name) for name in names):
        methods = vars(value).values() if isinstance(value, type) else [value]
        function = next((f for f in methods if hasattr(f, "__globals__")), None)
        if function is not None:
            return function.__globals__
    return values


def check_here(assignment: str, cell: str, values: dict) -> None:
    """A hidden test outside grading (the source notebook in the instructor's Jupyter): every check
    of `cell`, in the kernel, on the values themselves and on inputs drawn now. A NumPy-only task's
    functions are called here too, from the names the test gives (grading calls them in the
    NumPy-only process)."""
    lecture = LECTURES[assignment]
    inputs = lecture.inputs(cell, np.random.default_rng())
    task = lecture.numpy_only.get(cell)
    if task is not None:
        namespace = _namespace(values, task.names)
        reference = {"im2col": scratch.im2col, "col2im": scratch.col2im} if task.reference else None
        values = {**values, **{function: calling(function, namespace, reference) for function in inputs}}
    verify_cell(assignment, cell, LiveArtefacts(values, inputs))


def verify_cell(assignment: str, cell: str, artefacts: Artefacts, profile=None) -> dict:
    """Run the course's checks of one test cell on its artefacts; return what was measured (test
    accuracies). Raises AssertionError with the reason, in Japanese and English."""
    profile = profile or active_profile(assignment)
    for check in LECTURES[assignment].tests[cell]:
        check(artefacts, profile)
    return artefacts.measured


def verify(assignment: str, folder: Path, ready=()) -> Verdicts:
    """The verdict on every test cell the course expects of `assignment`, under the grading
    profile: first those `ready` names as they come (cells the notebook has just run), then the rest."""
    profile = grading_profile(assignment)
    verdicts, measured = {}, {}
    tests = LECTURES[assignment].tests
    for cell in itertools.chain(ready, tests):
        if cell not in tests or cell in verdicts:
            continue
        inputs_file = folder / "inputs" / f"{cell}.json"
        inputs = json.loads(inputs_file.read_text("utf-8")) if inputs_file.is_file() else {}
        try:
            artefacts = Artefacts(folder / "handed" / cell, inputs)
            measured.update(verify_cell(assignment, cell, artefacts, profile))
            verdicts[cell] = None
        except AssertionError as error:  # a check's CheckFailed, or an assert of its own
            message = error.message if isinstance(error, CheckFailed) else Message(str(error), str(error))
            verdicts[cell] = dataclasses.asdict(message)
    return Verdicts(verdicts, measured)


def main(argv=None) -> int:
    use_kernel_threads()  # imports TensorFlow while the notebook runs
    dataset()
    assignment, folder = (argv or sys.argv[1:])
    for check in (check for checks in LECTURES[assignment].tests.values() for check in checks):
        getattr(check, "warm", lambda: None)()  # references computed while the notebook runs
    # One line per test cell as the notebook runs it, then an empty line when it has run.
    ready = iter(lambda: sys.stdin.readline().strip(), "")
    try:
        verdicts = verify(assignment, Path(folder), ready)
    except Exception as error:  # the course's own problem (a threshold not calibrated): nothing is graded
        verdicts = Verdicts(error=f"{type(error).__name__}: {error}")
    protocol.write(verdicts, Path(VERDICTS))
    return 0


if __name__ == "__main__":
    status = main()
    # The notebook's grading waits for this process to end, and TensorFlow's teardown at a normal
    # exit takes most of a second: the verdicts are written, so end at once.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
