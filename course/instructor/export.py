"""Grades an LMS imports: one row per student, one column per assignment.

    course export --format moodle --roster moodle_grades.csv      # after `course collect --roster`
    course export --format canvas --roster canvas_gradebook.csv
    course export --format canvas --roster gradebook.csv --key "SIS Login ID"   # folders named by a column
    course export --format wide          # a spreadsheet; names from nbgrader's student table

Reads the class report (grades.csv, brought up to date with the gradebook first, so that scores
changed in formgrader are in) and a roster: the CSV the LMS exports (Canvas's gradebook export;
Moodle's grade export or participants list). Each roster row is joined to its folder in
submitted/ through the class list `course collect` wrote (students.csv: email address,
username, ID number, Canvas user id), or through the roster's column --key names. Written as
UTF-8 with a byte-order mark, so that Excel shows Japanese names; a roster saved by Excel in
Shift_JIS is read.

A file for an LMS holds only rows that the LMS's importer credits to their own student, and no
cell that would clear a grade the LMS holds. Both importers are strict in ways their documentation
does not say (tests/lms_importers.py applies their rules, read from their code):
- Moodle (grade/import/csv/classes/load_data.php) finds a row's user among all the site's users
  and takes the first when several share the identifier; an identifier PHP's empty() calls empty
  (`''` or `0`) gives the row's grades to the student of the row before; an empty or `-` cell on
  an existing grade item clears what Moodle holds. So the identifier is Username where the roster
  has it (Moodle keeps usernames unique), else ID number, else Email address (--match), every
  row carries one, and every cell holds a grade.
- Canvas (lib/gradebook_importer.rb) matches a row by `ID` (read as a number: `8f1c` is user 8),
  then `SIS User ID`, `SIS Login ID`, then the name, the first student of that name; a blank cell
  over a grade Canvas holds removes it. So `ID` holds only Canvas's numbers, a row needs one of
  the three ids, a row without Canvas's ID whose name another roster student shares is left out,
  and a cell is left blank only where Canvas's gradebook export shows that Canvas holds no grade.
Students who handed in but are not in the roster, roster rows that share a key, and roster
students without anything to import are left out and listed. A notebook with written answers
still to grade by hand is not exported unless `--partial` says to export it as it stands; a
notebook that was not graded never is. When a student waits only for another assignment, each
assignment is written to its own file (grades-<format>-<assignment>.csv), so that no final grade
waits. Nothing is written when no row can be: the command says why and exits 1.
"""

import argparse
import csv
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from course.grading.gradebook import gradebook_url
from course.instructor.class_list import ClassList, Person
from course.instructor.report import REPORT, REPORT_COLUMNS

CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
# Canvas's importer drops every column whose header contains one of these, anywhere in it
# (GradebookImporter::NON_ASSIGNMENT_COLUMN_HEADERS, matched without anchors).
CANVAS_READ_ONLY = ("Current Score", "Current Points", "Current Grade", "Final Score", "Final Points",
                    "Final Grade", "Override Score", "Override Grade", "Override Status")
MOODLE_NAMES = ("First name", "Last name")
# The identifiers Moodle's grade import can match on, the safest first: usernames are unique on a
# site; ID numbers and email addresses may be shared, and then Moodle takes the first account.
MOODLE_MATCH = ("Username", "ID number", "Email address")
# A roster's columns and what the class list calls them (Moodle's, then Canvas's headers).
ROSTER_FIELDS = {"Email address": "email", "Username": "username", "ID number": "id_number",
                 "ID": "lms_user_id", "SIS Login ID": "username", "SIS User ID": "id_number"}
WIDE_IDENTITY = {"student_id": ("student_id",), "first_name": ("first_name", "First name"),
                 "last_name": ("last_name", "Last name"), "email": ("email", "Email address")}
LMS = {"canvas": "Canvas", "moodle": "Moodle"}


class ExportError(Exception):
    pass


@dataclass(frozen=True)
class Notebook:
    """One row of grades.csv."""

    score: float
    max_score: float
    status: str
    to_grade_by_hand: float

    @property
    def final(self) -> bool:
        return self.status == "graded" and not self.to_grade_by_hand

    @property
    def pending(self) -> str:
        """Why the score is not final yet."""
        if self.status != "graded":
            return "not graded"
        return f"{self.to_grade_by_hand:g} point(s) to grade by hand"


@dataclass
class Report:
    notebooks: dict  # {(student, assignment): Notebook}
    maxima: dict  # {assignment: max score}, in alphabetical order


@dataclass
class Roster:
    students: list  # roster rows (dicts) with the course's student id as "student_id"
    header: list = field(default_factory=list)
    key: str = "student_id"
    canvas_gradebook: bool = False  # Canvas's own export, with every assignment and the grades it holds


@dataclass
class Export:
    rows: list  # the CSV's rows, header first
    assignments: list = field(default_factory=list)  # the columns of grades
    left_out: list = field(default_factory=list)  # what is not in the file, why, and what to do
    notes: list = field(default_factory=list)
    waiting: list = field(default_factory=list)  # students left out for lack of a grade in another assignment


def read_report(course: Path) -> Report:
    path = course / REPORT
    if not path.exists():
        raise ExportError(f"No class report at {path}: grade the class first (make grade).")
    notebooks, maxima = {}, {}
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames != REPORT_COLUMNS:
            raise ExportError(f"{path} was written by an older version of the course: run make grade again "
                              "(nothing already graded is graded again).")
        for row in reader:
            notebooks[row["student_id"], row["assignment"]] = Notebook(
                float(row["score"]), float(row["max_score"]), row["status"], float(row["to_grade_by_hand"]))
            maxima[row["assignment"]] = float(row["max_score"])
    return Report(notebooks, dict(sorted(maxima.items())))


def read_csv(path: Path) -> list:
    """Rows of a CSV as lists, UTF-8 (with or without BOM) or, as Excel saves it in Japan, Shift_JIS."""
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "cp932"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ExportError(f"{path} is neither UTF-8 nor Shift_JIS: save it as CSV UTF-8 and try again.")
    return [row for row in csv.reader(text.splitlines()) if any(cell.strip() for cell in row)]


def roster_from_csv(path: Path, key: str | None, people: ClassList | None = None) -> Roster:
    rows = read_csv(path)
    header = [h.strip() for h in rows[0]] if rows else []
    key = key or ("student_id" if "student_id" in header else None)
    joined = key is None and people and people.people and set(header) & set(ROSTER_FIELDS)
    if key not in header and not joined:
        missing = f"no column {key!r}" if key else "no column student_id"
        raise ExportError(f"{path} has {missing}, and no class list (students.csv, written by `course collect "
                          f"--roster`) joins its rows to the folders of submitted/. Say which column holds the "
                          f"student ids of submitted/ with --key; its columns are: {', '.join(header)}")
    students, points_possible = [], False
    for cells in rows[1:]:
        row = dict(zip(header, (c.strip() for c in cells), strict=False))
        # Rows of Canvas's export that are not students (GradebookImporter#check_for_non_student_row).
        if "Points Possible" in cells[0]:
            points_possible = True
            continue
        if all(re.fullmatch(r"\s*(Muted|Manual Posting.*)?\s*", c, re.I) for c in cells):
            continue
        students.append(dict(row, student_id=row.get(key, "") if key else _folder(row, people)))
    return Roster(students, header, key or "students.csv", header[:2] == ["Student", "ID"] and points_possible)


def _folder(row: dict, people: ClassList) -> str:
    """The folder in submitted/ of the one person of the class list this roster row names ('' if none)."""
    person = Person(**{field: row[column] for column, field in ROSTER_FIELDS.items() if row.get(column)})
    found = people.find(person) if person.keys() else []
    return found[0].student_id if len(found) == 1 else ""


def roster_from_gradebook(course: Path) -> Roster:
    from nbgrader.api import Gradebook

    with Gradebook(gradebook_url(course)) as gradebook:
        return Roster([{"student_id": s.id, "first_name": s.first_name or "", "last_name": s.last_name or "",
                        "email": s.email or ""} for s in gradebook.students])


def canvas_columns(header: list) -> dict:
    """{assignment name: its column `name (12345)`} in a Canvas gradebook export (the id is
    Canvas's; the pattern is Assignment.title_and_id's)."""
    return {m[1]: m[0] for m in (re.fullmatch(r"(.*)\s\((\d+)\)", c) for c in header) if m}


class Format:
    """What an LMS's importer needs of a file: its identity columns, which rows it can credit to
    their student, and the cell that leaves a grade as the LMS holds it (None: the format has none)."""

    lms = ""

    def __init__(self, roster: Roster, maxima: dict, match: str | None):
        self.roster = roster
        self.maxima = maxima

    def header(self, titles: list) -> list:
        raise NotImplementedError

    def identity(self, student: dict) -> list:
        raise NotImplementedError

    def unmatchable(self, student: dict) -> str | None:
        """Why the LMS could not credit this row to its own student, or None."""
        return None

    def matched_on(self, student: dict) -> str:
        """The value the LMS matches this row on (for duplicates)."""
        return student["student_id"]

    def keep(self, student: dict, assignment: str) -> str | None:
        return ""

    def why_not_blank(self) -> str:
        """Why a blank cell could clear a grade the LMS holds (when keep() says None)."""
        return ""

    def titles(self, assignments: list) -> list:
        return list(assignments)

    def ignored(self, assignments: list) -> list:
        """The assignments whose columns the LMS would ignore."""
        return []

    def extra_rows(self, assignments: list) -> list:
        return []

    def notes(self, assignments: list) -> list:
        return []


class Canvas(Format):
    lms = "Canvas"

    def __init__(self, roster, maxima, match):
        super().__init__(roster, maxima, match)
        self.columns = canvas_columns(roster.header)
        self.names = Counter(student.get("Student", "") for student in roster.students)

    def titles(self, assignments):
        return [self.columns.get(a, a) for a in assignments]

    def ignored(self, assignments):
        return [a for a in assignments if any(word in a for word in CANVAS_READ_ONLY)]

    def header(self, titles):
        return [*CANVAS_IDENTITY, *titles]

    def extra_rows(self, assignments):
        # Points Possible gives a new assignment its points (GradebookImporter#process_pp).
        return [["Points Possible", *[""] * (len(CANVAS_IDENTITY) - 1), *(f"{self.maxima[a]:g}" for a in assignments)]]

    def identity(self, student):
        cells = {c: student.get(c, "") for c in CANVAS_IDENTITY}
        if not cells["ID"].isdigit() or not cells["ID"].isascii():
            cells["ID"] = ""  # Canvas reads ID with .to_i: "8f1c" would be user 8
        return list(cells.values())

    def unmatchable(self, student):
        ids = self.identity(student)[1:4]
        why = f"its ID {student['ID']!r} is not a Canvas user id" if student.get("ID") else "it has no Canvas ID"
        if not any(ids):
            return (f"{why}, SIS User ID or SIS Login ID, and Canvas would match it by name alone: give Canvas's "
                    "gradebook export (Grades → Export) as the roster")
        if not ids[0] and self.names[student.get("Student", "")] > 1:
            # process_student: an SIS id Canvas does not know (a registrar's id that lost its leading
            # zeros) falls back to the name, and the first student of that name gets the row.
            return (f"{why}, and {self.names[student['Student']]} roster students are named "
                    f"{student['Student']!r}: were its SIS id not Canvas's, Canvas would give it to the first of "
                    "them. Give Canvas's gradebook export (Grades → Export) as the roster")
        return None

    def matched_on(self, student):
        # The first of ID, SIS User ID and SIS Login ID a row has is the one Canvas matches it on.
        return next(f"{column} {value}" for column, value in zip(CANVAS_IDENTITY[1:4], self.identity(student)[1:4],
                                                                   strict=True) if value)

    def keep(self, student, assignment):
        if not self.roster.canvas_gradebook:
            return None  # we cannot tell whether Canvas holds a grade, and a blank cell would clear it
        column = self.columns.get(assignment)
        if column is None:
            return ""  # not in Canvas yet: the import creates it
        return "" if not student.get(column) else None

    def why_not_blank(self):
        if self.roster.canvas_gradebook:
            return "Canvas holds a grade there, which a blank cell would remove"
        return ("a blank cell would remove any grade Canvas holds there (give Canvas's gradebook export as the "
                "roster: it shows which grades Canvas holds)")


class Moodle(Format):
    lms = "Moodle"

    def __init__(self, roster, maxima, match):
        super().__init__(roster, maxima, match)
        self.match = match or next((c for c in MOODLE_MATCH if c in roster.header), None)
        if self.match not in roster.header:
            has = f"no column {match!r}" if match else f"none of the columns {', '.join(MOODLE_MATCH)}"
            raise ExportError(f"The roster has {has} for Moodle to identify students by. Export it from Moodle "
                              f"again with Username (Site administration → Users → Permissions → Show user "
                              f"identity), or give --match with the roster's column that holds their username, ID "
                              f"number or email address; its columns are: {', '.join(roster.header)}")
        self.names = [c for c in MOODLE_NAMES if c in roster.header]

    def header(self, titles):
        return [*self.names, self.match, *titles]

    def identity(self, student):
        return [student.get(c, "") for c in (*self.names, self.match)]

    def unmatchable(self, student):
        value = student.get(self.match, "")
        if value not in ("", "0"):  # PHP's empty(): load_data.php skips such an identifier
            return None
        has = f"its {self.match} is 0, which Moodle reads as none," if value else f"it has no {self.match},"
        return (f"{has} and Moodle gives the grades of such a row to the student of the row before: enter it in "
                f"Moodle and export the roster again, or export by another identifier (--match)")

    def matched_on(self, student):
        return student[self.match].casefold()

    def keep(self, student, assignment):
        return None  # '' and '-' clear a grade Moodle holds on an existing grade item

    def why_not_blank(self):
        return "Moodle clears the grade it holds for an empty or '-' cell"

    def notes(self, assignments):
        maxima = ", ".join(f"{a} {self.maxima[a]:g}" for a in assignments)
        notes = [f"In Moodle, first create a grade item per assignment with the assignment's maximum grade "
                 f"({maxima}): Moodle caps a grade at its item's maximum, and imports one new grade item at a "
                 f"time (MDL-78768). Then import this file, identify users by {self.match}, and map each "
                 "assignment to its grade item."]
        if self.match != "Username":
            notes.append(f"Moodle gives a row to the first account of the whole site with that {self.match} "
                         "(load_data.php, check_user_exists): a student with a second account that shares it may "
                         "get nothing. Usernames are unique: add Username to the roster (Site administration → "
                         "Users → Permissions → Show user identity) and export again to match on it.")
        if any(self.maxima[a] > 100 for a in assignments):
            notes.append("Moodle refuses a grade above 100 unless the site allows it (Site administration → "
                         "Grades → General settings → Unlimited grades).")
        return notes


class Wide(Format):
    def header(self, titles):
        return [*WIDE_IDENTITY, *titles, "total"]

    def identity(self, student):
        return [next((student[k] for k in keys if student.get(k)), "") for keys in WIDE_IDENTITY.values()]


FORMATS = {"canvas": Canvas, "moodle": Moodle, "wide": Wide}


def export(report: Report, fmt: str, roster: Roster, assignments: list | None = None, partial: bool = False,
           match: str | None = None) -> Export:
    assignments = assignments or list(report.maxima)
    unknown = [a for a in assignments if a not in report.maxima]
    if unknown:
        raise ExportError(f"No grades of {', '.join(unknown)} in {REPORT}; it has {', '.join(report.maxima)}.")
    known = {student for student, _ in report.notebooks}
    listed = {r["student_id"] for r in roster.students}
    if not listed & known:
        example = ", ".join(sorted(known)[:3])
        raise ExportError(f"None of the roster's {len(roster.students)} students is in {REPORT} (whose students are "
                          f"like {example}): is --key the column that holds the names of the folders in submitted/?")
    out = FORMATS[fmt](roster, report.maxima, match)
    result = Export([])

    ignored = out.ignored(assignments)
    if ignored:
        result.left_out.append(f"Column(s) {', '.join(ignored)} left out: Canvas ignores a column whose name "
                               "contains a read-only column's (Final Score, Current Points, ...). Rename the "
                               "assignment.")
        assignments = [a for a in assignments if a not in ignored]

    def exported(notebook):
        # Never a score of 0 for a notebook that was not graded, --partial or not.
        return notebook and (notebook.final or (partial and notebook.status == "graded"))

    not_final = {(s, a): nb for (s, a), nb in report.notebooks.items() if a in assignments and not exported(nb)}
    if not_final:
        hint = "" if partial else "; give --partial to export those with points to grade by hand as they stand"
        result.left_out.append(
            f"{len(not_final)} notebook(s) not final, not exported{hint}:\n"
            + "\n".join(f"  {s}/{a}: {nb.pending}" for (s, a), nb in sorted(not_final.items()))
            + f"\n  ({REPORT} says why a notebook was not graded; make grade-by-hand, then make grade, grades "
              "the rest.)")
    as_they_stand = sorted((s, a) for (s, a), nb in report.notebooks.items()
                           if a in assignments and exported(nb) and not nb.final)
    if as_they_stand:
        result.notes.append(f"{len(as_they_stand)} notebook(s) exported as they stand, with points still to grade "
                            "by hand (--partial): " + ", ".join(f"{s}/{a}" for s, a in as_they_stand))

    titles = out.titles(assignments)
    result.rows = [out.header(titles), *out.extra_rows(assignments)]
    students = list(roster.students)
    unlisted = sorted({s for s, a in report.notebooks if a in assignments} - listed)
    if not out.lms:  # a spreadsheet keeps everyone
        students += [{"student_id": s} for s in unlisted]
    elif unlisted:
        result.left_out.append(f"{len(unlisted)} student(s) who handed in but are not in the roster, left out: "
                               f"{', '.join(unlisted)}. Enrol them in {out.lms} and export its roster again, or "
                               "enter their grades by hand.")

    shared = Counter(r["student_id"] for r in students if r["student_id"])
    candidates, dropped, empty = [], [], 0
    for student in students:
        sid = student["student_id"]
        if shared[sid] > 1:
            joined = roster.key == "students.csv"
            where = "are that person in students.csv" if joined else f"have {sid!r} in {roster.key}"
            dropped.append(f"  {sid}: {shared[sid]} roster rows {where}, and each would get {sid}'s grades; correct "
                           "the roster")
            continue
        cells, clears = [], []
        for a in assignments:
            notebook = report.notebooks.get((sid, a))
            if exported(notebook):
                cells.append(f"{notebook.score:g}")
                continue
            kept = out.keep(student, a)
            if kept is None:
                clears.append(f"{a} ({notebook.pending if notebook else 'no submission'})")
            cells.append(kept or "")
        graded = [a for a, cell in zip(assignments, cells, strict=True) if cell]
        if out.lms and not graded:
            empty += 1
            continue
        why = out.unmatchable(student)
        if not why and clears:
            why = (f"no grade for {', '.join(clears)}, and {out.why_not_blank()}; its other grades are in a file "
                   "of their own")
            result.waiting.append(sid)
        if why:
            dropped.append(f"  {sid or '(no ' + roster.key + ')'}: {why}")
            continue
        total = [] if out.lms else [f"{sum(float(c) for c in cells if c):g}" if graded else ""]
        candidates.append((student, [*out.identity(student), *cells, *total]))

    # Two rows the LMS would match to one student: which one is right is for a person to say.
    matched = {}
    for student, _ in candidates:
        matched.setdefault(out.matched_on(student), []).append(student["student_id"])
    for student, row in candidates:
        same = matched[out.matched_on(student)]
        if len(same) > 1:
            twins = [t for t in same if t != student["student_id"]]
            dropped.append(f"  {student['student_id']}: the roster gives it the same identifier as "
                           f"{', '.join(twins) or 'another row'}; correct the roster")
        else:
            result.rows.append(row)
    if dropped:
        result.left_out.append(f"{len(dropped)} row(s) left out, so that no grade lands on the wrong student or "
                               "clears one:\n" + "\n".join(dropped))
    if empty:
        result.notes.append(f"{empty} roster student(s) with nothing to import, left out.")
    missing = {a: sum((s["student_id"], a) not in report.notebooks for s in roster.students) for a in assignments}
    result.notes += [f"{a}: {n} roster student(s) without a submission" for a, n in missing.items() if n]
    result.notes += out.notes(assignments)
    result.assignments = assignments
    return result


def write_csv(path: Path, rows: list) -> None:
    # The byte-order mark makes Excel read UTF-8 (Japanese names); CRLF as the CSV standard says.
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--format", choices=sorted(FORMATS), required=True)
    parser.add_argument("--roster", type=Path, help="the roster the LMS exports (CSV); for wide, default: "
                                                    "nbgrader's students")
    parser.add_argument("--key", help="the roster's column holding the student ids of submitted/ (default: the "
                                      "class list students.csv joins the roster's ids to them)")
    parser.add_argument("--match", help="moodle: the roster's column Moodle identifies students by "
                                        "(default: Username, else ID number, else Email address)")
    parser.add_argument("--assignments", nargs="+", metavar="ASSIGNMENT", help="export these only (default: all)")
    parser.add_argument("--partial", action="store_true",
                        help="also export notebooks with points still to grade by hand, as they stand")
    parser.add_argument("--course", type=Path, default=Path.cwd(), help="the course directory (default: here)")
    parser.add_argument("--output", type=Path, help="where to write (default: grades-<format>.csv in the course)")
    args = parser.parse_args(argv)
    course = args.course.resolve()
    output = args.output or course / f"grades-{args.format}.csv"
    try:
        if (course / "gradebook.db").exists():
            from course.instructor.report import update_report

            update_report(course)  # scores changed in formgrader since the last `course grade`
        report = read_report(course)
        if args.roster:
            if not args.roster.is_file():
                raise ExportError(f"No roster at {args.roster}: export it from the LMS as CSV.")
            roster = roster_from_csv(args.roster, args.key, ClassList.read(course))
        elif args.format in LMS:
            raise ExportError(f"Give the roster {LMS[args.format]} exports with --roster: a file for "
                              f"{LMS[args.format]} takes its students' identifiers from it.")
        else:
            roster = roster_from_gradebook(course)
        result = export(report, args.format, roster, args.assignments, args.partial, args.match)
        files = {output: result}
        if result.waiting and len(result.assignments) > 1:
            # A file per assignment, so that a grade never waits for another assignment's.
            files = {output.with_stem(f"{output.stem}-{a}"): export(report, args.format, roster, [a], args.partial,
                                                                     args.match) for a in result.assignments}
            print(f"{len(result.waiting)} student(s) would wait for a grade in another assignment "
                  f"({', '.join(sorted(result.waiting))}): one file per assignment, each to import on its own.")
    except ExportError as error:
        print(error, file=sys.stderr)
        return 1
    written = 0
    for path, part in files.items():
        for message in part.notes + part.left_out:
            print(message)
        students = len(part.rows) - 1 - (args.format == "canvas")  # less the header and Points Possible
        if students:
            write_csv(path, part.rows)
            written += 1
        path_said = path if students else f"nothing to write, so no {path.name}"
        print(f"{students} student(s), {len(part.assignments)} assignment(s): {path_said}\n")
    if not written:
        print("No row could be written: every student is left out above, each with what to do.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
