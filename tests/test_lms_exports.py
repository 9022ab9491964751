"""Grades exported for Moodle and Canvas, imported by their importers' own rules
(tests/lms_importers.py) into model courses: every grade lands on its own student, nothing the LMS
holds is cleared, and the command names every row and cell it left out."""

import csv

import pytest
from lms_importers import (
    CanvasCourse,
    CanvasStudent,
    MoodleCourse,
    MoodleItem,
    Refused,
    canvas_import,
    moodle_import,
)

from course.instructor import export
from course.instructor.class_list import ClassList

# The class: taro's written answer in mlp2 is still to grade; hana's mlp1 could not be graded;
# emi handed in but is not in the LMS's roster; jiro is in the roster and handed in nothing;
# zoe handed in mlp1 only, and the LMS holds a grade for her mlp2 that the teacher entered by hand;
# mai has no email address in Moodle.
REPORT = """student_id,assignment,score,max_score,status,to_grade_by_hand,late,reasons
emi,mlp1,8,10,graded,0,,test_history -2
hana,mlp1,0,10,not graded,0,,invalid JSON
hana,mlp2,15,17,graded,0,,test_model_deep -2
ken,mlp1,9,10,graded,0,,test_labels -1
ken,mlp2,16.5,17,graded,0,,test_history_values -0.5
mai,mlp1,10,10,graded,0,,
mai,mlp2,17,17,graded,0,,
taro,mlp1,10,10,graded,0,,
taro,mlp2,13,17,graded,2,,"discussion (grade by hand, 2)"
zoe,mlp1,7,10,graded,0,,test_accuracy -3
"""
FINAL = {("hana", "mlp2"): 15, ("ken", "mlp1"): 9, ("ken", "mlp2"): 16.5, ("mai", "mlp1"): 10, ("mai", "mlp2"): 17,
         ("taro", "mlp1"): 10, ("zoe", "mlp1"): 7}
NOT_FINAL = {("taro", "mlp2"), ("hana", "mlp1")}
ROSTER = ["hana", "jiro", "ken", "mai", "taro", "zoe"]  # emi is missing
NAMES = {"hana": ("花子", "鈴木"), "jiro": ("次郎", "佐藤"), "ken": ("健", "高橋"), "mai": ("舞", "伊藤"),
         "taro": ("太郎", "山田"), "zoe": ("葵", "渡辺")}


@pytest.fixture
def course(tmp_path):
    (tmp_path / "grades.csv").write_text(REPORT, "utf-8")
    return tmp_path


def run(course, capsys, *args):
    """({file written: its bytes}, what the command said)."""
    assert export.main(["--course", str(course), *args]) == 0, capsys.readouterr().err
    fmt = args[args.index("--format") + 1]
    return written(course, fmt), capsys.readouterr().out


def written(course, fmt):
    return {p.name: p.read_bytes() for p in sorted(course.glob(f"grades-{fmt}*.csv"))}


# ---------------------------------------------------------------------------------------------
# Moodle

def moodle_course():
    """Every site user: the class; an older student whose username is one of our folder names; and
    ken's first account, which shares his email address and has the lower id."""
    users = {100 + i: {"id": 100 + i, "username": f"s{i:04d}", "idnumber": f"2026{i:03d}",
                       "email": f"{s}@example.jp"} for i, s in enumerate(ROSTER)}
    users[200] = {"id": 200, "username": "taro", "idnumber": "", "email": "taro@old.example.jp"}
    users[50] = {"id": 50, "username": "ken2019", "idnumber": "", "email": "ken@example.jp"}
    items = {1: MoodleItem("mlp1", 10), 2: MoodleItem("mlp2", 17)}
    # Grades Moodle holds: zoe's mlp2, entered by hand; ken's mlp1 from an earlier import.
    uid = {u["username"]: i for i, u in users.items()}
    uid.update({s: 100 + i for i, s in enumerate(ROSTER)})
    return MoodleCourse(users, items, {(uid["zoe"], 2): 12.0, (uid["ken"], 1): 8.0}), uid


def moodle_roster(course, identity="ID number,Email address", ids=None):
    """Moodle's grade export (Grades → Export → Plain text file), with our folder names added
    in a column of the teacher's; mai's ID number was entered as 0."""
    path = course / "moodle.csv"
    lines = [f"First name,Last name,{identity},mlp1 (Real),folder"]
    for i, s in enumerate(ROSTER):
        values = {"ID number": "0" if s == "mai" else f"2026{i:03d}", "Email address": f"{s}@example.jp",
                  "Username": f"s{i:04d}"}
        lines.append(f"{NAMES[s][0]},{NAMES[s][1]},{','.join(values[c] for c in identity.split(','))},-,{s}")
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


MOODLE_FIELDS = {"ID number": "useridnumber", "Email address": "useremail", "Username": "username"}


def import_into_moodle(files, identify_by):
    """Import each file as its own import, its assignment column mapped to its grade item."""
    lms, uid = moodle_course()
    before = dict(lms.grades)
    for data in files:
        header = next(csv.reader(data.decode("utf-8-sig").splitlines()))
        mapping = {h: {"mlp1": 1, "mlp2": 2}[h] for h in header if h in ("mlp1", "mlp2")}
        moodle_import(data, lms, identify_by, MOODLE_FIELDS[identify_by], mapping)
    return lms, uid, before


def test_moodle_credits_every_grade_to_its_own_student_and_clears_nothing(course, capsys):
    files, said = run(course, capsys, "--format", "moodle", "--roster", str(moodle_roster(course)), "--key", "folder")
    # zoe, hana and taro each wait for a grade in the other assignment: a file per assignment,
    # so that none of their final grades waits.
    assert list(files) == ["grades-moodle-mlp1.csv", "grades-moodle-mlp2.csv"]
    rows = list(csv.reader(files["grades-moodle-mlp1.csv"].decode("utf-8-sig").splitlines()))
    # Only what came from Moodle identifies a row, by ID number rather than the email address two
    # accounts share, and no Total for the form to map.
    assert rows[0] == ["First name", "Last name", "ID number", "mlp1"]
    lms, uid, before = import_into_moodle(files.values(), "ID number")
    changed = {k: v for k, v in lms.grades.items() if before.get(k) != v}
    assert changed == {(uid[s], {"mlp1": 1, "mlp2": 2}[a]): g for (s, a), g in FINAL.items() if s != "mai"}
    assert lms.grades[uid["zoe"], 2] == 12  # entered by hand, kept
    # Every row left out is named, with why and what to do.
    assert "mai: its ID number is 0, which Moodle reads as none" in said
    assert "(hana, taro, zoe): one file per assignment" in said
    assert "mlp2: 2 roster student(s) without a submission" in said
    assert "taro/mlp2: 2 point(s) to grade by hand" in said and "hana/mlp1: not graded" in said
    assert "not in the roster, left out: emi" in said and "roster student(s) with nothing to import" in said
    assert "with the assignment's maximum grade (mlp1 10)" in said and "MDL-78768" in said
    assert "Usernames are unique" in said  # matched on ID number: the first account with it gets the row


def test_moodle_by_a_shared_email_address_lands_on_the_first_account_so_username_is_the_default(course, capsys):
    """ken has two site accounts with one email address (Moodle allows it where the site says so):
    Moodle's import gives a row to the first, the one he no longer uses."""
    _, said = run(course, capsys, "--format", "moodle", "--roster", str(moodle_roster(course, "Email address")),
                  "--key", "folder", "--assignments", "mlp1")
    lms, uid, before = import_into_moodle(written(course, "moodle").values(), "Email address")
    assert lms.grades[uid["ken2019"], 1] == 9 and lms.grades[uid["ken"], 1] == 8  # the trap, as Moodle springs it
    assert "first account of the whole site with that Email address" in said and "Show user identity" in said

    (course / "grades-moodle.csv").unlink()
    roster = moodle_roster(course, "Email address,Username")
    _, said = run(course, capsys, "--format", "moodle", "--roster", str(roster), "--key", "folder",
                  "--assignments", "mlp1")
    lms, uid, before = import_into_moodle(written(course, "moodle").values(), "Username")
    assert lms.grades[uid["ken"], 1] == 9 and (uid["ken2019"], 1) not in lms.grades
    assert "Usernames are unique" not in said


def test_moodle_partial_grades_on_request_and_never_a_zero_for_what_was_not_graded(course, capsys):
    roster = str(moodle_roster(course, "Username"))
    _, said = run(course, capsys, "--format", "moodle", "--roster", roster, "--key", "folder", "--partial")
    lms, uid, before = import_into_moodle(written(course, "moodle").values(), "Username")
    assert lms.grades[uid["taro"], 2] == 13  # the written answer still to grade, as it stands
    assert (uid["hana"], 1) not in lms.grades  # not graded: no 0
    assert "1 notebook(s) exported as they stand, with points still to grade by hand (--partial): taro/mlp2" in said
    assert "hana/mlp1: not graded" in said


def test_two_roster_rows_with_one_key_get_nothing(course, capsys):
    roster = moodle_roster(course, "Username")
    roster.write_text(roster.read_text("utf-8") + "健,高橋,s9999,-,ken\n", "utf-8")  # a copy-paste slip
    _, said = run(course, capsys, "--format", "moodle", "--roster", str(roster), "--key", "folder")
    lms, uid, before = import_into_moodle(written(course, "moodle").values(), "Username")
    assert lms.grades[uid["ken"], 1] == 8 and (uid["ken"], 2) not in lms.grades  # as Moodle held them
    assert "ken: 2 roster rows have 'ken' in folder" in said


def test_an_export_with_no_row_writes_nothing_and_says_why(course, capsys):
    roster = course / "moodle.csv"
    roster.write_text("First name,Last name,Email address,folder\n" + "".join(f"{NAMES[s][0]},{NAMES[s][1]},,{s}\n"
                                                                              for s in ROSTER), "utf-8")
    assert export.main(["--course", str(course), "--format", "moodle", "--roster", str(roster), "--key",
                        "folder"]) == 1
    out, err = capsys.readouterr()
    assert "No row could be written" in err and "ken: it has no Email address" in out
    assert not written(course, "moodle")


def test_moodle_rules_as_ported_reproduce_the_traps(tmp_path):
    """The port is faithful where it matters: the file the old export wrote (a blank identifier on
    an unlisted student's row, empty cells) gives a grade to the wrong student and clears one."""
    lms, uid = moodle_course()
    old = ("\ufeffFirst name,Last name,ID number,Email address,Username,mlp1,mlp2,Total\r\n"
           "葵,渡辺,,zoe@example.jp,zoe,7,,7\r\n"
           ",,,,emi,8,,8\r\n").encode()
    moodle_import(old, lms, "Email address", "useremail", {"mlp1": 1, "mlp2": 2})
    assert lms.grades[uid["zoe"], 1] == 8  # emi's grade, credited to zoe
    assert lms.grades[uid["zoe"], 2] is None  # the grade entered by hand, cleared
    moodle_import(b"ID number,mlp1\n2026002,-\n", lms, "ID number", "useridnumber", {"mlp1": 1})
    assert lms.grades[uid["ken"], 1] is None  # '-' on an existing item clears too
    moodle_import(b"ID number,mlp1\n2026002,9\n0,3.25\n", lms, "ID number", "useridnumber", {"mlp1": 1})
    assert lms.grades[uid["ken"], 1] == 3.25  # an identifier 0 is empty to PHP: the row before's student
    with pytest.raises(Refused, match="usermappingerror"):  # by Username: our folder name is not Moodle's
        moodle_import(old, moodle_course()[0], "Username", "username", {"mlp1": 1})
    with pytest.raises(Refused, match="csvweirdcolumns"):
        moodle_import(b"Email address,mlp1\nken@example.jp,9,\n", moodle_course()[0], "Email address",
                      "useremail", {"mlp1": 1})
    lms, uid = moodle_course()
    for name, cell in (("a", "-"), ("b", "")):
        moodle_import(f"Username,{name}\ns0002,{cell}\n".encode(), lms, "Username", "username",
                      {name: "new"})
    a, b = (next(i for i, it in lms.items.items() if it.name == n) for n in "ab")
    assert lms.grades[uid["ken"], a] is None and lms.grades[uid["ken"], b] == 0  # '-' is no grade; '' is 0
    with pytest.raises(Refused, match="cannotmapfield"):  # MDL-78768: one new grade item per import
        moodle_import(b"Email address,a,b\nken@example.jp,1,2\n", lms, "Email address", "useremail",
                      {"a": "new", "b": "new"})
    with pytest.raises(Refused, match="gradevaluetoobig"):
        moodle_import(b"Email address,mlp1\nken@example.jp,101\n", moodle_course()[0], "Email address",
                      "useremail", {"mlp1": 1})


# ---------------------------------------------------------------------------------------------
# Canvas

def canvas_course():
    students = [CanvasStudent(101 + i, f"{NAMES[s][1]} {NAMES[s][0]}", f"{NAMES[s][1]}, {NAMES[s][0]}",
                              f"S{i}", s) for i, s in enumerate(ROSTER)]
    students.append(CanvasStudent(8, "Someone Else", "Else, Someone", "S99", "else"))
    lms = CanvasCourse(students, {81001: "mlp1", 81002: "mlp2"})
    uid = {s.login_id: s.id for s in students}
    lms.grades = {(uid["zoe"], 81002): "12", (uid["ken"], 81001): "8"}
    return lms, uid


def canvas_roster(course, lms, uid):
    """Canvas's gradebook export: Grades → Export → Export Entire Gradebook."""
    path = course / "canvas.csv"
    lines = ["Student,ID,SIS User ID,SIS Login ID,Section,mlp1 (81001),mlp2 (81002),Current Score,Final Score",
             "    Points Possible,,,,,10,17,(read only),(read only)"]
    for s in lms.students:
        held = [lms.grades.get((s.id, a), "") for a in (81001, 81002)]
        lines.append(f'"{s.sortable_name}",{s.id},{s.sis_user_id},{s.login_id},A,{held[0]},{held[1]},,')
    path.write_text("\n".join(lines) + "\n", "utf-8-sig")
    return path


def import_into_canvas(files, lms):
    before = dict(lms.grades)
    for data in files.values():
        canvas_import(data, lms)
    return {k: v for k, v in lms.grades.items() if before.get(k) != v}


CANVAS_FINAL = {(s, a): f"{g:g}" for (s, a), g in FINAL.items()}


def landed(changed, uid):
    login = {i: s for s, i in uid.items()}
    return {(login[u], "mlp1" if a == 81001 else "mlp2"): g for (u, a), g in changed.items()}


def test_canvas_credits_every_grade_to_its_own_student_and_clears_nothing(course, capsys):
    lms, uid = canvas_course()
    files, said = run(course, capsys, "--format", "canvas", "--roster", str(canvas_roster(course, lms, uid)),
                      "--key", "SIS Login ID")
    # Canvas holds zoe's mlp2, which a blank cell would remove: her mlp1 is in a file of its own.
    assert list(files) == ["grades-canvas-mlp1.csv", "grades-canvas-mlp2.csv"] and "(zoe)" in said
    rows = list(csv.reader(files["grades-canvas-mlp1.csv"].decode("utf-8-sig").splitlines()))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "mlp1 (81001)"]
    assert rows[1] == ["Points Possible", "", "", "", "", "10"]
    assert landed(import_into_canvas(files, lms), uid) == CANVAS_FINAL and not lms.unresolved and not lms.created
    assert lms.grades[uid["zoe"], 81002] == "12"  # entered by hand, kept
    assert "emi" in said

    # Where Canvas holds nothing, a blank cell is no change: one file, taro's mlp2 and hana's mlp1 blank.
    lms, uid = canvas_course()
    del lms.grades[uid["zoe"], 81002]
    for old in course.glob("grades-canvas*.csv"):
        old.unlink()
    files, said = run(course, capsys, "--format", "canvas", "--roster", str(canvas_roster(course, lms, uid)),
                      "--key", "SIS Login ID")
    by_login = {r[3]: r for r in csv.reader(files["grades-canvas.csv"].decode("utf-8-sig").splitlines()[2:])}
    assert by_login["taro"][5:] == ["10", ""] and by_login["hana"][5:] == ["", "15"]
    assert landed(import_into_canvas(files, lms), uid) == CANVAS_FINAL


def test_canvas_ids_from_elsewhere_never_pick_the_student(course, capsys):
    """A roster that is not Canvas's export: an LTI id in ID, which Canvas would read as user 8;
    a row with a name alone; and no way to tell which grades Canvas holds."""
    lms, uid = canvas_course()
    roster = course / "lti.csv"
    roster.write_text("Student,ID,SIS Login ID,Section,folder\n"
                      "\"高橋, 健\",8f1c2e,ken,A,ken\n"
                      "\"伊藤, 舞\",,,A,mai\n"
                      "\"山田, 太郎\",,taro,A,taro\n", "utf-8")
    files, said = run(course, capsys, "--format", "canvas", "--roster", str(roster), "--key", "folder")
    assert landed(import_into_canvas(files, lms), uid) == {("ken", "mlp1"): "9", ("ken", "mlp2"): "16.5",
                                                           ("taro", "mlp1"): "10"}
    assert "mai: it has no Canvas ID" in said
    assert "taro/mlp2: 2 point(s) to grade by hand" in said


def test_a_registrar_roster_never_lets_canvas_pick_between_two_students_of_one_name(course, capsys):
    """The registrar's ids lost their leading zeros (S0001 became S1): Canvas knows none of them,
    falls back to the name, and gives both Taro Yamadas' rows to the first of that name."""
    students = [CanvasStudent(101, "Yamada Taro", "Yamada, Taro", "S0001", "taro"),
                CanvasStudent(102, "Yamada Taro", "Yamada, Taro", "S0002", "tyamada"),
                CanvasStudent(103, "Takahashi Ken", "Takahashi, Ken", "S0003", "ken")]
    (course / "grades.csv").write_text(REPORT.split("\n")[0] + "\ntaro,mlp1,10,10,graded,0,,\n"
                                       "tyamada,mlp1,3,10,graded,0,,\nken,mlp1,9,10,graded,0,,\n", "utf-8")
    roster = course / "registrar.csv"
    roster.write_text("Student,ID,SIS User ID,Section,folder\n\"Yamada, Taro\",,S1,A,taro\n"
                      "\"Yamada, Taro\",,S2,A,tyamada\n\"Takahashi, Ken\",,S3,A,ken\n", "utf-8")
    trap = CanvasCourse(list(students), {81001: "mlp1"})
    canvas_import(b"Student,ID,SIS User ID,SIS Login ID,Section,mlp1 (81001)\n\"Yamada, Taro\",,S1,,A,10\n"
                  b"\"Yamada, Taro\",,S2,,A,3\n", trap)
    assert trap.grades == {(101, 81001): "3"}  # the trap, as Canvas springs it: one student, the other's grade

    files, said = run(course, capsys, "--format", "canvas", "--roster", str(roster), "--key", "folder")
    lms = CanvasCourse(list(students), {81001: "mlp1"})
    assert import_into_canvas(files, lms) == {(103, 81001): "9"}  # ken's name is his alone
    assert "taro: it has no Canvas ID, and 2 roster students are named 'Yamada, Taro'" in said
    assert "tyamada: it has no Canvas ID, and 2 roster students" in said


def test_canvas_rules_as_ported_reproduce_the_traps():
    lms, uid = canvas_course()
    header = "Student,ID,SIS User ID,SIS Login ID,Section,mlp1 (81001),Final Score quiz\n"
    canvas_import((header + '"高橋, 健",8f1c,,,A,9,5\n').encode(), lms)
    assert lms.grades[8, 81001] == "9" and not lms.created  # ID read with .to_i; the quiz column ignored
    canvas_import((header + '"渡辺, 葵",,,,A,6,\n').encode(), lms)
    assert lms.grades[uid["zoe"], 81001] == "6"  # no id at all: matched by the name
    canvas_import(b'Student,ID,SIS User ID,SIS Login ID,Section,mlp2 (81002)\n"Watanabe",,,zoe,A,\n', lms)
    assert lms.grades[uid["zoe"], 81002] is None  # a blank cell removes the grade Canvas held
    with pytest.raises(Refused, match="Section"):
        canvas_import(b"Student,ID,SIS Login ID,mlp1,Section\nx,1,y,2,A\n", lms)
    with pytest.raises(Refused, match="Invalid header"):
        canvas_import(b"Name,ID,SIS Login ID,Section,mlp1\nx,1,y,A,2\n", lms)


def test_canvas_never_gets_a_column_it_would_ignore(course, capsys):
    (course / "grades.csv").write_text(REPORT + "ken,quiz Final Score,3,5,graded,0,,\n", "utf-8")
    lms, uid = canvas_course()
    _, said = run(course, capsys, "--format", "canvas", "--roster", str(canvas_roster(course, lms, uid)),
                  "--key", "SIS Login ID", "--assignments", "mlp1", "quiz Final Score")
    assert "Column(s) quiz Final Score left out: Canvas ignores" in said


# ---------------------------------------------------------------------------------------------
# From the LMS's download to its gradebook, no mapping by hand

def test_collected_with_worksheets_exported_to_moodle_by_username_without_a_key(tmp_path, capsys):
    from test_collect import CLASS, course_with, moodle_download

    from course.instructor.collect import collect

    course = course_with(tmp_path / "course", "mlp1", "mlp2")
    for assignment in ("mlp1", "mlp2"):
        archive, worksheet = moodle_download(tmp_path, assignment)
        collect(archive, course, roster=worksheet)
    folders = sorted(p.name for p in (course / "submitted").iterdir())
    scores = {folder: i + 1 for i, folder in enumerate(folders)}
    (course / "grades.csv").write_text(REPORT.split("\n")[0] + "\n" + "".join(
        f"{f},{a},{scores[f]},10,graded,0,,\n" for f in folders for a in ("mlp1", "mlp2")), "utf-8")
    # Moodle's grade export, with usernames: nothing in it names a folder of submitted/.
    users = {300 + i: {"id": 300 + i, "username": f"u{i}", "idnumber": "", "email": email}
             for i, (_, email) in enumerate(CLASS)}
    roster = tmp_path / "moodle.csv"
    roster.write_text("First name,Last name,Username,Email address\n" + "".join(
        f"{name},,u{i},{email}\n" for i, (name, email) in enumerate(CLASS)), "utf-8")
    files, said = run(course, capsys, "--format", "moodle", "--roster", str(roster))
    lms = MoodleCourse(users, {1: MoodleItem("mlp1", 10), 2: MoodleItem("mlp2", 10)})
    for data in files.values():
        moodle_import(data, lms, "Username", "username", {"mlp1": 1, "mlp2": 2})
    by_email = {f: p.email for f in folders for p in ClassList.read(course).people if p.student_id == f}
    assert {(users[u]["email"], item): g for (u, item), g in lms.grades.items()} == {
        (by_email[f], item): scores[f] for f in folders for item in (1, 2)}


def test_collected_from_canvas_exported_to_canvas_without_a_key(tmp_path, capsys):
    import zipfile

    from test_collect import course_with

    from course.instructor.collect import collect

    course = course_with(tmp_path / "course", "mlp1")
    lms, uid = canvas_course()
    lms.grades = {}
    roster = canvas_roster(tmp_path, lms, uid)
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for s in ROSTER:
            z.writestr(f"{s}_{uid[s]}_{5000 + uid[s]}_mlp1.ipynb", "{}")
    collect(archive, course, roster=roster)
    (course / "grades.csv").write_text(REPORT.split("\n")[0] + "\n" + "".join(
        f"{s},mlp1,{i},10,graded,0,,\n" for i, s in enumerate(ROSTER)), "utf-8")
    files, _ = run(course, capsys, "--format", "canvas", "--roster", str(roster))
    assert landed(import_into_canvas(files, lms), uid) == {(s, "mlp1"): str(i) for i, s in enumerate(ROSTER)}


def test_feedback_goes_back_to_each_student_as_the_lms_files_it(tmp_path, capsys):
    import zipfile

    from lms_importers import canvas_comment_submission, moodle_feedback_participant
    from test_collect import CLASS, PARTICIPANTS, course_with, moodle_download

    from course.instructor import return_feedback
    from course.instructor.collect import collect

    course = course_with(tmp_path / "course", "mlp1")
    archive, worksheet = moodle_download(tmp_path, "mlp1")
    collect(archive, course, roster=worksheet)
    people = {p.student_id: p for p in ClassList.read(course).people}
    canvas = tmp_path / "submissions.zip"
    with zipfile.ZipFile(canvas, "w") as z:
        z.writestr("katomei_late_106_5007_mlp1-1.ipynb", "{}")
    collect(canvas, course)
    lines = [REPORT.split("\n")[0]]
    for student in people:
        (course / "feedback" / student / "mlp1").mkdir(parents=True)
        (course / "feedback" / student / "mlp1" / "mlp1.html").write_text(f"feedback of {student}")
        lines.append(f"{student},mlp1,7,10,graded,0,,")
    lines.append("katomei,mlp1,0,10,not graded,0,yes,the notebook is not valid JSON")
    (course / "grades.csv").write_text("\n".join(lines) + "\n", "utf-8")

    assert return_feedback.main(["mlp1", "--course", str(course)]) == 0
    with zipfile.ZipFile(course / "feedback-mlp1.zip") as z:
        entries = {name: z.read(name).decode() for name in z.namelist()}
    participants = {str(n) for n in PARTICIPANTS["mlp1"]}
    moodle = {moodle_feedback_participant(name, participants): text for name, text in entries.items()}
    assert {number: moodle[number] for number in participants} == {
        p.participants["mlp1"]: f"feedback of {s}" for s, p in people.items()}
    assert len(people) == len(CLASS)
    canvas_entry = next(name for name in entries if canvas_comment_submission(name, {106: {5007}}) == 106)
    assert "not valid JSON" in entries[canvas_entry] and "採点できませんでした" in entries[canvas_entry]
    assert "not graded      katomei: the notebook is not valid JSON" in capsys.readouterr().out
