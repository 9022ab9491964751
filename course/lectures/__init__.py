"""What each lecture expects of its notebook: one module per lecture (its test cells' checks,
inputs and NumPy-only tasks), the checks they are built from, references, thresholds.

Adding a lecture: its notebook in source/, its module here (a `LECTURE`), a line below, and its
thresholds (`course calibrate`); see docs/development.md.
"""

from course.lectures import basics, cnn, mlp1, mlp2, pooling, scratch_cnn

# {assignment: Lecture}
LECTURES = {module.LECTURE.name: module.LECTURE for module in (basics, mlp1, mlp2, cnn, pooling, scratch_cnn)}
