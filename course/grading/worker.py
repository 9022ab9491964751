"""Can this machine grade as the coordinator does? A worker checks itself once per process: the
same Python, the same versions of the course's whole dependency tree (constraints.txt), the same
course code, the dataset, and a grading kernel that starts (in the sandbox) and can import
course_kernel. A worker that cannot refuses every task with its reason (WorkerRefused).
"""

import ctypes
import functools
import hashlib
import importlib.metadata
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

# A worker whose versions of these, or of what they depend on, differ from the coordinator's
# could grade differently: the course's declared dependencies (pyproject.toml), and these where
# the course is not installed as a package.
DISTRIBUTION = "keras-course"
PACKAGES = ("tensorflow", "keras", "numpy", "nbgrader", "nbclient", "ipykernel", "jupyter_client")

class WorkerRefused(RuntimeError):
    """This worker cannot grade as the coordinator does."""


def environment(sandbox: bool = True) -> dict:
    """This interpreter's environment, its bin/ first on PATH, so nbgrader finds the right tools."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["COURSE_SANDBOX"] = "on" if sandbox else "off"
    return env


def _version(name: str):
    for distribution in (name, f"{name}-cpu"):  # tensorflow-cpu grades as tensorflow does
        try:
            return importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            pass
    return None


def installed_dependencies(distribution: str = DISTRIBUTION) -> dict:
    """{name: version} of every package `distribution` needs here, indirect ones included (what
    constraints.txt pins), or of PACKAGES where `distribution` is not installed."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    try:
        importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return {name: _version(name) for name in PACKAGES}
    versions, todo = {}, [distribution]
    while todo:
        name = todo.pop()
        try:
            found = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            versions[canonicalize_name(name)] = None
            continue
        for text in found.requires or []:
            requirement = Requirement(text)
            if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
                continue  # another platform's, or an extra's
            key = canonicalize_name(requirement.name)
            if key not in versions and key not in todo:
                versions[key] = None
                todo.append(requirement.name)
        versions[canonicalize_name(name)] = found.version
    versions.pop(canonicalize_name(distribution))
    return versions


@functools.cache
def fingerprint() -> dict:
    """What must be the same on a worker as on the coordinator for grades to be the same."""
    import course
    import course_kernel

    digest = hashlib.sha256()
    for package in (Path(course.__file__).parent, Path(course_kernel.__file__).parent):
        for path in sorted(package.rglob("*.py")) + sorted(package.rglob("*.json")):
            digest.update(f"{path.relative_to(package.parent).as_posix()}".encode() + b"\0" + path.read_bytes())
    return {"python": platform.python_version(), **installed_dependencies(), "course package": digest.hexdigest()[:16]}


def kernel_problem(sandbox: bool):
    """Why a grading kernel could not start here and cap training, or None when it can."""
    from jupyter_client.kernelspec import KernelSpecManager

    from course.grading.sandbox import SandboxUnavailable, sandbox_command

    env = environment(sandbox)
    python = KernelSpecManager().get_kernel_spec("python3").argv[0]
    python = shutil.which(python, path=env["PATH"]) or python
    command = [python, "-c", "import course_kernel.profiles"]
    with tempfile.TemporaryDirectory() as scratch:
        if sandbox:
            try:
                command = sandbox_command(command, Path(scratch), Path(scratch))
            except SandboxUnavailable as error:
                return str(error)
        check = subprocess.run(command, cwd=scratch, env=env, capture_output=True, text=True)
    if check.returncode:
        where = " in the sandbox (bubblewrap; are user namespaces enabled?)" if sandbox else ""
        return (f"the python3 kernel ({python}) cannot import the course package{where}, so it could not "
                "cap training or run hidden tests: grade with the course's environment (`make env`, "
                f"`make grade`).\n{check.stderr.strip()[-1500:]}")
    return None


@functools.cache
def _worker_problem(expected: tuple, sandbox: bool):
    from course.data import DatasetError, ensure_fashion_mnist

    mine = fingerprint()
    differences = [f"{key} {mine.get(key)} (the coordinator has {value})"
                   for key, value in expected if mine.get(key) != value]
    if differences:
        return "another environment than the coordinator's: " + ", ".join(differences)
    try:
        ensure_fashion_mnist()
    except DatasetError as error:
        return str(error)
    return kernel_problem(sandbox)


def worker_problem(expected: dict, sandbox: bool = True):
    """Why this machine cannot grade as the coordinator (whose fingerprint is `expected`) does, or
    None. Checked once per process."""
    return _worker_problem(tuple(sorted(expected.items())), sandbox) if expected else None


def die_with_parent() -> None:
    """End this process when the one that started it ends, however it ends (Linux)."""
    parent = os.getppid()
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (AttributeError, OSError):
        return
    if os.getppid() != parent:
        os._exit(1)
