"""Feedback for the LMS to take back in bulk: one zip per assignment, each file named as the LMS's
own download named the student's submission, so that the LMS files it with that student.

    course return-feedback mlp1          # feedback-mlp1.zip beside grades.csv

- Moodle (Assignment → View all submissions → Upload multiple feedback files in a zip):
  `Full Name_2345676_assignfeedback_file_mlp1-feedback.html`. Moodle reads the participant
  number after the first `_` (mod/assign/feedback/file/importziplib.php,
  is_valid_filename_for_import) and ignores the name.
- Canvas (Assignment → Re-Upload Submissions): `yamadataro_106_5007_mlp1-feedback.html`. Canvas
  reads the first two numbers as the user and the attachment they handed in
  (Assignment#infer_comment_context_from_filename) and adds the file as a comment.
A student whose notebook was not graded gets a page that says why and what to do. Notebooks that
came from a download of neither LMS are listed: hand their feedback/ folders back another way.
"""

import argparse
import csv
import html
import sys
import zipfile
from pathlib import Path

from course.instructor.collect import CANVAS, MOODLE, read_ledger
from course.instructor.report import REPORT

NOT_GRADED = """<!DOCTYPE html>
<html lang="ja"><head><meta charset="utf-8"><title>{assignment}</title></head><body>
<h1>{assignment}: 採点できませんでした / not graded</h1>
<p>{reason}</p>
<p>ノートブックを直して、もう一度提出してください。/ Correct the notebook and hand it in again.</p>
</body></html>
"""


def lms_name(source: str, assignment: str) -> str | None:
    """The name the LMS files with the student whose download `source` was; None for neither LMS."""
    moodle, canvas = MOODLE.match(source), CANVAS.match(source)
    if moodle:
        return f"{moodle['name']}_{moodle['participant']}_assignfeedback_file_{assignment}-feedback.html"
    if canvas:
        return f"{canvas['name']}_{canvas['user']}_{canvas['attachment']}_{assignment}-feedback.html"
    return None


def feedback_zip(course: Path, assignment: str) -> tuple:
    """Write feedback-<assignment>.zip; (its path or None, report lines)."""
    report_path = course / REPORT
    if not report_path.exists():
        raise SystemExit(f"No class report at {report_path}: grade the class first (make grade).")
    with report_path.open(encoding="utf-8", newline="") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f) if r["assignment"] == assignment}
    ledger = {student: row["source"] for (student, name), row in read_ledger(course).items() if name == assignment}
    files, lines = {}, []
    for student, row in sorted(rows.items()):
        name = lms_name(ledger.get(student, ""), assignment)
        if name is None:
            lines.append(f"not in the zip  {student}: not collected from a Moodle or Canvas download; hand back "
                         f"feedback/{student}/{assignment}/ another way")
            continue
        page = course / "feedback" / student / assignment / f"{assignment}.html"
        if row["status"] != "graded":
            files[name] = NOT_GRADED.format(assignment=assignment, reason=html.escape(row["reasons"])).encode()
            lines.append(f"not graded      {student}: {row['reasons']}")
        elif page.exists():
            files[name] = page.read_bytes()
        else:
            lines.append(f"not in the zip  {student}: no feedback/{student}/{assignment}/{assignment}.html yet "
                         "(make grade writes it)")
    if not files:
        return None, lines
    path = course / f"feedback-{assignment}.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in sorted(files.items()):
            archive.writestr(name, content)
    return path, lines + [f"{len(files)} student(s): {path}"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignment")
    parser.add_argument("--course", type=Path, default=Path.cwd(), help="the course directory (default: here)")
    args = parser.parse_args(argv)
    path, lines = feedback_zip(args.course.resolve(), args.assignment)
    print("\n".join(lines))
    if path is None:
        print(f"No feedback of {args.assignment} to return: collect with `course collect` from the LMS's download "
              "and grade first.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
