"""End to end: the real instructor command grades the demo class in a scratch copy of the course."""

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course.demo import DEMO_CLASS, submission

COURSE = Path(__file__).resolve().parents[1]
# Points each demo student loses, per test cell (see course/demo.py for their mistakes).
EXPECTED_LOST = {
    "mlp1": {
        "alice": {},
        "bob": {"test_labels": 1, "test_history": 2, "test_accuracy": 2},
        "chris": {"test_model": 3},
        "dana": {"test_preprocessing": 2, "test_accuracy": 2},
        "emi": {"test_history": 2},
    },
    "mlp2": {
        "alice": {},
        "bob": {"test_model_dropout": 2},
        "chris": {"test_model_deep": 2},
        "dana": {"test_learning_curves": 2},
        "emi": {"test_history_values": 1},
    },
}
AUTOGRADED_POINTS = {"mlp1": 10, "mlp2": 15}


def grade(course: Path, *args: str, profile: str = "smoke") -> subprocess.CompletedProcess:
    env = dict(os.environ, COURSE_PROFILE=os.environ.get("COURSE_PROFILE", profile))
    return subprocess.run([sys.executable, "-m", "course.grade", *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=1800)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    shutil.copytree(COURSE / "source", course / "source")
    shutil.copytree(COURSE / "submitted", course / "submitted")
    shutil.copy(COURSE / "nbgrader_config.py", course)
    run = grade(course)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return course, run.stdout


def scores(course: Path) -> dict:
    from nbgrader.api import Gradebook

    result = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for assignment in EXPECTED_LOST:
            for student in EXPECTED_LOST[assignment]:
                notebook = gradebook.find_submission_notebook(assignment, assignment, student)
                result[assignment, student] = {
                    g.name: g.max_score - g.score
                    for g in notebook.grades
                    if not g.needs_manual_grade and g.score < g.max_score
                }
    return result


def test_each_submission_loses_exactly_the_points_of_its_mistakes(graded):
    course, _ = graded
    lost = scores(course)
    for assignment, students in EXPECTED_LOST.items():
        for student, expected in students.items():
            assert lost[assignment, student] == expected, (assignment, student)


def test_grades_csv_table_and_feedback(graded):
    course, stdout = graded
    with open(course / "grades.csv") as f:
        rows = {(r["assignment"], r["student_id"]): float(r["score"]) for r in csv.DictReader(f)}
    for assignment, students in EXPECTED_LOST.items():
        for student, lost in students.items():
            assert rows[assignment, student] == AUTOGRADED_POINTS[assignment] - sum(lost.values())
            assert (course / "feedback" / student / assignment / f"{assignment}.html").is_file()
    assert "bob          mlp1           5/10   test_labels -1, test_history -2, test_accuracy -2" in stdout


def test_deleted_and_rewritten_test_cells_are_restored(graded):
    course, _ = graded
    nb = nbformat.read(course / "autograded" / "emi" / "mlp1" / "mlp1.ipynb", as_version=4)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    assert "check_layers(model" in cells["test_model"].source
    assert "check_array(\"y_train\"" in cells["test_labels"].source


def test_release_is_what_generate_assignment_makes_today(graded):
    course, _ = graded
    for notebook in (COURSE / "source").glob("*/*.ipynb"):
        relative = notebook.relative_to(COURSE / "source")
        generated = json.loads((course / "release" / relative).read_text())
        committed = json.loads((COURSE / "release" / relative).read_text())
        assert committed == generated, f"release/{relative} is stale: run `make release`"


def test_regrading_keeps_what_was_graded(graded):
    course, _ = graded
    before = scores(course)
    run = grade(course, "mlp1")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Skipping existing assignment" in run.stderr
    assert scores(course) == before


def test_demo_submissions_are_what_course_demo_builds():
    for assignment, students in DEMO_CLASS.items():
        for name, student in students.items():
            path = COURSE / "submitted" / name / assignment / f"{assignment}.ipynb"
            committed = nbformat.read(path, as_version=4)
            assert committed == submission(COURSE, assignment, student), f"{path} is stale: run `make submissions`"


def test_grading_refuses_an_unknown_profile(tmp_path):
    shutil.copytree(COURSE / "source", tmp_path / "source")
    run = grade(tmp_path, profile="fast")
    if os.environ.get("COURSE_PROFILE"):
        pytest.skip("COURSE_PROFILE is set by the caller")
    assert run.returncode == 1 and "one of full, grade, smoke" in run.stderr
    assert not (tmp_path / "gradebook.db").exists()


def test_misnamed_colab_download_is_reported_and_nothing_crashes(tmp_path):
    shutil.copytree(COURSE / "source" / "mlp1", tmp_path / "source" / "mlp1")
    shutil.copy(COURSE / "nbgrader_config.py", tmp_path)
    folder = tmp_path / "submitted" / "zoe" / "mlp1"
    folder.mkdir(parents=True)
    shutil.copy(COURSE / "submitted" / "alice" / "mlp1" / "mlp1.ipynb", folder / "Copy of mlp1.ipynb")
    run = grade(tmp_path)
    assert run.returncode == 1
    assert "Copy of mlp1.ipynb: not graded; rename it to mlp1.ipynb" in run.stderr
    assert "zoe          mlp1           0/10   test_preprocessing (not autograded, 2)" in run.stdout
