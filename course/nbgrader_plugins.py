"""nbgrader preprocessors of the course (registered in nbgrader_config.py)."""

from nbgrader.preprocessors import ClearHiddenTests, DeduplicateIds, Execute, NbGraderPreprocessor
from nbgrader.utils import is_grade, is_solution

from course.sandbox import SandboxedKernelManager


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


class HideHiddenTests(ClearHiddenTests):
    """Feedback shows which tests passed and the messages of those that failed, never the source
    of hidden tests: nbgrader puts them back in autograded notebooks, and tracebacks quote them.

    Removes each hidden region (leaving a line that says so) and reduces the tracebacks of test
    cells to their last line, the exception and its message.
    """

    enforce_metadata = False

    def preprocess_cell(self, cell, resources, index):
        if not (cell.cell_type == "code" and is_grade(cell) and not is_solution(cell)):
            return cell, resources
        if self.begin_test_delimeter in cell.source:
            self._remove_hidden_test_region(cell)
            cell.source = cell.source.rstrip() + "\n# (採点用の非公開テスト / hidden tests)"
        for output in cell.outputs:
            if output.output_type == "error":
                output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources


class SandboxedExecute(Execute):
    """nbgrader's Execute, each kernel started in the sandbox (course/sandbox.py)."""

    def __init__(self, *args, **kwargs):
        # Execute sets its kernel manager this way, which configuration cannot override.
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)


class DeduplicateGradeIds(DeduplicateIds):
    """nbgrader's DeduplicateIds, which makes all but the last copy of a duplicated graded cell an
    ordinary cell, without the empty `nbgrader` metadata it leaves and OverwriteCells (with
    add_missing_cells) then fails on."""

    def preprocess_cell(self, cell, resources, index):
        cell, resources = super().preprocess_cell(cell, resources, index)
        if cell.metadata.get("nbgrader") == {}:
            del cell.metadata["nbgrader"]
        return cell, resources
