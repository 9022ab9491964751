"""The instructor's commands around grading: LMS exports and publishing for students."""

import csv
import zipfile

import nbformat
import pytest
from conftest import COURSE

from course.instructor import export, publish

REPORT = ("student_id,assignment,score,max_score,status,to_grade_by_hand,late,reasons\n"
          "taro,mlp1,10,10,graded,0,,\n"
          'taro,mlp2,13,17,graded,2,,"discussion (grade by hand, 2)"\n'
          "hana,mlp1,0,10,not graded,0,,invalid JSON\n")


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
    assert export.main(["--course", str(course), "--format", "moodle", "--roster", str(roster), "--key", "user",
                        "--assignments", "mlp1"]) == 0
    assert read(course / "grades-moodle.csv") == [["First name", "Last name", "Email address", "mlp1"],
                                                  ["太郎", "山田", "taro@example.jp", "10"]]
    said = capsys.readouterr().out
    assert "mlp1: 1 roster student(s) without a submission" in said and "hana/mlp1: not graded" in said


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


def test_export_for_an_lms_asks_for_its_roster_and_names_what_is_not_there(course, capsys):
    assert export.main(["--course", str(course), "--format", "moodle"]) == 1
    assert "--roster" in capsys.readouterr().err
    roster = course / "roster.csv"
    roster.write_text("Login,Student number\ntaro,20261\n")
    assert export.main(["--course", str(course), "--format", "moodle", "--roster", str(roster), "--key",
                        "Login"]) == 1
    assert "none of the columns Username, ID number, Email address" in (err := capsys.readouterr().err)
    assert "--match" in err
    assert export.main(["--course", str(course), "--format", "moodle", "--roster", str(roster), "--key",
                        "Login", "--match", "Student number", "--assignments", "cnn"]) == 1
    assert "No grades of cnn" in capsys.readouterr().err
    (course / "grades.csv").write_text("student_id,assignment,score,max_score,status,reasons\n")
    assert export.main(["--course", str(course), "--format", "wide"]) == 1
    assert "make grade again" in capsys.readouterr().err


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


@pytest.mark.slow
def test_calibration_measures_a_reference_notebook_in_the_sandbox(tmp_path):
    """`course calibrate` runs the course's own solution as grading runs a notebook (sandboxed
    kernel, capped fit) and measures its models' test accuracy with the course's function, which
    only a reference kernel may import."""
    from course.instructor.calibrate import measure

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import keras\nmodel = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, activation='softmax')])")])
    notebook = tmp_path / "mlp1" / "mlp1.ipynb"
    notebook.parent.mkdir()
    nbformat.write(nb, notebook)
    measured = measure(notebook, "smoke", 0, ["model"])
    accuracy = measured["accuracies"]["model"]
    assert set(measured["accuracies"]) == {"model"} and 0 <= accuracy <= 0.3  # untrained: about one in ten
    assert measured["device"].startswith("CPU (") and measured["gpu"] is False  # where it was measured
    assert measured["tensorflow"][0].isdigit() and measured["keras"].startswith("3.")


def test_thresholds_measured_on_a_gpu_go_beside_the_cpus_with_where_they_were_measured(tmp_path, monkeypatch):
    """No GPU is at hand: the runs are made up; what calibration writes of them is the course's."""
    import json

    from course.instructor import calibrate

    table = tmp_path / "thresholds.json"
    table.write_text((COURSE / "course" / "lectures" / "thresholds.json").read_text("utf-8"), "utf-8")
    monkeypatch.setattr(calibrate, "THRESHOLDS", table)
    runs = iter([0.9301, 0.9277, 0.9312, 0.9290, 0.9268])
    monkeypatch.setattr(calibrate, "measure", lambda notebook, profile, seed, models: {
        "accuracies": {"model": next(runs)}, "device": "NVIDIA H100 80GB HBM3", "gpu": True,
        "tensorflow": "2.20.0", "keras": "3.11.3"})
    before = json.loads(table.read_text("utf-8"))["cnn"]["model"]["full"]
    assert calibrate.main(["cnn", "--profile", "full", "--source", str(COURSE / "source")]) == 0
    entries = json.loads(table.read_text("utf-8"))["cnn"]["model"]
    assert entries["full"] == before  # the slides' threshold, as it was
    gpu = entries["full@gpu"]
    assert (gpu["threshold"], gpu["min"], gpu["max"], gpu["device"], gpu["seeds"]) == (
        0.906, 0.9268, 0.9312, "NVIDIA H100 80GB HBM3", [0, 1, 2, 3, 4])
    assert gpu["stdev"] > 0 and gpu["tensorflow"] == "2.20.0" and gpu["keras"] == "3.11.3"
