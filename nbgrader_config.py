"""nbgrader settings of the course (the repository root is the course directory)."""

import os

from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    Execute,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)

from course.nbgrader_plugins import KeepOnlyErrorsInTests
from course.profiles import KERNEL_ARGS

c = get_config()  # noqa: F821 (defined by traitlets when it loads this file)

c.CourseDirectory.course_id = "keras-course"

# Kernels inherit this: TensorFlow's C++ log lines would otherwise clutter every cell.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# Every kernel starts with course.profiles.prepare_kernel(): fixed seeds and the profile's
# cap on fit, whatever the notebook says or deletes.
c.Execute.extra_arguments = KERNEL_ARGS
# A training cell under the grade profile takes seconds; the lecture's full epochs on a CPU
# take minutes. The default 30 s would fail a correct submission.
c.Execute.timeout = 600

# A deleted test cell comes back (and is run) rather than silently losing its points.
c.OverwriteCells.add_missing_cells = True

c.Autograde.autograde_preprocessors = [
    Execute,
    KeepOnlyErrorsInTests,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
