"""Grade the class in one command.

    python -m course.grade                  # every assignment in source/
    python -m course.grade mlp1 --regrade   # grade again what was graded before
    python -m course.grade --timeout 600    # at most 10 minutes per notebook
    python -m course.grade --quiet          # no progress bar (scheduled runs)
    python -m course.grade --workers 4      # a local Dask cluster of four workers
    python -m course.grade --scheduler tcp://head:8786   # on an existing Dask cluster

For each assignment: regenerate release/ from source/; check every notebook in
submitted/<student>/<assignment>/ (Colab's `Copy of mlp1.ipynb` is renamed; an empty, broken or
wrong notebook is not graded, with the reason); autograde each student's notebook on its own,
in a sandbox (see course/sandbox.py), within a wall time per notebook; rewrite feedback/ without
the source of hidden tests. Then write the class report, grades.csv: one row per student and
notebook with the score, the maximum and the reason for every lost point.

The terminal shows a progress bar and one line per graded notebook; nbgrader's and TensorFlow's
output goes to logs/<student>/<assignment>.log (logs/nbgrader.log for releasing and feedback).

Notebooks graded before are kept unless --regrade, or unless the student handed in again
(grading_state.json remembers what was graded); a notebook that could not be graded is not
tried again until it changes. Run it in the course's
environment (`make grade`): nbgrader starts `alembic` and the kernel from PATH.
"""

import argparse
import csv
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import nbformat
from tqdm import tqdm

from course.cluster import check_workers, grading_cluster
from course.collect import normalised_name
from course.data import DatasetError, ensure_fashion_mnist
from course.grade_one import NOTEBOOK_TIMEOUT_S, environment, failure_reason, kernel_problem, kernel_threads
from course.nbgrader_plugins import gradebook_lock
from course.profiles import grading_profile

REPORT = "grades.csv"
LOGS = "logs"
# What was graded, and why some could not be: {assignment: {student: {"sha256", "reason"}}},
# the reason None for a notebook that was graded.
STATE = "grading_state.json"


def gradebook_url(course: Path) -> str:
    return f"sqlite:///{course / 'gradebook.db'}"


def nbgrader(course: Path, *args: str, env: dict) -> bool:
    """Run one nbgrader command, its output added to logs/nbgrader.log; on failure say so and go on
    (what is graded stays graded)."""
    log = course / LOGS / "nbgrader.log"
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


def _grade_ids(notebook) -> list:
    return [c.metadata["nbgrader"]["grade_id"] for c in notebook.cells if "grade_id" in c.metadata.get("nbgrader", {})]


def source_grade_ids(course: Path) -> dict:
    """{assignment: the grade ids of its source notebook, in order}."""
    return {p.parent.name: _grade_ids(nbformat.read(p, as_version=4)) for p in (course / "source").glob("*/*.ipynb")}


def prepare_submission(folder: Path, assignment: str, grade_ids: dict) -> tuple:
    """(why the notebook in `folder` cannot be graded or None, its SHA-256, notes for the instructor).

    Renames a Colab or browser download (`Copy of mlp1.ipynb`) to the assignment's name when it
    is the only candidate."""
    expected = f"{assignment}.ipynb"
    candidates = sorted(p for p in folder.iterdir() if p.is_file() and normalised_name(p.name) == expected)
    others = sorted(p.name for p in folder.iterdir() if p.is_file() and p not in candidates)
    notes = [f"{folder / name}: ignored (not {expected})" for name in others if not name.startswith(".")
             and name != "timestamp.txt"]
    if len(candidates) > 1:
        names = ", ".join(p.name for p in candidates)
        return f"{len(candidates)} candidate notebooks ({names}): keep the one to grade", None, notes
    if not candidates:
        return f"no {expected} in the submission", None, notes
    path = candidates[0]
    if path.name != expected:
        path = path.rename(folder / expected)
        notes.append(f"{folder / candidates[0].name}: renamed to {expected}")
    data = path.read_bytes()
    return _notebook_problem(data, assignment, grade_ids), hashlib.sha256(data).hexdigest(), notes


def _notebook_problem(data: bytes, assignment: str, grade_ids: dict):
    if not data.strip():
        return "empty file: download the notebook again (File > Download > .ipynb) and hand it in"
    try:
        raw = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        where = f" at line {error.lineno}" if isinstance(error, json.JSONDecodeError) else ""
        return f"not a notebook: invalid JSON{where}; hand in the .ipynb that Colab or Jupyter downloads"
    version = raw.get("nbformat") if isinstance(raw, dict) else None
    if version != 4:
        return f"not an nbformat 4 notebook (nbformat {version}): open it in Colab or Jupyter, save and hand in again"
    try:
        found = set(_grade_ids(nbformat.reads(data.decode("utf-8"), as_version=4)))
    except Exception as error:  # nbformat's errors are many and unrelated
        return f"not a readable notebook ({type(error).__name__}): hand in the .ipynb that Colab or Jupyter downloads"
    if not found:
        return None  # nbgrader puts the graded cells back

    def likeness(ids):
        return len(found.intersection(ids)) / len(found.union(ids))

    # The assignment whose graded cells the notebook has most of (deleted cells are allowed for).
    best = max(sorted(grade_ids), key=lambda a: likeness(grade_ids[a]))
    if likeness(grade_ids[best]) > likeness(grade_ids[assignment]):
        return f"this is the notebook of {best}, not {assignment}: hand in {assignment}.ipynb"
    return None


def _failure_reason(log: str) -> str:
    marked = [line.split(":", 1)[1].strip() for line in log.splitlines() if line.startswith("COURSE-NOT-GRADED:")]
    return marked[-1] if marked else failure_reason(log)


def log_path(course: Path, assignment: str, student: str) -> Path:
    return course / LOGS / student / f"{assignment}.log"


# `python -m nbgrader`, ended with this process however this process ends (kill -9 included),
# so that a new run never finds an old one still writing.
NBGRADER = ("import sys; from course.grade_one import die_with_parent; die_with_parent(); "
            "from nbgrader.apps.nbgraderapp import main; sys.argv[0] = 'nbgrader'; main()")


def autograde(course: Path, assignment: str, student: str, env: dict, running: set):
    """Autograde one notebook, nbgrader's output in its log file; why it failed, or None.
    `--force`: what an interrupted run left of it is replaced. `running`: the processes under way."""
    command = [sys.executable, "-c", NBGRADER, "autograde", assignment, "--student", student, "--force"]
    log = log_path(course, assignment, student)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8") as out:
        process = subprocess.Popen(command, cwd=course, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # Ctrl-C is the coordinator's to handle
        running.add(process)
        process.wait()
        running.discard(process)
    return _failure_reason(log.read_text("utf-8")) if process.returncode else None


def _forget(course: Path, assignment: str, student: str) -> None:
    """Remove what a failed run left of a submission, so that the report shows the failure."""
    from nbgrader.api import Gradebook, MissingEntry

    shutil.rmtree(course / "autograded" / student / assignment, ignore_errors=True)
    shutil.rmtree(course / "feedback" / student / assignment, ignore_errors=True)
    with gradebook_lock(gradebook_url(course)), Gradebook(gradebook_url(course)) as gradebook:
        try:
            gradebook.remove_submission(assignment, student)
        except MissingEntry:
            pass


def _messages(course: Path, assignment: str, student: str) -> dict:
    """{grade id: the last line of the error its cell raised} in the autograded notebook."""
    path = course / "autograded" / student / assignment / f"{assignment}.ipynb"
    if not path.exists():
        return {}
    messages = {}
    for cell in nbformat.read(path, as_version=4).cells:
        errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        if errors and "grade_id" in cell.metadata.get("nbgrader", {}):
            error = errors[-1]
            lines = str(error.evalue).strip().splitlines()
            # The checks' messages are Japanese, then English (and then data): keep the English.
            detail = (lines[1] if len(lines) > 1 else lines[0]) if lines else _DETAILS.get(error.ename, "")
            messages[cell.metadata["nbgrader"]["grade_id"]] = f"{error.ename}: {detail}"
    return messages


# What an error without a message means in a grading kernel.
_DETAILS = {
    "CellTimeoutError": "the cell ran longer than the time a cell may take",
    "MemoryError": "the cell asked for more memory than the grading kernel may use",
    "KeyboardInterrupt": "the cell was stopped",
}


def class_report(course: Path, state: dict, grade_ids: dict) -> list:
    """One row per student and assignment with a submission: (student, assignment, score, max score,
    status, reasons), from the gradebook and the grading state."""
    from nbgrader.api import Gradebook, MissingEntry

    rows = []
    with Gradebook(gradebook_url(course)) as gradebook:
        for folder in sorted((course / "submitted").glob("*/*/")):  # by student, then assignment
            student, assignment = folder.parent.name, folder.name
            if assignment not in grade_ids:
                continue  # not an assignment of this course
            try:
                max_score = gradebook.find_assignment(assignment).max_score
            except MissingEntry:
                continue  # not released yet
            reason = state.get(assignment, {}).get(student, {}).get("reason")
            if reason:
                rows.append((student, assignment, 0, max_score, "not graded", [reason]))
                continue
            try:
                submission = gradebook.find_submission(assignment, student)
            except MissingEntry:
                rows.append((student, assignment, 0, max_score, "not graded", ["not graded yet"]))
                continue
            messages = _messages(course, assignment, student)
            grades = {g.name: g for n in submission.notebooks for g in n.grades}
            reasons = []
            # In notebook order: a solution cell's error (a timeout, say) before the tests it failed.
            for name in grade_ids[assignment]:
                g = grades.get(name)
                if g is None:
                    if name in messages:
                        reasons.append(f"{name} raised {messages[name]}")
                elif g.needs_manual_grade:  # a written answer, or a test that never ran
                    why = "grade by hand" if g.cell.cell_type == "markdown" else "not autograded"
                    reasons.append(f"{name} ({why}, {g.max_score:g})")
                elif g.score < g.max_score:
                    message = f" ({messages[name]})" if name in messages else ""
                    reasons.append(f"{name} -{g.max_score - g.score:g}{message}")
            rows.append((student, assignment, submission.score, submission.max_score, "graded", reasons))
    return rows


def write_report(course: Path, rows: list) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student_id", "assignment", "score", "max_score", "status", "reasons"])
    for student, assignment, score, max_score, status, reasons in rows:
        writer.writerow([student, assignment, f"{score:g}", f"{max_score:g}", status, "; ".join(reasons)])
    (course / REPORT).write_text(buffer.getvalue(), "utf-8")


def _load_state(course: Path) -> dict:
    path = course / STATE
    return json.loads(path.read_text("utf-8")) if path.exists() else {}


def submissions_to_grade(course: Path, assignment: str, regrade: bool, state: dict, grade_ids: dict) -> tuple:
    """Check every submission of `assignment`: ([(student, SHA-256)] to autograde, whether every
    other one is graded). What cannot be graded is recorded with its reason."""
    ok = True
    recorded = state.setdefault(assignment, {})
    todo = []
    for folder in sorted(p for p in (course / "submitted").glob(f"*/{assignment}") if p.is_dir()):
        student = folder.parent.name
        problem, digest, notes = prepare_submission(folder, assignment, grade_ids)
        for note in notes:
            print(f"WARNING {note}", file=sys.stderr)
        previous = recorded.get(student)
        if problem is None and previous and previous["sha256"] == digest and not regrade:
            if previous["reason"]:  # could not be graded, and has not changed since
                print(f"NOT GRADED {student}/{assignment} (unchanged): {previous['reason']}", file=sys.stderr)
                ok = False
        elif problem:
            print(f"NOT GRADED {student}/{assignment}: {problem}", file=sys.stderr)
            _forget(course, assignment, student)
            recorded[student] = {"sha256": digest, "reason": problem}
            ok = False
        else:
            todo.append((student, digest))
    return todo, ok


def _score(course: Path, assignment: str, student: str) -> str:
    from nbgrader.api import Gradebook

    with Gradebook(gradebook_url(course)) as gradebook:
        submission = gradebook.find_submission(assignment, student)
        return f"{submission.score:g}/{submission.max_score:g}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignments", nargs="*", help="assignment ids (default: every folder in source/)")
    parser.add_argument("--regrade", action="store_true", help="autograde again submissions graded before")
    parser.add_argument("--course", type=Path, default=Path.cwd(), help="the course directory (default: here)")
    parser.add_argument("--timeout", type=float, default=NOTEBOOK_TIMEOUT_S,
                        help=f"wall time per notebook, seconds ({NOTEBOOK_TIMEOUT_S})")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run students' code with your permissions (only where bubblewrap cannot run)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar, no line per graded notebook")
    parser.add_argument("--workers", type=int,
                        help="worker processes of the local Dask cluster (default: CPU cores / "
                             "COURSE_KERNEL_THREADS, the threads each kernel uses, 2 by default)")
    parser.add_argument("--scheduler", default=os.environ.get("COURSE_SCHEDULER"), metavar="ADDRESS",
                        help="grade on the Dask cluster of this scheduler (tcp://host:8786; also "
                             "COURSE_SCHEDULER) instead of a local one")
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        parser.error("--workers takes a number of at least 1")
    course = args.course.resolve()

    assignments = args.assignments or sorted(p.name for p in (course / "source").iterdir() if p.is_dir())
    unknown = [a for a in assignments if not (course / "source" / a).is_dir()]
    if unknown:
        print(f"No such assignment in {course / 'source'}: {', '.join(unknown)}", file=sys.stderr)
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
    state = _load_state(course)

    def save_state():
        (course / STATE).write_text(json.dumps(state, indent=1, sort_keys=True) + "\n", "utf-8")

    ok = True
    released, todo = [], []
    for assignment in assignments:
        if not nbgrader(course, "generate_assignment", assignment, "--force", env=env):
            ok = False
            continue
        released.append(assignment)
        pending, checked = submissions_to_grade(course, assignment, args.regrade, state, grade_ids)
        todo += [(assignment, *submission) for submission in pending]
        ok &= checked
    save_state()
    if todo:
        try:
            ok &= grade_on_cluster(course, todo, state, save_state, env, args)
        except KeyboardInterrupt:
            print("\nInterrupted: every notebook graded so far is kept; run the same command again to "
                  "grade the rest.", file=sys.stderr)
            return 130
        except OSError as error:  # a scheduler that cannot be reached
            print(f"Could not reach the Dask scheduler at {args.scheduler}: {error}. Start one (`dask "
                  "scheduler`) or grade on this machine without --scheduler; nothing graded is lost.",
                  file=sys.stderr)
            return 1

    for assignment in released:
        if any((course / "submitted").glob(f"*/{assignment}")):
            # Always: feedback must show grades given by hand since the last run.
            ok &= nbgrader(course, "generate_feedback", assignment, "--force", env=env)
        else:
            print(f"No submissions of {assignment} in {course / 'submitted'}: released only.")

    rows = class_report(course, state, grade_ids)
    write_report(course, rows)
    print(f"\n{'student':<12} {'assignment':<12} {'score':>7}  lost points")
    for student, assignment, score, max_score, _, reasons in rows:
        if assignment in assignments:
            print(f"{student:<12} {assignment:<12} {score:>3g}/{max_score:<3g}  {'; '.join(reasons) or '-'}")
    print(f"\nReport: {course / REPORT}; feedback in {course / 'feedback'}")
    return 0 if ok else 1


def grade_on_cluster(course: Path, todo: list, state: dict, save_state, env: dict, args) -> bool:
    """Autograde `todo` ([(assignment, student, SHA-256)]) on the Dask cluster, recording each result
    as it comes; whether every one was graded.

    One `nbgrader autograde` per notebook runs here, beside the gradebook, and has its notebook
    executed by a worker (GradeOneExecute); as many run at once as the workers have slots. This
    thread alone writes the grading state.
    """
    ok = True
    with grading_cluster(args.scheduler, args.workers) as client:
        refused, slots = check_workers(client, not args.no_sandbox)
        for address, why in refused.items():
            print(f"WORKER REFUSED {address}: {why}", file=sys.stderr)
        if not slots:
            print("No worker can grade: fix what they report (or grade here without --scheduler). "
                  "Nothing was graded.", file=sys.stderr)
            return False
        info = client.scheduler_info(n_workers=-1)
        workers = len(info["workers"])
        dashboard = f" (dashboard: {client.dashboard_link})" if "dashboard" in info.get("services", {}) else ""
        print(f"{len(todo)} notebooks to grade on {workers} Dask worker{'s' if workers > 1 else ''}, {slots} at "
              f"a time, {kernel_threads()} threads per kernel{dashboard}")
        env = dict(env, COURSE_SCHEDULER=client.scheduler.address)
        running = set()

        def timed_autograde(assignment, student):
            start = time.monotonic()
            return autograde(course, assignment, student, env, running), time.monotonic() - start

        pool = ThreadPoolExecutor(slots)
        bar = tqdm(total=len(todo), desc="grading", unit="notebook", disable=True if args.quiet else None)
        try:
            futures = {pool.submit(timed_autograde, assignment, student): (assignment, student, digest)
                       for assignment, student, digest in todo}
            for done in as_completed(futures):
                assignment, student, digest = futures[done]
                problem, seconds = done.result()
                log = log_path(course, assignment, student).relative_to(course)
                notebook = course / "submitted" / student / assignment / f"{assignment}.ipynb"
                if not problem and _sha256(notebook) != digest:
                    _forget(course, assignment, student)
                    bar.write(f"NOT GRADED {student}/{assignment}: handed in again while it was graded; "
                              "run this command again to grade the new notebook", file=sys.stderr)
                    ok = False
                    bar.update()
                    continue
                if problem:
                    problem += f" (log: {log})"
                    _forget(course, assignment, student)
                    bar.write(f"NOT GRADED {student}/{assignment}: {problem}", file=sys.stderr)
                    ok = False
                elif not args.quiet:
                    bar.write(f"graded {student}/{assignment}: {_score(course, assignment, student)} "
                              f"in {seconds:.0f} s (log: {log})")
                state[assignment][student] = {"sha256": digest, "reason": problem}
                save_state()  # an interrupted run loses nothing graded
                bar.update()
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
            for process in list(running):  # interrupted: what they did not record is graded next time
                os.killpg(process.pid, signal.SIGKILL)
            bar.close()
    return ok


def _sha256(path: Path):
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


if __name__ == "__main__":
    sys.exit(main())
