"""What Moodle and Canvas do with a grades CSV, as their importers' code does it: the rules that
decide which student a row is credited to and what a cell does to the grade the LMS holds,
written again in Python from the code at the commits below (function names in comments), so
that tests can import what course.instructor.export writes into a model course and look at every grade.

Moodle (moodle/moodle):
- lib/csvlib.class.php at cf29c007d2535bb90d623d0fad76ee8075ced722: csv_import_reader::load_csv_content
- grade/import/csv/classes/load_data.php at 0289d8c7665458f8ffc47e34527598e15523f104 (check_user_exists
  as at 162f42f0), with lib/dml/moodle_database.php's get_record_sql:
  gradeimport_csv_load_data::prepare_import_grade_data, map_user_data_with_value,
  check_user_exists, update_grade_item, import_new_grade_item, insert_grade_record
- grade/import/lib.php: grade_import_commit (a buffered grade, null included, becomes the grade)
Canvas (instructure/canvas-lms):
- lib/gradebook_importer.rb at 00b222d77ee43d046e6aee0347c4ed5b27e1741f: GradebookImporter#parse!,
  csv_stream, identify_delimiter, check_for_non_student_row, header?, row_has_student_headers?,
  update_column_count, strip_non_assignment_columns, parse_assignments, process_pp,
  process_student, process_submissions, readonly_assignment?
- app/models/assignment.rb: Assignment.title_and_id
- ui/features/gradebook_uploads/jquery/process_gradebook_upload.js at
  0a4d8b88119f0fbc3bfccf010d54cff86f6e61c2: populateGradeDataPerSubmission (a cell equal to the
  grade held is no change; any other, a blank one included, is posted as the new grade)

Left out, because course.instructor.export never writes what they read: Moodle's feedback columns, scales,
groups, locked grades and the "Last downloaded from this course" check; Canvas's custom and
override columns, the LastName/FirstName header (behind a feature flag), root accounts and
pass/fail assignments.
"""

import csv
import io
import re
from dataclasses import dataclass, field


class Refused(Exception):
    """The LMS refuses the whole file: nothing is imported."""


# ---------------------------------------------------------------------------------------------
# Moodle


@dataclass
class MoodleItem:
    name: str
    grademax: float = 100.0


@dataclass
class MoodleCourse:
    users: dict  # {user id: {"id": ..., "username": ..., "idnumber": ..., "email": ...}}: every site user
    items: dict  # {item id: MoodleItem}
    grades: dict = field(default_factory=dict)  # {(user id, item id): float or None}
    gradepointmax: float = 100.0  # $CFG->gradepointmax applies only with unlimitedgrades
    unlimitedgrades: bool = False


# map_user_data_with_value: the form's "Map to" choices and the user field each one looks up.
MOODLE_USER_FIELDS = {"userid": "id", "useridnumber": "idnumber", "useremail": "email", "username": "username"}


def moodle_rows(data: bytes) -> list:
    """csv_import_reader::load_csv_content, with the form's encoding UTF-8 and separator comma."""
    text = data.decode("utf-8")
    text = text.removeprefix("\ufeff")  # core_text::trim_utf8_bom
    text = re.sub(r"\r\n?", "\n", text)  # "Fix mac/dos newlines"
    text = text.strip(" \t\n\r\0\x0b")  # PHP trim()
    # fgetcsv skips a blank line (it returns [null]); Python's reader returns [] for it.
    rows = [row for row in csv.reader(io.StringIO(text)) if row]
    if not rows:
        raise Refused("csvemptyfile")
    if any(len(row) != len(rows[0]) for row in rows):
        raise Refused("csvweirdcolumns: every row must have as many cells as the header")
    return rows


def php_empty(value: str) -> bool:
    return value in ("", "0")


def moodle_import(data: bytes, course: MoodleCourse, identify_by: str, user_field: str, mapping: dict) -> None:
    """Import a file into course.grades as Moodle does, or raise Refused (and change nothing).

    identify_by: the header chosen under "Map from"; user_field: "Map to" (userid, username,
    useridnumber, useremail); mapping: {header: item id, "new" (a new grade item) or 0 (ignore)}."""
    rows = moodle_rows(data)
    header = [h.strip() for h in rows[0]]  # trim_headers
    grade_map = {i: mapping.get(h, 0) for i, h in enumerate(header)}
    grade_map[header.index(identify_by)] = user_field
    # "Check for mapto collisions": `$j == 0` under PHP 8 holds for 0 and "0" only, so two columns
    # mapped to "new" collide too (MDL-78768: one new grade item per import).
    targets = [m for m in grade_map.values() if m not in (0, "0")]
    if len(targets) != len(set(targets)):
        raise Refused("cannotmapfield: two columns mapped to one target")

    buffered = []  # grade_import_values: (user id, item id or ("new", header), final grade)
    student = None  # $this->studentid: set once, before the loop, never reset between rows
    for line in rows[1:]:
        if len(line) <= 1:
            continue  # "There is no data on this line"
        new_grades = []
        for key, value in enumerate(line):
            value = value.strip()
            target = grade_map[key]
            if target in MOODLE_USER_FIELDS:
                # "Skip invalid row with blank user field": the student of the row before stays.
                if not php_empty(value):
                    student = moodle_user(course, MOODLE_USER_FIELDS[target], value)
            elif target == "new":  # import_new_grade_item
                new_grades.append((("new", header[key]), value if value != "-" else None))
            elif target:  # update_grade_item
                new_grades.append((target, moodle_grade(value)))
        if student is None:
            raise Refused("usermappingerrorusernotfound")
        for item, grade in new_grades:  # insert_grade_record
            limit = course.gradepointmax if course.unlimitedgrades else 100
            if grade not in (None, "") and float(grade) > limit:
                raise Refused(f"gradevaluetoobig: {grade} > {limit:g}")
            buffered.append((student, item, grade))

    # grade_import_commit: new items are created; each buffered grade becomes the grade, a null
    # one included (update_final_grade with null), capped at the item's maximum.
    for user, item, grade in buffered:
        if isinstance(item, tuple):
            name = item[1]
            item = next((i for i, it in course.items.items() if it.name == name and i < 0), None)
            if item is None:
                item = -len(course.items) - 1
                course.items[item] = MoodleItem(name)
            grade = None if grade is None else float(grade or 0)  # '' is stored as 0
        if grade is not None:
            grade = min(max(grade, 0.0), course.items[item].grademax)
        course.grades[user, item] = grade


def moodle_user(course: MoodleCourse, user_field: str, value: str):
    """check_user_exists: `$DB->get_record('user', [$field => $value])` over the whole site (not
    only the course), IGNORE_MISSING: no user stops the import; several give the first record
    (moodle_database::get_record_sql: debugging(), then reset($records)), the lowest id in practice."""
    found = sorted(uid for uid, user in course.users.items() if str(user.get(user_field, "")) == value)
    if not found:
        raise Refused(f"usermappingerror: no user with {user_field} {value!r}")
    return found[0]


def moodle_grade(value: str):
    """update_grade_item: '' and '-' are "No grade" (null); otherwise a number or the import stops."""
    if value in ("", "-"):
        return None
    try:
        return float(value.replace(",", "."))  # unformat_float, with "," as a decimal separator
    except ValueError:
        raise Refused(f"badgrade: {value!r}") from None


# ---------------------------------------------------------------------------------------------
# Canvas


@dataclass
class CanvasStudent:
    id: int
    name: str
    sortable_name: str
    sis_user_id: str = ""
    login_id: str = ""


@dataclass
class CanvasCourse:
    students: list  # [CanvasStudent]
    assignments: dict  # {assignment id: title}: published, gradeable
    grades: dict = field(default_factory=dict)  # {(user id, assignment id): score as text}
    created: dict = field(default_factory=dict)  # {assignment id: (title, points)}: made by an import
    unresolved: list = field(default_factory=list)  # rows Canvas matched to no student: a person must pick


CANVAS_NON_ASSIGNMENT = re.compile("Current Score|Current Points|Current Grade|Final Score|Final Points|Final Grade"
                                   "|Override Score|Override Grade|Override Status")


def ruby_to_i(text: str) -> int:
    """String#to_i: the leading integer, 0 when there is none ("8f1c" is 8)."""
    m = re.match(r"\s*([+-]?\d+)", text)
    return int(m[1]) if m else 0


def present(value) -> bool:
    return value is not None and value.strip() != ""


def canvas_delimiter(text: str) -> str:
    """identify_delimiter on the first three lines: the separator that splits them all into the
    same, larger number of fields."""
    lines = text.split("\n")[:3]
    counts = {}
    for separator in (";", ","):
        try:
            sizes = [len(next(csv.reader([line], delimiter=separator, strict=True), [])) for line in lines]
        except csv.Error:
            sizes = [0, 1]
        counts[separator] = sizes[0] if len(set(sizes)) == 1 else 0
    return ";" if counts[";"] > counts[","] else ","


def canvas_cell(value: str):
    """The CSV's converters: nil for an empty field, and decimal_comma_to_period."""
    if value == "":
        return None
    if re.fullmatch(r"-?[0-9.,]+%?", value):
        *whole, last = re.split(r"[,.]", value)
        return f"{''.join(whole)}.{last}" if whole else last
    return value


def canvas_import(data: bytes, course: CanvasCourse) -> None:
    """Import a file into course.grades as Canvas's importer and its upload page do, or raise Refused."""
    text = data.decode("utf-8").replace("\r\n", "\n")  # Ruby's CSV keeps a byte-order mark in the first cell
    separator = canvas_delimiter(text)
    rows = [[canvas_cell(c) for c in row] for row in csv.reader(io.StringIO(text), delimiter=separator)
            if row and not re.fullmatch(r"[;, ]+", separator.join(row))]  # skip_lines

    header = rows[0]
    # header? / row_has_student_headers? / update_column_count
    if not (len(header) > 3 and "Student" in (header[0] or "") and "ID" in (header[1] or "")):
        raise Refused("Invalid header row")
    student_columns, sis_user, sis_login = 3, None, None
    if re.search(r"SIS\s+Login\s+ID", header[2] or ""):
        sis_login, student_columns = 2, 4
    elif re.search(r"SIS\s+User\s+ID", header[2] or "") and re.search(r"SIS\s+Login\s+ID", header[3] or ""):
        extra = 1 if len(header) > 4 and re.search(r"Integration\s+ID", header[4] or "") else 0
        sis_user, sis_login, student_columns = 2, 3, 5 + extra
    if "Section" not in (header[student_columns - 1] or ""):
        raise Refused("Invalid header row: the student columns must end with Section")

    # strip_non_assignment_columns, parse_assignments (Assignment.title_and_id), calc_assignment_indices
    assignments = []  # (assignment id, column index, new?)
    for name in header[student_columns:]:
        if name is None or CANVAS_NON_ASSIGNMENT.search(name):
            continue
        m = re.fullmatch(r"(.*)\s\((\d+)\)", name, re.DOTALL)
        title, aid = (m[1], int(m[2])) if m else (name, None)
        if aid not in course.assignments:
            aid = next((i for i, t in course.assignments.items() if t == name), None)
        if aid is None:
            aid = -len(course.created) - 1
            course.created[aid] = (title, None)
        assignments.append((aid, header.index(name)))

    points, read_only, students = {}, set(), []
    for row in rows[1:]:
        if "Points Possible" in (row[0] or ""):  # process_pp
            for aid, index in assignments:
                points[aid] = row[index]
                if re.search(r"read\s+only", row[index] or ""):
                    read_only.add(aid)
            continue
        if all(re.fullmatch(r"\s*(Muted|Manual Posting.*)?\s*", c, re.I) for c in row if c is not None):
            continue
        student = canvas_student(course, row, sis_user, sis_login)
        grades = {aid: (row[index] or "").strip() for aid, index in assignments}
        students.append((student, row[0], grades))

    for aid in list(course.created):
        course.created[aid] = (course.created[aid][0], points.get(aid))
    for student, name, grades in students:
        if student is None:
            course.unresolved.append(name)
            continue
        for aid, grade in grades.items():
            if aid in read_only:
                continue
            held = course.grades.get((student.id, aid))
            if held == grade or (held is None and grade == ""):  # populateGradeDataPerSubmission
                continue
            course.grades[student.id, aid] = grade or None  # posted_grade: a blank one removes the grade


def canvas_student(course: CanvasCourse, row: list, sis_user: int | None, sis_login: int | None):
    """process_student: by ID (String#to_i), then SIS User ID, then SIS Login ID, then the name;
    None when nothing matches (the upload page asks a person)."""
    by_id = {s.id: s for s in course.students}
    if present(row[1]) and ruby_to_i(row[1]) in by_id:
        return by_id[ruby_to_i(row[1])]
    if sis_user is not None and present(row[sis_user]):
        found = [s for s in course.students if s.sis_user_id == row[sis_user]]
        if found:
            return found[0]
    if sis_login is not None and present(row[sis_login]):
        found = [s for s in course.students if s.login_id == row[sis_login]]
        if found:
            return found[0]
    return next((s for s in course.students if row[0] in (s.name, s.sortable_name)), None)


# ---------------------------------------------------------------------------------------------
# Feedback taken back in bulk


def moodle_feedback_participant(path: str, participants: set) -> str | None:
    """mod/assign/feedback/file/importziplib.php (3769c65a), is_valid_filename_for_import: the
    participant number a zip entry is filed under, or None (skipped). Each part of the path is
    split on `_` into at most 5 pieces; the second is the participant number, the third and
    fourth name the feedback plugin; the full name is never read."""
    if path.endswith("/") or path.split("/")[-1].startswith((".", "~")):
        return None
    for part in path.split("/"):
        info = part.split("_", 4)
        if len(info) < 4:
            continue
        if info[1].isdigit() and info[1] in participants and (info[2], info[3]) == ("assignfeedback", "file"):
            return info[1]
    return None


def canvas_comment_submission(path: str, attachments: dict) -> int | None:
    """Assignment#infer_comment_context_from_filename: the first two all-digit pieces of the name
    split on `_` are the user id and an attachment of that user's submission; the user whose
    submission has it, or None (the file is ignored)."""
    name = path.split("/")[-1]
    numbers = [piece for piece in name.split("_") if re.fullmatch(r"\d+", piece)][:2]
    if len(numbers) < 2 or name.startswith("._"):
        return None
    user, attachment = map(int, numbers)
    return user if attachment in attachments.get(user, ()) else None
