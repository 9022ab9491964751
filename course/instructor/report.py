"""The class report: one row per student and notebook, from the gradebook and the grading state,
with the reason for every lost point (grades.csv, and the table the command prints); and the
class summary beside it (class_summary.html): per assignment, the distribution of scores and
each test's pass rate with its most common failure."""

import base64
import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from course.grading.gradebook import gradebook_url
from course.grading.intake import ignored_files, source_grade_ids
from course.instructor.collect import late_submissions
from course.templates import render

REPORT = "grades.csv"
SUMMARY = "class_summary.html"
TEMPLATES = Path(__file__).with_name("templates")
REPORT_COLUMNS = ["student_id", "assignment", "score", "max_score", "status", "to_grade_by_hand", "late", "reasons"]


@dataclass
class ReportRow:
    """One student's notebook of one assignment: its score so far and why points were lost.
    `to_grade_by_hand` counts the points of written answers (and tests that never ran) that wait
    for a person: the score is final only when it is 0. `outcomes` is {test: None if it passed,
    else why not} for the tests nbgrader scored (not written to grades.csv)."""

    student: str
    assignment: str
    score: float
    max_score: float
    status: str  # "graded" or "not graded"
    reasons: list = field(default_factory=list)
    to_grade_by_hand: float = 0
    outcomes: dict = field(default_factory=dict)
    late: bool = False  # as the LMS marked it when it was collected


def _messages(course: Path, assignment: str, student: str) -> tuple:
    """({grade id: the last line of the error its cell raised}, what grading noted of the whole
    notebook or None) in the autograded notebook."""
    path = course / "autograded" / student / assignment / f"{assignment}.ipynb"
    if not path.exists():
        return {}, None
    nb = nbformat.read(path, as_version=4)
    verified = nb.metadata.get("course", {}).get("messages", {})  # the verifier's failures, in both languages
    messages = {}
    for cell in nb.cells:
        errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        if errors and "grade_id" in cell.metadata.get("nbgrader", {}):
            error = errors[-1]
            grade_id = cell.metadata["nbgrader"]["grade_id"]
            if grade_id in verified:  # the first line of the English message (data may follow)
                messages[grade_id] = f"AssertionError: {verified[grade_id]['en'].splitlines()[0]}"
                continue
            # An error the kernel raised (a visible test's assert, a solution cell's own error).
            lines = str(error.evalue).strip().splitlines()
            # The checks' messages are Japanese, then English (and then data): keep the English.
            detail = (lines[1] if len(lines) > 1 else lines[0]) if lines else _DETAILS.get(error.ename, "")
            messages[cell.metadata["nbgrader"]["grade_id"]] = f"{error.ename}: {detail}"
    return messages, nb.metadata.get("course", {}).get("memory")


# What an error without a message means in a grading kernel.
_DETAILS = {
    "CellTimeoutError": "the cell ran longer than the time a cell may take",
    "MemoryError": "the cell asked for more memory than the grading kernel may use",
    "KeyboardInterrupt": "the cell was stopped",
}


def class_report(course: Path, state: dict, grade_ids: dict) -> list:
    """A ReportRow per student and assignment with a submission, from the gradebook and the
    grading state."""
    from nbgrader.api import Gradebook, MissingEntry

    rows = []
    late = late_submissions(course)
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
                rows.append(ReportRow(student, assignment, 0, max_score, "not graded", [reason]))
                continue
            try:
                submission = gradebook.find_submission(assignment, student)
            except MissingEntry:
                rows.append(ReportRow(student, assignment, 0, max_score, "not graded", ["not graded yet"]))
                continue
            messages, memory = _messages(course, assignment, student)
            grades = {g.name: g for n in submission.notebooks for g in n.grades}
            reasons, outcomes, by_hand = [memory] if memory else [], {}, 0
            # In notebook order: a solution cell's error (a timeout, say) before the tests it failed.
            for name in grade_ids[assignment]:
                g = grades.get(name)
                if g is None:
                    if name in messages:
                        reasons.append(f"{name} raised {messages[name]}")
                    continue
                outcome = None
                if g.cell.cell_type == "code" and g.manual_score is not None:
                    # A test's score an instructor set in formgrader stands (it is nbgrader's score),
                    # also after autograding again, which asks for it to be reviewed.
                    if g.manual_score < g.max_score:
                        outcome = messages.get(name, "failed without a message")
                    reasons.append(f"{name} set by hand to {g.manual_score:g}/{g.max_score:g}"
                                   + (f" (autograded {g.auto_score:g})" if g.auto_score is not None else ""))
                elif g.needs_manual_grade:  # a written answer, or a test that never ran
                    outcome = "grade by hand" if g.cell.cell_type == "markdown" else "not autograded"
                    reasons.append(f"{name} ({outcome}, {g.max_score:g})")
                    by_hand += g.max_score
                elif g.score < g.max_score:
                    outcome = messages.get(name, "failed without a message")
                    message = f" ({messages[name]})" if name in messages else ""
                    reasons.append(f"{name} -{g.max_score - g.score:g}{message}")
                if g.cell.cell_type == "code":  # a test; written answers are not
                    outcomes[name] = outcome
            ignored = ignored_files(folder, assignment)
            if ignored:
                reasons.append(f"ignored {', '.join(ignored)} (only {assignment}.ipynb is graded)")
            rows.append(ReportRow(student, assignment, submission.score, submission.max_score, "graded", reasons,
                                  by_hand, outcomes))
    for row in rows:
        row.late = (row.student, row.assignment) in late
    return rows


def update_report(course: Path) -> list:
    """Write grades.csv again from the gradebook as it is now (scores set in formgrader included)."""
    from course.grading.coordinator import load_state

    rows = class_report(course, load_state(course), source_grade_ids(course))
    write_report(course, rows)
    return rows


def write_report(course: Path, rows: list) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(REPORT_COLUMNS)
    for r in rows:
        writer.writerow([r.student, r.assignment, f"{r.score:g}", f"{r.max_score:g}", r.status,
                         f"{r.to_grade_by_hand:g}", "yes" if r.late else "", "; ".join(r.reasons)])
    (course / REPORT).write_text(buffer.getvalue(), "utf-8")


def print_table(rows: list, assignments: list) -> None:
    print(f"\n{'student':<12} {'assignment':<12} {'score':>7}  lost points")
    for r in rows:
        if r.assignment in assignments:
            print(f"{r.student:<12} {r.assignment:<12} {r.score:>3g}/{r.max_score:<3g}  {'; '.join(r.reasons) or '-'}")


def pass_rates(rows: list, assignment: str) -> list:
    """[(test, submissions that passed it, graded submissions, most common failure or None,
    how many times)] in notebook order, for the graded submissions of an assignment."""
    graded = [r.outcomes for r in rows if r.assignment == assignment and r.status == "graded"]
    results = []
    for test in dict.fromkeys(t for outcomes in graded for t in outcomes):
        failures = Counter(o[test] for o in graded if o.get(test) is not None)
        failure, times = failures.most_common(1)[0] if failures else (None, 0)
        results.append((test, sum(test in o and o[test] is None for o in graded), len(graded), failure, times))
    return results


def most_failed(results: list) -> list:
    """The tests the most submissions failed (none when every test passed everywhere)."""
    worst = max((graded - passed for _, passed, graded, *_ in results), default=0)
    return [test for test, passed, graded, *_ in results if worst and graded - passed == worst]


def _histogram(scores: list, max_score: float) -> str:
    """The distribution of scores as a PNG, base64 for an <img>."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5, 2.4))
    axes = figure.subplots()
    axes.hist(scores, bins=[x - 0.5 for x in range(int(max_score) + 2)], color="#4878a8", rwidth=0.9)
    axes.set_xlabel("score")
    axes.set_ylabel("students")
    axes.set_xlim(-0.5, max_score + 0.5)
    axes.yaxis.get_major_locator().set_params(integer=True)
    figure.tight_layout()
    png = io.BytesIO()
    figure.savefig(png, format="png", dpi=100)
    return base64.b64encode(png.getvalue()).decode()


def write_summary(course: Path, rows: list) -> dict:
    """Write class_summary.html, an assignment with submissions after another; {assignment: the
    tests the most students failed}."""
    assignments, worst = [], {}
    for assignment in sorted({r.assignment for r in rows}):
        mine = [r for r in rows if r.assignment == assignment]
        graded = [r for r in mine if r.status == "graded"]
        results = pass_rates(rows, assignment)
        worst[assignment] = most_failed(results)
        scores = [r.score for r in graded]
        assignments.append({
            "name": assignment, "graded": len(graded), "not_graded": len(mine) - len(graded),
            "max_score": mine[0].max_score, "mean": sum(scores) / len(scores) if scores else None,
            "by_hand": sum(r.to_grade_by_hand > 0 for r in graded), "most_failed": worst[assignment],
            "histogram": _histogram(scores, mine[0].max_score) if scores else None, "results": results,
        })
    similarity = "similarity.html" if (course / "similarity.html").exists() else None
    page = render(TEMPLATES, "class_summary.html.j2", assignments=assignments, similarity=similarity)
    (course / SUMMARY).write_text(page, "utf-8")
    return worst
