"""nbgrader preprocessors of the course (registered in nbgrader_config.py)."""

from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade, is_solution


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
