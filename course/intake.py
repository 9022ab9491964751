"""Intake: is the notebook a student handed in one that can be graded?

Renames a Colab or browser download to the assignment's name, and says why an empty, broken,
old-format or wrong assignment's notebook cannot be graded. Touches nothing but the file's name.
"""

import hashlib
import json
from pathlib import Path

import nbformat

from course.collect import normalised_name


def _grade_ids(notebook) -> list:
    return [c.metadata["nbgrader"]["grade_id"] for c in notebook.cells if "grade_id" in c.metadata.get("nbgrader", {})]


def source_grade_ids(course: Path) -> dict:
    """{assignment: the grade ids of its source notebook, in order}."""
    return {p.parent.name: _grade_ids(nbformat.read(p, as_version=4)) for p in (course / "source").glob("*/*.ipynb")}


def prepare_submission(folder: Path, assignment: str, grade_ids: dict) -> tuple:
    """(why the notebook in `folder` cannot be graded or None, its SHA-256, notes for the instructor).

    Renames a Colab or browser download (`Copy of mlp1.ipynb`) to the assignment's name when it
    is the only candidate."""
    expected = f"{assignment}.ipynb"
    candidates = sorted(p for p in folder.iterdir() if p.is_file() and normalised_name(p.name) == expected)
    others = sorted(p.name for p in folder.iterdir() if p.is_file() and p not in candidates)
    notes = [f"{folder / name}: ignored (not {expected})" for name in others if not name.startswith(".")
             and name != "timestamp.txt"]
    if len(candidates) > 1:
        names = ", ".join(p.name for p in candidates)
        return f"{len(candidates)} candidate notebooks ({names}): keep the one to grade", None, notes
    if not candidates:
        return f"no {expected} in the submission", None, notes
    path = candidates[0]
    if path.name != expected:
        path = path.rename(folder / expected)
        notes.append(f"{folder / candidates[0].name}: renamed to {expected}")
    data = path.read_bytes()
    return _notebook_problem(data, assignment, grade_ids), hashlib.sha256(data).hexdigest(), notes


def _notebook_problem(data: bytes, assignment: str, grade_ids: dict):
    if not data.strip():
        return "empty file: download the notebook again (File > Download > .ipynb) and hand it in"
    try:
        raw = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        where = f" at line {error.lineno}" if isinstance(error, json.JSONDecodeError) else ""
        return f"not a notebook: invalid JSON{where}; hand in the .ipynb that Colab or Jupyter downloads"
    version = raw.get("nbformat") if isinstance(raw, dict) else None
    if version != 4:
        return f"not an nbformat 4 notebook (nbformat {version}): open it in Colab or Jupyter, save and hand in again"
    try:
        found = set(_grade_ids(nbformat.reads(data.decode("utf-8"), as_version=4)))
    except Exception as error:  # nbformat's errors are many and unrelated
        return f"not a readable notebook ({type(error).__name__}): hand in the .ipynb that Colab or Jupyter downloads"
    if not found:
        return None  # nbgrader puts the graded cells back

    def likeness(ids):
        return len(found.intersection(ids)) / len(found.union(ids))

    # The assignment whose graded cells the notebook has most of (deleted cells are allowed for).
    best = max(sorted(grade_ids), key=lambda a: likeness(grade_ids[a]))
    if likeness(grade_ids[best]) > likeness(grade_ids[assignment]):
        return f"this is the notebook of {best}, not {assignment}: hand in {assignment}.ipynb"
    return None
