"""The Dask cluster that grading runs on.

By default a local cluster of worker processes on this machine; `--scheduler ADDRESS` (or
COURSE_SCHEDULER) any existing one: workers started by hand with `dask worker ADDRESS` on other
machines, or by dask-jobqueue on a Slurm cluster. Each worker runs one notebook at a time
(course.grade_one.run_task); the coordinator keeps the gradebook. A worker that dies mid-notebook
is replaced by Dask and its notebook graded again elsewhere.
"""

import hashlib
import logging
import os
import signal
from contextlib import contextmanager

from course.grade_one import Task, fingerprint, kernel_threads, run_task, worker_problem

# How long an autograde process waits for the scheduler before it gives up on its notebook.
CONNECT_TIMEOUT_S = 60


def default_workers() -> int:
    """As many kernels as the cores hold at COURSE_KERNEL_THREADS threads each."""
    return max(1, (os.cpu_count() or 1) // kernel_threads())


@contextmanager
def grading_cluster(scheduler: str | None, workers: int | None):
    """A Dask client: of the scheduler at `scheduler`, or of a local cluster of `workers` processes."""
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler, timeout=CONNECT_TIMEOUT_S) as client:
            yield client
        return
    # Its worker processes inherit SIGINT ignored: Ctrl-C is the coordinator's to handle, and it
    # closes the cluster (instead of a traceback from each worker on the terminal).
    interrupt = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        cluster = LocalCluster(n_workers=workers or default_workers(), threads_per_worker=1, processes=True,
                               memory_limit=0, silence_logs=logging.ERROR)
    finally:
        signal.signal(signal.SIGINT, interrupt)
    with cluster, Client(cluster) as client:
        yield client


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


def run_on_cluster(task: Task, scheduler: str):
    """Run the task on the cluster; its Result."""
    from distributed import Client

    # Named by its content: a notebook handed in again is another task.
    key = f"grade-{task.name.replace('/', '-')}-{hashlib.sha256(task.notebook.encode()).hexdigest()[:12]}"
    with Client(scheduler, timeout=CONNECT_TIMEOUT_S) as client:
        return client.submit(run_task, task, key=key).result()
