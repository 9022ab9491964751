from nbformat.v4 import new_code_cell, new_notebook, new_output
from nbgrader.utils import determine_grade

from course.grading.nbgrader_plugins import DeduplicateGradeIds, HideHiddenTests, KeepOnlyErrorsInTests


def graded_cell(*outputs, solution=False):
    cell = new_code_cell("check_layers(model, expected)", outputs=list(outputs))
    cell.metadata["nbgrader"] = {"grade": True, "solution": solution, "points": 3, "grade_id": "t"}
    return cell


def after_plugin(cell):
    nb, _ = KeepOnlyErrorsInTests().preprocess(new_notebook(cells=[cell]), {})
    return nb.cells[0]


def grade_after_plugin(cell):
    return determine_grade(after_plugin(cell))[0]


def test_warnings_on_stderr_and_a_numeric_last_value_cost_nothing():
    stderr = new_output("stream", name="stderr", text="UserWarning: Do not pass an `input_shape`\n")
    number = new_output("execute_result", data={"text/plain": "0.5"}, execution_count=1)
    stdout = new_output("stream", name="stdout", text="test accuracy 0.85\n")
    assert determine_grade(graded_cell(stderr, stdout))[0] == 0  # what plain nbgrader does
    assert grade_after_plugin(graded_cell(stderr, number, stdout)) == 3


def test_an_exception_still_costs_the_points():
    error = new_output("error", ename="AssertionError", evalue="Layer 2 differs", traceback=[])
    assert grade_after_plugin(graded_cell(error)) == 0


def test_solution_cells_keep_their_outputs():
    stderr = new_output("stream", name="stderr", text="warning\n")
    assert after_plugin(graded_cell(stderr, solution=True)).outputs == [stderr]


def test_feedback_keeps_messages_but_not_hidden_tests():
    error = new_output("error", ename="AssertionError", evalue="層の数が違います / Expected 2 layers",
                       traceback=["Traceback", "----> 3 check_layers(model, SECRET)", "AssertionError: ..."])
    cell = graded_cell(error)
    cell.source = ("assert len(model.layers) == 2\n"
                   "### BEGIN HIDDEN TESTS\ncheck_layers(model, SECRET)\n### END HIDDEN TESTS")
    nb, _ = HideHiddenTests().preprocess(new_notebook(cells=[cell]), {})
    shown = nb.cells[0]
    assert "SECRET" not in shown.source and "SECRET" not in str(shown.outputs)
    assert shown.source.startswith("assert len(model.layers) == 2\n") and "hidden tests" in shown.source
    assert shown.outputs[0].traceback == ["AssertionError: 層の数が違います / Expected 2 layers"]


def test_feedback_shows_no_folder_of_the_grading_machine():
    warning = new_output("stream", name="stderr", text=(
        "/srv/course/.venv/lib/python3.11/site-packages/keras/src/layers/core/dense.py:93: UserWarning: "
        "Do not pass an `input_shape`\n"))
    error = new_output("error", ename="ValueError", evalue="rank", traceback=[
        "File /usr/lib/python3/dist-packages/numpy/core/fromnumeric.py:59, in _wrapfunc", "ValueError: rank"])
    cell = new_code_cell("model.fit(x, y)", outputs=[warning, error])
    nb, _ = HideHiddenTests().preprocess(new_notebook(cells=[cell]), {})
    shown = nb.cells[0].outputs
    assert shown[0].text.startswith("keras/src/layers/core/dense.py:93: UserWarning")
    assert shown[1].traceback[0] == "File numpy/core/fromnumeric.py:59, in _wrapfunc"


def test_of_duplicated_graded_cells_the_last_is_graded_and_the_others_are_plain():
    first, last = graded_cell(), graded_cell()
    nb, _ = DeduplicateGradeIds().preprocess(new_notebook(cells=[first, last]), {})
    assert "nbgrader" not in nb.cells[0].metadata
    assert nb.cells[1].metadata["nbgrader"]["grade_id"] == "t"


def test_an_autograde_process_lets_others_write_the_gradebook_only_while_its_notebook_runs(tmp_path, monkeypatch):
    import fcntl

    from course.grading import execute as grade_one
    from course.grading import nbgrader_plugins
    from course.protocol import Result

    lock_file = tmp_path / "gradebook.db.lock"

    def others_can_lock():
        with lock_file.open("a") as other:
            try:
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True

    held = lock_file.open("a")
    fcntl.flock(held, fcntl.LOCK_EX)
    monkeypatch.setattr(nbgrader_plugins, "_autograde_lock", held)
    seen = []

    def run_task(task):
        seen.append(others_can_lock())
        return Result(notebook=task.notebook, problem=None, log="", seconds=0, worker="here")

    monkeypatch.setattr(grade_one, "run_task", run_task)
    monkeypatch.delenv("COURSE_SCHEDULER", raising=False)
    assert not others_can_lock()
    nbgrader_plugins.GradeOneExecute().preprocess(new_notebook(), {"metadata": {"path": str(tmp_path)}})
    assert seen == [True] and not others_can_lock()
