"""What a lecture gives the grading machinery: its test cells' checks, the inputs drawn for them
when a notebook is graded, and the tasks to be written with NumPy alone."""

from collections.abc import Callable
from dataclasses import dataclass, field


def _no_inputs(cell: str, rng) -> dict:
    return {}


@dataclass(frozen=True)
class NumPyOnly:
    """A task that says to compute in NumPy: the functions its test cell checks are run and called
    where only NumPy and the standard library exist (course/grading/numpy_only.py), from the
    student's code as handed in, never in the student's kernel."""

    names: tuple  # what the task's code defines: its functions or classes
    reference: bool = False  # its layers run with the grader's im2col and col2im (scratch_cnn)


@dataclass(frozen=True)
class Lecture:
    name: str  # the assignment's name: source/<name>/<name>.ipynb
    # {test cell's grade_id: [checks]}: functions of the cell's artefacts (course.grading.verifier.Artefacts)
    # and the grading profile, built with course.lectures.expect
    tests: dict
    # {test cell of a NumPy-only task: NumPyOnly}: its functions' outputs come from the NumPy-only process
    numpy_only: dict = field(default_factory=dict)
    # (test cell, a NumPy Generator) -> {function name: [{"args": [...], "kwargs": {...}}]}: what the
    # cell's student functions are called on, drawn anew each time a notebook is graded
    inputs: Callable = _no_inputs
    # {what the drawn inputs are given to (a function, `Class`, `Class().method`): a function of its
    # arguments -> a family, a tuple of labels (course/lectures/families.py)}: every family grading
    # draws, a visible test must try too (tests/test_visible_tests.py)
    families: dict = field(default_factory=dict)
    # Seconds one notebook takes to grade under `grade` on 2 cores (docs/benchmarks.md): a class is
    # graded longest first, so that no worker is left idle beside the last long notebook.
    grading_seconds: float = 0.0
    # Its notebook trains with Keras, which a GPU speeds up (scratch_cnn trains in NumPy: never on a GPU).
    keras_training: bool = True
