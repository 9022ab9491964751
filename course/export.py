"""Grades an LMS imports: one row per student, one column per assignment and the total.

    python -m course.export --format canvas --roster canvas_gradebook.csv --key "SIS Login ID"
    python -m course.export --format moodle --roster participants.csv --key "Username"
    python -m course.export --format wide          # names from nbgrader's student table

Reads the class report (grades.csv, written by `course.grade`) and a roster: the CSV the LMS
exports (Canvas's gradebook export, Moodle's participants), `--key` naming its column that holds
the student ids of submitted/; without --roster, nbgrader's student table (`nbgrader db student
import`). A roster student without a submission gets an empty cell, not 0; a submission without a
roster entry keeps its row, at the end, with only the course's student id. Written as UTF-8 with
a byte-order mark, so that Excel shows Japanese names; a roster saved by Excel in Shift_JIS is read.

Formats, as their documentation describes them:
- canvas: Canvas's gradebook export (Student, ID, SIS User ID, SIS Login ID, Section, one
  `<name> (<Canvas assignment id>)` column per assignment, read-only Final Points) with its
  `Points Possible` row. The assignment ids come from the roster's header when it is a Canvas
  export with a column `mlp1 (12345)`; a column without an id makes Canvas create the assignment.
- moodle: Moodle's grade import (Grades → Import → CSV file): First name, Last name, ID number,
  Email address, Username (the course's student id unless the roster has one), one column per
  grade item, Total. Map "Email address" (or "ID number", "Username") to the user, each
  assignment to its grade item, and Total to nothing.
- wide: student_id, first_name, last_name, email, one column per assignment, total.
"""

import argparse
import csv
import re
import sys
from pathlib import Path

from course.report import REPORT, gradebook_url

# Output column: the roster columns (an LMS's own names first) or nbgrader fields it is read from.
IDENTITY = {
    "canvas": {"Student": ("Student", "last_first"), "ID": ("ID", "lms_user_id"), "SIS User ID": ("SIS User ID",),
               "SIS Login ID": ("SIS Login ID", "student_id"), "Section": ("Section",)},
    "moodle": {"First name": ("First name", "first_name"), "Last name": ("Last name", "last_name"),
               "ID number": ("ID number", "lms_user_id"), "Email address": ("Email address", "email"),
               "Username": ("Username", "student_id")},
    "wide": {"student_id": ("student_id",), "first_name": ("first_name", "First name"),
             "last_name": ("last_name", "Last name"), "email": ("email", "Email address")},
}
TOTAL = {"canvas": "Final Points", "moodle": "Total", "wide": "total"}
# Columns an LMS matches its students on: a row with none of them cannot be imported.
MATCHED_ON = {"canvas": ("ID", "SIS User ID", "SIS Login ID"), "moodle": ("ID number", "Email address")}
# Rows of a Canvas gradebook export that are not students.
CANVAS_LABEL_ROWS = {"Points Possible", "Manual Posting"}


class ExportError(Exception):
    pass


def read_report(course: Path) -> tuple:
    """({(student, assignment): (score, status)}, {assignment: max score}) from grades.csv."""
    path = course / REPORT
    if not path.exists():
        raise ExportError(f"No class report at {path}: grade the class first (make grade).")
    scores, maxima = {}, {}
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            scores[row["student_id"], row["assignment"]] = (float(row["score"]), row["status"])
            maxima[row["assignment"]] = float(row["max_score"])
    return scores, maxima


def read_csv(path: Path) -> list:
    """Rows of a CSV as dicts, UTF-8 (with or without BOM) or, as Excel saves it in Japan, Shift_JIS."""
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "cp932"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ExportError(f"{path} is neither UTF-8 nor Shift_JIS: save it as CSV UTF-8 and try again.")
    return list(csv.DictReader(text.splitlines()))


def roster_from_csv(path: Path, key: str | None) -> tuple:
    """(roster rows with a student_id, the header, rows skipped for an empty key)."""
    rows = read_csv(path)
    header = list(rows[0]) if rows else []
    key = key or ("student_id" if "student_id" in header else None)
    if key not in header:
        missing = f"no column {key!r}" if key else "no column student_id"
        raise ExportError(f"{path} has {missing}. Say which column holds the student ids of submitted/ "
                          f"with --key; its columns are: {', '.join(header)}")
    students, skipped = [], 0
    for row in rows:
        if (next(iter(row.values()), "") or "").strip() in CANVAS_LABEL_ROWS:
            continue
        if not (row[key] or "").strip():
            skipped += 1
            continue
        students.append(dict(row, student_id=row[key].strip()))
    return students, header, skipped


def roster_from_gradebook(course: Path) -> list:
    from nbgrader.api import Gradebook

    with Gradebook(gradebook_url(course)) as gradebook:
        return [{"student_id": s.id, "first_name": s.first_name or "", "last_name": s.last_name or "",
                 "email": s.email or "", "lms_user_id": s.lms_user_id or "",
                 "last_first": ", ".join(n for n in (s.last_name, s.first_name) if n)}
                for s in gradebook.students]


def canvas_ids(header: list) -> dict:
    """{assignment name: Canvas id} from the columns `name (12345)` of a Canvas export."""
    return {m[1]: m[2] for m in (re.fullmatch(r"(.+) \((\d+)\)", c or "") for c in header) if m}


def export(report: tuple, fmt: str, roster: list, roster_header: list) -> tuple:
    """(rows to write, messages for the instructor) from read_report's report."""
    scores, maxima = report
    assignments = list(maxima)
    known = {student_id for student_id, _ in scores}
    listed = {r["student_id"] for r in roster}
    if roster and not listed & known:
        example = ", ".join(sorted(known)[:3])
        raise ExportError(f"None of the roster's {len(listed)} students is in {REPORT} (whose students are like "
                          f"{example}): is --key the column that holds the names of the folders in submitted/?")
    unlisted = sorted(known - listed)
    students = roster + [{"student_id": s} for s in unlisted]

    ids = canvas_ids(roster_header) if fmt == "canvas" else {}
    titles = [f"{a} ({ids[a]})" if a in ids else a for a in assignments]
    identity = IDENTITY[fmt]
    rows = [[*identity, *titles, TOTAL[fmt]]]
    if fmt == "canvas":
        rows.append(["    Points Possible", *[""] * (len(identity) - 1), *(f"{maxima[a]:g}" for a in assignments),
                     "(read only)"])
    missing = dict.fromkeys(assignments, 0)
    unmatched = []
    for student in students:
        cells = [next((student[k] for k in keys if student.get(k)), "") for keys in identity.values()]
        marks = []
        for a in assignments:
            if (student["student_id"], a) in scores:
                marks.append(scores[student["student_id"], a][0])
            else:
                marks.append(None)
                missing[a] += 1
        present = [m for m in marks if m is not None]
        total = f"{sum(present):g}" if present else ""
        rows.append([*cells, *("" if m is None else f"{m:g}" for m in marks), total])
        if fmt in MATCHED_ON and not any(dict(zip(identity, cells, strict=True))[c] for c in MATCHED_ON[fmt]):
            unmatched.append(student["student_id"])

    messages = [f"{a}: {n} student(s) without a submission (empty cells)" for a, n in missing.items() if n]
    if unlisted:
        messages.append(f"{len(unlisted)} submission(s) of students not in the roster, at the end with the "
                        f"course's student id only: {', '.join(unlisted)}. Add them to the roster or enter "
                        "their grades by hand.")
    if unmatched:
        columns = " or ".join(MATCHED_ON[fmt])
        messages.append(f"{len(unmatched)} row(s) without {columns}, which the LMS needs to match a student: "
                        f"{', '.join(unmatched)}. Export the roster from the LMS and give it with --roster.")
    not_graded = sorted({f"{s}/{a}" for (s, a), (_, status) in scores.items() if status != "graded"})
    if not_graded:
        messages.append(f"{len(not_graded)} notebook(s) not graded count 0 ({REPORT} says why): "
                        f"{', '.join(not_graded)}")
    return rows, messages


def write_csv(path: Path, rows: list) -> None:
    # The byte-order mark makes Excel read UTF-8 (Japanese names); CRLF as the CSV standard says.
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--format", choices=sorted(IDENTITY), required=True)
    parser.add_argument("--roster", type=Path, help="the roster the LMS exports (CSV); default: nbgrader's students")
    parser.add_argument("--key", help="the roster's column holding the student ids of submitted/ (default: student_id)")
    parser.add_argument("--course", type=Path, default=Path.cwd(), help="the course directory (default: here)")
    parser.add_argument("--output", type=Path, help="where to write (default: grades-<format>.csv in the course)")
    args = parser.parse_args(argv)
    course = args.course.resolve()
    try:
        report = read_report(course)
        if args.roster:
            if not args.roster.is_file():
                raise ExportError(f"No roster at {args.roster}: export it from the LMS as CSV.")
            roster, header, skipped = roster_from_csv(args.roster, args.key)
            if skipped:
                print(f"{skipped} roster row(s) without {args.key or 'student_id'}: left out.", file=sys.stderr)
        else:
            roster, header = roster_from_gradebook(course), []
        rows, messages = export(report, args.format, roster, header)
    except ExportError as error:
        print(error, file=sys.stderr)
        return 1
    output = args.output or course / f"grades-{args.format}.csv"
    write_csv(output, rows)
    for message in messages:
        print(message)
    header_rows = 2 if args.format == "canvas" else 1
    print(f"{len(rows) - header_rows} students, {len(rows[0]) - len(IDENTITY[args.format]) - 1} assignments: {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
