"""Notebooks per hour grading a class with `course.instructor.grade`, and what a class would take.

    python benchmarks/class_throughput.py                  # demo class's mlp1, every set-up
    python benchmarks/class_throughput.py --assignments cnn --setups 1x2 2x2

Not a test: it prints figures for docs/benchmarks.md. Each set-up grades a scratch copy of the course
holding the demo class (each student `--copies` times) with the real command, releasing and
feedback included, under the profile (`grade` by default), in the sandbox:
- `WxT`: the local Dask cluster with W workers, T threads per kernel (`--workers W`,
  COURSE_KERNEL_THREADS=T); `1x2` is one kernel per 2 cores, `2x2` the default on 2 cores;
- `loopback`: a Dask scheduler and two worker processes of 1 thread started by hand on this
  machine (`dask scheduler`, `dask worker`, over loopback TCP), as on several machines.

Then a model of wall time: seconds per student (one student's notebooks, `--student-seconds`,
as benchmarks/grading_time.py measures them one at a time) × students ÷ 8 (a 16-core machine's
cores ÷ 2 threads) ÷ the speed-up measured here of two kernels per 2 cores (`2x2` over `1x2`).
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COURSE = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(COURSE))

from course.grading.worker import environment  # noqa: E402


def scratch_course(course: Path, assignments: list, copies: int) -> int:
    """The demo class, `copies` times over, in `course`; the number of notebooks."""
    shutil.copytree(COURSE / "source", course / "source")
    shutil.copy(COURSE / "nbgrader_config.py", course)
    notebooks = 0
    for folder in sorted((COURSE / "submitted").glob("*/*/")):
        if folder.name in assignments:
            for copy in range(copies):
                shutil.copytree(folder, course / "submitted" / f"{folder.parent.name}{copy}" / folder.name)
                notebooks += 1
    return notebooks


def loopback_cluster(scratch: Path, workers: int, env: dict) -> tuple:
    """(scheduler address, processes): a scheduler and `workers` single-thread workers, by hand."""
    scheduler_file = scratch / "scheduler.json"

    def start(*args):
        return subprocess.Popen([BIN / "dask", *args], env=env, cwd=scratch, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    processes = [start("scheduler", "--host", "127.0.0.1", "--port", "0", "--scheduler-file", scheduler_file)]
    while not scheduler_file.exists():
        time.sleep(0.2)
    address = json.loads(scheduler_file.read_text())["address"]
    processes.append(start("worker", address, "--nworkers", str(workers), "--nthreads", "1", "--host", "127.0.0.1",
                           "--no-dashboard"))
    return address, processes


def class_seconds(assignments: list, copies: int, workers: int, threads: int, loopback: bool, profile: str):
    """(wall seconds, notebooks graded) for the demo class under one set-up."""
    with tempfile.TemporaryDirectory() as scratch:
        course = Path(scratch) / "course"
        notebooks = scratch_course(course, assignments, copies)
        env = dict(environment(), COURSE_PROFILE=profile, COURSE_KERNEL_THREADS=str(threads))
        command = [sys.executable, "-m", "course", "grade", *assignments, "--quiet"]
        processes = []
        if loopback:
            address, processes = loopback_cluster(Path(scratch), workers, env)
            command += ["--scheduler", address]
        else:
            command += ["--workers", str(workers)]
        try:
            start = time.perf_counter()
            subprocess.run(command, cwd=course, env=env, check=True, capture_output=True)
            return time.perf_counter() - start, notebooks
        finally:
            for process in processes:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait()


def hours(seconds_per_student: float, students: int, kernels: float) -> str:
    return f"{seconds_per_student * students / kernels / 3600:.1f} h"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assignments", nargs="+", default=["mlp1"])
    parser.add_argument("--copies", type=int, default=1, help="grade each demo student this many times")
    parser.add_argument("--profile", default="grade")
    parser.add_argument("--setups", nargs="+", default=["1x2", "2x2", "3x2", "2x1", "loopback"],
                        help="WORKERSxTHREADS (a local cluster of that many workers, that many threads per "
                             "kernel), or loopback (a scheduler and 2 workers of 1 thread started by hand)")
    parser.add_argument("--student-seconds", type=float, nargs="+", metavar="SECONDS",
                        help="one student's notebooks of every assignment, seconds each graded one at a "
                             "time (benchmarks/grading_time.py), for the model of a whole class (needs the "
                             "set-ups 1x2 and 2x2)")
    args = parser.parse_args()
    print(f"grade the demo class ({', '.join(args.assignments)}; {args.copies} cop{'y' if args.copies == 1 else 'ies'}"
          f" of each student) under {args.profile} on {os.cpu_count()} CPU cores")
    print(f"{'set-up':<42} {'notebooks':>9} {'seconds':>8} {'per hour':>9}")
    rates = {}
    for setup in args.setups:
        loopback = setup == "loopback"
        workers, threads = (2, 1) if loopback else map(int, setup.split("x"))
        label = ("dask scheduler + 2 dask workers x 1 thread" if loopback else
                 f"local cluster, {workers} worker{'s' * (workers > 1)} x {threads} thread{'s' * (threads > 1)}")
        seconds, notebooks = class_seconds(args.assignments, args.copies, workers, threads, loopback, args.profile)
        rates[setup] = notebooks / seconds * 3600
        print(f"{label:<42} {notebooks:>9} {seconds:8.1f} {rates[setup]:9.0f}", flush=True)
    if args.student_seconds and {"1x2", "2x2"} <= rates.keys():
        per_student, speed_up = sum(args.student_seconds), rates["2x2"] / rates["1x2"]
        print(f"\nmodel: {per_student:.0f} s per student ({len(args.student_seconds)} notebooks) x students / 8 "
              f"(a 16-core machine's kernels of 2 threads) / {speed_up:.2f} (2 kernels per 2 cores, measured above)")
        for students in (100, 1000):
            print(f"  {students} students: one 16-core machine {hours(per_student, students, 8 * speed_up)}, "
                  f"ten {hours(per_student, students, 80 * speed_up)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
