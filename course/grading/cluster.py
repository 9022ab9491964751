"""The Dask cluster that grading runs on.

By default a local cluster of worker processes on this machine, over TLS on loopback with
certificates made for the run, its dashboard on localhost only; `--scheduler ADDRESS` (or
COURSE_SCHEDULER) any existing one: workers started by hand with `dask worker ADDRESS` on other
machines, or by dask-jobqueue on a Slurm cluster, all with the course's certificates
(course/grading/certificates.py). Each worker runs one notebook at a time (course.grading.execute.run_task); the
coordinator keeps the gradebook. A worker that dies mid-notebook is replaced by Dask and its
notebook graded again elsewhere.

Dask runs what peers send it: whoever can talk to a scheduler can run code on its workers, and
a worker's result is a pickle the coordinator unpickles. So a `tcp://` scheduler (no encryption,
no certificates) is refused unless the instructor says the network is trusted, and a TLS one
whose scheduler, workers or nannies do not check their peers' roles (course/grading/roles.py).
"""

import dataclasses
import functools
import hashlib
import logging
import os
import signal
import tempfile
from contextlib import contextmanager
from pathlib import Path

from course.grading.certificates import ROLES, make_certificates, missing, security
from course.grading.execute import run_task
from course.grading.roles import PRELOAD, unchecked
from course.grading.worker import fingerprint, worker_problem
from course.protocol import Task
from course_kernel import settings
from course_kernel.settings import kernel_threads

# The Dask resource of a worker with a GPU (`dask worker ADDRESS --resources GPU=1`): a notebook
# that wants one runs there, one at a time per GPU; the others run on any worker.
GPU = "GPU"
# How long an autograde process waits for the scheduler before it gives up on its notebook.
CONNECT_TIMEOUT_S = 60
# Set to "yes" by `course grade --trusted-network` for its autograde processes (or by hand, for a
# plain `nbgrader autograde` on a tcp:// scheduler): plumbing, not a setting.
TRUSTED_NETWORK = "COURSE_TRUSTED_NETWORK"


# Kernels graded at once for each one the cores hold at COURSE_KERNEL_THREADS threads: a notebook
# keeps its kernel's threads busy only part of its time (processes start, TensorFlow is imported,
# data is read, results are recorded), and a second kernel uses what the first leaves
# (docs/benchmarks.md, Grading a class: throughput). Threads per kernel stay as calibrated.
KERNELS_PER_SHARE = 2


def default_workers() -> int:
    """Twice as many kernels as the cores hold at COURSE_KERNEL_THREADS threads each, but never
    more than could each reach their memory limit (COURSE_MEMORY_LIMIT_GB) at once."""
    from course.grading.sandbox import memory_limit_bytes

    kernels = KERNELS_PER_SHARE * (os.cpu_count() or 1) // kernel_threads()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return max(1, min(kernels, memory // memory_limit_bytes()))


def local_gpus() -> int:
    """The GPUs of this machine (NVIDIA's device files)."""
    return len([p for p in Path("/dev").glob("nvidia*") if p.name.removeprefix("nvidia").isdigit()])


def wants_gpu(task: Task) -> bool:
    """Whether the task's notebook should train on a GPU: a lecture that trains with Keras, under the
    full profile (the lecture's 50 epochs) or named in COURSE_GPU_ASSIGNMENTS."""
    from course.lectures import LECTURES

    lecture = LECTURES.get(task.assignment)
    chosen = settings.read(task.settings).profile == "full" or task.assignment in (
        settings.read().gpu_assignments or "").split()
    return bool(lecture and lecture.keras_training and chosen)


def gpu_resources(client, task: Task) -> dict | None:
    """The Dask resources the task asks for: a GPU where it wants one and a worker has one; None
    otherwise (it never waits for a GPU no worker has)."""
    if not wants_gpu(task):
        return None
    workers = client.scheduler_info(n_workers=-1)["workers"].values()
    return {GPU: 1} if any(w.get("resources", {}).get(GPU) for w in workers) else None


async def _hold_gpu(index: int, dask_worker) -> None:
    """Make this worker of the local cluster the one of GPU `index`."""
    os.environ["CUDA_VISIBLE_DEVICES"] = str(index)
    await dask_worker.set_resources(**{GPU: 1})


def scheduler_problem(address: str | None, certificates: Path | None, trusted_network: bool):
    """Why grading must not use the scheduler at `address`, or None."""
    if not address:
        return None
    if address.startswith("tls://"):
        if certificates is None:
            return (f"--scheduler {address} needs the course's certificates: --certificates DIR/client (or "
                    "COURSE_TLS_DIR), the client's folder of those `course certificates DIR` wrote. "
                    "Nothing was graded.")
        lacking = missing(certificates)
        return (f"{certificates} lacks {', '.join(lacking)}: give the client's folder of those `course certificates "
                "DIR` wrote (DIR/client). Nothing was graded.") if lacking else None
    if trusted_network:
        return None
    return (f"{address} is neither encrypted nor authenticated: anyone who reaches it could run code on the workers, "
            "hand back made-up grades, or run code on this machine, which holds the gradebook. Make certificates "
            "(`course certificates DIR`), start the scheduler and workers with them, and grade with "
            "--scheduler tls://HOST:8786 --certificates DIR/client; or, only where every machine that can reach the "
            f"scheduler is the course's, pass --trusted-network ({TRUSTED_NETWORK}=yes for a plain `nbgrader "
            "autograde`). Nothing was graded.")


def client_security(address: str, certificates=None):
    """The client's side of TLS for `address` (None for tcp://), from `certificates` or COURSE_TLS_DIR."""
    if not address.startswith("tls://"):
        return None
    return security(Path(certificates or settings.read().tls_dir))


@contextmanager
def grading_cluster(scheduler: str | None, workers: int | None, certificates: Path | None = None):
    """(a Dask client, the folder of the client's certificates or None): of the scheduler at
    `scheduler`, or of a local cluster of `workers` processes over TLS on loopback."""
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler, timeout=CONNECT_TIMEOUT_S, security=client_security(scheduler, certificates)) as client:
            yield client, certificates
        return
    with tempfile.TemporaryDirectory(prefix="course-tls-") as folder:
        make_certificates(Path(folder), days=7)
        cluster_security = security(Path(folder), ROLES)
        # Its worker processes inherit SIGINT ignored: Ctrl-C is the coordinator's to handle, and it
        # closes the cluster (instead of a traceback from each worker on the terminal).
        interrupt = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            cluster = LocalCluster(n_workers=workers or default_workers(), threads_per_worker=1, processes=True,
                                   memory_limit="auto", silence_logs=logging.ERROR, protocol="tls://", host="127.0.0.1",
                                   dashboard_address="127.0.0.1:0", security=cluster_security,
                                   scheduler_kwargs={"preload": [PRELOAD]}, preload=[PRELOAD], preload_nanny=[PRELOAD])
        finally:
            signal.signal(signal.SIGINT, interrupt)
        with cluster, Client(cluster, security=cluster_security) as client:
            # One worker per GPU of this machine holds it; the others grade on the CPUs.
            for index, address in enumerate(sorted(client.scheduler_info(n_workers=-1)["workers"])[:local_gpus()]):
                client.run(_hold_gpu, index, workers=[address])
            yield client, Path(folder)


def check_workers(client, sandbox: bool) -> tuple:
    """({worker address: why it refuses}, slots): ask every worker whether it can grade as this
    machine does; retire the ones that cannot. `slots`: the notebooks the others run at a time."""
    try:  # workers of a batch system may still be starting
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
    except TimeoutError:
        return {}, 0
    expected = fingerprint()
    problems = client.run(worker_problem, expected, sandbox)
    refused = {address: problem for address, problem in problems.items() if problem}
    if refused:
        client.retire_workers(list(refused), close_workers=True)
    threads = client.scheduler_info(n_workers=-1)["workers"]
    return refused, sum(w["nthreads"] for a, w in threads.items() if a not in refused)


@functools.cache
def _client(scheduler: str, tls_dir: str | None):
    """A client of `scheduler`, kept for this process's later notebooks (course/grading/autograde.py)."""
    from distributed import Client

    return Client(scheduler, timeout=CONNECT_TIMEOUT_S, security=client_security(scheduler, tls_dir))


def run_on_cluster(task: Task, scheduler: str):
    """Run the task on the cluster; its Result. A scheduler that `course grade` would refuse is
    refused here too, whoever asks (a plain `nbgrader autograde` with COURSE_SCHEDULER, say)."""
    tls_dir = settings.read().tls_dir
    problem = scheduler_problem(scheduler, Path(tls_dir) if tls_dir else None, os.environ.get(TRUSTED_NETWORK) == "yes")
    if problem:
        raise RuntimeError(problem)

    # Named by its content: a notebook handed in again is another task.
    key = f"grade-{task.name.replace('/', '-')}-{hashlib.sha256(task.notebook.encode()).hexdigest()[:12]}"
    client = _client(scheduler, tls_dir)
    problem = unchecked(client)  # for every notebook: workers join and leave
    if problem:
        raise RuntimeError(problem)
    resources = gpu_resources(client, task)
    task = dataclasses.replace(task, gpu=bool(resources))
    return client.submit(run_task, task, key=key, resources=resources).result()
