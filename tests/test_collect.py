"""Collecting LMS downloads laid out as Moodle and Canvas lay them out: every notebook in its own
student's folder, one folder per person across assignments, and nothing replaced or chosen
without a line that says so."""

import csv
import io
import zipfile
from pathlib import Path

import pytest

from course.grading.intake import normalised_name
from course.instructor.class_list import ClassList, slug
from course.instructor.collect import activity_of, collect, late_submissions, main

# Moodle's grading worksheet (mod/assign: Download grading worksheet), as Moodle 4.x writes it.
WORKSHEET = ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade", "Grade can be changed",
             "Last modified (submission)", "Last modified (grade)", "Feedback comments"]
# One class; Moodle numbers each person differently in each assignment. Two people share a name.
CLASS = [("山田 花子", "hanako@example.jp"), ("佐藤 一郎", "ichiro@example.jp"), ("Taro Yamada", "taro.y@example.jp"),
         ("Taro Yamada", "taro.yamada@example.jp"), ("高橋 玲", "rei@example.jp")]
PARTICIPANTS = {"mlp1": [2345676, 2345677, 2345678, 2345679, 2345680], "mlp2": [3456790, 3456788, 3456791, 3456789,
                                                                             3456787]}


def course_with(tmp_path, *assignments):
    for assignment in assignments:
        (tmp_path / "source" / assignment).mkdir(parents=True)
    return tmp_path


def notebook(owner):
    return f'{{"owner": "{owner}"}}'.encode()


def moodle_download(tmp_path, assignment, people=CLASS, folders=True, files=None):
    """`DL101-<assignment>-<cmid>.zip` as mod/assign's download_submissions builds it, and the
    assignment's grading worksheet."""
    archive = tmp_path / f"DL101-{assignment}-{70 + len(assignment)}.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for (name, email), number in zip(people, PARTICIPANTS[assignment], strict=False):
            prefix = f"{name}_{number}_assignsubmission_file"
            filename = (files or {}).get(email, f"{assignment}.ipynb")
            z.writestr(f"{prefix}/{filename}" if folders else f"{prefix}_{filename}", notebook(email))
    sheet = tmp_path / f"Grades-DL101-{assignment}.csv"
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(WORKSHEET)
    for (name, email), number in zip(people, PARTICIPANTS[assignment], strict=False):
        writer.writerow([f"Participant {number}", name, email, "Submitted for grading", "", "10.00", "Yes",
                         "Monday, 7 December 2026, 9:00 AM", "-", ""])
    sheet.write_bytes(buffer.getvalue().encode("utf-8"))
    return archive, sheet


def owners(course):
    """{folder in submitted/: {assignment: whose notebook it holds}}."""
    result = {}
    for path in sorted((course / "submitted").glob("*/*/*.ipynb")):
        result.setdefault(path.parts[-3], {})[path.parts[-2]] = path.read_text().split('"')[3]
    return result


def test_a_moodle_class_is_one_folder_per_person_in_every_assignment(tmp_path):
    course = course_with(tmp_path / "course", "mlp1", "mlp2")
    for assignment, folders in (("mlp1", True), ("mlp2", False)):  # with and without "Download in folders"
        archive, sheet = moodle_download(tmp_path, assignment, folders=folders)
        report, problems = collect(archive, course, roster=sheet)
        assert not problems, report
    held = owners(course)
    # Five people, five folders; each holds that person's two notebooks, Japanese names and the
    # two Taro Yamadas included.
    assert len(held) == 5
    assert sorted(tuple(a.values()) for a in held.values()) == sorted((e, e) for _, e in CLASS)
    people = {p.email: p for p in ClassList.read(course).people}
    assert people["hanako@example.jp"].name == "山田 花子" and people["hanako@example.jp"].student_id == "hanako"
    assert people["taro.y@example.jp"].participants == {"mlp1": "2345678", "mlp2": "3456791"}
    assert (course / "students.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # Excel shows the names


def test_without_the_worksheet_no_two_people_share_a_folder_and_the_report_says_what_is_lost(tmp_path):
    course = course_with(tmp_path / "course", "mlp1")
    archive, _ = moodle_download(tmp_path, "mlp1")
    report, _ = collect(archive, course)
    held = owners(course)
    assert sorted(a["mlp1"] for a in held.values()) == sorted(e for _, e in CLASS)
    assert {"Taro_Yamada", "Taro_Yamada-2", "participant-2345676"} <= set(held)
    assert any("without --roster" in line and "another folder in the next assignment" in line for line in report)


def test_japanese_folder_names_are_never_merged_and_a_later_download_never_crosses_students(tmp_path):
    course = course_with(tmp_path / "course", "mlp1")
    first = tmp_path / "first"
    for name in ("山田 花子", "佐藤 一郎"):
        (first / name).mkdir(parents=True)
        (first / name / "mlp1.ipynb").write_bytes(notebook(name))
    assert collect(first, course)[1] is False
    second = tmp_path / "second"
    (second / "高橋 玲").mkdir(parents=True)
    (second / "高橋 玲" / "mlp1.ipynb").write_bytes(notebook("高橋 玲"))
    report, _ = collect(second, course)
    assert sorted(a["mlp1"] for a in owners(course).values()) == ["佐藤 一郎", "山田 花子", "高橋 玲"]
    assert not any(line.startswith("replaced") for line in report)
    ids = {p.name: p.student_id for p in ClassList.read(course).people}
    assert sorted(ids.values()) == ["student", "student-2", "student-3"] and ids["高橋 玲"] == "student-3"


def test_canvas_re_uploads_the_latest_wins_and_lateness_is_kept(tmp_path, capsys):
    course = course_with(tmp_path / "course", "mlp1", "mlp2")
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("katomei_late_106_5007_mlp1-1.ipynb", notebook("mei, second upload"))
        z.writestr("katomei_late_106_4990_mlp1.ipynb", notebook("mei, first upload"))
        z.writestr("yamadataro_101_4801_mlp1.ipynb", notebook("taro 101"))
        z.writestr("yamadataro_102_4802_mlp1.ipynb", notebook("taro 102"))  # another Taro Yamada
    roster = tmp_path / "2026-12-07T0900_Grades-DL101.csv"
    roster.write_text("Student,ID,SIS User ID,SIS Login ID,Section,mlp1 (81001)\n"
                      "    Points Possible,,,,,10\n"
                      '"加藤, 芽衣",106,S106,mei.kato,A,\n"Yamada, Taro",101,S101,taro,A,\n'
                      '"Yamada, Taro",102,S102,tyamada,A,\n', "utf-8-sig")
    assert main([str(archive), "--course", str(course), "--roster", str(roster)]) == 0
    said = capsys.readouterr().out
    assert owners(course) == {"mei.kato": {"mlp1": "mei, second upload"}, "taro": {"mlp1": "taro 101"},
                              "tyamada": {"mlp1": "taro 102"}}
    assert ("latest   mei.kato/mlp1: katomei_late_106_5007_mlp1-1.ipynb; the earlier upload(s) not collected: "
            "katomei_late_106_4990_mlp1.ipynb") in said
    assert "new      submitted/mei.kato/mlp1/mlp1.ipynb; LATE" in said
    assert late_submissions(course) == {("mei.kato", "mlp1")}
    assert ClassList.read(course).by_id("mei.kato").lms_user_id == "106"


def test_a_notebook_in_the_wrong_activity_changes_nothing_of_the_other_assignment(tmp_path, capsys):
    course = course_with(tmp_path / "course", "mlp1", "mlp2")
    archive, sheet = moodle_download(tmp_path, "mlp1")
    collect(archive, course, roster=sheet)
    # In the mlp2 activity, 佐藤 一郎 uploaded his mlp1 again, and 山田 花子 an untitled notebook.
    archive, sheet = moodle_download(tmp_path, "mlp2", files={"ichiro@example.jp": "mlp1.ipynb",
                                                              "hanako@example.jp": "Untitled.ipynb"})
    before = (course / "submitted/ichiro/mlp1/mlp1.ipynb").read_bytes()
    assert main([str(archive), "--course", str(course), "--roster", str(sheet)]) == 1
    said = capsys.readouterr().out
    assert "WRONG ACTIVITY: a notebook of mlp1 handed in to mlp2" in said
    assert (course / "submitted/ichiro/mlp1/mlp1.ipynb").read_bytes() == before
    assert not (course / "submitted/ichiro/mlp2").exists()
    assert "renamed  Untitled.ipynb" not in said and "-> hanako/mlp2/mlp2.ipynb" in said  # handed in there: its mlp2
    # A Moodle download whose name does not say which assignment it is: asked, not guessed.
    renamed = archive.rename(tmp_path / "download.zip")
    with pytest.raises(SystemExit, match="give --assignment"):
        collect(renamed, course, roster=sheet)
    assert collect(renamed, course, roster=sheet, assignment="mlp2")[0][0] == "activity mlp2 (from --assignment)"


def test_a_second_download_replacing_a_first_says_so_and_keeps_the_first(tmp_path):
    course = course_with(tmp_path / "course", "mlp1")
    folder = tmp_path / "download" / "taro"
    folder.mkdir(parents=True)
    (folder / "mlp1.ipynb").write_text("{}")
    assert collect(folder.parent, course)[0] == ["student  taro: new in students.csv",
                                                 "new      submitted/taro/mlp1/mlp1.ipynb"]
    assert collect(folder.parent, course)[0] == ["same     submitted/taro/mlp1/mlp1.ipynb"]
    (folder / "mlp1.ipynb").write_text('{"v": 2}')
    (line,) = collect(folder.parent, course)[0]
    assert line.startswith("replaced submitted/taro/mlp1/mlp1.ipynb (the earlier one kept as collected/replaced/taro/")
    kept = course / line.split("kept as ")[1].rstrip(")")
    assert kept.read_text() == "{}" and (course / "submitted/taro/mlp1/mlp1.ipynb").read_text() == '{"v": 2}'


def test_colab_browser_and_canvas_renamings_are_undone():
    for name in ("mlp1.ipynb", "Copy of mlp1.ipynb", "mlp1 (1).ipynb", "mlp1.ipynb.json", "Copy of mlp1 (2).ipynb",
                 "mlp1-1.ipynb"):
        assert normalised_name(name) == "mlp1.ipynb", name
    assert normalised_name("notes.ipynb") == "notes.ipynb"
    for download, activity in (("DL101-mlp1-42.zip", "mlp1"), ("dl101-mlp1_submissions.zip", "mlp1"),
                               ("DL101-scratch_cnn-42.zip", "scratch_cnn"), ("DL101-Homework 1-42.zip", None)):
        assert activity_of(Path(download), ["cnn", "mlp1", "mlp2", "scratch_cnn"]) == activity, download
    assert slug("Taro Yamada") == "Taro_Yamada" and slug("../..") == "" and slug("山田 花子") == ""


def test_lms_zip_with_a_folder_per_student(tmp_path):
    course = course_with(tmp_path / "course", "mlp1", "mlp2")
    archive = tmp_path / "lms.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("taro/Copy of mlp1.ipynb", "{}")
        z.writestr("hana/mlp1 (1).ipynb", "{}")
        z.writestr("hana/mlp2.ipynb.json", "{}")
        z.writestr("__MACOSX/hana/._mlp1.ipynb", "junk")
        z.writestr("jiro/notes.txt", "hello")
    report, problems = collect(archive, course)
    assert (course / "submitted/taro/mlp1/mlp1.ipynb").read_text() == "{}"
    assert (course / "submitted/hana/mlp1/mlp1.ipynb").exists() and (course / "submitted/hana/mlp2/mlp2.ipynb").exists()
    assert "renamed  taro/Copy of mlp1.ipynb -> taro/mlp1/mlp1.ipynb" in report
    assert problems and "skipped  jiro/notes.txt: not a notebook of this course (mlp1.ipynb, mlp2.ipynb)" in report


def test_a_custom_pattern(tmp_path):
    course = course_with(tmp_path / "course", "mlp1")
    folder = tmp_path / "download"
    (folder / "Taro Yamada").mkdir(parents=True)
    (folder / "Taro Yamada" / "mlp1.ipynb").write_text("{}")
    (folder / "yamadataro_1234_5678_mlp1.ipynb").write_text("{}")
    assert main([str(folder), "--course", str(course), "--pattern", r"^(?P<student>[^/_]+)(_|/)"]) == 0
    assert sorted(p.name for p in (course / "submitted").iterdir()) == ["Taro_Yamada", "yamadataro"]


def test_two_candidates_are_reported_and_neither_is_collected(tmp_path, capsys):
    course = course_with(tmp_path / "course", "mlp1")
    folder = tmp_path / "download" / "taro"
    folder.mkdir(parents=True)
    (folder / "mlp1.ipynb").write_text('{"a": 1}')
    (folder / "Copy of mlp1.ipynb").write_text('{"b": 2}')
    assert main([str(folder.parent), "--course", str(course)]) == 1
    assert "CONFLICT taro/mlp1: 2 candidate notebooks" in capsys.readouterr().out
    assert not (course / "submitted").exists()


def test_a_folder_collected_before_the_class_list_is_nobody_else_s(tmp_path):
    """submitted/hanako/ came from an earlier download, without students.csv: a Moodle student whose
    email address is hanako@… gets a folder of her own; a download's folder `hanako` is that one."""
    course = course_with(tmp_path / "course", "mlp1")
    (course / "submitted" / "hanako" / "mlp1").mkdir(parents=True)
    (course / "submitted" / "hanako" / "mlp1" / "mlp1.ipynb").write_bytes(notebook("the earlier hanako"))
    archive, sheet = moodle_download(tmp_path, "mlp1", people=CLASS[:1])
    collect(archive, course, roster=sheet)
    assert owners(course) == {"hanako": {"mlp1": "the earlier hanako"}, "hanako-2": {"mlp1": "hanako@example.jp"}}
    folder = tmp_path / "download" / "hanako"
    folder.mkdir(parents=True)
    (folder / "mlp1.ipynb").write_bytes(notebook("the earlier hanako, again"))
    collect(folder.parent, course)
    assert owners(course)["hanako"] == {"mlp1": "the earlier hanako, again"}


def test_a_download_that_disagrees_with_the_class_list_changes_nothing(tmp_path, capsys):
    """The same participant number of mlp1, now with another email address (a worksheet of another
    course's mlp1, say): not collected, and students.csv is left as it was."""
    course = course_with(tmp_path / "course", "mlp1")
    archive, sheet = moodle_download(tmp_path, "mlp1", people=CLASS[:1])
    collect(archive, course, roster=sheet)
    before = (course / "students.csv").read_bytes()
    archive, sheet = moodle_download(tmp_path, "mlp1", people=[("山田 花子", "someone.else@example.jp")])
    assert main([str(archive), "--course", str(course), "--roster", str(sheet)]) == 1
    said = capsys.readouterr().out
    assert "CONFLICT" in said and "hanako in students.csv differs" in said and "Not collected" in said
    assert (course / "students.csv").read_bytes() == before
    assert owners(course) == {"hanako": {"mlp1": "hanako@example.jp"}}
