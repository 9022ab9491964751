"""The coordinator: which notebooks to grade, grading them on the cluster, and what was graded.

It alone writes the gradebook (through `nbgrader autograde`, in a process per slot of the
cluster, each holding the gradebook's lock while it records a notebook, not while a Dask worker
executes it), `autograded/`,
`feedback/` and the grading state; it records each result as it comes, so an interruption loses
nothing graded. Every outcome is told the same way (`announce`): `graded s/a: score` on stdout,
`NOT GRADED s/a: reason` on stderr.
"""

import hashlib
import json
import queue
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from tqdm import tqdm

from course import protocol
from course.grading.autograde import AutogradeProcess
from course.grading.cluster import CONNECT_TIMEOUT_S, TRUSTED_NETWORK, check_workers, grading_cluster
from course.grading.gradebook import gradebook_lock, gradebook_url
from course.grading.intake import prepare_submission
from course.grading.roles import unchecked
from course.protocol import Autograde, NotGraded
from course_kernel.settings import kernel_threads

LOGS = "logs"
NBGRADER_LOG = f"{LOGS}/nbgrader.log"  # nbgrader's output outside any one notebook
# What was graded, and why some could not be: {assignment: {student: {"sha256", "reason"}}},
# the reason None for a notebook that was graded.
STATE = "grading_state.json"


def log_path(course: Path, assignment: str, student: str) -> Path:
    return course / LOGS / student / f"{assignment}.log"


def autograde(course: Path, assignment: str, student: str, process: AutogradeProcess):
    """Autograde one notebook in `process`, nbgrader's output in its log file; why it failed, or
    None. `--force`: what an interrupted run left of it is replaced."""
    log = log_path(course, assignment, student)
    log.parent.mkdir(parents=True, exist_ok=True)
    outcome = log.with_suffix(".not-graded.json")
    outcome.unlink(missing_ok=True)
    exit_code = process.autograde(Autograde(assignment, student, str(log), str(outcome)))
    if exit_code == 0:
        return None
    recorded = protocol.read(NotGraded, outcome)
    if recorded:
        return recorded.reason
    if exit_code is None:
        return (f"the nbgrader process grading it ended (exit code {process.process.returncode}): see its log and "
                f"{NBGRADER_LOG}")
    return f"nbgrader autograde failed (exit code {exit_code}): see its log"


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


def load_state(course: Path) -> dict:
    path = course / STATE
    return json.loads(path.read_text("utf-8")) if path.exists() else {}


def save_state(course: Path, state: dict) -> None:
    (course / STATE).write_text(json.dumps(state, indent=1, sort_keys=True) + "\n", "utf-8")


def announce(student: str, assignment: str, problem=None, detail: str = "", write=print) -> None:
    """The one line each notebook's outcome gets."""
    if problem:
        write(f"NOT GRADED {student}/{assignment}{detail}: {problem}", file=sys.stderr)
    else:
        write(f"graded {student}/{assignment}: {detail}")


def submissions_to_grade(course: Path, assignment: str, regrade: bool, state: dict, grade_ids: dict,
                         students=None) -> tuple:
    """Check every submission of `assignment` (of `students` only, when given): ([(student, SHA-256)]
    to autograde, whether every other one is graded). What cannot be graded is recorded with its reason."""
    ok = True
    recorded = state.setdefault(assignment, {})
    todo = []
    for folder in sorted(p for p in (course / "submitted").glob(f"*/{assignment}") if p.is_dir()):
        student = folder.parent.name
        if students and student not in students:
            continue
        problem, digest, notes = prepare_submission(folder, assignment, grade_ids)
        for note in notes:
            print(f"WARNING {note}", file=sys.stderr)
        previous = recorded.get(student)
        if problem is None and previous and previous["sha256"] == digest and not regrade:
            if previous["reason"]:  # could not be graded, and has not changed since
                announce(student, assignment, previous["reason"], " (unchanged)")
                ok = False
        elif problem:
            announce(student, assignment, problem)
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


def grade_on_cluster(course: Path, todo: list, state: dict, env: dict, args) -> bool:
    """Autograde `todo` ([(assignment, student, SHA-256)]) on the Dask cluster, recording each result
    as it comes; whether every one was graded.

    `nbgrader autograde` runs here, beside the gradebook, in a process per slot of the workers
    kept for the whole run (course/grading/autograde.py), and has each notebook executed by a worker
    (GradeOneExecute); as many run at once as the workers have slots. This thread alone writes
    the grading state.
    """
    ok = True
    with grading_cluster(args.scheduler, args.workers, args.certificates) as (client, certificates):
        refused, slots = check_workers(client, not args.no_sandbox)
        for address, why in refused.items():
            print(f"WORKER REFUSED {address}: {why}", file=sys.stderr)
        problem = slots and unchecked(client)
        if problem:
            print(problem, file=sys.stderr)
            return False
        if not slots:
            print(f"No worker can grade{'' if refused else f' (none joined in {CONNECT_TIMEOUT_S} s)'}: start "
                  "`dask worker ADDRESS` on a grading machine, fix what workers report, or grade here without "
                  "--scheduler. Nothing was graded.", file=sys.stderr)
            return False
        info = client.scheduler_info(n_workers=-1)
        workers = len(info["workers"])
        dashboard = f" (dashboard: {client.dashboard_link})" if "dashboard" in info.get("services", {}) else ""
        print(f"{len(todo)} notebooks to grade on {workers} Dask worker{'s' if workers > 1 else ''}, {slots} at "
              f"a time, {kernel_threads()} threads per kernel{dashboard}")
        env = dict(env, COURSE_SCHEDULER=client.scheduler.address)
        if args.trusted_network:  # the instructor's word for the tcp:// scheduler
            env[TRUSTED_NETWORK] = "yes"
        if certificates is not None:  # the autograde processes connect as the coordinator does
            env["COURSE_TLS_DIR"] = str(certificates)
        idle, started = queue.SimpleQueue(), []

        def timed_autograde(assignment, student):
            start = time.monotonic()
            try:
                process = idle.get_nowait()
            except queue.Empty:
                process = AutogradeProcess(course, env, course / NBGRADER_LOG)
                started.append(process)
            problem = autograde(course, assignment, student, process)
            if process.alive():
                idle.put(process)
            return problem, time.monotonic() - start

        pool = ThreadPoolExecutor(slots)
        bar = tqdm(total=len(todo), desc="grading", unit="notebook", disable=True if args.quiet else None)
        not_graded = 0
        try:
            futures = {pool.submit(timed_autograde, assignment, student): (assignment, student, digest)
                       for assignment, student, digest in todo}
            for done in as_completed(futures):
                assignment, student, digest = futures[done]
                problem, seconds = done.result()
                log = log_path(course, assignment, student).relative_to(course)
                notebook = course / "submitted" / student / assignment / f"{assignment}.ipynb"
                changed = not problem and _sha256(notebook) != digest
                if problem or changed:
                    _forget(course, assignment, student)
                    not_graded += 1
                    bar.set_postfix_str(f"not graded: {not_graded}")
                    ok = False
                if changed:  # not recorded: graded on the next run
                    announce(student, assignment, "handed in again while it was graded; run this command "
                             "again to grade the new notebook", write=bar.write)
                else:
                    if problem:
                        problem += f" (log: {log})"
                        announce(student, assignment, problem, write=bar.write)
                    elif not args.quiet:
                        announce(student, assignment, detail=f"{_score(course, assignment, student)} in "
                                 f"{seconds:.0f} s (log: {log})", write=bar.write)
                    state[assignment][student] = {"sha256": digest, "reason": problem}
                    save_state(course, state)  # an interrupted run loses nothing graded
                bar.update()
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
            for process in started:  # interrupted: what they did not record is graded next time
                process.kill()
            bar.close()
    return ok


def _sha256(path: Path):
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None
