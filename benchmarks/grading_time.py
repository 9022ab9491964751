"""Wall time to autograde one submission under each profile, and the accuracy its check measured.

    python benchmarks/grading_time.py                       # mlp1, alice, all three profiles
    python benchmarks/grading_time.py --assignments cnn pooling --profiles smoke grade

Not a test: it prints figures for the README and the calibration notes. Each profile grades in
a scratch copy of the course, in the sandbox as `course.grade` does; generating the assignment
is not timed, `nbgrader autograde` is.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

COURSE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(COURSE))

from course.grade_one import environment  # noqa: E402


def autograde_seconds(assignment: str, student: str, profile: str) -> tuple:
    with tempfile.TemporaryDirectory() as scratch:
        course = Path(scratch)
        shutil.copytree(COURSE / "source", course / "source")
        shutil.copytree(COURSE / "submitted" / student / assignment, course / "submitted" / student / assignment)
        shutil.copy(COURSE / "nbgrader_config.py", course)
        env = dict(environment(), COURSE_PROFILE=profile)

        def nbgrader(*args):
            subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, check=True,
                           capture_output=True)

        nbgrader("generate_assignment", assignment)
        start = time.perf_counter()
        nbgrader("autograde", assignment, "--student", student)
        seconds = time.perf_counter() - start
        nb = nbformat.read(course / "autograded" / student / assignment / f"{assignment}.ipynb", as_version=4)
        text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
        accuracies = re.findall(r"test accuracy (\d\.\d+) \(threshold (\d\.\d+)", text)
        return seconds, accuracies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assignments", nargs="+", default=["mlp1"])
    parser.add_argument("--student", default="alice")
    parser.add_argument("--profiles", nargs="+", default=["smoke", "grade", "full"])
    args = parser.parse_args()
    print(f"autograde {args.student}'s notebooks on {os.cpu_count()} CPU cores")
    print(f"{'assignment':<11} {'profile':<8} {'seconds':>8}  test accuracy (threshold)")
    for assignment in args.assignments:
        for profile in args.profiles:
            seconds, accuracies = autograde_seconds(assignment, args.student, profile)
            shown = ", ".join(f"{a} ({t})" for a, t in accuracies) or "not measured (check failed to run)"
            print(f"{assignment:<11} {profile:<8} {seconds:8.1f}  {shown}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
