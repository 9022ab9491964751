"""Grading kernels in a sandbox: each student's notebook runs where it can do no harm.

nbgrader starts every grading kernel through `SandboxedKernelManager` (see
nbgrader_config.py). The kernel runs under bubblewrap (Debian's `bubblewrap` package) with:

- a filesystem of its own: the system (`/usr`, `/etc`), the Python environment, the kernel's
  part of the course (`course_kernel`) and the dataset, read-only; its notebook's folder,
  writable; an empty `/tmp` and home folder. Nothing else can be written; the gradebook,
  `source/`, `submitted/` and other students' folders do not exist in it;
- no network (a network namespace of its own; it talks to nbgrader over Unix sockets);
- limits the kernel cannot lift: address space (`COURSE_MEMORY_LIMIT_GB`, default 8), CPU time
  (`COURSE_CPU_LIMIT_S`, default 1800) and the size of any file it writes
  (`COURSE_FILE_LIMIT_GB`, default 1), set with `prlimit` before it starts; its `/tmp`, home and
  `/dev/shm` hold at most as much; processes and threads (`COURSE_PROCESS_LIMIT`, default 512)
  and the memory of all its processes together (`COURSE_MEMORY_LIMIT_GB` again), in cgroups of
  its own where the machine lets the grader make them (`kernel_cgroups`), else the processes
  with `prlimit --nproc` (which does not hold for root). When the kernel ends, everything it
  started ends with it (its own PID namespace);
- no root: an unprivileged uid of its own user namespace, no capabilities, an environment of
  the course's settings alone.

These are the kernel's own namespaces and resource limits, not checks in Python: student code
that undoes anything in its interpreter is still inside them.
"""

import contextlib
import functools
import importlib.metadata
import os
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

from course.data import keras_cache_dir
from course_kernel import settings


class SandboxUnavailable(RuntimeError):
    pass


def memory_limit_bytes() -> int:
    return int(settings.read().memory_limit_gb * 2**30)


def cpu_limit_seconds() -> int:
    return settings.read().cpu_limit_s


def file_limit_bytes() -> int:
    return int(settings.read().file_limit_gb * 2**30)


def process_limit() -> int:
    return settings.read().process_limit


def _cgroup_parents(controller: str) -> list:
    """Where this machine may have a `controller` cgroup for us to make a child in: cgroup v1's
    hierarchy of it, or cgroup v2 where our cgroup hands the controller down."""
    parents = []
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            parents.append(Path("/sys/fs/cgroup") / controller / path.lstrip("/"))
        elif controllers == "":
            folder = Path("/sys/fs/cgroup") / path.lstrip("/")
            with contextlib.suppress(OSError):
                if controller in (folder / "cgroup.subtree_control").read_text().split():
                    parents.append(folder)
    return parents


# The file that sets each controller's limit: cgroup v1's name, then v2's.
LIMIT_FILES = {"pids": ("pids.max",), "memory": ("memory.limit_in_bytes", "memory.max")}


def _set_limit(cgroup: Path, controller: str, limit: int) -> bool:
    for name in LIMIT_FILES[controller]:
        with contextlib.suppress(OSError):
            (cgroup / name).write_text(str(limit))
            return True
    return False


def kernel_cgroups(limits: dict) -> dict:
    """{controller: the new cgroup that limits it} for each of `limits` ({"pids": processes and
    threads, "memory": bytes of every process and of their tmpfs pages together}) that this
    machine lets us limit (cgroup v1 has a hierarchy per controller; cgroup v2, one cgroup for all
    the controllers its parent hands down). The others are left out."""
    made = {}
    for controller, limit in limits.items():
        for parent in _cgroup_parents(controller):
            _sweep(parent)
            shared = next((cgroup for cgroup in made.values() if cgroup.parent == parent), None)
            with contextlib.suppress(OSError):
                cgroup = shared or Path(tempfile.mkdtemp(prefix="course-kernel-", dir=parent))
                if _set_limit(cgroup, controller, limit):
                    made[controller] = cgroup
                    break
                if not shared:
                    cgroup.rmdir()
    return made


def out_of_memory(cgroups: dict) -> bool:
    """Whether the out-of-memory killer ended a process of the memory cgroup in `cgroups` (cgroup
    v1's `memory.oom_control`, v2's `memory.events`: `oom_kill N`)."""
    cgroup = cgroups.get("memory")
    for name in ("memory.oom_control", "memory.events") if cgroup else ():
        with contextlib.suppress(OSError, ValueError):
            for line in (cgroup / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill" and int(value) > 0:
                    return True
    return False


# A cgroup is joined within a second of being made: an empty one older than this is left over.
LEFT_OVER_S = 600


def _sweep(parent: Path) -> None:
    """Remove the kernels' cgroups in `parent` that a grading left behind: empty, and made long ago
    (a kernel's end can outlast remove_cgroup's patience)."""
    with contextlib.suppress(OSError):
        for cgroup in parent.glob("course-kernel-*"):
            with contextlib.suppress(OSError):
                if time.time() - cgroup.stat().st_mtime > LEFT_OVER_S and not (cgroup / "cgroup.procs").read_text():
                    cgroup.rmdir()


def remove_cgroup(cgroup: Path) -> None:
    """Remove a cgroup once the processes in it have ended (a PID namespace's end kills them all,
    but not at once)."""
    for _ in range(50):
        try:
            cgroup.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.1)


def _user_tasks() -> int:
    """The processes and threads this user runs now."""
    uid, total = str(os.getuid()), 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, KeyError):
                fields = dict(line.split(":", 1) for line in Path(entry.path, "status").read_text().splitlines())
                if fields["Uid"].split()[0] == uid:
                    total += int(fields["Threads"])
    return total


def missing_tools() -> list:
    """The commands the sandbox needs that this machine lacks."""
    return [tool for tool in ("bwrap", "prlimit") if shutil.which(tool) is None]


def _readable_paths() -> list:
    """What a grading kernel must read besides the system: its Python environment, the kernel's
    part of the course (course_kernel: never the `course` package, which holds the answers), the
    dataset (a folder that may not exist yet is skipped)."""
    import course_kernel

    paths = [Path(sys.prefix), Path(sys.base_prefix), Path(course_kernel.__file__).parent, keras_cache_dir()]
    return sorted({p.resolve() for p in paths if p.exists()})


def course_package() -> Path:
    """The `course` package's folder: the verifier, not a kernel, reads it."""
    import course

    return Path(course.__file__).parent.resolve()


@functools.cache
def matplotlib_font_list() -> Path | None:
    """matplotlib's list of this machine's fonts, made once per machine in the grader's cache and
    bound read-only into every sandbox, where each kernel and verifier would otherwise build it
    again in an empty /tmp (running `fc-list`); None where it cannot be made (each then builds
    its own)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    with contextlib.suppress(OSError, subprocess.SubprocessError, importlib.metadata.PackageNotFoundError):
        folder = cache / "keras-course" / f"matplotlib-{importlib.metadata.version('matplotlib')}"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not any(folder.glob("fontlist-v*.json")):
            subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], env=dict(
                os.environ, MPLCONFIGDIR=str(folder)), capture_output=True, timeout=120, check=True)
        return next(iter(sorted(folder.glob("fontlist-v*.json"))), None)
    return None


def sandbox_command(kernel_cmd: list, workdir: Path, runtime_dir: Path, readonly: tuple = (),
                    cgroups: dict | None = None) -> list:
    """`kernel_cmd` wrapped so that it runs in the sandbox, in `workdir`, seeing the `readonly`
    folders too, in `cgroups` (kernel_cgroups): its processes counted in a pids cgroup or else by
    `prlimit --nproc`, its memory in a memory cgroup where there is one."""
    missing = missing_tools()
    if missing:
        raise SandboxUnavailable(
            f"{' and '.join(missing)} not found: install Debian's bubblewrap (and util-linux) package "
            "(`sudo apt install bubblewrap`) to grade in a sandbox, or grade without isolation with "
            "`course grade --no-sandbox` (COURSE_SANDBOX=off)."
        )
    command = ["bwrap", "--unshare-all", *NO_ROOT, "--die-with-parent", "--new-session", "--clearenv",
               *_kept_environment(), "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc", *_private_files()]
    command += _system_links()
    size = ["--size", str(file_limit_bytes())]
    command += ["--proc", "/proc", *_small_dev(size), *size, "--tmpfs", "/tmp"]
    if os.environ.get("CUDA_VISIBLE_DEVICES") != "":  # a task that holds a GPU (run_task hides it from the others)
        for device in sorted(Path("/dev").glob("nvidia*")):
            command += ["--dev-bind", str(device), str(device)]
    fonts = matplotlib_font_list()
    if fonts:  # read where MPLCONFIGDIR points: matplotlib does not look for fonts again
        command += ["--ro-bind", str(fonts), f"/tmp/{fonts.name}"]
    home = os.environ.get("HOME", "/")
    if home != "/":
        # An empty home of its own, so that Keras, IPython and matplotlib find it writable.
        command += [*size, "--tmpfs", home]
    for path in _readable_paths() + list(readonly):
        command += ["--ro-bind", str(path), str(path)]
    command += ["--bind", str(runtime_dir), str(runtime_dir),
                "--bind", str(workdir), str(workdir), "--chdir", str(workdir),
                "--remount-ro", "/",  # what bwrap made to hold the mounts
                # The kernel cannot see its parent from its own PID namespace; bwrap --die-with-parent
                # ends it with its parent instead.
                "--setenv", "JPY_PARENT_PID", "1", "--setenv", "MPLCONFIGDIR", "/tmp",
                "--", "prlimit", f"--as={memory_limit_bytes()}", f"--cpu={cpu_limit_seconds()}",
                f"--fsize={file_limit_bytes()}"]
    cgroups = cgroups or {}
    if "pids" not in cgroups:
        # RLIMIT_NPROC counts every process and thread of the user (and does not bind root): the
        # user's own now, plus the kernel's share.
        command.append(f"--nproc={_user_tasks() + process_limit()}")
    command = command + ["--"] + list(kernel_cmd)
    return in_cgroups(command, cgroups)


def in_cgroups(command: list, cgroups: dict) -> list:
    """`command` started in `cgroups` (kernel_cgroups), before bwrap: everything it starts is
    counted there."""
    if not cgroups:
        return command
    joins = [f"echo $$ > {shlex.quote(str(cgroup / 'cgroup.procs'))}" for cgroup in sorted(set(cgroups.values()))]
    return ["sh", "-c", " && ".join(joins + ['exec "$@"']), "sh", *command]


def _interpreter_site() -> Path:
    """The interpreter's own site-packages (not the course environment's)."""
    import sysconfig

    return Path(sysconfig.get_path("purelib", vars={"base": sys.base_prefix}))


# No root inside, whoever grades: an unprivileged uid and gid of a user namespace of its own, no
# capabilities (root's would let a kernel remount a read-only folder writable), and no user
# namespace of its own to make (where a new one would give them back).
NO_ROOT = ["--unshare-user", "--uid", "65534", "--gid", "65534", "--disable-userns", "--cap-drop", "ALL"]
# What a sandboxed process keeps of the grading machine's environment (bwrap --clearenv first):
# the course's carried settings (course_kernel.settings) and these; nothing else set for the
# grading run (a token, COURSE_TLS_DIR) can reach a notebook's output.
# Set on machines where OpenBLAS needs them: every sandboxed process keeps them.
OPENBLAS_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
KEPT_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "KERAS_HOME", "KERAS_BACKEND", "NBGRADER_EXECUTION",
                  "CUDA_VISIBLE_DEVICES", "TF_FORCE_GPU_ALLOW_GROWTH",
                  "TF_CPP_MIN_LOG_LEVEL", "OMP_NUM_THREADS", *OPENBLAS_VARIABLES)


def _kept_environment() -> list:
    names = KEPT_VARIABLES + settings.carried_names()
    return [argument for name in names if name in os.environ for argument in ("--setenv", name, os.environ[name])]


@functools.cache
def _private_files(folder: str = "/etc") -> list:
    """bwrap's arguments that hide what in `folder` only its owner may read (/etc/shadow, private
    keys): inside, the owner's uid is the grader's, and root's files would be readable."""
    arguments = []
    for root, folders, files in os.walk(folder):
        for name in folders + files:
            path = os.path.join(root, name)
            with contextlib.suppress(OSError):
                mode = os.lstat(path).st_mode
                if not stat.S_ISLNK(mode) and not mode & stat.S_IROTH:
                    arguments += ["--tmpfs", path] if stat.S_ISDIR(mode) else ["--ro-bind", "/dev/null", path]
        folders[:] = [name for name in folders if os.access(os.path.join(root, name), os.R_OK)]
    return arguments


def _small_dev(size: list) -> list:
    """A /dev of the few devices bwrap makes, read-only, and a /dev/shm of the file limit's size
    (bwrap's own would be a tmpfs of half the machine's memory)."""
    return ["--dev", "/dev", *size, "--tmpfs", "/dev/shm", "--remount-ro", "/dev"]


def _system_links() -> list:
    """bwrap's arguments for /bin, /lib, /lib64 and /sbin: links into /usr as the host has them."""
    arguments = []
    for link in ("bin", "lib", "lib64", "sbin"):
        target = Path("/") / link
        if target.is_symlink():
            arguments += ["--symlink", os.readlink(target), str(target)]
        elif target.is_dir():
            arguments += ["--ro-bind", str(target), str(target)]
    return arguments


def _python_folders() -> list:
    """Where this machine keeps Python packages besides the course's environment: Debian's, and
    the interpreter's own site-packages."""
    debian = [path for pattern in ("usr/lib/python3*", "usr/local/lib/python3*") for path in Path("/").glob(pattern)]
    return [path for path in debian + [_interpreter_site()] if path.is_dir()]


def _numpy_only_environment() -> dict:
    """All the NumPy-only process gets of the grading machine's environment: one thread, and the
    OpenBLAS settings of machines where OpenBLAS needs them."""
    kept = {name: os.environ[name] for name in OPENBLAS_VARIABLES if name in os.environ}
    return {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", **kept}


# Where the NumPy-only process finds its runner and NumPy.
NUMPY_ONLY_HOME = Path("/numpy-only")


def numpy_only_command(runner: Path, workdir: Path, arguments: list, sandbox: bool = True,
                       cgroups: dict | None = None) -> list:
    """`python runner *arguments` where only NumPy and the standard library exist
    (course/grading/numpy_only.py): the interpreter's standard library, NumPy's own folder and the
    runner, read-only; no other Python package is mounted (the course's environment, Debian's and the
    interpreter's site-packages are not there); `workdir` writable; no network, no capabilities, not
    root, no environment but the thread settings; the kernel's limits (prlimit, and `cgroups`).

    Without the sandbox (`course grade --no-sandbox`), NumPy alone is on the interpreter's path, in
    an empty environment: an `import keras` fails as it does in the sandbox, but code that adds
    the course's environment to its path again is not kept out."""
    import numpy

    python = Path(os.path.realpath(sys.executable))
    numpy_folder = Path(numpy.__file__).parent
    if not sandbox:
        path = workdir / "numpy-alone"
        path.mkdir()
        for folder in (numpy_folder, numpy_folder.with_name("numpy.libs")):
            if folder.is_dir():
                (path / folder.name).symlink_to(folder)
        variables = [f"{name}={value}" for name, value in _numpy_only_environment().items()]
        return ["env", "-i", f"PYTHONPATH={path}", *variables, str(python), "-S", "-s", str(runner), *arguments]
    missing = missing_tools()
    if missing:
        raise SandboxUnavailable(f"{' and '.join(missing)} not found: install Debian's bubblewrap package.")
    base = Path(sys.base_prefix).resolve()
    site = _interpreter_site()
    command = ["bwrap", "--unshare-all", *NO_ROOT, "--die-with-parent", "--new-session", "--clearenv",
               "--ro-bind", "/usr", "/usr"]
    command += _system_links()
    if base.parts[1] != "usr":
        command += ["--ro-bind", str(base), str(base)]
    size = ["--size", str(file_limit_bytes())]
    for folder in _python_folders():
        command += ["--tmpfs", str(folder)]  # an empty folder over each: nothing to import there
    # NumPy in the interpreter's own (now empty) site-packages, which `python -I` puts on its path.
    command += ["--ro-bind", str(numpy_folder), str(site / "numpy")]
    if numpy_folder.with_name("numpy.libs").is_dir():  # the OpenBLAS of NumPy's wheel, where NumPy looks for it
        command += ["--ro-bind", str(numpy_folder.with_name("numpy.libs")), str(site / "numpy.libs")]
    command += ["--ro-bind", str(runner), str(NUMPY_ONLY_HOME / runner.name),
                "--proc", "/proc", *_small_dev(size), *size, "--tmpfs", "/tmp",
                "--bind", str(workdir), str(workdir), "--chdir", str(workdir), "--remount-ro", "/",
                "--setenv", "HOME", "/tmp", "--setenv", "PATH", "/usr/bin:/bin"]
    for name, value in _numpy_only_environment().items():
        command += ["--setenv", name, value]
    command += ["--", "prlimit", f"--as={memory_limit_bytes()}", f"--cpu={cpu_limit_seconds()}",
                f"--fsize={file_limit_bytes()}", f"--nproc={process_limit()}", "--",
                str(python), "-I", str(NUMPY_ONLY_HOME / runner.name), *arguments]
    return in_cgroups(command, cgroups or {})


class SandboxedKernelManager(AsyncKernelManager):
    """Starts the kernel inside the sandbox; it talks to nbgrader over Unix sockets in a folder
    of its own, the only one besides its working folder that it may write."""

    _runtime_dir = None
    _cgroups: dict = {}
    readonly: tuple = ()  # more folders it may read
    # The cgroups of this process's kernels (one notebook is executed per process), and whether
    # one whose cgroups are gone ran out of memory: why a kernel died, for the instructor.
    _kernels_cgroups: list = []
    _ran_out_of_memory = False

    @classmethod
    def memory_limit_reached(cls) -> bool:
        """Whether the memory cgroup of a kernel of this process ended one of its processes."""
        return cls._ran_out_of_memory or any(out_of_memory(cgroups) for cgroups in cls._kernels_cgroups)

    async def _async_pre_start_kernel(self, **kw):
        self._runtime_dir = Path(tempfile.mkdtemp(prefix="course-kernel-"))
        self._cgroups = kernel_cgroups({"pids": process_limit(), "memory": memory_limit_bytes()})
        SandboxedKernelManager._kernels_cgroups.append(self._cgroups)
        self.transport = "ipc"
        self.ip = str(self._runtime_dir / "ipc")
        self.connection_file = str(self._runtime_dir / "connection.json")
        # A signal would reach bwrap, not the kernel: interrupt (after a cell's timeout) by message.
        self.kernel_spec.interrupt_mode = "message"
        kernel_cmd, kw = await super()._async_pre_start_kernel(**kw)
        workdir = Path(kw.get("cwd") or os.getcwd()).resolve()
        return sandbox_command(kernel_cmd, workdir, self._runtime_dir, readonly=self.readonly,
                               cgroups=self._cgroups), kw

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if self._runtime_dir is not None and not restart:
            shutil.rmtree(self._runtime_dir, ignore_errors=True)
        if not restart and self._cgroups in SandboxedKernelManager._kernels_cgroups:
            if out_of_memory(self._cgroups):
                SandboxedKernelManager._ran_out_of_memory = True
            SandboxedKernelManager._kernels_cgroups.remove(self._cgroups)
            for cgroup in set(self._cgroups.values()):
                remove_cgroup(cgroup)


class ReferenceKernelManager(SandboxedKernelManager):
    """The sandbox for the course's own reference solutions (`course calibrate`), which may also
    read the `course` package: calibration measures each model's test accuracy in the kernel with
    the course's own function. Never for a student's notebook."""

    @property
    def readonly(self) -> tuple:
        return (course_package(),)
