"""The instructor's commands around grading: LMS exports and publishing for students."""

import csv
import zipfile

import nbformat
import pytest

from course import export, publish

REPORT = ("student_id,assignment,score,max_score,status,reasons\n"
          "taro,mlp1,10,10,graded,\n"
          "taro,mlp2,13,17,graded,discussion (grade by hand, 2)\n"
          "hana,mlp1,0,10,not graded,invalid JSON\n")


@pytest.fixture
def course(tmp_path):
    (tmp_path / "grades.csv").write_text(REPORT)
    return tmp_path


def read(path):
    return list(csv.reader(path.read_text("utf-8-sig").splitlines()))


def test_a_roster_saved_by_excel_in_shift_jis_is_read_and_names_survive(course, capsys):
    roster = course / "moodle.csv"
    roster.write_bytes("First name,Last name,Email address,user\n太郎,山田,taro@example.jp,taro\n"
                       "花子,鈴木,hana@example.jp,hana\n次郎,佐藤,jiro@example.jp,jiro\n".encode("cp932"))
    assert export.main(["--course", str(course), "--format", "moodle", "--roster", str(roster), "--key", "user"]) == 0
    rows = read(course / "grades-moodle.csv")
    assert rows[1] == ["太郎", "山田", "", "taro@example.jp", "taro", "10", "13", "23"]
    assert rows[2] == ["花子", "鈴木", "", "hana@example.jp", "hana", "0", "", "0"]
    assert rows[3][5:] == ["", "", ""]  # jiro handed in nothing: empty cells, no total
    said = capsys.readouterr().out
    assert "mlp1: 1 student(s) without a submission" in said and "mlp2: 2 student(s)" in said
    assert "1 notebook(s) not graded count 0" in said and "hana/mlp1" in said


def test_a_roster_without_the_key_or_without_the_class_says_what_to_do(course, capsys):
    roster = course / "roster.csv"
    roster.write_text("Name,Email\nTaro,t@example.jp\n")
    assert export.main(["--course", str(course), "--format", "wide", "--roster", str(roster)]) == 1
    assert "has no column None" not in (err := capsys.readouterr().err) and "--key" in err and "Name, Email" in err
    assert export.main(["--course", str(course), "--format", "wide", "--roster", str(roster), "--key", "Email"]) == 1
    assert "None of the roster's 1 students" in capsys.readouterr().err
    assert not (course / "grades-wide.csv").exists()


def test_export_before_grading_says_to_grade_first(tmp_path, capsys):
    assert export.main(["--course", str(tmp_path), "--format", "canvas"]) == 1
    assert "make grade" in capsys.readouterr().err


def test_publish_writes_colab_badges_and_a_zip_per_assignment(tmp_path, capsys):
    for assignment, heading in (("mlp1", "MLP① 多層パーセプトロン"), ("cnn", "CNN 畳み込み")):
        folder = tmp_path / "release" / assignment
        folder.mkdir(parents=True)
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {heading}\n本文")])
        nbformat.write(notebook, folder / f"{assignment}.ipynb")
    (tmp_path / "release" / "mlp1" / ".ipynb_checkpoints").mkdir()
    assert publish.main(["tanaka-lab/keras-course", "--course", str(tmp_path)]) == 0
    readme = (tmp_path / "release" / "README.md").read_text()
    assert ("| `mlp1` | MLP① 多層パーセプトロン | [![Open In Colab](https://colab.research.google.com/assets/"
            "colab-badge.svg)](https://colab.research.google.com/github/tanaka-lab/keras-course/blob/main/release/"
            "mlp1/mlp1.ipynb) |") in readme
    assert "<owner>" not in readme
    assert zipfile.ZipFile(tmp_path / "dist" / "mlp1.zip").namelist() == ["mlp1/mlp1.ipynb"]
    assert publish.main(["tanaka-lab/keras-course", "--course", str(tmp_path), "--folder", ""]) == 0
    assert "/blob/main/cnn/cnn.ipynb" in (tmp_path / "release" / "README.md").read_text()
    assert publish.main(["<owner>/<repo>", "--course", str(tmp_path)]) == 2
    assert "owner/name" in capsys.readouterr().err
