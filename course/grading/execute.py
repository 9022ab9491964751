"""Grade one notebook: the unit of work of grading, wherever it runs.

`run_task(task)` executes a notebook that nbgrader has prepared (hidden tests and given cells put
back) in the sandbox, under the course's grading settings and within the notebook's wall time,
and returns the executed notebook, its log and its timing. Every notebook graded goes through it:
`course.instructor.grade` runs it on Dask workers (course/grading/cluster.py), a plain `nbgrader autograde` in its
own process (GradeOneExecute, course/grading/nbgrader_plugins.py), `course.instructor.calibrate` for the reference
solutions.

A task is a function of its inputs: the notebook and the submission's other files travel with it
and the result travels back, so a worker shares no disk with the coordinator. A worker that would
not grade as the coordinator does (another Python, TensorFlow or course package; no sandbox; no
dataset) refuses the task with its reason.

    python -m course.grading.execute NOTEBOOK FOLDER EXECUTED [--reference]   # what run_task starts
"""

import concurrent.futures
import contextlib
import json
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from course import protocol
from course.grading.worker import WorkerRefused, die_with_parent, environment, worker_problem
from course.protocol import Message, NotGraded, Result, Task, Verdicts
from course_kernel import settings

OUTCOME = "outcome.json"  # NotGraded, written beside the notebook by the process that executes it


def _memory() -> str:
    from course.grading.sandbox import memory_limit_bytes

    return f"{memory_limit_bytes() / 2**30:g} GB"


def _memory_limit_reached() -> str:
    """What the instructor reads where a kernel's memory cgroup ended one of its processes."""
    return f"memory limit of {_memory()} reached (its processes and files together)"


def not_graded(error: BaseException) -> NotGraded:
    """Why executing a notebook failed with `error`, in words for the instructor."""
    from nbclient.exceptions import DeadKernelError

    from course.grading.sandbox import SandboxedKernelManager, SandboxUnavailable, cpu_limit_seconds

    if isinstance(error, DeadKernelError) and SandboxedKernelManager.memory_limit_reached():
        return NotGraded(f"its kernel died: {_memory_limit_reached()}")
    if isinstance(error, DeadKernelError):
        return NotGraded("its kernel died: the notebook ended its Python process, or ran past the memory "
                         f"({_memory()}) or CPU-time ({cpu_limit_seconds()} s) limit")
    if isinstance(error, SandboxUnavailable):
        return NotGraded(f"the sandbox could not start: {error}")
    first_line = (str(error).splitlines() or [""])[0][:200]
    return NotGraded(f"it could not be executed: {type(error).__name__}: {first_line}")


def run_task(task: Task) -> Result:
    """Execute the task's notebook in a scratch folder of this machine; see the module's doc."""
    sandbox = settings.read(task.settings).sandbox != "off"
    problem = worker_problem(task.fingerprint, sandbox)
    if problem:
        raise WorkerRefused(f"worker {socket.gethostname()} refused {task.name}: {problem}")
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="course-grade-") as scratch:
        # The notebook (with its hidden tests) stays outside the folder the kernel sees.
        notebook, executed, log = (Path(scratch) / name for name in ("task.ipynb", "executed.ipynb", "log"))
        workdir = Path(scratch) / task.assignment
        workdir.mkdir()
        for relative, data in task.files.items():
            path = (workdir / relative).resolve()
            if workdir.resolve() not in path.parents:
                raise ValueError(f"{task.name}: file outside the submission: {relative}")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        notebook.write_text(task.notebook, "utf-8")
        # The coordinator's settings, never this worker's own (a COURSE_PROFILE left in its shell, say).
        env = {key: value for key, value in environment(sandbox).items() if key not in settings.carried_names()}
        env.update(task.settings, COURSE_SANDBOX="on" if sandbox else "off", NBGRADER_EXECUTION="autograde")
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        threads = str(settings.kernel_threads(task.settings))
        env.update(COURSE_KERNEL_THREADS=threads, OMP_NUM_THREADS=threads)
        if task.gpu:  # the worker's GPU, its memory taken as the notebook needs it
            env["TF_FORCE_GPU_ALLOW_GROWTH"] = "true"
        else:  # on a worker with a GPU, it is the task's that holds it
            env["CUDA_VISIBLE_DEVICES"] = ""
        command = [sys.executable, "-m", "course.grading.execute", str(notebook), str(workdir), str(executed)]
        command += ["--reference"] if task.reference else []
        with log.open("w", encoding="utf-8") as out:
            # Its own session: at the time limit, it and the sandboxed kernel it started go together.
            # In the scratch folder: `-m` puts the working folder first on sys.path, and a worker's
            # may hold a folder named `course` (the course directory itself, say).
            process = subprocess.Popen(command, cwd=scratch, env=env, stdout=out, stderr=subprocess.STDOUT,
                                       start_new_session=True)
            try:
                process.wait(timeout=task.timeout)
                problem = None
                if process.returncode:
                    recorded = protocol.read(NotGraded, Path(scratch) / OUTCOME)
                    problem = recorded.reason if recorded else (
                        f"it could not be executed (exit code {process.returncode}): see its log")
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                problem = f"timed out: grading the notebook took more than {task.timeout:g} s"
        return Result(notebook=None if problem else executed.read_text("utf-8"), problem=problem,
                      log=log.read_text("utf-8"), seconds=time.monotonic() - start, worker=socket.gethostname())


def _write_new(path: Path, text: str) -> None:
    """Write a file the kernel cannot have prepared: whatever is at `path` (a link to one of this
    machine's files, say) is removed first, and a new file is made without following links. Where
    the notebook keeps it from being made, the cell gets no inputs and its checks say so."""
    with contextlib.suppress(OSError):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)


# A lecture's model with its optimizer state is a few MB.
MAX_HANDED_BYTES = 256 * 2**20


def _take(handover: Path, target: Path | None) -> None:
    """Move what a cell handed over out of the kernel's reach: the folder is renamed away at once
    (a link is moved, never followed), then each regular file's content is copied into `target`,
    a new file that no descriptor the kernel still holds can reach. None: discard it."""
    away = Path(tempfile.mkdtemp(dir=handover.parent.parent)) / "taken"
    try:
        os.rename(handover, away)
    except FileNotFoundError:
        return
    if target is not None and away.is_dir() and not away.is_symlink():
        target.mkdir(parents=True, exist_ok=True)
        for entry in os.scandir(away):
            if not re.fullmatch(r"\w+\.(keras|json)", entry.name):
                continue
            # Whatever is not a plain file of a sensible size, now, is left out: its checks say it is missing.
            with contextlib.suppress(OSError):
                descriptor = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
                with os.fdopen(descriptor, "rb") as source:
                    data = source.read(MAX_HANDED_BYTES + 1) if stat.S_ISREG(os.fstat(descriptor).st_mode) else b""
                if 0 < len(data) <= MAX_HANDED_BYTES:
                    (target / entry.name).write_bytes(data)
    shutil.rmtree(away.parent, ignore_errors=True)


def draw_inputs(lecture, rng) -> dict:
    """{test cell: the inputs drawn for its functions}, for every test cell of the lecture, drawn
    before the notebook runs: a NumPy-only task's functions are called while the kernel starts."""
    return {cell: lecture.inputs(cell, rng) for cell in lecture.tests}


def _is_given_or_test(cell, test_cells) -> bool:
    """A test cell, or a given cell as nbgrader put it back (read-only, with a grade_id the gradebook
    knows: nbgrader removes the grade_ids it does not know and restores the cells it does)."""
    nbgrader = cell.metadata.get("nbgrader", {})
    grade_id = nbgrader.get("grade_id")
    return grade_id in test_cells or bool(grade_id and nbgrader.get("locked") and not nbgrader.get("solution"))


def numpy_only_requests(nb, lecture, inputs: dict) -> dict:
    """{test cell of a NumPy-only task: its course.grading.numpy_only.Request}: the student's code
    is every code cell before the test cell that is neither a given nor a test cell, whatever its
    metadata, turned into Python as IPython runs it."""
    from IPython.core.inputtransformer2 import TransformerManager

    from course.grading.numpy_only import Request
    from course.lectures import numpy_calls, scratch

    calls = Path(numpy_calls.__file__).read_text("utf-8")
    transformer, cells, requests = TransformerManager(), [], {}
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.cell_type != "code":
            continue
        if grade_id in lecture.numpy_only:
            task = lecture.numpy_only[grade_id]
            requests[grade_id] = Request(cells=list(cells), names=list(task.names), calls=calls,
                                         inputs=inputs.get(grade_id, {}),
                                         reference=scratch.reference_code() if task.reference else None)
        if not _is_given_or_test(cell, lecture.tests):
            try:
                cells.append(transformer.transform_cell(cell.source))
            except Exception:  # IPython could not read it either: the kernel ran none of it
                continue
    return requests


# Seconds the NumPy-only tasks of one notebook may take together (each runs the student's cells up
# to its test cell, and calls a few functions on small inputs: well under a second, as a rule). A
# cell that never ends would otherwise hold up every task after it.
NUMPY_ONLY_TIMEOUT_S = 180


def run_numpy_only(request, folder: Path, sandbox: bool, timeout: float = NUMPY_ONLY_TIMEOUT_S) -> dict:
    """{function: its outputs, or a Refusal} from course.grading.numpy_only run on `request` in a
    process of its own, in the NumPy-only sandbox (`sandbox`: False, with NumPy alone on its path)."""
    import dataclasses

    from course.grading import numpy_only
    from course.grading.sandbox import kernel_cgroups, memory_limit_bytes, numpy_only_command, remove_cgroup

    folder.mkdir(parents=True)
    (folder / "request.json").write_text(json.dumps(dataclasses.asdict(request)), "utf-8")
    # A kernel's limits; its processes few (NumPy's own threads are one).
    cgroups = kernel_cgroups({"pids": 16, "memory": memory_limit_bytes()}) if sandbox else {}
    command = numpy_only_command(Path(numpy_only.__file__).resolve(), folder, ["request.json", "outputs.json"],
                                 sandbox, cgroups)
    try:
        subprocess.run(command, cwd=folder, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=max(timeout, 1))
        error = "it ended without a result"
    except subprocess.TimeoutExpired:
        error = f"the notebook's NumPy tasks ran for more than {NUMPY_ONLY_TIMEOUT_S} s"
    finally:
        for cgroup in set(cgroups.values()):
            remove_cgroup(cgroup)
    try:
        return json.loads((folder / "outputs.json").read_text("utf-8"))
    except (OSError, ValueError):
        refusal = numpy_only.Refusal(request.names[0], error=error)
        return {function: dataclasses.asdict(refusal) for function in request.inputs}


def executor(assignment: str, workdir: Path, verify_dir: Path, inputs: dict, verifier=None, numpy_only=None,
             **kwargs):
    """nbgrader's Execute, which also gives each test cell the inputs drawn for it (`inputs`:
    draw_inputs) and takes what the cell handed over out of the kernel's reach as the cell ends
    (course_kernel.handover), puts a NumPy-only task's outputs (`numpy_only`: {test cell: a future of
    them}) in place of the kernel's, then tells the verifier the cell is ready."""
    from nbgrader.preprocessors import Execute

    from course.lectures import LECTURES
    from course_kernel.handover import DATA_SUFFIX, FOLDER, INPUTS

    lecture = LECTURES.get(assignment)
    test_cells = lecture.tests if lecture else {}
    numpy_only = numpy_only or {}

    def grade_id(cell):
        return cell.metadata.get("nbgrader", {}).get("grade_id")

    class HandOverExecute(Execute):
        def on_cell_execute(self, cell, cell_index):
            _take(workdir / FOLDER, None)  # nothing the notebook left there counts
            if grade_id(cell) in test_cells:
                # A NumPy-only task's functions are called in its own process, never in the kernel.
                drawn = {} if grade_id(cell) in numpy_only else inputs.get(grade_id(cell), {})
                _write_new(workdir / INPUTS, json.dumps(drawn))

        def on_cell_executed(self, **kwargs):
            super().on_cell_executed(**kwargs)
            cell = kwargs["cell"]
            target = verify_dir / "handed" / grade_id(cell) if grade_id(cell) in test_cells else None
            _take(workdir / FOLDER, target)
            with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                os.unlink(workdir / INPUTS)
            if target is not None and grade_id(cell) in numpy_only:
                target.mkdir(parents=True, exist_ok=True)
                for function, described in numpy_only[grade_id(cell)].result().items():
                    (target / f"{function}{DATA_SUFFIX}").write_text(json.dumps(described), "utf-8")
            if target is not None and verifier is not None:
                with contextlib.suppress(BrokenPipeError):  # it died: the end of the notebook says why
                    verifier.stdin.write(f"{grade_id(cell)}\n")
                    verifier.stdin.flush()

    return HandOverExecute(**kwargs)


def start_verifier(assignment: str, verify_dir: Path, sandbox: bool):
    """course.grading.verifier, started with the notebook, in the sandbox, seeing only the course's
    environment and `verify_dir` (read-only)."""
    from course.grading.sandbox import course_package, kernel_cgroups, memory_limit_bytes, sandbox_command

    home = verify_dir.parent / "verifier"
    home.mkdir()
    command = [sys.executable, "-m", "course.grading.verifier", assignment, str(verify_dir)]
    cgroups = kernel_cgroups({"memory": memory_limit_bytes()}) if sandbox else {}
    if sandbox:
        command = sandbox_command(command, home, home, readonly=(verify_dir, course_package()), cgroups=cgroups)
    # Its output goes to the log; its verdicts, to a file in its folder (course.protocol.Verdicts).
    verifier = subprocess.Popen(command, cwd=home, stdin=subprocess.PIPE, text=True)
    verifier.cgroups = cgroups  # removed once it has ended
    return verifier


def apply_verdicts(nb, verdicts: dict) -> dict:
    """A test cell the verifier failed gets an error output with the reason, as if the cell had
    raised it: nbgrader then scores it 0 and the feedback shows why. A cell that already failed
    keeps its own error. {test cell: the verifier's message (a dict)} of the reasons added."""
    import nbformat

    added = {}
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        failed = verdicts.get(grade_id)
        if failed and cell.cell_type == "code" and not any(o.output_type == "error" for o in cell.outputs):
            reason = str(Message(**failed))
            cell.outputs.append(nbformat.v4.new_output(
                "error", ename="AssertionError", evalue=reason, traceback=[f"AssertionError: {reason}"]))
            added[grade_id] = failed
    return added


# How long the verifier may take once the notebook has run (it verifies each test cell as the
# cell ends, so about a second is usual; a model it cannot load in time is the course's problem).
VERIFIER_TIMEOUT_S = 600


class VerifierFailed(RuntimeError):
    """The verifier gave no verdicts: the course's own problem, not the student's."""


def main(argv=None) -> int:
    import nbformat

    from course.lectures import LECTURES

    die_with_parent()
    args = argv or sys.argv[1:]
    notebook, workdir, executed = (Path(arg) for arg in args[:3])
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    lecture = LECTURES.get(workdir.name)
    try:
        nb = _execute(nbformat.read(notebook, as_version=4), workdir, None if "--reference" in args else lecture,
                      reference="--reference" in args)
    except Exception as error:
        protocol.write(not_graded(error), executed.parent / OUTCOME)
        raise  # its traceback goes to the log
    nbformat.write(nb, executed)
    return 0


def _execute(nb, workdir: Path, lecture, reference: bool = False):
    """`nb` executed in `workdir` and verified with `lecture`'s checks (None: not verified);
    `reference`: the course's own solution, whose kernel may import `course`."""
    from jupyter_client.manager import AsyncKernelManager

    from course.grading.sandbox import ReferenceKernelManager, SandboxedKernelManager, remove_cgroup
    from course.grading.verifier import VERDICTS
    from course.lectures import LECTURES
    from course_kernel.profiles import KERNEL_ARGS

    sandbox = settings.read().sandbox != "off"
    assignment, verify_dir = workdir.name, workdir.parent / "verify"
    (verify_dir / "inputs").mkdir(parents=True)
    # Every test cell's inputs, drawn now: written for the verifier (also without one: calibration),
    # given to the kernel cell by cell.
    rng = np.random.default_rng(secrets.randbits(64))
    inputs = draw_inputs(LECTURES[assignment], rng) if assignment in LECTURES else {}
    for cell, drawn in inputs.items():
        (verify_dir / "inputs" / f"{cell}.json").write_text(json.dumps(drawn), "utf-8")
    verifier = start_verifier(assignment, verify_dir, sandbox) if lecture is not None else None
    # NumPy-only tasks run one after another beside the kernel, each in a process of its own.
    log = logging.getLogger("course.grading.execute")
    pool, numpy_seconds = concurrent.futures.ThreadPoolExecutor(1), []

    def run_timed(cell, request):
        start = time.monotonic()
        try:
            return run_numpy_only(request, verify_dir.parent / "numpy-only" / cell, sandbox,
                                  NUMPY_ONLY_TIMEOUT_S - sum(numpy_seconds))
        finally:
            numpy_seconds.append(time.monotonic() - start)

    numpy_only = {cell: pool.submit(run_timed, cell, request)
                  for cell, request in (numpy_only_requests(nb, lecture, inputs) if lecture else {}).items()}
    try:
        execute = executor(
            assignment, workdir, verify_dir, inputs, verifier, numpy_only,
            kernel_manager_class=(ReferenceKernelManager if reference else SandboxedKernelManager) if sandbox
            else AsyncKernelManager,
            # A training cell under the grade profile takes seconds to a minute; the lecture's full
            # epochs on a CPU take minutes. nbgrader's default 30 s would fail a correct submission.
            timeout=settings.read().cell_timeout_s,
            extra_arguments=KERNEL_ARGS,
            # Every cell has run: a graceful shutdown would only wait for TensorFlow to tear down.
            shutdown_kernel="immediate",
        )
        execute.log = log
        nb, _ = execute.preprocess(nb, {"metadata": {"path": str(workdir)}})
        if sandbox and SandboxedKernelManager.memory_limit_reached():  # a child of the kernel, not the kernel
            memory = f"{_memory_limit_reached()}: a process the notebook started was ended"
            log.warning(memory)
            nb.metadata.setdefault("course", {})["memory"] = memory  # for the class report
        if verifier is not None:
            start = time.monotonic()
            try:
                verifier.communicate("\n", timeout=VERIFIER_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                raise VerifierFailed(f"the verifier did not finish within {VERIFIER_TIMEOUT_S} s of the notebook's "
                                     "end") from None
            verdicts = protocol.read(Verdicts, verify_dir.parent / "verifier" / VERDICTS)
            if verdicts is None or verdicts.error:
                raise VerifierFailed(verdicts.error if verdicts else f"the verifier ended with exit code "
                                     f"{verifier.returncode} and no verdicts (see the log)")
            execute.log.info("verified in %.1f s: %s", time.monotonic() - start, verdicts.measured)
            if numpy_seconds:
                log.info("%d NumPy-only task(s) ran in %.2f s", len(numpy_seconds), sum(numpy_seconds))
            # For the instructor's tools: the accuracies, and each failure the verifier added, in both languages.
            nb.metadata.setdefault("course", {}).update(test_accuracy=verdicts.measured,
                                                        messages=apply_verdicts(nb, verdicts.verdicts))
    finally:
        pool.shutdown(cancel_futures=True)
        if verifier is not None:
            if verifier.poll() is None:
                verifier.kill()
                verifier.wait()
            for cgroup in set(verifier.cgroups.values()):
                remove_cgroup(cgroup)
    return nb


if __name__ == "__main__":
    sys.exit(main())
