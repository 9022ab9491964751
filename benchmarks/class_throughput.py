"""Notebooks per hour grading a class with `course.grade --workers N`, and what a class takes.

    python benchmarks/class_throughput.py                        # demo class's mlp1, 1 and 2 workers
    python benchmarks/class_throughput.py --assignments mlp1 mlp2 --workers 1 2 --copies 2

Not a test: it prints figures for the README. Each run grades a scratch copy of the course
holding the demo class (each student `--copies` times) with the real command, releasing and
feedback included, under the profile (`grade` by default), in the sandbox.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COURSE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(COURSE))

from course.grade import environment  # noqa: E402


def class_seconds(assignments: list, copies: int, workers: int, profile: str) -> tuple:
    """(wall seconds, notebooks graded) for the demo class, `copies` times over."""
    with tempfile.TemporaryDirectory() as scratch:
        course = Path(scratch)
        shutil.copytree(COURSE / "source", course / "source")
        shutil.copy(COURSE / "nbgrader_config.py", course)
        notebooks = 0
        for folder in sorted((COURSE / "submitted").glob("*/*/")):
            if folder.name in assignments:
                for copy in range(copies):
                    shutil.copytree(folder, course / "submitted" / f"{folder.parent.name}{copy}" / folder.name)
                    notebooks += 1
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "course.grade", *assignments, "--workers", str(workers), "--quiet"],
                       cwd=course, env=dict(environment(), COURSE_PROFILE=profile), check=True, capture_output=True)
        return time.perf_counter() - start, notebooks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assignments", nargs="+", default=["mlp1"])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--copies", type=int, default=1, help="grade each demo student this many times")
    parser.add_argument("--profile", default="grade")
    args = parser.parse_args()
    print(f"grade the demo class ({', '.join(args.assignments)}; {args.copies} cop{'y' if args.copies == 1 else 'ies'}"
          f" of each student) under {args.profile} on {os.cpu_count()} CPU cores")
    # A class of N students hands in one notebook of each assignment graded here.
    print(f"{'workers':>7} {'notebooks':>9} {'seconds':>8} {'per hour':>9} {'100 students':>13} {'1000 students':>14}")
    for workers in args.workers:
        seconds, notebooks = class_seconds(args.assignments, args.copies, workers, args.profile)
        per_hour = notebooks / seconds * 3600
        hours = [students * len(args.assignments) / per_hour for students in (100, 1000)]
        print(f"{workers:>7} {notebooks:>9} {seconds:8.1f} {per_hour:9.0f} {hours[0]:12.1f}h {hours[1]:13.1f}h",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
