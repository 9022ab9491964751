"""Intake: is the notebook a student handed in one that can be graded?

Renames a Colab or browser download to the assignment's name, and says why an empty, broken,
old-format or wrong assignment's notebook cannot be graded. Touches nothing but the file's name.
Only the notebook, and the files its assignment declares (`DECLARED_FILES`), enter the grading
kernel's folder; anything else handed in is listed (`ignored_files`) and left out, so that nothing
a student hands in can shadow a module the kernel imports.
"""

import hashlib
import json
import re
from pathlib import Path

import nbformat

# {assignment: files, relative to the notebook, that its notebook reads besides itself}: none today.
DECLARED_FILES: dict = {}
# What LMSs and browsers add to a submission.
NOT_HANDED_IN = ("timestamp.txt",)


def normalised_name(filename: str) -> str:
    """The notebook name a student's download had before Colab, the browser or Canvas renamed it."""
    name = filename
    if name.endswith(".ipynb.json"):
        name = name[: -len(".json")]
    name = re.sub(r"^(Copy of )+", "", name)
    name = re.sub(r"( \(\d+\))+(\.ipynb)$", r"\2", name)
    return re.sub(r"(-\d+)+(\.ipynb)$", r"\2", name)  # Canvas's re-upload of a file of the same name


def grading_files(folder: Path, assignment: str) -> dict:
    """{path relative to `folder`: bytes} of the files the assignment declares, where handed in."""
    return {name: (folder / name).read_bytes() for name in DECLARED_FILES.get(assignment, ())
            if (folder / name).is_file() and not (folder / name).is_symlink()}


def ignored_files(folder: Path, assignment: str) -> list:
    """What was handed in beside the notebook and is not graded: names, folders ending in '/'."""
    keep = {f"{assignment}.ipynb", *NOT_HANDED_IN, *DECLARED_FILES.get(assignment, ())}
    return sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir()
                  if p.name not in keep and not p.name.startswith("."))


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
    notes = [f"{folder / name}: ignored (only {expected} is graded)" for name in ignored_files(folder, assignment)
             if folder / name not in candidates]
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
