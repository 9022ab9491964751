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

# The class: taro's written answer in mlp2 is still to grade; hana's mlp1 could not be graded;
# emi handed in but is not in the LMS's roster; jiro is in the roster and handed in nothing;
# zoe handed in mlp1 only, and the LMS holds a grade for her mlp2 that the teacher entered by hand;
# mai has no email address in Moodle.
REPORT = """student_id,assignment,score,max_score,status,to_grade_by_hand,reasons
emi,mlp1,8,10,graded,0,test_history -2
hana,mlp1,0,10,not graded,0,invalid JSON
hana,mlp2,15,17,graded,0,test_model_deep -2
ken,mlp1,9,10,graded,0,test_labels -1
ken,mlp2,16.5,17,graded,0,test_history_values -0.5
mai,mlp1,10,10,graded,0,
mai,mlp2,17,17,graded,0,
taro,mlp1,10,10,graded,0,
taro,mlp2,13,17,graded,2,"discussion (grade by hand, 2)"
zoe,mlp1,7,10,graded,0,test_accuracy -3
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
    assert export.main(["--course", str(course), *args]) == 0, capsys.readouterr().err
    said = capsys.readouterr().out
    fmt = args[args.index("--format") + 1]
    return (course / f"grades-{fmt}.csv").read_bytes(), said


# ---------------------------------------------------------------------------------------------
# Moodle

def moodle_course():
    """Every site user: the class, and an older student whose username is one of our folder names."""
    users = {100 + i: {"id": 100 + i, "username": f"s{i:04d}", "idnumber": f"2026{i:03d}",
                       "email": f"{s}@example.jp"} for i, s in enumerate(ROSTER)}
    users[200] = {"id": 200, "username": "taro", "idnumber": "", "email": "taro@old.example.jp"}
    items = {1: MoodleItem("mlp1", 10), 2: MoodleItem("mlp2", 17)}
    # Grades Moodle holds: zoe's mlp2, entered by hand; ken's mlp1 from an earlier import.
    uid = {u["email"].split("@")[0]: i for i, u in users.items() if i < 200}
    return MoodleCourse(users, items, {(uid["zoe"], 2): 12.0, (uid["ken"], 1): 8.0}), uid


def moodle_roster(course):
    """Moodle's grade export (Grades → Export → Plain text file), with our folder names added
    in a column of the teacher's; mai's email address is missing."""
    path = course / "moodle.csv"
    lines = ["First name,Last name,ID number,Email address,mlp1 (Real),folder"]
    for i, s in enumerate(ROSTER):
        email = "" if s == "mai" else f"{s}@example.jp"
        lines.append(f"{NAMES[s][0]},{NAMES[s][1]},2026{i:03d},{email},-,{s}")
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def import_into_moodle(data, header_map):
    lms, uid = moodle_course()
    before = dict(lms.grades)
    identify_by = next(h for h in header_map if header_map[h] == "useremail")
    mapping = {h: m for h, m in header_map.items() if m != "useremail"}
    moodle_import(data, lms, identify_by, "useremail", mapping)
    return lms, uid, before


def test_moodle_credits_every_grade_to_its_own_student_and_clears_nothing(course, capsys):
    data, said = run(course, capsys, "--format", "moodle", "--roster", str(moodle_roster(course)), "--key", "folder")
    rows = list(csv.reader(data.decode("utf-8-sig").splitlines()))
    # Only what came from Moodle identifies a row, and no Total for the form to map.
    assert rows[0] == ["First name", "Last name", "Email address", "mlp1", "mlp2"]
    lms, uid, before = import_into_moodle(data, {"Email address": "useremail", "mlp1": 1, "mlp2": 2})
    changed = {k: v for k, v in lms.grades.items() if before.get(k) != v}
    assert changed == {(uid["ken"], 1): 9, (uid["ken"], 2): 16.5}  # the only student final in both
    assert lms.grades[uid["zoe"], 2] == 12  # entered by hand, kept
    # Every row left out is named, with why and what to do.
    for student in ("hana", "mai", "taro", "zoe"):
        assert f"  {student}: " in said, student
    assert "mai: it has no Email address" in said
    assert "zoe: no grade for mlp2 (no submission)" in said and "--assignments mlp1" in said
    assert "taro/mlp2: 2 point(s) to grade by hand" in said and "hana/mlp1: not graded" in said
    assert "not in the roster, left out: emi" in said and "1 roster student(s) with nothing to import" in said
    assert "with the assignment's maximum grade (mlp1 10, mlp2 17)" in said and "MDL-78768" in said


def test_moodle_one_assignment_at_a_time_and_partial_grades_on_request(course, capsys):
    roster = str(moodle_roster(course))
    data, _ = run(course, capsys, "--format", "moodle", "--roster", roster, "--key", "folder", "--assignments", "mlp1")
    lms, uid, before = import_into_moodle(data, {"Email address": "useremail", "mlp1": 1})
    changed = {k: v for k, v in lms.grades.items() if before.get(k) != v}
    assert changed == {(uid[s], 1): FINAL[s, "mlp1"] for s in ("ken", "taro", "zoe")}

    data, said = run(course, capsys, "--format", "moodle", "--roster", roster, "--key", "folder", "--partial")
    lms, uid, before = import_into_moodle(data, {"Email address": "useremail", "mlp1": 1, "mlp2": 2})
    assert lms.grades[uid["taro"], 2] == 13 and lms.grades[uid["hana"], 1] == 0
    assert "2 notebook(s) exported as they stand although not final (--partial): hana/mlp1, taro/mlp2" in said


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
    moodle_import(b"Email address,mlp1\nken@example.jp,-\n", lms, "Email address", "useremail", {"mlp1": 1})
    assert lms.grades[uid["ken"], 1] is None  # '-' on an existing item clears too
    with pytest.raises(Refused, match="usermappingerror"):  # by Username: our folder name is not Moodle's
        moodle_import(old, moodle_course()[0], "Username", "username", {"mlp1": 1})
    with pytest.raises(Refused, match="csvweirdcolumns"):
        moodle_import(b"Email address,mlp1\nken@example.jp,9,\n", moodle_course()[0], "Email address",
                      "useremail", {"mlp1": 1})
    lms, uid = moodle_course()
    for name, cell in (("a", "-"), ("b", "")):
        moodle_import(f"Email address,{name}\nken@example.jp,{cell}\n".encode(), lms, "Email address", "useremail",
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


def test_canvas_credits_every_grade_to_its_own_student_and_clears_nothing(course, capsys):
    lms, uid = canvas_course()
    roster = canvas_roster(course, lms, uid)
    data, said = run(course, capsys, "--format", "canvas", "--roster", str(roster), "--key", "SIS Login ID")
    rows = list(csv.reader(data.decode("utf-8-sig").splitlines()))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "mlp1 (81001)", "mlp2 (81002)"]
    assert rows[1] == ["Points Possible", "", "", "", "", "10", "17"]
    before = dict(lms.grades)
    canvas_import(data, lms)
    changed = {k: v for k, v in lms.grades.items() if before.get(k) != v}
    expected = {(uid[s], 81001 if a == "mlp1" else 81002): f"{FINAL[s, a]:g}" for s, a in FINAL if s != "zoe"}
    assert changed == expected and not lms.unresolved and not lms.created
    assert lms.grades[uid["zoe"], 81002] == "12"  # entered by hand, kept: zoe's row is left out
    assert "zoe: no grade for mlp2 (no submission)" in said and "emi" in said
    # Blank cells only where Canvas holds nothing: taro's mlp2 and hana's mlp1 wait.
    by_login = {r[3]: r for r in rows[2:]}
    assert by_login["taro"][5:] == ["10", ""] and by_login["hana"][5:] == ["", "15"]


def test_canvas_ids_from_elsewhere_never_pick_the_student(course, capsys):
    """A roster that is not Canvas's export: an LTI id in ID, which Canvas would read as user 8;
    a row with a name alone; and no way to tell which grades Canvas holds."""
    lms, uid = canvas_course()
    roster = course / "lti.csv"
    roster.write_text("Student,ID,SIS Login ID,Section,folder\n"
                      "\"高橋, 健\",8f1c2e,ken,A,ken\n"
                      "\"伊藤, 舞\",,,A,mai\n"
                      "\"山田, 太郎\",,taro,A,taro\n", "utf-8")
    data, said = run(course, capsys, "--format", "canvas", "--roster", str(roster), "--key", "folder")
    before = dict(lms.grades)
    canvas_import(data, lms)
    changed = {k: v for k, v in lms.grades.items() if before.get(k) != v}
    assert changed == {(uid["ken"], 81001): "9", (uid["ken"], 81002): "16.5"}
    assert "mai: it has no Canvas ID" in said
    assert "taro: no grade for mlp2 (2 point(s) to grade by hand)" in said


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
    (course / "grades.csv").write_text(REPORT + "ken,quiz Final Score,3,5,graded,0,\n", "utf-8")
    lms, uid = canvas_course()
    _, said = run(course, capsys, "--format", "canvas", "--roster", str(canvas_roster(course, lms, uid)),
                  "--key", "SIS Login ID", "--assignments", "mlp1", "quiz Final Score")
    assert "Column(s) quiz Final Score left out: Canvas ignores" in said
