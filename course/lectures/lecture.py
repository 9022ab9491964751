"""What a lecture gives the grading machinery: its test cells' checks, the inputs drawn for them
when a notebook is graded, and the cells students must compute by hand."""

from collections.abc import Callable
from dataclasses import dataclass, field


def _no_inputs(cell: str, rng) -> dict:
    return {}


@dataclass(frozen=True)
class Lecture:
    name: str  # the assignment's name: source/<name>/<name>.ipynb
    # {test cell's grade_id: [checks]}: functions of the cell's artefacts (course.grading.verifier.Artefacts)
    # and the grading profile, built with course.lectures.expect
    tests: dict
    # {solution cell computed by hand in NumPy: (the name it defines, or a tuple of them; names of other
    #  cells it may use)}
    by_hand: dict = field(default_factory=dict)
    # (test cell, a NumPy Generator) -> {function name: [{"args": [...], "kwargs": {...}}]}: what the
    # cell's student functions are called on, drawn anew each time a notebook is graded
    inputs: Callable = _no_inputs
    # Seconds one notebook takes to grade under `grade` on 2 cores (docs/benchmarks.md): a class is
    # graded longest first, so that no worker is left idle beside the last long notebook.
    grading_seconds: float = 0.0
