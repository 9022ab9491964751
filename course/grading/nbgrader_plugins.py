"""nbgrader plugins of the course (registered in nbgrader_config.py)."""

import fcntl
import os
import re
import sys
from pathlib import Path

import nbformat
from nbconvert.exporters import NotebookExporter
from nbgrader.api import Gradebook
from nbgrader.converters.base import NbGraderException
from nbgrader.preprocessors import ClearHiddenTests, DeduplicateIds, NbGraderPreprocessor, OverwriteCells
from nbgrader.utils import is_grade, is_solution

from course import protocol
from course.data import DatasetError, ensure_fashion_mnist
from course.grading.gradebook import gradebook_lock_path
from course.grading.intake import grading_files
from course.protocol import NotGraded
from course.templates import render

# The lock an `nbgrader autograde` holds from its start to its end, except while a notebook
# executes (see GradeOneExecute): so several run at once, one writing at a time.
_autograde_lock = None


def release_gradebook() -> None:
    """Let the gradebook's lock go: an `nbgrader autograde` run in a process that goes on
    (course/grading/autograde.py) has ended."""
    global _autograde_lock
    if _autograde_lock is not None:
        _autograde_lock.close()
        _autograde_lock = None


class DatasetReadyExporter(NotebookExporter):
    """The exporter `nbgrader autograde` runs every notebook through, made once per command before
    any submission is touched: it takes the gradebook's lock, and checks that Fashion-MNIST is in
    Keras's cache, where grading kernels (which have no network) read it.

    When the data cannot be had, autograde stops there with what to install or where to put which
    file, and records nothing. Without this, every notebook would lose the points of every cell
    after `load_data()`.
    """

    def __init__(self, *args, **kwargs):
        global _autograde_lock
        super().__init__(*args, **kwargs)
        path = gradebook_lock_path(self.parent.coursedir.db_url) if self.parent else None
        if path is not None and _autograde_lock is None:
            _autograde_lock = path.open("a")  # released when the process ends, however it ends, or by release_gradebook
            fcntl.flock(_autograde_lock, fcntl.LOCK_EX)
        try:
            ensure_fashion_mnist()
        except DatasetError as error:
            self.log.error("%s\nNothing was graded.", error)
            raise NbGraderException(str(error)) from None


TEMPLATES = Path(__file__).with_name("templates")
# Where `course grade` wants the reason a notebook was not graded (internal: set per notebook).
OUTCOME_FILE = "COURSE_OUTCOME_FILE"


class GradeOneExecute(NbGraderPreprocessor):
    """nbgrader's Execute step, done by course.grading.execute.run_task: on the Dask cluster whose
    scheduler COURSE_SCHEDULER names (`course.instructor.grade` sets it), or else in this process.

    Lets other autograde processes record their grades meanwhile (the only long step, and one that
    does not touch the gradebook). A notebook that could not be executed fails autograde with the
    reason, and nothing is recorded; `course grade` gets the reason as a course.protocol.NotGraded
    in the file COURSE_OUTCOME_FILE names.
    """

    def preprocess(self, nb, resources):
        from course.grading.execute import run_task
        from course.grading.worker import fingerprint
        from course.protocol import Task
        from course_kernel import settings

        folder = Path(resources["metadata"]["path"])
        info = resources.get("nbgrader", {})
        assignment = info.get("assignment") or folder.name
        task = Task(
            name=f"{info.get('student', folder.parent.name)}/{assignment}",
            assignment=assignment,
            notebook=nbformat.writes(nb),
            # Only what the assignment declares (course.grading.intake): nothing handed in can shadow a module.
            files=grading_files(folder, assignment),
            settings=settings.carried(),
            timeout=settings.read().notebook_timeout_s,
        )
        address = settings.read().scheduler
        if _autograde_lock is not None:
            fcntl.flock(_autograde_lock, fcntl.LOCK_UN)
        try:
            if address:
                from course.grading.cluster import run_on_cluster

                task.fingerprint = fingerprint()  # another machine's worker must grade as this one
                result = run_on_cluster(task, address)
            else:
                result = run_task(task)
        except Exception as error:  # a refusing worker, a lost scheduler: the reason (the traceback: the log)
            self.log.error("The notebook was not executed", exc_info=True)
            result = None
            problem = str(error).splitlines()[0] if str(error) else type(error).__name__
        finally:
            if _autograde_lock is not None:
                fcntl.flock(_autograde_lock, fcntl.LOCK_EX)
        if result is not None:
            self.log.info("executed on %s in %.0f s", result.worker, result.seconds)
            sys.stderr.write(result.log)
            problem = result.problem
        if problem:
            if os.environ.get(OUTCOME_FILE):
                protocol.write(NotGraded(problem), Path(os.environ[OUTCOME_FILE]))
            self.log.error("Not graded: %s", problem)
            raise NbGraderException(problem)
        return nbformat.reads(result.notebook, as_version=4), resources


class RestoreCells(OverwriteCells):
    """nbgrader's OverwriteCells, but a deleted test cell goes back after the nearest earlier cell
    of the source that the notebook still has. nbgrader puts it after the source cell just before
    it, and fails (a KeyError, and the notebook is not graded) when that one is a given cell, such
    as the test helpers before a model's test."""

    def add_missing_grade_cells(self, nb, resources):
        source = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        tests = {c.name: c for c in source.grade_cells}
        solutions = {c.name for c in source.solution_cells}
        cells = source.source_cells
        for position, cell in enumerate(cells):
            present = {c.metadata.get("nbgrader", {}).get("grade_id"): i for i, c in enumerate(nb.cells)}
            if cell.name not in tests or cell.name in present:
                continue
            self.log.warning("Missing grade cell %s encountered, adding to notebook", cell.name)
            restored = self.missing_cell_transform(cell, tests[cell.name].max_score, is_solution=cell.name in solutions)
            earlier = [present[c.name] for c in cells[:position] if c.name in present]
            nb.cells.insert(max(earlier) + 1 if earlier else 0, restored)
        return nb, resources


class AddMissingGivenCells(NbGraderPreprocessor):
    """Put back the given cells a student deleted: nbgrader's read-only cells (data loading, given
    models, given `fit` calls), which grading runs as the source notebook has them. nbgrader's
    OverwriteCells restores an edited one, but `add_missing_cells` puts back only graded cells.

    A restored cell goes after the nearest earlier cell of the source that the notebook still has.
    """

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gradebook:
            notebook = gradebook.find_notebook(info["notebook"], info["assignment"])
            graded = {c.name for c in notebook.grade_cells} | {c.name for c in notebook.solution_cells}
            source = [(c.name, c.cell_type, c.source, c.checksum, c.locked) for c in notebook.source_cells]
        for position, (name, cell_type, text, checksum, locked) in enumerate(source):
            present = {c.metadata.get("nbgrader", {}).get("grade_id"): i for i, c in enumerate(nb.cells)}
            if not locked or name in graded or name in present:
                continue
            earlier = [present[s[0]] for s in source[:position] if s[0] in present]
            new_cell = nbformat.v4.new_code_cell if cell_type == "code" else nbformat.v4.new_markdown_cell
            cell = new_cell(text, metadata={"nbgrader": {
                "grade": False, "solution": False, "locked": True, "grade_id": name, "checksum": checksum,
                "schema_version": 3}})
            self.log.warning("Given cell %s was missing: added back", name)
            nb.cells.insert(max(earlier) + 1 if earlier else 0, cell)
        return nb, resources


class KeepOnlyErrorsInTests(NbGraderPreprocessor):
    """Make an exception the only thing that costs a test cell its points.

    nbgrader scores a test cell 0 when it wrote anything to stderr (TensorFlow's and Keras's
    warnings do) and takes a number as its last expression's value as partial credit (student
    code can arrange that). Runs after Execute: drops those outputs from autograded test cells.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and is_grade(cell) and not is_solution(cell):
            cell.outputs = [
                output
                for output in cell.outputs
                if output.output_type != "execute_result"
                and not (output.output_type == "stream" and output.name == "stderr")
            ]
        return cell, resources


# Where the grading machine keeps Python's packages, as warnings and tracebacks quote it.
PACKAGES_FOLDER = re.compile(r"[^\s'\"(]*[/\\](?:site|dist)-packages[/\\]")


class HideHiddenTests(ClearHiddenTests):
    """Feedback shows which tests passed and the messages of those that failed, never the source
    of hidden tests: nbgrader puts them back in autograded notebooks, and tracebacks quote them.
    Nor does it show the grading machine's folders.

    Removes each hidden region (leaving a line that says so), reduces the tracebacks of test cells
    to their last line, the exception and its message, and shortens a package's file in any
    output to its path inside the package (`keras/src/layers/core/dense.py: UserWarning`).
    """

    enforce_metadata = False

    def preprocess_cell(self, cell, resources, index):
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                output.text = PACKAGES_FOLDER.sub("", output.text)
            elif output.output_type == "error":
                output.traceback = [PACKAGES_FOLDER.sub("", line) for line in output.traceback]
        if not (cell.cell_type == "code" and is_grade(cell) and not is_solution(cell)):
            return cell, resources
        if self.begin_test_delimeter in cell.source:
            self._remove_hidden_test_region(cell)
            cell.source = cell.source.rstrip() + "\n# (採点用の非公開テスト / hidden tests)"
        for output in cell.outputs:
            if output.output_type == "error":
                output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources


class DeduplicateGradeIds(DeduplicateIds):
    """nbgrader's DeduplicateIds, which makes all but the last copy of a duplicated graded cell an
    ordinary cell, without the empty `nbgrader` metadata it leaves and OverwriteCells (with
    add_missing_cells) then fails on."""

    def preprocess_cell(self, cell, resources, index):
        cell, resources = super().preprocess_cell(cell, resources, index)
        if cell.metadata.get("nbgrader") == {}:
            del cell.metadata["nbgrader"]
        return cell, resources


class FeedbackTable(NbGraderPreprocessor):
    """The feedback page begins with a table: each graded cell, its points, whether it passed, and
    its message (the checks' Japanese, then English), so a student sees at once what was lost.
    Runs after GetGrades (which puts each cell's score in its metadata) and HideHiddenTests."""

    def preprocess(self, nb, resources):
        ids = resources["nbgrader"]
        with Gradebook(ids["db_url"]) as gradebook:
            notebook = gradebook.find_submission_notebook(ids["notebook"], ids["assignment"], ids["student"])
            waiting = {g.name for g in notebook.grades if g.needs_manual_grade}
            by_hand = {g.name for g in notebook.grades if g.manual_score is not None}
        rows = []
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if not (is_grade(cell) and "points" in meta):
                continue
            score, points = meta.get("score") or 0, meta["points"]
            if cell.cell_type == "markdown":  # a written answer, graded by hand
                result = "採点待ち / not graded yet" if meta["grade_id"] in waiting else "手で採点 / graded by hand"
                message = meta.get("comment") or ""
            else:
                errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
                result = "✔ 合格 / passed" if score >= points else "✘ 不合格 / failed"
                if meta["grade_id"] in by_hand:  # an instructor's score, over what the test gave
                    result = "手で採点 / graded by hand"
                # The checks' messages: a Japanese line, an English line, then data.
                message = "\n".join(f"{errors[-1].ename}: {errors[-1].evalue}".splitlines()[:2]) if errors else ""
            rows.append({"test": meta["grade_id"], "score": score, "points": points, "result": result,
                         "message": message})
        if rows:
            total = f"{ids['score']:g} / {ids['max_score']:g}"
            table = render(TEMPLATES, "feedback_table.html.j2", rows=rows)
            nb.cells.insert(0, nbformat.v4.new_markdown_cell(f"## 採点結果 / Results: {total}\n\n{table}"))
        return nb, resources
