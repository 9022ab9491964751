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
    OverwriteKernelspec,
    SaveAutoGrades,
)

from course.grading.nbgrader_plugins import (
    AddMissingGivenCells,
    DatasetReadyExporter,
    DeduplicateGradeIds,
    FeedbackTable,
    GradeOneExecute,
    HideHiddenTests,
    KeepOnlyErrorsInTests,
    RestoreCells,
)

c = get_config()  # noqa: F821 (defined by traitlets when it loads this file)

c.CourseDirectory.course_id = "keras-course"

# Students get notebooks through Colab or an LMS, not nbgrader's exchange; formgrader still looks
# for one (and logs an error on every page without it), so it gets a folder in the course.
c.Exchange.root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "exchange")
os.makedirs(c.Exchange.root, exist_ok=True)
# Formgrader shows its configuration as JSON when this is on; ours holds classes (the
# preprocessors below), which it cannot show, and it logs a warning on every page instead.
c.FormgradeExtension.debug = False

# Kernels inherit this: TensorFlow's C++ log lines would otherwise clutter every cell.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# Grading kernels have no network: autograde stops before any notebook when Fashion-MNIST
# cannot be put in Keras's cache, whichever command started it.
c.Autograde.exporter_class = DatasetReadyExporter

# A deleted test cell comes back (and is run) rather than silently losing its points, after the
# nearest cell before it that is still there (RestoreCells); of a duplicated one, the last copy is
# graded. Given cells (nbgrader's read-only cells: data, given models, given fits, test helpers)
# run as the source has them, edited or deleted; students may still edit them, to train fewer
# epochs in Colab, say, at no cost.
c.OverwriteCells.add_missing_cells = True
c.LockCells.lock_readonly_cells = False
c.Autograde.sanitize_preprocessors = [
    ClearOutput,
    DeduplicateGradeIds,
    OverwriteKernelspec,
    RestoreCells,
    AddMissingGivenCells,
    CheckCellMetadata,
]

# Notebooks execute through course.grading.execute: in a sandbox (course/grading/sandbox.py) unless
# `course.instructor.grade --no-sandbox`, each kernel started with course_kernel.profiles.prepare_kernel() (fixed
# seeds, the profile's cap on fit), on a Dask worker when `course.instructor.grade` runs autograde. Several
# autograde commands may run at once: each holds the gradebook's lock except while its notebook
# executes. The steps after execution record grades exactly as nbgrader does.
c.Autograde.autograde_preprocessors = [
    GradeOneExecute,
    KeepOnlyErrorsInTests,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]

# Feedback goes to students: a table of results first, then each test's result and message, not
# hidden tests' source.
c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor, HideHiddenTests, FeedbackTable]
