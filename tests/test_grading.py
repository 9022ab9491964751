"""End to end: the real instructor command grades the demo class in a scratch copy of the course."""

import csv
import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from conftest import COURSE, grading_env
from lms_importers import CanvasCourse, CanvasStudent, MoodleCourse, MoodleItem, canvas_import, moodle_import

from course.grading.gradebook import gradebook_url
from course.instructor.demo import DEMO_CLASS, submission

# Points each demo student loses, per test cell (see course/instructor/demo.py for their mistakes).
EXPECTED_LOST = {
    "basics": {
        "alice": {},
        "bob": {"test_softmax": 2},
        "chris": {"test_sgd_momentum": 2},
        "dana": {"test_adagrad_adam": 2},
        "emi": {},
    },
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
    "cnn": {
        "alice": {},
        "bob": {"test_model": 2},
        "chris": {"test_convolution_slides": 2, "test_convolution_keras": 2},
        "dana": {"test_model_two_conv": 2},
        "emi": {"test_preprocessing": 2},
    },
    "pooling": {
        "alice": {},
        "bob": {"test_model_pool": 2},
        "chris": {"test_max_pool": 2},
        "dana": {"test_model_valid": 2},
        "emi": {"test_misclassified": 2},
    },
    "scratch_cnn": {
        "alice": {},
        "bob": {"test_im2col": 2},
        "chris": {"test_convolution_backward": 3},
        "dana": {"test_training": 3},
        "emi": {},
    },
}
AUTOGRADED_POINTS = {"basics": 20, "mlp1": 10, "mlp2": 15, "cnn": 14, "pooling": 21, "scratch_cnn": 18}


def grade(course: Path, *args: str, profile: str = "smoke") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "course", "grade", *args], cwd=course, env=grading_env(profile),
                          capture_output=True, text=True, timeout=1800)


@pytest.fixture(scope="module")
def graded(demo_class):
    course, finished = demo_class
    run = finished()
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return course, run


def scores(course: Path) -> dict:
    from nbgrader.api import Gradebook

    result = {}
    with Gradebook(gradebook_url(course)) as gradebook:
        for assignment in EXPECTED_LOST:
            for student in EXPECTED_LOST[assignment]:
                notebook = gradebook.find_submission_notebook(assignment, assignment, student)
                result[assignment, student] = {
                    g.name: g.max_score - g.score
                    for g in notebook.grades
                    if not g.needs_manual_grade and g.score < g.max_score
                }
    return result


@pytest.mark.slow
def test_each_submission_loses_exactly_the_points_of_its_mistakes(graded):
    course, _ = graded
    lost = scores(course)
    for assignment, students in EXPECTED_LOST.items():
        for student, expected in students.items():
            assert lost[assignment, student] == expected, (assignment, student)


@pytest.mark.slow
def test_grades_csv_table_and_feedback(graded):
    course, run = graded
    stdout = run.stdout
    with open(course / "grades.csv") as f:
        rows = {(r["assignment"], r["student_id"]): float(r["score"]) for r in csv.DictReader(f)}
    for assignment, students in EXPECTED_LOST.items():
        for student, lost in students.items():
            assert rows[assignment, student] == AUTOGRADED_POINTS[assignment] - sum(lost.values())
            assert (course / "feedback" / student / assignment / f"{assignment}.html").is_file()
    # Feedback begins with a table of every test: points, result, the message in Japanese and English.
    page = html.unescape((course / "feedback" / "bob" / "mlp1" / "mlp1.html").read_text())
    table = page.split("採点結果 / Results: 5 / 10")[1].split("</table>")[0]
    assert re.search(r"test_labels</code></td>\s*<td[^>]*>0 / 1</td><td[^>]*>✘ 不合格 / failed</td><td[^>]*>"
                     r"AssertionError: y_train の形が \(60000, 10\) ではありません / y_train should have shape", table)
    assert re.search(r"test_model</code></td>\s*<td[^>]*>3 / 3</td><td[^>]*>✔ 合格 / passed", table)
    assert ("bob          mlp1           5/10   test_labels -1 (AssertionError: y_train の形が (60000, 10) "
            "ではありません / y_train should have shape (60000, 10), found (60000,)); training raised ValueError: "
            "Arguments `target` and `output` must have the same rank (ndim).") in stdout


@pytest.mark.slow
def test_the_terminal_shows_each_graded_notebook_and_the_logs_keep_nbgrader_output(graded):
    course, run = graded
    assert "graded alice/mlp1: 10/10 in " in run.stdout and "(log: logs/alice/mlp1.log)" in run.stdout
    assert "graded chris/mlp1: 7/10 in " in run.stdout
    assert "AutogradeApp" not in run.stderr and "SAWarning" not in run.stderr
    assert "[AutogradeApp | INFO] Autograding" in (course / "logs" / "alice" / "mlp1.log").read_text()
    assert "GenerateFeedbackApp" in (course / "logs" / "nbgrader.log").read_text()


@pytest.mark.slow
def test_feedback_never_shows_hidden_tests(graded):
    course, _ = graded
    for source in (COURSE / "source").glob("*/*.ipynb"):
        assignment = source.parent.name
        released = (COURSE / "release" / assignment / source.name).read_text()
        hidden = set()
        for cell in nbformat.read(source, as_version=4).cells:
            if "### BEGIN HIDDEN TESTS" in cell.source:
                region = cell.source.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]
                # Lines long enough to be the test's own, and not also in what students see.
                hidden |= {line.strip() for line in region.splitlines() if len(line.strip()) > 15}
        hidden = {line for line in hidden if json.dumps(line)[1:-1] not in released}
        assert hidden, assignment
        for page in (course / "feedback").glob(f"*/{assignment}/*.html"):
            text = html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))
            shown = [line for line in hidden if line in text]
            assert not shown, (page, shown)


def autograded_cells(course: Path, student: str, assignment: str) -> dict:
    nb = nbformat.read(course / "autograded" / student / assignment / f"{assignment}.ipynb", as_version=4)
    return {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}


@pytest.mark.slow
def test_deleted_and_rewritten_test_and_given_cells_are_restored(graded):
    course, _ = graded
    cells = autograded_cells(course, "emi", "mlp1")
    assert 'hand_over("mlp1", "test_model", model=model)' in cells["test_model"].source
    assert 'hand_over("mlp1", "test_labels"' in cells["test_labels"].source
    # emi shortened mlp2's given fits and deleted a given cell of cnn: graded as the source has them.
    assert "epochs=50" in autograded_cells(course, "emi", "mlp2")["training_128"].source
    restored = autograded_cells(course, "emi", "cnn")["training_two_conv"]
    assert "model_two_conv.fit(" in restored.source and restored.outputs


@pytest.mark.slow
def test_release_is_what_generate_assignment_makes_today(graded):
    course, _ = graded
    for notebook in (COURSE / "source").glob("*/*.ipynb"):
        relative = notebook.relative_to(COURSE / "source")
        generated = json.loads((course / "release" / relative).read_text())
        committed = json.loads((COURSE / "release" / relative).read_text())
        assert committed == generated, f"release/{relative} is stale: run `make release`"


@pytest.mark.slow
def test_grading_again_keeps_what_was_graded_and_regrading_gives_the_same_report(graded):
    course, _ = graded
    before, report = scores(course), (course / "grades.csv").read_bytes()
    run = grade(course, "mlp1")
    assert run.returncode == 0, run.stderr[-3000:]
    assert not re.search(r"^graded ", run.stdout, re.M)  # nothing changed: nothing is autograded again
    assert scores(course) == before and (course / "grades.csv").read_bytes() == report
    run = grade(course, "mlp1", "--regrade", "--student", "dana")
    assert run.returncode == 0, run.stderr[-3000:]
    assert re.findall(r"^graded (\S+)", run.stdout, re.M) == ["dana/mlp1:"]
    # Byte for byte, though the class was graded by 2 workers at a time and this by 1: the report
    # quotes failing models' own accuracies (dana's, trained on unscaled images), which differ
    # unless every kernel trains the same way.
    assert scores(course) == before and (course / "grades.csv").read_bytes() == report


def test_demo_submissions_are_what_course_demo_builds():
    for assignment, students in DEMO_CLASS.items():
        for name, student in students.items():
            path = COURSE / "submitted" / name / assignment / f"{assignment}.ipynb"
            committed = nbformat.read(path, as_version=4)
            stale = f"{path} is stale: run `make submissions`"
            assert committed == submission(COURSE, assignment, student, name), stale


def test_grading_refuses_an_unknown_profile(tmp_path):
    shutil.copytree(COURSE / "source", tmp_path / "source")
    run = grade(tmp_path, profile="fast")
    if os.environ.get("COURSE_PROFILE"):
        pytest.skip("COURSE_PROFILE is set by the caller")
    assert run.returncode == 1 and "one of full, grade, smoke" in run.stderr
    assert not (tmp_path / "gradebook.db").exists()


def test_grading_refuses_a_student_without_a_folder(tmp_path):
    shutil.copytree(COURSE / "source", tmp_path / "source")
    (tmp_path / "submitted" / "alice").mkdir(parents=True)
    run = grade(tmp_path, "mlp1", "--student", "alice", "--student", "alcie")
    assert run.returncode == 2 and "No such student in" in run.stderr and "alcie" in run.stderr
    assert "alice" not in run.stderr.split("No such student", 1)[1]
    assert not (tmp_path / "gradebook.db").exists()


def test_a_machine_error_on_a_local_cluster_is_not_blamed_on_a_scheduler(tmp_path, monkeypatch, capsys):
    from course.instructor import grade as command

    shutil.copytree(COURSE / "source" / "mlp1", tmp_path / "source" / "mlp1")
    shutil.copy(COURSE / "nbgrader_config.py", tmp_path)
    shutil.copytree(COURSE / "submitted" / "alice" / "mlp1", tmp_path / "submitted" / "alice" / "mlp1")

    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(command, "grade_on_cluster", no_space)
    monkeypatch.setenv("PATH", os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    assert command.main(["--course", str(tmp_path), "mlp1"]) == 1
    stderr = capsys.readouterr().err
    assert "Grading stopped: [Errno 28] No space left on device" in stderr and "scheduler" not in stderr


# `nbgrader` as an instructor types it; OFFLINE: on a machine without Debian's dataset package
# and without network.
NBGRADER = """
import os, sys
if os.environ.get("OFFLINE"):
    import course.data as data
    data.DEBIAN_DIR = data.Path("/nonexistent")
    def _download(name, cache):
        raise OSError("Temporary failure in name resolution")
    data._download = _download
from nbgrader.apps.nbgraderapp import main
sys.argv[0] = "nbgrader"
main()
"""


def plain_nbgrader(course: Path, *args: str, keras_home: Path, offline_without_debian: bool = False):
    env = dict(os.environ, KERAS_HOME=str(keras_home), COURSE_PROFILE=os.environ.get("COURSE_PROFILE", "smoke"),
               OFFLINE="1" if offline_without_debian else "")
    return subprocess.run([sys.executable, "-c", NBGRADER, *args], cwd=course, env=env, capture_output=True,
                          text=True, timeout=1800)


@pytest.mark.slow
def test_plain_nbgrader_autograde_with_an_empty_keras_cache_grades_as_the_course_command_does(tmp_path):
    course = tmp_path / "course"
    shutil.copytree(COURSE / "source" / "mlp1", course / "source" / "mlp1")
    # chris's output layer is sigmoid, which only the hidden test sees: its verdict must reach the gradebook.
    shutil.copytree(COURSE / "submitted" / "chris" / "mlp1", course / "submitted" / "chris" / "mlp1")
    shutil.copy(COURSE / "nbgrader_config.py", course)
    assert plain_nbgrader(course, "generate_assignment", "mlp1", keras_home=tmp_path / "k0").returncode == 0

    # Nothing to fill the cache from: autograde stops before any notebook and records nothing.
    run = plain_nbgrader(course, "autograde", "mlp1", keras_home=tmp_path / "k1", offline_without_debian=True)
    assert run.returncode == 1
    assert "apt install dataset-fashion-mnist" in run.stderr and "Nothing was graded" in run.stderr
    assert not (course / "autograded").exists()
    from nbgrader.api import Gradebook

    with Gradebook(gradebook_url(course)) as gradebook:
        assert gradebook.assignment_submissions("mlp1") == []

    # Debian's package is there: the cache is filled first, and the grades are the course's.
    run = plain_nbgrader(course, "autograde", "mlp1", "--force", keras_home=tmp_path / "k2")
    assert run.returncode == 0, run.stderr[-3000:]
    assert (tmp_path / "k2" / "datasets" / "fashion-mnist" / "t10k-images-idx3-ubyte.gz").is_file()
    with Gradebook(gradebook_url(course)) as gradebook:
        assert gradebook.find_submission("mlp1", "chris").score == AUTOGRADED_POINTS["mlp1"] - 3


def chromium_or_skip():
    """Playwright driving Debian's chromium (Playwright cannot download its own browser here)."""
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements.txt)")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no browser at {CHROMIUM}: apt-get install chromium")
    return playwright.sync_playwright


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def formgrader(graded):
    """`course grade-by-hand` (what `make grade-by-hand` runs) serving the graded demo class."""
    import socket
    import urllib.request

    sync_playwright = chromium_or_skip()
    course, _ = graded
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = (course / "lab.log").open("w")
    # A fresh Jupyter configuration: no JupyterLab workspace of an earlier run (its open tabs).
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(course / ".jupyter"))
    command = [sys.executable, "-m", "course", "grade-by-hand", "--port", str(port), "--token", "course-test",
               "--no-browser"]
    server = subprocess.Popen(command, cwd=course, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{base}/api/status?token=course-test", timeout=1)
            break
        except OSError:
            assert server.poll() is None, (course / "lab.log").read_text()
            time.sleep(0.5)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{base}/login?next=/lab")
        page.fill("input[name=password]", "course-test")
        page.click("button[type=submit]")
        yield course, page, base
        browser.close()
    server.terminate()
    server.wait(timeout=30)
    log.close()


@pytest.mark.slow
def test_written_answers_graded_in_formgrader_reach_grades_csv_and_feedback(formgrader):
    course, page, _ = formgrader
    comment = "過学習の説明が的確です / A clear account of overfitting."
    # As an instructor would: JupyterLab's Nbgrader menu opens Formgrader in a tab.
    page.get_by_role("menuitem", name="Nbgrader").click()
    page.get_by_role("menuitem", name="Formgrader").click()
    frame = page.frame_locator("iframe")
    frame.get_by_role("link", name="Manual Grading").first.click()
    frame.get_by_role("link", name="mlp2", exact=True).click()
    frame.get_by_role("link", name="mlp2", exact=True).click()  # the assignment's one notebook
    frame.get_by_text("Submission #1").wait_for()  # the table loads after the page
    frame.get_by_text("Show All Names").click()
    frame.get_by_role("link", name="alice", exact=True).click()
    score, box = frame.locator("#discussion"), frame.locator("#discussion-comment")
    with page.expect_response(lambda r: "/formgrader/api/grade/" in r.url and r.request.method == "PUT"):
        score.fill("2")
        box.click()  # leaving the score field saves it
    with page.expect_response(lambda r: "/formgrader/api/comment/" in r.url and r.request.method == "PUT"):
        box.fill(comment)
        score.click()

    run = grade(course, "mlp2")
    assert run.returncode == 0, run.stderr[-3000:]
    with open(course / "grades.csv") as f:
        alice = next(r for r in csv.DictReader(f) if (r["student_id"], r["assignment"]) == ("alice", "mlp2"))
    assert (alice["score"], alice["max_score"], alice["reasons"]) == ("17", "17", "")
    feedback = (course / "feedback" / "alice" / "mlp2" / "mlp2.html").read_text()
    assert comment in html.unescape(feedback)


def set_as_formgrader_does(course, student, grade_id, score):
    """What formgrader's score field does when an instructor types a score (nbgrader's
    server_extensions/formgrader/apihandlers.py, GradeHandler.put): the manual score, and a grade
    that needs no more grading unless it has no score at all."""
    from nbgrader.api import Gradebook

    from course.grading.gradebook import gradebook_url

    with Gradebook(gradebook_url(course)) as gradebook:
        grade = gradebook.find_grade(grade_id, "mlp2", "mlp2", student)
        grade.manual_score = score
        grade.needs_manual_grade = grade.manual_score is None and grade.auto_score is None
        gradebook.db.commit()


@pytest.mark.slow
def test_a_test_score_changed_in_formgrader_stands_in_grades_csv_feedback_and_after_regrading(graded):
    course, _ = graded

    def bob():
        with open(course / "grades.csv") as f:
            return next(r for r in csv.DictReader(f) if (r["student_id"], r["assignment"]) == ("bob", "mlp2"))

    before = bob()
    set_as_formgrader_does(course, "bob", "test_model_dropout", 2)  # the dropout test he failed, given in full
    assert grade(course, "mlp2").returncode == 0
    row = bob()
    assert float(row["score"]) == float(before["score"]) + 2 and row["to_grade_by_hand"] == before["to_grade_by_hand"]
    assert "test_model_dropout set by hand to 2/2 (autograded 0)" in row["reasons"]
    feedback = html.unescape((course / "feedback" / "bob" / "mlp2" / "mlp2.html").read_text())
    line = next(r for r in feedback.split("<tr>") if "<code>test_model_dropout</code>" in r)
    assert "手で採点 / graded by hand" in line and "合格" not in line
    # Graded again, nbgrader asks for the score to be reviewed; it stands, and nothing waits.
    assert grade(course, "mlp2", "--regrade", "--student", "bob").returncode == 0
    assert bob() == row

    set_as_formgrader_does(course, "bob", "test_model_dropout", None)  # back to the test's own score
    assert grade(course, "mlp2").returncode == 0
    assert bob() == before


@pytest.mark.slow
def test_exports_for_an_lms_land_every_final_grade_on_its_student(graded, tmp_path):
    course, _ = graded
    with open(course / "grades.csv", newline="") as f:
        final = {(r["student_id"], r["assignment"]): r["score"] for r in csv.DictReader(f)
                 if r["status"] == "graded" and float(r["to_grade_by_hand"]) == 0}
    # A Canvas gradebook export as the roster: emi is missing from it, zoe handed nothing in.
    names = [("alice", "山田, 花子"), ("bob", "鈴木, 一郎"), ("chris", "佐藤, 健"), ("dana", "高橋, 玲"),
             ("zoe", "伊藤, 葵")]
    roster = tmp_path / "canvas.csv"
    roster.write_text("Student,ID,SIS User ID,SIS Login ID,Section,mlp1 (81001),Current Score\n"
                      "    Points Possible,,,,,10,(read only)\n"
                      + "".join(f'"{name}",{100 + i},S{i},{student},A,,\n' for i, (student, name) in enumerate(names)),
                      encoding="utf-8-sig")

    def export(*args):
        run = subprocess.run([sys.executable, "-m", "course.instructor.export", *args], cwd=course, capture_output=True,
                             text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        return run.stdout

    said = export("--format", "canvas", "--roster", str(roster), "--key", "SIS Login ID")
    data = (course / "grades-canvas.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel shows the names
    rows = list(csv.reader(data.decode("utf-8-sig").splitlines()))
    # mlp1's Canvas id from the roster; the other assignments are created by the import, with
    # their points from the Points Possible row.
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "basics", "cnn", "mlp1 (81001)",
                       "mlp2", "pooling", "scratch_cnn"]
    assert rows[1] == ["Points Possible", "", "", "", "", "20", "16", "10", "17", "23", "20"]
    lms = CanvasCourse([CanvasStudent(100 + i, name, name, f"S{i}", s) for i, (s, name) in enumerate(names)],
                       {81001: "mlp1"})
    canvas_import(data, lms)
    ids = {s.id: s.login_id for s in lms.students}
    titles = {81001: "mlp1", **{aid: title for aid, (title, _) in lms.created.items()}}
    landed = {(ids[uid], titles[aid]): grade for (uid, aid), grade in lms.grades.items() if grade is not None}
    assert landed == {k: v for k, v in final.items() if k[0] != "emi"} and not lms.unresolved
    assert sorted(points for _, points in lms.created.values()) == ["16", "17", "20", "20", "23"]
    assert "not in the roster, left out: emi" in said and "1 roster student(s) with nothing to import" in said
    assert "bob/mlp2: 2 point(s) to grade by hand" in said  # the written answer, not graded yet

    moodle = tmp_path / "moodle.csv"
    moodle.write_text("First name,Last name,Email address,Username\n"
                      + "".join(f"{n.split(', ')[1]},{n.split(', ')[0]},{s}@example.jp,{s}\n" for s, n in names))
    # The whole class at once: written answers wait, so each assignment gets a file of its own
    # (none where no grade is final yet) and every final grade goes in.
    said = export("--format", "moodle", "--roster", str(moodle), "--key", "Username")
    assert "would wait for a grade in another assignment (" in said
    users = {i: {"id": i, "email": f"{s}@example.jp", "username": s} for i, (s, _) in enumerate(names)}
    maxima = {title.split(" (")[0]: float(points) for title, points in zip(rows[0][5:], rows[1][5:], strict=True)}
    items = {i: MoodleItem(name, maximum) for i, (name, maximum) in enumerate(maxima.items(), 1)}
    lms = MoodleCourse(users, items)
    for path in course.glob("grades-moodle-*.csv"):
        assignment = path.stem.removeprefix("grades-moodle-")
        item = next(i for i, it in items.items() if it.name == assignment)
        moodle_import(path.read_bytes(), lms, "Username", "username", {assignment: item})
    assert {(users[u]["username"], items[i].name): g for (u, i), g in lms.grades.items()} == {
        k: float(v) for k, v in final.items() if k[0] != "emi"}

    export("--format", "wide", "--partial")  # nbgrader's student table; scores as they stand
    rows = list(csv.reader((course / "grades-wide.csv").read_text("utf-8-sig").splitlines()))
    assert rows[0] == ["student_id", "first_name", "last_name", "email", "basics", "cnn", "mlp1", "mlp2",
                       "pooling", "scratch_cnn", "total"]
    totals = {r[0]: float(r[-1]) for r in rows[1:]}
    lost = sum(sum(students["bob"].values()) for students in EXPECTED_LOST.values())
    assert totals["bob"] == sum(AUTOGRADED_POINTS.values()) - lost  # written answers not graded yet: 0


@pytest.mark.slow
def test_class_summary_names_the_test_most_students_fail(graded):
    course, run = graded
    page = (course / "class_summary.html").read_text()
    for assignment, students in EXPECTED_LOST.items():
        failures = {}
        for lost in students.values():
            for test in lost:
                failures[test] = failures.get(test, 0) + 1
        worst = max(failures.values())
        section = page.split(f"<h2>{assignment}</h2>")[1].split("<h2>")[0]
        named = re.search(r"Most failed: <b>([^<]*)</b>", section)[1].split(", ")
        assert set(named) == {t for t, n in failures.items() if n == worst}, assignment
        assert "data:image/png;base64," in section  # the distribution of scores
        assert f"{assignment}: most failed {', '.join(named)}" in run.stdout


def test_an_assignment_without_a_lecture_module_is_not_graded_unchecked(tmp_path):
    """Hidden tests that hand values over need the lecture's checks: without its module nothing
    would check them, and every notebook would pass."""
    shutil.copytree(COURSE / "source" / "mlp1", tmp_path / "source" / "mlp9")
    (tmp_path / "source" / "mlp9" / "mlp1.ipynb").rename(tmp_path / "source" / "mlp9" / "mlp9.ipynb")
    run = grade(tmp_path, "mlp9")
    assert run.returncode == 2 and "mlp9: hidden tests hand values over, but the course has no lecture" in run.stderr
    assert not (tmp_path / "gradebook.db").exists()


def test_the_coordinators_nbgrader_process_goes_on_after_a_notebook_it_cannot_grade(tmp_path):
    """course/grading/autograde.py: one process autogrades notebook after notebook. A notebook
    nbgrader cannot read fails with nbgrader's exit code and its own log; the gradebook's lock is
    free again at once (other processes record theirs) and the same process takes the next one."""
    import fcntl

    from course.grading.autograde import AutogradeProcess
    from course.grading.coordinator import autograde
    from course.grading.gradebook import gradebook_lock_path
    from course.grading.worker import environment

    shutil.copytree(COURSE / "source" / "mlp1", tmp_path / "source" / "mlp1")
    shutil.copy(COURSE / "nbgrader_config.py", tmp_path)
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", "mlp1", "--force"], cwd=tmp_path,
                   env=environment(), check=True, capture_output=True)
    for student in ("ann", "ben"):
        folder = tmp_path / "submitted" / student / "mlp1"
        folder.mkdir(parents=True)
        (folder / "mlp1.ipynb").write_text(f"{student}'s notebook, not JSON", "utf-8")
    process = AutogradeProcess(tmp_path, environment(), tmp_path / "logs" / "nbgrader.log")
    try:
        for student in ("ann", "ben"):
            problem = autograde(tmp_path, "mlp1", student, process)
            assert problem == "nbgrader autograde failed (exit code 1): see its log"
            log = (tmp_path / "logs" / student / "mlp1.log").read_text()
            assert f"submitted/{student}/mlp1/mlp1.ipynb" in log and "AutogradeApp" in log
            assert "ann" not in log if student == "ben" else "ben" not in log
            with gradebook_lock_path(gradebook_url(tmp_path)).open("a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises BlockingIOError while held
            assert process.alive()
        process.kill()
        assert autograde(tmp_path, "mlp1", "ann", process).startswith("the nbgrader process grading it ended")
    finally:
        process.kill()


def test_an_nbgrader_process_that_cannot_start_says_where_its_reason_is(tmp_path):
    from course.grading.autograde import AutogradeProcess
    from course.grading.coordinator import autograde
    from course.grading.worker import environment

    # A folder named `course` in the course directory comes first on the process's path.
    (tmp_path / "course").mkdir()
    (tmp_path / "course" / "__init__.py").write_text("raise ImportError('not the course package')\n", "utf-8")
    process = AutogradeProcess(tmp_path, environment(), tmp_path / "logs" / "nbgrader.log")
    try:
        problem = autograde(tmp_path, "mlp1", "ann", process)
    finally:
        process.kill()
    assert problem == "the nbgrader process grading it ended (exit code 1): see its log and logs/nbgrader.log"
    assert "ImportError: not the course package" in (tmp_path / "logs" / "nbgrader.log").read_text()
