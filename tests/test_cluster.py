"""Grading on Dask with the real command: a TLS scheduler and workers started by hand on loopback
with the course's certificates (one of them unable to grade, one without certificates kept out, a
worker's certificate refused as a client), a cluster that does not check roles refused, a plain
tcp:// scheduler refused, a worker killed mid-notebook, a coordinator killed with kill -9."""

import asyncio
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from conftest import COURSE
from test_grading import grade

from course.grading.certificates import dask_options, make_certificates, security
from course.grading.coordinator import STATE
from course.grading.execute import run_task
from course.grading.roles import OPTIONS, PRELOAD
from course.grading.worker import fingerprint, worker_problem
from course.protocol import Task

BIN = Path(sys.executable).parent
# A one-task assignment: what these tests check is the cluster, not a lecture's notebook, so its
# notebook trains nothing; it sleeps long enough to be caught running.
TINY = "tiny"
ANSWERS = {"alice": 42, "bob": 41, "chris": 42}
SCORES = {student: "2" if answer == 42 else "0" for student, answer in ANSWERS.items()}


def tiny_source() -> nbformat.NotebookNode:
    def cell(source, **nbgrader):
        return nbformat.v4.new_code_cell(source, metadata={"nbgrader": {
            "grade": False, "locked": False, "schema_version": 3, "solution": False, "task": False, **nbgrader}})

    return nbformat.v4.new_notebook(cells=[
        cell("### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION", grade_id="answer", solution=True),
        cell("import time\ntime.sleep(8)", grade_id="wait", locked=True),
        cell("assert answer == 42", grade_id="test_answer", grade=True, locked=True, points=2),
    ])


def scratch_course(path: Path, students) -> Path:
    """A course of the tiny assignment, released, with these students' notebooks handed in."""
    (path / "source" / TINY).mkdir(parents=True)
    nbformat.write(tiny_source(), path / "source" / TINY / f"{TINY}.ipynb")
    shutil.copy(COURSE / "nbgrader_config.py", path)
    # nbgrader starts alembic from PATH: this Python's bin/ first.
    env = dict(os.environ, PATH=os.pathsep.join([str(BIN), os.environ["PATH"]]))
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", TINY, "--force"], cwd=path, env=env,
                   check=True, capture_output=True)
    for student in students:
        submitted(path, student, ANSWERS[student])
    return path


def submitted(course: Path, student: str, answer: int) -> None:
    nb = nbformat.read(course / "release" / TINY / f"{TINY}.ipynb", as_version=4)
    nb.cells[0].source = f"answer = {answer}"
    path = course / "submitted" / student / TINY / f"{TINY}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def report(course: Path) -> dict:
    with open(course / "grades.csv", newline="") as f:
        return {row["student_id"]: row["score"] for row in csv.DictReader(f)}


def start(command: list, env=None, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(command, env=dict(os.environ, COURSE_PROFILE="smoke", **(env or {})),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            **kwargs)


def stop(*processes) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_for(condition, timeout=300, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def course_processes(marker: str) -> list:
    found = []
    for process in psutil.process_iter(["cmdline", "cwd"]):
        try:
            if marker in " ".join(process.info["cmdline"] or []) or marker in (process.info["cwd"] or ""):
                found.append(process)
        except psutil.Error:
            pass
    return found


@pytest.mark.slow
def test_a_worker_grades_with_the_coordinators_settings_not_its_own(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "full")  # left in the worker's shell
    monkeypatch.setenv("COURSE_SEED", "7")
    cell = nbformat.v4.new_code_cell("import os; print(os.environ['COURSE_PROFILE'], os.environ.get('COURSE_SEED'))")
    task = Task(name="alice/mlp1", assignment="mlp1", notebook=nbformat.writes(nbformat.v4.new_notebook(cells=[cell])),
                files={"data.txt": b"x"}, settings={"COURSE_PROFILE": "smoke"}, timeout=120)
    result = run_task(task)
    assert result.problem is None, result.log
    assert nbformat.reads(result.notebook, as_version=4).cells[0].outputs[0].text == "smoke None\n"


def test_a_worker_refuses_what_it_cannot_grade_as_the_coordinator_would():
    expected = dict(fingerprint(), keras="0.0.1")
    problem = worker_problem(expected)
    assert "another environment than the coordinator's" in problem and "(the coordinator has 0.0.1)" in problem
    # Indirect dependencies count too (TensorFlow's ml-dtypes, pinned in constraints.txt).
    assert "ml-dtypes" in fingerprint()
    problem = worker_problem(dict(fingerprint(), **{"ml-dtypes": "0.0.1"}))
    assert problem.startswith("another environment than the coordinator's: ml-dtypes"), problem


def start_scheduler(tmp_path: Path, options: list) -> tuple:
    """(the scheduler's process, its address): a TLS scheduler on loopback, started by hand."""
    scheduler_file = tmp_path / "scheduler.json"
    scheduler = start([BIN / "dask", "scheduler", "--protocol", "tls", "--host", "127.0.0.1", "--port", "0",
                       "--no-dashboard", "--scheduler-file", scheduler_file, *options])
    wait_for(scheduler_file.exists, what="the scheduler")
    address = json.loads(scheduler_file.read_text())["address"]
    assert address.startswith("tls://127.0.0.1:")
    return scheduler, address


def worker_command(address: str) -> list:
    return [BIN / "dask", "worker", address, "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"]


@pytest.mark.slow
def test_grading_on_a_tls_dask_cluster_started_by_hand(tmp_path):
    course = scratch_course(tmp_path / "course", ["alice", "chris"])
    certificates = tmp_path / "certificates"
    make_certificates(certificates)
    scheduler, address = start_scheduler(tmp_path, dask_options(certificates / "scheduler", "scheduler"))
    processes = [scheduler]
    try:
        worker = worker_command(address)
        certified = [*worker, *dask_options(certificates / "worker", "worker")]
        processes.append(start([*certified, "--nworkers", "2"], cwd=tmp_path))
        # A worker on a machine without bubblewrap: it must refuse rather than grade unsandboxed.
        processes.append(start([*certified, "--name", "no-bubblewrap"], env={"PATH": str(BIN)}, cwd=tmp_path))
        # A worker without the course's certificates: the scheduler does not let it in.
        stranger = start([*worker, "--name", "stranger"], cwd=tmp_path)
        processes.append(stranger)
        run = grade(course, TINY, "--scheduler", address, "--certificates", str(certificates / "client"))
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        assert "WORKER REFUSED" in run.stderr and "bwrap and prlimit not found" in run.stderr
        assert "2 notebooks to grade on 2 Dask workers" in run.stdout
        assert report(course) == {s: SCORES[s] for s in ("alice", "chris")}
        # What the task needed travelled with it: the notebooks ran in the workers' scratch folders.
        assert "executed on" in (course / "logs" / "alice" / f"{TINY}.log").read_text()
        stop(stranger)
        workers = scheduler_info(address, certificates)["workers"]
        assert "stranger" not in json.dumps(workers)
        # A grading machine's certificate, copied off it, cannot act as a client: neither on the
        # scheduler nor on another worker.
        from distributed import Client
        from distributed.security import Security

        mine = certificates / "worker"
        as_client = Security(tls_ca_file=str(mine / "ca.pem"), tls_client_cert=str(mine / "worker.pem"),
                             tls_client_key=str(mine / "worker-key.pem"), require_encryption=True)
        with pytest.raises((OSError, TimeoutError)):
            Client(address, security=as_client, timeout=5)
        assert "may not ask for 'run_function'" in asyncio.run(request(address, as_client, "run_function"))
        for other in workers:
            assert "may not ask for 'run'" in asyncio.run(request(other, as_client, "run"))
    finally:
        stop(*reversed(processes))


async def request(address: str, credentials, op: str) -> str:
    """The error (or reply) `address` gives a peer showing `credentials` that asks it to run code."""
    from distributed.comm import connect

    comm = await connect(address, **credentials.get_connection_args("client"))
    try:
        await comm.write({"op": op, "function": b""})
        reply = await comm.read()
    finally:
        comm.abort()
    return str(reply.get("exception_text", reply) if isinstance(reply, dict) else reply)


@pytest.mark.slow
def test_a_cluster_that_does_not_check_roles_grades_nothing(tmp_path):
    course = scratch_course(tmp_path / "course", ["alice"])
    certificates = tmp_path / "certificates"
    make_certificates(certificates)
    without_roles = [option for option in dask_options(certificates / "scheduler", "scheduler")
                     if option not in OPTIONS["scheduler"]]
    scheduler, address = start_scheduler(tmp_path, without_roles)
    worker = start([*worker_command(address), *dask_options(certificates / "worker", "worker")], cwd=tmp_path)
    try:
        run = grade(course, TINY, "--scheduler", address, "--certificates", str(certificates / "client"))
        assert run.returncode == 1 and "lets any of the course's certificates ask anything" in run.stderr
        assert f"Start the scheduler with --preload {PRELOAD}" in run.stderr and "the workers" not in run.stderr
        assert not (course / "autograded").exists()
    finally:
        stop(worker, scheduler)


def scheduler_info(address: str, certificates: Path) -> dict:
    from distributed import Client

    with Client(address, security=security(certificates), timeout=30) as client:
        return client.scheduler_info(n_workers=-1)


def test_a_plain_tcp_scheduler_is_refused_and_nothing_is_graded(tmp_path):
    course = scratch_course(tmp_path, ["alice"])
    run = grade(course, TINY, "--scheduler", "tcp://127.0.0.1:8786")
    assert run.returncode == 1 and "course certificates" in run.stderr and "--trusted-network" in run.stderr
    nothing_graded = [course / name for name in ("autograded", "grades.csv", STATE)]
    assert not any(path.exists() for path in nothing_graded)
    run = grade(course, TINY, "--scheduler", "tls://127.0.0.1:8786")
    assert run.returncode == 1 and "--certificates DIR" in run.stderr
    assert not any(path.exists() for path in nothing_graded)
    # Plain nbgrader told of the same scheduler refuses it the same way, notebook by notebook.
    env = dict(os.environ, PATH=os.pathsep.join([str(BIN), os.environ["PATH"]]), COURSE_SCHEDULER="tcp://127.0.0.1:8786")
    run = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", TINY], cwd=course, env=env,
                         capture_output=True, text=True, timeout=600)
    assert "is neither encrypted nor authenticated" in run.stderr and "COURSE_TRUSTED_NETWORK=yes" in run.stderr
    assert not (course / "autograded").exists() or not any((course / "autograded").rglob("*.ipynb"))


def executing_notebook(coordinator) -> psutil.Process:
    """The process executing a notebook for `coordinator` (on a worker of its local cluster)."""
    def mine(process):
        try:
            return (process.info["cmdline"] or [])[1:3] == ["-m", "course.grading.execute"] and coordinator.pid in {
                parent.pid for parent in process.parents()}
        except psutil.Error:
            return False

    return wait_for(lambda: [p for p in psutil.process_iter(["cmdline"]) if mine(p)], what="a notebook executing")[0]


@pytest.mark.slow
def test_a_worker_killed_mid_notebook_is_replaced_and_its_notebook_graded_once(tmp_path):
    course = scratch_course(tmp_path, ["alice"])
    coordinator = start([sys.executable, "-m", "course", "grade", TINY, "--workers", "1"], cwd=course)
    try:
        executing = executing_notebook(coordinator)
        time.sleep(5)  # its kernel is training
        worker = executing.parent()
        worker.kill()
        wait_for(lambda: not executing.is_running() or executing.status() == psutil.STATUS_ZOMBIE,
                 timeout=30, what="the killed worker's notebook to stop")
        output, _ = coordinator.communicate(timeout=600)
    finally:
        stop(coordinator)
    assert coordinator.returncode == 0, output[-3000:]
    assert output.count("graded alice/tiny: 2/2") == 1, output[-3000:]
    assert report(course) == {"alice": "2"}


@pytest.mark.slow
def test_a_coordinator_killed_mid_run_loses_nothing_and_grades_each_notebook_once(tmp_path):
    course = scratch_course(tmp_path, SCORES)
    coordinator = start([sys.executable, "-m", "course", "grade", TINY, "--workers", "2"], cwd=course)
    try:
        def graded():
            state = json.loads((course / STATE).read_text()) if (course / STATE).exists() else {}
            return set(state.get(TINY, {}))

        before = wait_for(graded, what="a first graded notebook")
        coordinator.kill()  # kill -9: no clean-up of its own
        coordinator.wait()
        # What it had started ends with it: nothing writes the gradebook behind the next run's back.
        wait_for(lambda: not course_processes(str(course)), timeout=90, what="its processes to end")
    finally:
        stop(coordinator)
    assert len(before) < len(SCORES)
    run = grade(course, TINY, "--workers", "2")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    again = {line.split()[1].split("/")[0] for line in run.stdout.splitlines() if line.startswith("graded ")}
    assert again == set(SCORES) - before
    assert report(course) == SCORES


@pytest.mark.slow
def test_a_notebook_handed_in_again_while_it_is_graded_is_graded_anew(tmp_path):
    course = scratch_course(tmp_path, ["alice"])
    coordinator = start([sys.executable, "-m", "course", "grade", TINY], cwd=course)
    try:
        executing_notebook(coordinator)
        submitted(course, "alice", 41)  # a wrong answer, handed in while the first is graded
        output, _ = coordinator.communicate(timeout=600)
    finally:
        stop(coordinator)
    assert coordinator.returncode == 1 and "NOT GRADED alice/tiny: handed in again" in output, output[-3000:]
    assert "alice" not in json.loads((course / STATE).read_text())[TINY]
    run = grade(course, TINY)
    assert run.returncode == 0 and report(course) == {"alice": "0"}, run.stdout[-3000:] + run.stderr[-3000:]


def _worker_address():
    from distributed import get_worker

    return get_worker().address, os.environ.get("CUDA_VISIBLE_DEVICES")


def test_notebooks_that_want_a_gpu_go_to_the_worker_that_has_one(monkeypatch):
    """A machine with one GPU (faked here: no GPU is at hand): the local cluster's first worker
    holds it; a notebook under `full`, or of COURSE_GPU_ASSIGNMENTS, asks for it; scratch_cnn
    (NumPy) and the rest never do, and nothing waits for a GPU no worker has."""
    import dataclasses

    from course.grading import cluster

    monkeypatch.setenv("COURSE_GPU_ASSIGNMENTS", "pooling")
    task = Task(name="alice/cnn", assignment="cnn", notebook="", files={}, settings={"COURSE_PROFILE": "full"})
    asks = {name: cluster.wants_gpu(dataclasses.replace(task, assignment=a, settings={"COURSE_PROFILE": p}))
            for name, a, p in (("cnn full", "cnn", "full"), ("scratch_cnn full", "scratch_cnn", "full"),
                               ("mlp1 grade", "mlp1", "grade"), ("pooling grade", "pooling", "grade"))}
    assert asks == {"cnn full": True, "scratch_cnn full": False, "mlp1 grade": False, "pooling grade": True}

    with cluster.grading_cluster(None, 2) as (client, _):
        assert cluster.gpu_resources(client, task) is None  # no GPU anywhere: on the CPUs
    monkeypatch.setattr(cluster, "local_gpus", lambda: 1)
    with cluster.grading_cluster(None, 2) as (client, _):
        workers = client.scheduler_info(n_workers=-1)["workers"]
        holder = [address for address, w in workers.items() if w.get("resources", {}).get(cluster.GPU)]
        assert len(holder) == 1
        resources = cluster.gpu_resources(client, task)
        ran = {client.submit(_worker_address, resources=resources, pure=False).result() for _ in range(6)}
        assert ran == {(holder[0], "0")}
        scratch = dataclasses.replace(task, assignment="scratch_cnn")
        assert cluster.gpu_resources(client, scratch) is None


def test_the_local_cluster_grades_two_notebooks_per_share_of_the_cores_as_far_as_memory_holds(monkeypatch):
    """The default worker count (`course grade` without --workers): two kernels for each one the
    cores hold at COURSE_KERNEL_THREADS threads (what measured best, docs/benchmarks.md), each
    kernel keeping the threads calibration used, and never more kernels than the machine's memory
    holds at COURSE_MEMORY_LIMIT_GB each."""
    from course.grading.cluster import default_workers

    def machine(cores: int, memory_gb: int) -> int:
        pages = {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": memory_gb * 2**30 // 4096}
        monkeypatch.setattr(os, "cpu_count", lambda: cores)
        monkeypatch.setattr(os, "sysconf", pages.__getitem__)
        return default_workers()

    for name in ("COURSE_KERNEL_THREADS", "COURSE_MEMORY_LIMIT_GB"):
        monkeypatch.delenv(name, raising=False)
    assert machine(2, 24) == 2 and machine(16, 128) == 16 and machine(1, 16) == 1
    assert machine(16, 64) == 8 and machine(2, 4) == 1  # 8 GB a kernel
    monkeypatch.setenv("COURSE_MEMORY_LIMIT_GB", "4")
    assert machine(16, 64) == 16
    monkeypatch.setenv("COURSE_KERNEL_THREADS", "4")
    assert machine(16, 128) == 8
