"""The class report: one row per student and notebook, from the gradebook and the grading state,
with the reason for every lost point (grades.csv, and the table the command prints)."""

import csv
import io
from pathlib import Path

import nbformat

REPORT = "grades.csv"


def gradebook_url(course: Path) -> str:
    return f"sqlite:///{course / 'gradebook.db'}"


def _messages(course: Path, assignment: str, student: str) -> dict:
    """{grade id: the last line of the error its cell raised} in the autograded notebook."""
    path = course / "autograded" / student / assignment / f"{assignment}.ipynb"
    if not path.exists():
        return {}
    messages = {}
    for cell in nbformat.read(path, as_version=4).cells:
        errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        if errors and "grade_id" in cell.metadata.get("nbgrader", {}):
            error = errors[-1]
            lines = str(error.evalue).strip().splitlines()
            # The checks' messages are Japanese, then English (and then data): keep the English.
            detail = (lines[1] if len(lines) > 1 else lines[0]) if lines else _DETAILS.get(error.ename, "")
            messages[cell.metadata["nbgrader"]["grade_id"]] = f"{error.ename}: {detail}"
    return messages


# What an error without a message means in a grading kernel.
_DETAILS = {
    "CellTimeoutError": "the cell ran longer than the time a cell may take",
    "MemoryError": "the cell asked for more memory than the grading kernel may use",
    "KeyboardInterrupt": "the cell was stopped",
}


def class_report(course: Path, state: dict, grade_ids: dict) -> list:
    """One row per student and assignment with a submission: (student, assignment, score, max score,
    status, reasons), from the gradebook and the grading state."""
    from nbgrader.api import Gradebook, MissingEntry

    rows = []
    with Gradebook(gradebook_url(course)) as gradebook:
        for folder in sorted((course / "submitted").glob("*/*/")):  # by student, then assignment
            student, assignment = folder.parent.name, folder.name
            if assignment not in grade_ids:
                continue  # not an assignment of this course
            try:
                max_score = gradebook.find_assignment(assignment).max_score
            except MissingEntry:
                continue  # not released yet
            reason = state.get(assignment, {}).get(student, {}).get("reason")
            if reason:
                rows.append((student, assignment, 0, max_score, "not graded", [reason]))
                continue
            try:
                submission = gradebook.find_submission(assignment, student)
            except MissingEntry:
                rows.append((student, assignment, 0, max_score, "not graded", ["not graded yet"]))
                continue
            messages = _messages(course, assignment, student)
            grades = {g.name: g for n in submission.notebooks for g in n.grades}
            reasons = []
            # In notebook order: a solution cell's error (a timeout, say) before the tests it failed.
            for name in grade_ids[assignment]:
                g = grades.get(name)
                if g is None:
                    if name in messages:
                        reasons.append(f"{name} raised {messages[name]}")
                elif g.needs_manual_grade:  # a written answer, or a test that never ran
                    why = "grade by hand" if g.cell.cell_type == "markdown" else "not autograded"
                    reasons.append(f"{name} ({why}, {g.max_score:g})")
                elif g.score < g.max_score:
                    message = f" ({messages[name]})" if name in messages else ""
                    reasons.append(f"{name} -{g.max_score - g.score:g}{message}")
            rows.append((student, assignment, submission.score, submission.max_score, "graded", reasons))
    return rows


def write_report(course: Path, rows: list) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student_id", "assignment", "score", "max_score", "status", "reasons"])
    for student, assignment, score, max_score, status, reasons in rows:
        writer.writerow([student, assignment, f"{score:g}", f"{max_score:g}", status, "; ".join(reasons)])
    (course / REPORT).write_text(buffer.getvalue(), "utf-8")


def print_table(rows: list, assignments: list) -> None:
    print(f"\n{'student':<12} {'assignment':<12} {'score':>7}  lost points")
    for student, assignment, score, max_score, _, reasons in rows:
        if assignment in assignments:
            print(f"{student:<12} {assignment:<12} {score:>3g}/{max_score:<3g}  {'; '.join(reasons) or '-'}")
