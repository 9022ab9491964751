"""What a hidden test hands over to the verifier (course/grading/verifier.py), which decides its points.

A hidden test ends with ``hand_over("mlp1", "test_model", model=model)``. In a grading kernel
that only writes each value, as plain data, into FOLDER in the notebook's folder: a model in
Keras's own format; a `fit` history as its numbers and the settings the notebook asked for; an
array as its shape, dtype and a digest of its values; a figure as the data of its lines; a
function as its outputs on the inputs the grader chose for this cell (INPUTS, written just
before the cell runs; a task to be written with NumPy alone has its functions called in a
process of their own instead, course/grading/numpy_only.py). The grading process moves FOLDER's
files out of the kernel's reach when the cell ends (course/grading/execute.py); the verifier, a
process that never runs student code, reads them and decides. Nothing here computes or holds an
expected answer: this package is all of the course a grading kernel can import.

Outside grading (the source notebook in the instructor's Jupyter, where the whole course is
installed), the course's checks run here instead, on the values themselves.
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


def _read_inputs() -> dict:
    try:
        return json.loads(Path(INPUTS).read_text("utf-8"))
    except (OSError, ValueError):  # the notebook removed or spoiled it: its functions get no inputs
        return {}


CHECKS_HERE = "course_kernel.check_here"  # the entry-point group the course registers its checks in


def check_here(assignment: str, cell: str, values: dict) -> None:
    """Every check of `cell` on the values themselves, with the course's checks."""
    from importlib.metadata import entry_points

    found = list(entry_points(group=CHECKS_HERE))
    if not found:
        raise RuntimeError("Hidden tests outside grading need the course package installed (`make env`, or "
                           "`pip install -e .` in the course's folder).")
    found[0].load()(assignment, cell, values)


def hand_over(assignment: str, cell: str, **values) -> None:
    """In a grading kernel: write `values` (from the test cell `cell` of `assignment`) for the
    verifier, and nothing else. Elsewhere: check them here with the course's checks."""
    import keras

    if not os.environ.get("NBGRADER_EXECUTION"):
        # The instructor's own machine, where the course is installed beside this package and
        # registers its checks (pyproject.toml's entry point): this package imports nothing of
        # `course`. A grading kernel has only this package, and never takes this branch.
        check_here(assignment, cell, values)
        return
    inputs = _read_inputs()
    folder = Path(FOLDER)
    folder.mkdir(exist_ok=True)
    for name, value in values.items():
        save(folder, name, value if isinstance(value, keras.Model) else describe(value, inputs.get(name)))
