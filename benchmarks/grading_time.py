"""Wall time to autograde one submission under each profile, the part of it the verifier took
after the notebook had run, the seconds its NumPy-only tasks' processes took (beside the kernel),
the test accuracies the verifier measured, and the CPU-seconds of every process the grading
started (nbgrader, the executing process, the sandboxed kernel, the verifier, the NumPy-only
processes) split into the training and evaluation budget and the rest, the fixed cost of a
notebook. The budget: the kernel's CPU inside Keras's fit, evaluate and predict, and for
scratch_cnn the cells that run its NumPy training loop (`train(...)`).

    python benchmarks/grading_time.py                       # mlp1, alice, all three profiles
    python benchmarks/grading_time.py --assignments cnn pooling --profiles smoke grade

Not a test: it prints figures for docs/benchmarks.md and the calibration notes. Each profile grades in
a scratch copy of the course, in the sandbox as `course.instructor.grade` does; generating the assignment
is not timed, `nbgrader autograde` is.
"""

import argparse
import json
import os
import re
import resource
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

# Cells the benchmark adds to the notebook it grades: the first times every cell's CPU in the
# kernel, the last prints what the kernel spent (they change nothing the notebook computes).
TIME_CELLS = """import time as _t
_cpu = []
def _start(info):
    _cpu.append([info.raw_cell, _t.process_time()])
def _end(result):
    _cpu[-1][1] = _t.process_time() - _cpu[-1][1]
get_ipython().events.register("pre_run_cell", _start)
get_ipython().events.register("post_run_cell", _end)"""
REPORT_CELL = """import json as _json
from course_kernel.profiles import BUDGET_CPU_S as _budget
print("COURSE-CPU", _json.dumps({"kernel": _t.process_time(), "keras": _budget["seconds"],
                                 "loops": sum(c for s, c in _cpu[:-1] if "= train(" in s)}))"""


def cpu_account():
    """A new cgroup counting the CPU of every process started in it, whatever cgroups of other
    controllers the sandbox moves them to, and a function reading its CPU-seconds: cgroup v1's
    cpuacct hierarchy, or cgroup v2 (cpu.stat). None where neither can be made (not root, say)."""
    for parent, usage in ((Path("/sys/fs/cgroup/cpuacct"), lambda g: int((g / "cpuacct.usage").read_text()) / 1e9),
                          (Path("/sys/fs/cgroup"), lambda g: int((g / "cpu.stat").read_text().split()[1]) / 1e6)):
        try:
            group = Path(tempfile.mkdtemp(prefix="course-benchmark-", dir=parent))
            usage(group)
            return group, usage
        except (OSError, ValueError, IndexError):
            continue
    return None


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def kept_nbgrader(course: Path, assignment: str, student: str, env: dict, account) -> tuple:
    """(nbgrader's log, wall seconds, CPU-seconds) of the notebook graded a second time by one
    nbgrader process (course/grading/autograde.py), which `course grade` keeps for a slot of the
    cluster: its own start and imports are paid once for the whole run, not by this notebook. The
    CPU is that of its cgroup, which this process joins while it is measured (it waits meanwhile)."""
    from course.grading.autograde import AutogradeProcess
    from course.protocol import Autograde

    if account:
        (account[0] / "cgroup.procs").write_text(str(os.getpid()))
    process = AutogradeProcess(course, env, course / "nbgrader.log")
    try:
        log = course / "autograde.log"
        request = Autograde(assignment, student, str(log), str(course / "outcome.json"))
        if process.autograde(request) != 0:
            raise RuntimeError(log.read_text())
        start, cpu = time.perf_counter(), account[1](account[0]) if account else 0.0
        if process.autograde(request) != 0:
            raise RuntimeError(log.read_text())
        return log.read_text(), time.perf_counter() - start, (account[1](account[0]) if account else 0.0) - cpu
    finally:
        process.kill()
        if account:
            (account[0].parent / "cgroup.procs").write_text(str(os.getpid()))


def autograde_seconds(assignment: str, student: str, profile: str, fresh_nbgrader: bool = False) -> tuple:
    with tempfile.TemporaryDirectory() as scratch:
        course = Path(scratch)
        shutil.copytree(COURSE / "source", course / "source")
        shutil.copytree(COURSE / "submitted" / student / assignment, course / "submitted" / student / assignment)
        path = course / "submitted" / student / assignment / f"{assignment}.ipynb"
        timed = nbformat.read(path, as_version=4)
        timed.cells = [nbformat.v4.new_code_cell(TIME_CELLS), *timed.cells, nbformat.v4.new_code_cell(REPORT_CELL)]
        nbformat.write(timed, path)
        shutil.copy(COURSE / "nbgrader_config.py", course)
        env = dict(environment(), COURSE_PROFILE=profile)

        def nbgrader(*args, cgroup=None):
            command = [sys.executable, "-m", "nbgrader", *args]
            if cgroup:
                command = ["sh", "-c", f"echo $$ > {cgroup / 'cgroup.procs'} && exec \"$@\"", "sh", *command]
            return subprocess.run(command, cwd=course, env=env, check=True, capture_output=True, text=True)

        nbgrader("generate_assignment", assignment)
        account = cpu_account()
        if fresh_nbgrader:  # a process of its own, as a plain `nbgrader autograde` has
            start, cpu = time.perf_counter(), children_cpu()
            log = nbgrader("autograde", assignment, "--student", student, cgroup=account and account[0]).stderr
            seconds, cpu = time.perf_counter() - start, children_cpu() - cpu
            if account:  # every process of the grading, also those their parents never waited for
                cpu = account[1](account[0])
        else:  # the process `course grade` keeps for a slot, timed on its second notebook
            log, seconds, cpu = kept_nbgrader(course, assignment, student, env, account)
        if account:
            account[0].rmdir()
        verifier = re.search(r"verified in ([\d.]+) s", log)
        numpy_only = re.search(r"NumPy-only task\(s\) ran in ([\d.]+) s", log)
        nb = nbformat.read(course / "autograded" / student / assignment / f"{assignment}.ipynb", as_version=4)
        accuracies = nb.metadata.get("course", {}).get("test_accuracy", {})
        printed = "".join(o.get("text", "") for o in nb.cells[-1].get("outputs", []))
        kernel = json.loads(printed.split("COURSE-CPU", 1)[1]) if "COURSE-CPU" in printed else {}
        budget = kernel.get("keras", 0.0) + kernel.get("loops", 0.0)
        return (seconds, float(verifier.group(1)) if verifier else None,
                float(numpy_only.group(1)) if numpy_only else 0.0, accuracies, cpu, kernel.get("kernel", 0.0), budget)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assignments", nargs="+", default=["mlp1"])
    parser.add_argument("--student", default="alice")
    parser.add_argument("--profiles", nargs="+", default=["smoke", "grade", "full"])
    parser.add_argument("--fresh-nbgrader", action="store_true",
                        help="each notebook in an `nbgrader autograde` process of its own (a plain nbgrader's "
                             "way, and `course grade`'s until 2026-12-08), not in the one process `course grade` "
                             "keeps for a slot of the cluster")
    args = parser.parse_args()
    print(f"autograde {args.student}'s notebooks on {os.cpu_count()} CPU cores")
    print(f"{'assignment':<11} {'profile':<8} {'seconds':>8} {'verifier':>8} {'NumPy-only':>10} {'CPU-s':>7} "
          f"{'kernel':>7} {'budget':>7} {'fixed':>7} {'fixed %':>7}  test accuracy")
    for assignment in args.assignments:
        for profile in args.profiles:
            seconds, verifier, numpy_only, accuracies, cpu, kernel, budget = autograde_seconds(
                assignment, args.student, profile, args.fresh_nbgrader)
            shown = ", ".join(f"{name} {value}" for name, value in accuracies.items()) or "not measured"
            print(f"{assignment:<11} {profile:<8} {seconds:8.1f} {verifier or 0:8.1f} {numpy_only:10.2f} {cpu:7.1f} "
                  f"{kernel:7.1f} {budget:7.1f} {cpu - budget:7.1f} {100 * (cpu - budget) / cpu:6.0f}%  {shown}",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
