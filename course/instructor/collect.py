"""Collect a class's notebooks from an LMS download into submitted/<student>/<assignment>/.

    course collect DL101-mlp1-1234.zip --roster Grades-DL101-mlp1-1234.csv   # Moodle
    course collect submissions.zip --roster 2026-12-07_Grades-DL101.csv      # Canvas
    course collect downloads/                                                # a folder per student

Each person is one folder in every assignment: the class list (students.csv) keeps their
folder name beside what the LMS knows them by, and `course export` reads it back.
- Moodle (`Full Name_2345676_assignsubmission_file/mlp1.ipynb`, with or without the folder):
  the number is the person's participant number in that assignment only. --roster takes the
  assignment's grading worksheet (Assignment → View all submissions → Download grading
  worksheet), whose email address (or username, ID number) joins one person's assignments.
- Canvas (`katomei_late_106_5007_mlp1-1.ipynb`): Canvas's user id names the person; --roster
  takes Canvas's gradebook export for SIS ids and full names. A re-upload (`mlp1-1.ipynb`) is
  the latest file of its submission, and `late` is kept for grades.csv.
- Otherwise the first folder names the student (or the file-name prefix before the first `_`,
  or --pattern's group `student`); a name with nothing ASCII in it (山田 花子) gets a folder
  name of its own (`student-2`), never another student's.

The activity a download comes from decides the assignment: --assignment, or the one assignment
named in the download's own name (Moodle's `<course>-<assignment>-<id>.zip`). A notebook of
another assignment handed in there is not collected. Colab's and browsers' renamings (`Copy of
mlp1.ipynb`, `mlp1 (1).ipynb`, `mlp1.ipynb.json`) are undone and reported. Nothing is chosen or
replaced silently: a student with two candidate notebooks is reported and neither is collected,
and a notebook replaced by a later download is kept in collected/replaced/.
"""

import argparse
import csv
import io
import re
import sys
import unicodedata
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from course.grading.intake import normalised_name
from course.instructor.class_list import ClassList, Person

FOLDER_PER_STUDENT = r"^(?P<student>[^/]+)/"
PREFIX_PER_STUDENT = r"^(?P<student>[^/_]+)_[^/]*$"
# mod/assign/locallib.php (download_submissions): fullname with `_` made a space, the participant
# number, the plugin; then `/` (download in folders) or `_` and the file's name.
MOODLE = re.compile(r"^(?P<name>[^/_]*)_(?P<participant>\d+)_assignsubmission_file_?(/|(?=[^/]+$))")
# Canvas's submissions download (lib/content_zipper.rb, get_filename): the sortable name without
# non-word characters, lower-cased, `late` when late, the user id, the attachment id, the file's name.
CANVAS = re.compile(r"^(?P<name>[^/]+?)_(?:(?P<late>late)_)?(?P<user>\d+)_(?P<attachment>\d+)_(?P<file>[^/]+)$", re.I)
_SKIPPED = ("__MACOSX/", ".DS_Store", ".ipynb_checkpoints/")
MAX_NOTEBOOK_BYTES = 50 * 2**20  # a lecture notebook without outputs is well under 1 MB
LEDGER = Path("collected") / "submissions.csv"
LEDGER_COLUMNS = ["student_id", "assignment", "source", "late"]
REPLACED = Path("collected") / "replaced"


class RosterError(Exception):
    pass


@dataclass
class Candidate:
    """One notebook of a download, and whose it is."""

    path: str  # in the archive or folder
    content: bytes
    person: Person
    fallback: str  # the folder name when nothing of the person's names is ASCII
    order: int = 0  # Canvas's attachment id: the larger, the later the upload
    late: bool = False
    notes: list = field(default_factory=list)


def _entries(source: Path):
    """(path inside the archive or folder, size, a function that reads it) for every file."""
    if source.is_dir():
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            yield path.relative_to(source).as_posix(), path.stat().st_size, path.read_bytes
    elif zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as archive:
            for info in sorted(archive.infolist(), key=lambda i: i.filename):
                if not info.is_dir():
                    name = unicodedata.normalize("NFC", info.filename)  # a zip made on a Mac has NFD names
                    yield name, info.file_size, lambda info=info: archive.read(info)
    else:
        raise SystemExit(f"{source}: neither a folder nor a zip archive. Give the LMS's download (.zip) "
                         "or the folder it unpacks to.")


def activity_of(source: Path, assignments: list) -> str | None:
    """The one assignment the download's own name names: Moodle's `DL101-mlp1-1234.zip`, Canvas's
    `dl101-mlp1_submissions.zip` (scratch_cnn, not cnn, in `DL101-scratch_cnn-42.zip`)."""
    named = [a for a in assignments if re.search(rf"(?<![A-Za-z0-9]){re.escape(a)}(?![A-Za-z0-9])", source.stem)]
    named = [a for a in named if not any(a != b and a in b for b in named)]
    return named[0] if len(named) == 1 else None


def _assignment_of(filename: str, assignments: list) -> tuple:
    """(the file's name without an LMS's `<student>_..._` prefix, its assignment or None)."""
    parts = filename.split("_")
    for name in ("_".join(parts[i:]) for i in range(len(parts))):
        normal = normalised_name(name)
        if normal.endswith(".ipynb") and normal.removesuffix(".ipynb") in assignments:
            return name, normal.removesuffix(".ipynb")
    return filename, None


def read_roster(path: Path) -> tuple:
    """("moodle", {participant number: Person}) from Moodle's grading worksheet, or ("canvas",
    {user id: Person}) from Canvas's gradebook export."""
    from course.instructor.export import ExportError, read_csv

    try:
        rows = read_csv(path)
    except (ExportError, OSError) as error:
        raise RosterError(str(error)) from None
    header = [h.strip() for h in rows[0]] if rows else []
    records = [dict(zip(header, (c.strip() for c in row), strict=False)) for row in rows[1:]]
    if {"Identifier", "Full name"} <= set(header):
        people = {}
        for r in records:  # "Participant 2345676" (get_string('hiddenuser', 'assign') and the number)
            number = re.search(r"(\d+)\s*$", r["Identifier"])
            if number:
                people[number[1]] = Person(name=r["Full name"], email=r.get("Email address", ""),
                                           username=r.get("Username", ""), id_number=r.get("ID number", ""))
        return "moodle", people
    if header[:2] == ["Student", "ID"]:
        return "canvas", {r["ID"]: Person(name=r["Student"], lms_user_id=r["ID"], id_number=r.get("SIS User ID", ""),
                                          username=r.get("SIS Login ID", ""))
                          for r in records if r.get("ID", "").isdigit()}
    raise RosterError(f"{path} is neither Moodle's grading worksheet (columns Identifier, Full name, ...) nor "
                      f"Canvas's gradebook export (columns Student, ID, ...); its columns are: {', '.join(header)}")


def _candidate(path: str, content: bytes, assignment: str, pattern, roster) -> Candidate | str:
    """Whose the notebook is, or why that cannot be said."""
    kind, people = roster or (None, {})
    moodle, canvas = MOODLE.match(path), CANVAS.match(path)
    if pattern is None and moodle:
        number = moodle["participant"]
        person = Person(name=moodle["name"].strip(), participants={assignment: number})
        if kind == "moodle":
            if number not in people:
                return (f"participant {number} is not in the grading worksheet: give the worksheet of the same "
                        "assignment as the download")
            person = replace(people[number], participants={assignment: number})
        return Candidate(path, content, person, f"participant-{number}")
    if pattern is None and canvas:
        user = canvas["user"]
        person = Person(name=canvas["name"], lms_user_id=user)
        if kind == "canvas" and user in people:
            person = replace(people[user])
        notes = [] if kind != "canvas" or user in people else [f"Canvas user {user} is not in the roster"]
        return Candidate(path, content, person, f"canvas-{user}", int(canvas["attachment"]),
                         bool(canvas["late"]), notes)
    for candidate in [pattern] if pattern else [FOLDER_PER_STUDENT, PREFIX_PER_STUDENT]:
        match = re.search(candidate, path)
        if match and match.group("student") and match.group("student").strip(" ._"):
            return Candidate(path, content, Person(name=match.group("student").strip()), "student")
    return "no student in its path (see --pattern)"


def read_ledger(course: Path) -> dict:
    """{(student, assignment): where the notebook came from, and whether it was late}."""
    path = course / LEDGER
    if not path.exists():
        return {}
    return {(r["student_id"], r["assignment"]): r for r in csv.DictReader(io.StringIO(path.read_text("utf-8")))}


def _write_ledger(course: Path, ledger: dict) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, LEDGER_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(row for _, row in sorted(ledger.items()))
    (course / LEDGER).parent.mkdir(exist_ok=True)
    (course / LEDGER).write_text(buffer.getvalue(), "utf-8")


def late_submissions(course: Path) -> set:
    """{(student, assignment)} the LMS marked late when they were collected."""
    return {key for key, row in read_ledger(course).items() if row["late"] == "yes"}


def collect(source: Path, course: Path, pattern: str | None = None, roster: Path | None = None,
            assignment: str | None = None) -> tuple:
    """Copy the notebooks into submitted/; return (report lines, whether anything went wrong)."""
    assignments = sorted(p.name for p in (course / "source").iterdir() if p.is_dir())
    if assignment and assignment not in assignments:
        raise SystemExit(f"--assignment {assignment}: not an assignment of this course ({', '.join(assignments)})")
    activity = assignment or activity_of(source, assignments)
    try:
        lms_roster = read_roster(roster) if roster else None
    except RosterError as error:
        raise SystemExit(str(error)) from None
    report, problems = [], False
    if not activity and pattern is None and any(MOODLE.match(path) for path, _, _ in _entries(source)):
        raise SystemExit(f"{source.name} is a Moodle download whose name does not say which assignment it is: "
                         f"give --assignment ({', '.join(assignments)}). Moodle numbers participants per "
                         "assignment, so the assignment decides who is who.")
    if activity:
        report.append(f"activity {activity} (from {'--assignment' if assignment else source.name})")

    found = defaultdict(list)  # assignment -> [Candidate]
    for path, size, read in _entries(source):
        if any(part in path for part in _SKIPPED):
            continue
        if size > MAX_NOTEBOOK_BYTES:
            report.append(f"skipped  {path}: {size:,} bytes, more than a notebook of this course can be")
            problems = True
            continue
        filename, named = _assignment_of(PurePosixPath(path).name, assignments)
        why = None
        if activity and named and named != activity:
            why = (f"WRONG ACTIVITY: a notebook of {named} handed in to {activity}; not collected (nothing of "
                   f"{named} changed). Ask the student to hand it in to {named}.")
        elif named is None and not (activity and filename.endswith(".ipynb")):
            why = f"not a notebook of this course ({', '.join(a + '.ipynb' for a in assignments)})"
        candidate = why or _candidate(path, read(), activity or named, pattern, lms_roster)
        if isinstance(candidate, str):
            report.append(f"skipped  {path}: {candidate}")
            problems = True
            continue
        if filename != f"{activity or named}.ipynb":
            candidate.notes.append("renamed")
        found[activity or named].append(candidate)

    people = ClassList.read(course)
    ledger = read_ledger(course)
    submitted = course / "submitted"
    unlisted = {p.name for p in submitted.iterdir() if p.is_dir()} if submitted.is_dir() else set()
    unlisted -= {p.student_id for p in people.people}
    by_student = defaultdict(list)  # (student_id, assignment) -> [Candidate]
    for name, candidates in sorted(found.items()):
        for candidate in candidates:
            known = people.find(candidate.person)
            if len(known) > 1:
                report.append(f"CONFLICT {candidate.path}: matches {' and '.join(p.student_id for p in known)} in "
                              f"students.csv, two people there; correct students.csv. Not collected.")
                problems = True
                continue
            if known:
                differ = ClassList.merge(known[0], candidate.person)
                if differ:
                    report.append(f"CONFLICT {candidate.path}: {known[0].student_id} in students.csv differs "
                                  f"({'; '.join(differ)}); correct students.csv. Not collected.")
                    problems = True
                    continue
                person = known[0]
            else:
                person = people.add(candidate.person, candidate.fallback, unlisted)
                shown = f" ({person.name})" if person.name and person.name != person.student_id else ""
                report.append(f"student  {person.student_id}{shown}: new in students.csv")
            by_student[person.student_id, name].append(candidate)
    people.write(course)

    for (student, name), candidates in sorted(by_student.items()):
        if len(candidates) > 1 and all(c.order for c in candidates):  # Canvas: the latest upload wins
            candidates.sort(key=lambda c: c.order)
            older = ", ".join(c.path for c in candidates[:-1])
            report.append(f"latest   {student}/{name}: {candidates[-1].path}; the earlier upload(s) not collected: "
                          f"{older}")
            candidates = candidates[-1:]
        if len(candidates) > 1:
            names = ", ".join(c.path for c in candidates)
            report.append(f"CONFLICT {student}/{name}: {len(candidates)} candidate notebooks ({names}); "
                          "none collected. Keep one, or ask the student which to grade.")
            problems = True
            continue
        chosen = candidates[0]
        target = course / "submitted" / student / name / f"{name}.ipynb"
        for note in chosen.notes:
            report.append(f"{note:<8} {chosen.path} -> {target.relative_to(course / 'submitted')}"
                          if note == "renamed" else f"note     {chosen.path}: {note}")
        ledger[student, name] = {"student_id": student, "assignment": name, "source": chosen.path,
                                 "late": "yes" if chosen.late else ""}
        if target.exists() and target.read_bytes() == chosen.content:
            report.append(f"same     {target.relative_to(course)}")
            continue
        kept = ""
        if target.exists():
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
            earlier = course / REPLACED / student / name / f"{stamp}-{name}.ipynb"
            earlier.parent.mkdir(parents=True, exist_ok=True)
            target.replace(earlier)
            kept = f" (the earlier one kept as {earlier.relative_to(course)})"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(chosen.content)
        report.append(f"{'replaced' if kept else 'new     '} {target.relative_to(course)}{kept}"
                      + ("; LATE" if chosen.late else ""))
    _write_ledger(course, ledger)
    if not activity and pattern is None and any(CANVAS.match(c.path) for cs in found.values() for c in cs):
        report.append("note     the download's name names no assignment, so each notebook went by its own name: give "
                      "--assignment to have the assignment's activity decide (a notebook of another assignment "
                      "handed in there is then not collected).")
    if lms_roster is None and any(MOODLE.match(c.path) for cs in found.values() for c in cs) and pattern is None:
        report.append("note     without --roster (the assignment's grading worksheet), a Moodle participant number "
                      "is one student in one assignment only: the same person is another folder in the next "
                      "assignment. Give each assignment's worksheet with --roster.")
    return report, problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="the LMS's zip archive, or a folder")
    parser.add_argument("--roster", type=Path, help="Moodle: the assignment's grading worksheet; Canvas: its "
                                                    "gradebook export (CSV)")
    parser.add_argument("--assignment", help="the assignment of the download's activity (default: the one its "
                                             "name names)")
    parser.add_argument("--pattern", help="regular expression whose group `student` names the student")
    parser.add_argument("--course", type=Path, default=Path.cwd(), help="the course directory (default: here)")
    args = parser.parse_args(argv)
    if args.pattern and "(?P<student>" not in args.pattern:
        parser.error("--pattern needs a group named student, e.g. '^(?P<student>[^/]+)/'")
    if args.roster and not args.roster.is_file():
        parser.error(f"--roster {args.roster}: no such file. Download it from the LMS as CSV.")
    report, problems = collect(args.source, args.course.resolve(), args.pattern, args.roster, args.assignment)
    print("\n".join(report) or f"{args.source}: no files")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
