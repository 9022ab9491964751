"""nbgrader settings of the course (the repository root is the course directory)."""

import os

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearOutput,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)

from course.nbgrader_plugins import (
    AddMissingGivenCells,
    ConcurrentExecute,
    DatasetReadyExporter,
    DeduplicateGradeIds,
    HideHiddenTests,
    KeepOnlyErrorsInTests,
    SandboxedExecute,
)
from course.profiles import KERNEL_ARGS

c = get_config()  # noqa: F821 (defined by traitlets when it loads this file)

c.CourseDirectory.course_id = "keras-course"

# Kernels inherit this: TensorFlow's C++ log lines would otherwise clutter every cell.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# Every kernel starts with course.profiles.prepare_kernel(): fixed seeds and the profile's
# cap on fit, whatever the notebook says or deletes.
c.Execute.extra_arguments = KERNEL_ARGS
# A training cell under the grade profile takes seconds to a minute; the lecture's full epochs
# on a CPU take minutes. The default 30 s would fail a correct submission. (`course.grade
# --timeout` bounds a whole notebook.)
c.Execute.timeout = int(os.environ.get("COURSE_CELL_TIMEOUT_S", "600"))

# Grading kernels have no network: autograde stops before any notebook when Fashion-MNIST
# cannot be put in Keras's cache, whichever command started it.
c.Autograde.exporter_class = DatasetReadyExporter

# A deleted test cell comes back (and is run) rather than silently losing its points; of a
# duplicated one, the last copy is graded. Given cells (nbgrader's read-only cells: data, given
# models, given fits) run as the source has them, edited or deleted; students may still edit
# them, to train fewer epochs in Colab, say, at no cost.
c.OverwriteCells.add_missing_cells = True
c.LockCells.lock_readonly_cells = False
c.Autograde.sanitize_preprocessors = [
    ClearOutput,
    DeduplicateGradeIds,
    OverwriteKernelspec,
    OverwriteCells,
    AddMissingGivenCells,
    CheckCellMetadata,
]

# Students' code runs in a sandbox (course/sandbox.py) unless `course.grade --no-sandbox`. Several
# autograde commands may run at once (`course.grade --workers`): each holds the gradebook's lock
# except while its notebook executes.
c.Autograde.autograde_preprocessors = [
    ConcurrentExecute if os.environ.get("COURSE_SANDBOX") == "off" else SandboxedExecute,
    KeepOnlyErrorsInTests,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]

# Feedback goes to students: it shows each test's result and message, not hidden tests' source.
c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor, HideHiddenTests]
