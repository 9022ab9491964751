"""Grade the class in one command.

    course grade                  # every assignment in source/
    course grade mlp1 --regrade   # grade again what was graded before
    course grade mlp1 --regrade --student dana --student emi   # only theirs
    course grade --timeout 600    # at most 10 minutes per notebook
    course grade --quiet          # no progress bar (scheduled runs)
    course grade --workers 4      # a local Dask cluster of four workers
    course grade --scheduler tls://head:8786 --certificates DIR/client   # on an existing Dask cluster

For each assignment: regenerate release/ from source/; check every notebook in
submitted/<student>/<assignment>/ (Colab's `Copy of mlp1.ipynb` is renamed; an empty, broken or
wrong notebook is not graded, with the reason); autograde each student's notebook on its own,
in a sandbox (see course/grading/sandbox.py), within a wall time per notebook; rewrite feedback/ without
the source of hidden tests. Then write the class report, grades.csv: one row per student and
notebook with the score, the maximum and the reason for every lost point.

The terminal shows a progress bar and one line per graded notebook; nbgrader's and TensorFlow's
output goes to logs/<student>/<assignment>.log (logs/nbgrader.log for releasing and feedback).

Notebooks graded before are kept unless --regrade, or unless the student handed in again
(grading_state.json remembers what was graded); a notebook that could not be graded is not
tried again until it changes. Run it in the course's environment (`make grade`): nbgrader
starts `alembic` and the kernel from PATH.

The steps live in modules of their own: course.grading.intake (is a notebook gradable), course.grading.coordinator
(what to grade, grading it on the Dask cluster of course.grading.cluster, the grading state),
course.grading.execute (executing one notebook, on a worker), course.instructor.report (grades.csv).
"""

import argparse
import subprocess
import sys
from pathlib import Path

from course.data import DatasetError, ensure_fashion_mnist
from course.grading.cluster import scheduler_problem
from course.grading.coordinator import NBGRADER_LOG, grade_on_cluster, load_state, save_state, submissions_to_grade
from course.grading.intake import source_grade_ids
from course.grading.worker import environment, kernel_problem
from course.instructor.report import REPORT, SUMMARY, print_table, update_report, write_summary
from course.lectures import LECTURES
from course_kernel import settings
from course_kernel.profiles import grading_profile


def nbgrader(course: Path, *args: str, env: dict) -> bool:
    """Run one nbgrader command, its output added to logs/nbgrader.log; on failure say so and go on
    (what is graded stays graded)."""
    log = course / NBGRADER_LOG
    log.parent.mkdir(exist_ok=True)
    with log.open("a", encoding="utf-8") as out:
        out.write(f"\n$ nbgrader {' '.join(args)}\n")
        out.flush()
        done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, stdout=out,
                              stderr=subprocess.STDOUT)
    if done.returncode:
        tail = "".join(log.read_text("utf-8").splitlines(keepends=True)[-15:])
        print(f"{tail}ERROR `nbgrader {' '.join(args)}` failed (log: {log}); grades already in "
              "gradebook.db are kept. Fix what it reports and run this command again.", file=sys.stderr)
    return done.returncode == 0


def _hands_over(source: Path) -> bool:
    """Whether a source assignment's hidden tests hand values over to a verifier."""
    return any("hand_over(" in path.read_text("utf-8") for path in source.glob("*.ipynb"))


def main(argv=None) -> int:
    try:
        configured = settings.read()
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignments", nargs="*", help="assignment ids (default: every folder in source/)")
    parser.add_argument("--regrade", action="store_true", help="autograde again submissions graded before")
    parser.add_argument("--student", action="append", dest="students", metavar="STUDENT",
                        help="grade only this student's notebooks (a folder in submitted/; may be repeated); "
                             "the report keeps everyone")
    parser.add_argument("--course", type=Path, default=Path.cwd(), help="the course directory (default: here)")
    parser.add_argument("--timeout", type=float, default=configured.notebook_timeout_s,
                        help=f"wall time per notebook, seconds ({configured.notebook_timeout_s:g}; also "
                             "COURSE_NOTEBOOK_TIMEOUT_S)")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run students' code with your permissions (only where bubblewrap cannot run)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar, no line per graded notebook")
    parser.add_argument("--workers", type=int,
                        help="worker processes of the local Dask cluster (default: twice CPU cores / "
                             "COURSE_KERNEL_THREADS, the threads each kernel uses, 2 by default; at most "
                             "memory / COURSE_MEMORY_LIMIT_GB)")
    parser.add_argument("--scheduler", default=configured.scheduler, metavar="ADDRESS",
                        help="grade on the Dask cluster of this scheduler (tls://host:8786; also "
                             "COURSE_SCHEDULER) instead of a local one")
    parser.add_argument("--certificates", type=Path, default=configured.tls_dir, metavar="DIR",
                        help="the client's certificates for a tls:// scheduler (DIR/client of "
                             "`course certificates DIR`; also COURSE_TLS_DIR)")
    parser.add_argument("--trusted-network", action="store_true",
                        help="allow a tcp:// scheduler: only where every machine that can reach it is the course's")
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        parser.error("--workers takes a number of at least 1")
    course = args.course.resolve()
    insecure = scheduler_problem(args.scheduler, args.certificates, args.trusted_network)
    if insecure:
        print(insecure, file=sys.stderr)
        return 1

    assignments = args.assignments or sorted(p.name for p in (course / "source").iterdir() if p.is_dir())
    unknown = [a for a in assignments if not (course / "source" / a).is_dir()]
    if unknown:
        print(f"No such assignment in {course / 'source'}: {', '.join(unknown)}", file=sys.stderr)
        return 2
    unchecked = [a for a in assignments if a not in LECTURES and _hands_over(course / "source" / a)]
    if unchecked:
        print(f"{', '.join(unchecked)}: hidden tests hand values over, but the course has no lecture module to check "
              f"them (course/lectures/<name>.py, registered in course/lectures/__init__.py; see "
              "docs/development.md, Adding a lecture). Nothing was graded.", file=sys.stderr)
        return 2
    absent = [s for s in args.students or [] if not (course / "submitted" / s).is_dir()]
    if absent:
        print(f"No such student in {course / 'submitted'}: {', '.join(absent)} (a folder per student)",
              file=sys.stderr)
        return 2
    sandbox = not args.no_sandbox
    try:
        ensure_fashion_mnist()
        profile = grading_profile()
        # The local cluster's workers are this machine: say now, before anything is released.
        problem = None if args.scheduler else kernel_problem(sandbox)
    except (DatasetError, ValueError) as error:
        problem = str(error)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    budgets = "; ".join(f"{a}: {grading_profile(a).description}" for a in assignments)
    print(f"Grading under the {profile.name} profile ({budgets}), "
          + ("each notebook in a sandbox." if sandbox else "WITHOUT a sandbox (--no-sandbox)."))

    env = dict(environment(sandbox), COURSE_NOTEBOOK_TIMEOUT_S=str(args.timeout))
    grade_ids = source_grade_ids(course)
    state = load_state(course)

    ok = True
    released, todo = [], []
    for assignment in assignments:
        if not nbgrader(course, "generate_assignment", assignment, "--force", env=env):
            ok = False
            continue
        released.append(assignment)
        pending, checked = submissions_to_grade(course, assignment, args.regrade, state, grade_ids,
                                                 args.students)
        todo += [(assignment, *submission) for submission in pending]
        ok &= checked
    save_state(course, state)
    # The longest assignments first (Lecture.grading_seconds); each one's students stay in order.
    todo.sort(key=lambda task: -getattr(LECTURES.get(task[0]), "grading_seconds", 0.0))
    if todo:
        try:
            ok &= grade_on_cluster(course, todo, state, env, args)
        except KeyboardInterrupt:
            print("\nInterrupted: every notebook graded so far is kept; run the same command again to "
                  "grade the rest.", file=sys.stderr)
            return 130
        except OSError as error:
            if args.scheduler:  # a scheduler that cannot be reached
                print(f"Could not reach the Dask scheduler at {args.scheduler}: {error}. Start one (`dask "
                      "scheduler`) or grade on this machine without --scheduler; nothing graded is lost.",
                      file=sys.stderr)
            else:  # this machine's own trouble: a full disk, too many open files, no free port
                print(f"Grading stopped: {error}. Every notebook graded so far is kept; fix that and run the "
                      "same command again.", file=sys.stderr)
            return 1

    for assignment in released:
        if any((course / "submitted").glob(f"*/{assignment}")):
            # Always: feedback must show grades given by hand since the last run.
            ok &= nbgrader(course, "generate_feedback", assignment, "--force", env=env)
        else:
            print(f"No submissions of {assignment} in {course / 'submitted'}: released only.")

    rows = update_report(course)
    print_table(rows, assignments)
    worst = write_summary(course, rows)
    print()
    for assignment in assignments:
        if worst.get(assignment):
            print(f"{assignment}: most failed {', '.join(worst[assignment])}")
    print(f"\nReport: {course / REPORT}; class summary: {course / SUMMARY}; feedback in {course / 'feedback'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
