"""Each TLS peer does only what its certificate's role is for: a Dask preload for the scheduler,
its workers and their nannies.

    dask scheduler --preload course.grading.roles ...
    dask worker --preload course.grading.roles --preload-nanny course.grading.roles ...

Dask's TLS lets in any peer whose certificate the course CA signed, and then lets it do anything:
a worker's certificate, copied off a grading machine, could connect as a client and run code on
the scheduler and on every other worker. Here every request is checked against the role named in
the peer's certificate (certificates.py writes "keras-course <role>"): a worker may make only the
requests Dask's workers and nannies make; the scheduler's and the client's certificates (the
coordinator's) may make any. A refused request is answered with an error that says why, and
nothing runs.
"""

import functools
import inspect

# What Dask's workers and nannies ask of the scheduler and of each other (distributed 2026.8;
# worker.py, nanny.py, worker_state_machine.py). A request that is not listed is refused, so a
# Dask upgrade that adds one shows up as a refused worker in the cluster test, not as a hole.
WORKER_REQUESTS = frozenset({
    "register-worker", "register_nanny", "heartbeat_worker", "unregister", "retire_workers", "who_has",
    "set_resources", "log-event", "keep-alive", "get_data", "close",
})
PREFIX = "keras-course "
ROLES_CHECKED = "course_roles_checked"  # set on a server that checks its peers' roles
# How `dask scheduler` and `dask worker` load this module (the worker's nanny serves requests too).
PRELOAD = __name__
OPTIONS = {"scheduler": ["--preload", PRELOAD], "worker": ["--preload", PRELOAD, "--preload-nanny", PRELOAD]}


def peer_role(comm):
    """The role named in the peer's certificate; "" where it names none of the course's; None
    where the connection is not TLS (a tcp:// cluster the instructor called trusted)."""
    certificate = comm.extra_info.get("peercert")
    if certificate is None:
        return None
    names = [value for entry in certificate.get("subject", ()) for key, value in entry if key == "commonName"]
    return next((name.removeprefix(PREFIX) for name in names if name.startswith(PREFIX)), "")


def allowed(role, request: str) -> bool:
    return role is None or role in ("scheduler", "client") or (role == "worker" and request in WORKER_REQUESTS)


def checked(request: str, handler):
    """`handler`, refusing a peer whose role may not make `request`."""
    parameters = list(inspect.signature(handler).parameters.values())
    takes_comm = bool(parameters) and parameters[0].name == "comm"

    @functools.wraps(handler)
    def guard(comm, *args, **kwargs):
        role = peer_role(comm)
        if not allowed(role, request):
            raise PermissionError(f"a {role or 'foreign'} certificate may not ask for {request!r} "
                                  "(course.grading.roles)")
        return handler(comm, *args, **kwargs) if takes_comm else handler(*args, **kwargs)

    # Dask reads a handler's signature: whether it takes `comm` first (this one always does) and
    # which keywords (`serializers`) it accepts.
    comm = inspect.Parameter("comm", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    guard.__signature__ = inspect.Signature([comm] + parameters[1 if takes_comm else 0:])
    return guard


def dask_setup(server) -> None:
    """Dask's preload hook: check every request this scheduler, worker or nanny serves."""
    server.handlers = {request: checked(request, handler) for request, handler in server.handlers.items()}
    setattr(server, ROLES_CHECKED, True)


def _checks(dask_worker=None, dask_scheduler=None) -> bool:
    return getattr(dask_worker or dask_scheduler, ROLES_CHECKED, False)


def unchecked(client) -> str | None:
    """Which servers of the TLS cluster `client` is connected to let any of the course's
    certificates ask anything (this module not loaded), as a message; None when all check."""
    if not client.scheduler.address.startswith("tls://"):
        return None
    servers = []
    try:
        scheduler_checks = client.run_on_scheduler(_checks)
    except Exception:  # noqa: BLE001 - a scheduler that cannot even import the course does not check
        scheduler_checks = False
    if not scheduler_checks:
        servers.append(f"the scheduler with {' '.join(OPTIONS['scheduler'])}")
    # A worker's nanny (a worker started with --no-nanny has none) serves requests too.
    workers = {address for nanny in (False, True)
               for address, checks in client.run(_checks, nanny=nanny, on_error="return").items() if checks is not True}
    if workers:
        servers.append(f"the workers {', '.join(sorted(workers))} with {' '.join(OPTIONS['worker'])}")
    if not servers:
        return None
    return ("This cluster lets any of the course's certificates ask anything, so a worker's certificate could act "
            f"as a client and run code on the other machines. Start {' and '.join(servers)} (`course certificates` "
            "prints the commands). Nothing was graded.")
