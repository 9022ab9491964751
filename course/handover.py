"""What a hidden test hands over to the verifier (course/verify.py), which decides its points.

A hidden test ends with ``hand_over("mlp1", "test_model", model=model)``. In a grading kernel
that only writes each value, as plain data, into FOLDER in the notebook's folder: a model in
Keras's own format; a `fit` history as its numbers and the settings the notebook asked for; an
array as its shape, dtype and a digest of its values; a figure as the data of its lines; a
function as its outputs on the inputs the grader chose for this cell (INPUTS, written just
before the cell runs). The grading process moves FOLDER's files out of the kernel's reach when
the cell ends (course/grade_one.py); the verifier, a process that never runs student code,
reads them.

The same checks run first in the kernel, on the values themselves (all of them where nothing is
graded, as when an instructor runs the source notebook; the cheap ones in a grading kernel): a
cell earns its points only when they and the verifier both pass.
"""

import hashlib
import json
import os
from pathlib import Path

import numpy as np

FOLDER = ".course-handover"
INPUTS = ".course-inputs.json"
MODEL_SUFFIX = ".keras"
DATA_SUFFIX = ".json"
# Larger arrays (the images) travel as their shape, dtype and digest; smaller ones as values.
ARRAY_AS_DIGEST = 20000


def digest(array) -> str:
    """A digest of an array's values to 4 decimals (of numbers near 1; in float32): spellings of
    one computation (x / 255, x.astype('float32') * (1 / 255)) agree, another does not."""
    values = np.array(array, dtype=np.float32)  # a copy, rounded in place: the images are large
    values *= np.float32(1e4)
    np.rint(values, out=values)
    values += np.float32(0)  # no negative zeros
    return hashlib.sha256(memoryview(np.ascontiguousarray(values))).hexdigest()


def _plain(value):
    """`value` as JSON data: numbers, strings, lists and dicts."""
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    try:
        return _plain(np.asarray(value).tolist())
    except Exception:
        return {"unreadable": type(value).__name__}


def arguments(case: dict) -> list:
    """A case's arguments as a function gets them: JSON lists as NumPy arrays, {"tuple": [...]}
    as a tuple (a shape), anything else as it is."""
    def argument(value):
        if isinstance(value, list):
            return np.array(value, dtype=float)
        if isinstance(value, dict) and "tuple" in value:
            return tuple(value["tuple"])
        return value
    return [argument(value) for value in case["args"]]


def _call(function, case):
    """The function's output on one case."""
    try:
        return {"output": _plain(np.asarray(function(*arguments(case), **case.get("kwargs", {}))))}
    except Exception as error:  # the student's function failed on this input: the verifier says so
        return {"raised": f"{type(error).__name__}: {error}"[:300]}


def describe(value, inputs=None) -> dict:
    """A value the kernel holds, as the plain data the verifier reads."""
    if hasattr(value, "history") and hasattr(value, "params"):  # what `fit` returns
        return {"kind": "history", "history": _plain(value.history), "params": _plain(value.params),
                "requested": _plain(getattr(value, "requested", None))}
    if hasattr(value, "axes") and hasattr(value, "savefig"):  # a matplotlib figure
        return {"kind": "figure", "axes": [[{"label": str(line.get_label()), "y": _plain(line.get_ydata())}
                                            for line in axes.get_lines()] for axes in value.axes]}
    if callable(value):
        return {"kind": "outputs", "outputs": [_call(value, case) for case in inputs or []]}
    if isinstance(value, np.ndarray) and value.size > ARRAY_AS_DIGEST:
        array = np.asarray(value)
        numeric = array.size and np.issubdtype(array.dtype, np.number)
        return {"kind": "array", "shape": list(array.shape), "dtype": str(array.dtype),
                "digest": digest(array) if numeric else None,
                "min": float(array.min()) if numeric else None, "max": float(array.max()) if numeric else None}
    return {"kind": "value", "value": _plain(value)}


def save(folder: Path, name: str, artefact) -> None:
    """Write a model in Keras's format, anything else as its description."""
    import keras

    if isinstance(artefact, keras.Model):
        keras.saving.save_model(artefact, folder / f"{name}{MODEL_SUFFIX}")
    else:
        (folder / f"{name}{DATA_SUFFIX}").write_text(json.dumps(artefact), "utf-8")


def hand_over(assignment: str, cell: str, **values) -> None:
    """Check `values` here with the course's checks of `cell` (a test cell's grade_id) in
    `assignment`; in a grading kernel, skip the costly ones and hand the values over to the
    verifier, which decides."""
    from course.verify import LiveArtefacts, verify_cell

    grading = bool(os.environ.get("NBGRADER_EXECUTION"))
    if Path(INPUTS).is_file():
        inputs = json.loads(Path(INPUTS).read_text("utf-8"))
    else:
        from course.expected import inputs_for
        inputs = inputs_for(assignment, cell, np.random.default_rng())
    artefacts = LiveArtefacts(values, inputs, full=not grading)
    verify_cell(assignment, cell, artefacts)
    if grading:
        Path(FOLDER).mkdir(exist_ok=True)
        for name in values:
            save(Path(FOLDER), name, artefacts[name])
