"""Wall time to autograde one submission under each profile, the part of it the verifier took
after the notebook had run, the seconds its NumPy-only tasks' processes took (beside the kernel),
and the test accuracies the verifier measured.

    python benchmarks/grading_time.py                       # mlp1, alice, all three profiles
    python benchmarks/grading_time.py --assignments cnn pooling --profiles smoke grade

Not a test: it prints figures for docs/benchmarks.md and the calibration notes. Each profile grades in
a scratch copy of the course, in the sandbox as `course.instructor.grade` does; generating the assignment
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

from course.grading.worker import environment  # noqa: E402


def autograde_seconds(assignment: str, student: str, profile: str) -> tuple:
    with tempfile.TemporaryDirectory() as scratch:
        course = Path(scratch)
        shutil.copytree(COURSE / "source", course / "source")
        shutil.copytree(COURSE / "submitted" / student / assignment, course / "submitted" / student / assignment)
        shutil.copy(COURSE / "nbgrader_config.py", course)
        env = dict(environment(), COURSE_PROFILE=profile)

        def nbgrader(*args):
            return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, check=True,
                                  capture_output=True, text=True)

        nbgrader("generate_assignment", assignment)
        start = time.perf_counter()
        log = nbgrader("autograde", assignment, "--student", student).stderr
        seconds = time.perf_counter() - start
        verifier = re.search(r"verified in ([\d.]+) s", log)
        numpy_only = re.search(r"NumPy-only task\(s\) ran in ([\d.]+) s", log)
        nb = nbformat.read(course / "autograded" / student / assignment / f"{assignment}.ipynb", as_version=4)
        accuracies = nb.metadata.get("course", {}).get("test_accuracy", {})
        return (seconds, float(verifier.group(1)) if verifier else None,
                float(numpy_only.group(1)) if numpy_only else 0.0, accuracies)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assignments", nargs="+", default=["mlp1"])
    parser.add_argument("--student", default="alice")
    parser.add_argument("--profiles", nargs="+", default=["smoke", "grade", "full"])
    args = parser.parse_args()
    print(f"autograde {args.student}'s notebooks on {os.cpu_count()} CPU cores")
    print(f"{'assignment':<11} {'profile':<8} {'seconds':>8} {'verifier':>8} {'NumPy-only':>10}  test accuracy")
    for assignment in args.assignments:
        for profile in args.profiles:
            seconds, verifier, numpy_only, accuracies = autograde_seconds(assignment, args.student, profile)
            shown = ", ".join(f"{name} {value}" for name, value in accuracies.items()) or "not measured"
            print(f"{assignment:<11} {profile:<8} {seconds:8.1f} {verifier or 0:8.1f} {numpy_only:10.2f}  {shown}",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
