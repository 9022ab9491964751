"""The sandbox's limits hold for whatever runs in the kernel (the filesystem and network are
tried by a grading submission in test_hostile.py)."""

import nbformat
import pytest
from conftest import cgroup_possible
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

from course.grading.sandbox import SandboxedKernelManager, missing_tools

pytestmark = pytest.mark.skipif(bool(missing_tools()), reason="bubblewrap is not installed")


def run_in_sandbox(tmp_path, *sources):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    client = NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True,
                            kernel_manager_class=SandboxedKernelManager,
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    return nb


def test_cpu_time_limit_ends_the_kernel(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CPU_LIMIT_S", "2")
    with pytest.raises(DeadKernelError):
        run_in_sandbox(tmp_path, "while True:\n    pass")


def test_kernel_works_in_its_folder_and_cannot_lift_its_limits(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_MEMORY_LIMIT_GB", "2")
    nb = run_in_sandbox(
        tmp_path,
        "import os, resource\nopen('answer.txt', 'w').write('42')\nprint(resource.getrlimit(resource.RLIMIT_AS))",
        "resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))",
    )
    assert (tmp_path / "answer.txt").read_text() == "42"
    assert nb.cells[0].outputs[0].text.strip() == f"({2 * 2**30}, {2 * 2**30})"
    assert nb.cells[1].outputs[0].ename == "ValueError"


def test_the_kernel_has_no_root_and_no_variables_of_the_grading_run(tmp_path, monkeypatch):
    """Whoever grades (CI grades as root): an unprivileged uid, no capabilities, no remount of a
    read-only folder, no /etc/shadow, no user namespace, none of the grading run's variables."""
    monkeypatch.setenv("GRADING_API_TOKEN", "token-of-the-grading-run")
    nb = run_in_sandbox(tmp_path, """
import os, subprocess, sys
environment = next(p for p in sys.path if p.endswith('site-packages'))
def fails(*command):
    return subprocess.run(command, capture_output=True).returncode != 0
print(os.getuid(), int(open('/proc/self/status').read().split('CapEff:')[1].split()[0], 16),
      fails('mount', '-o', 'remount,bind,rw', environment), fails('cat', '/etc/shadow'),
      fails('unshare', '--user', '--map-root-user', 'true'), 'GRADING_API_TOKEN' in os.environ)
""")
    assert nb.cells[0].outputs[0].text.split() == ["65534", "0", "True", "True", "True", "False"]


def test_shared_memory_is_as_small_as_a_file_and_dev_is_read_only(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_FILE_LIMIT_GB", "0.0625")
    nb = run_in_sandbox(tmp_path, """
import os
def written(path, files):
    try:
        for number in range(files):  # 16 MB each: less than the largest file a kernel may write
            with open(f'{path}{number}', 'wb') as file:
                file.write(bytes(16 * 2**20))
        return 'written'
    except OSError as error:
        return error.strerror
print(written('/dev/shm/filler', 8), '|', written('/dev/filler', 1))
""")
    assert nb.cells[0].outputs[0].text.strip() == "No space left on device | Read-only file system"


@pytest.mark.skipif(not cgroup_possible("memory"), reason="this machine lets the grader make no memory cgroup")
def test_memory_is_limited_for_the_whole_kernel(tmp_path, monkeypatch):
    """Three children of 450 MB each, each within its own address space, pass a 1 GB limit
    together: some are killed, the kernel goes on, the machine is not touched, and the grading
    log can say why they died."""
    monkeypatch.setenv("COURSE_MEMORY_LIMIT_GB", "1")
    monkeypatch.setattr(SandboxedKernelManager, "_ran_out_of_memory", False)
    nb = run_in_sandbox(tmp_path, """
import subprocess, sys
code = "import time; block = b'x' * (450 * 2**20); time.sleep(3)"
children = [subprocess.Popen([sys.executable, '-c', code]) for _ in range(3)]
print(sorted(child.wait() for child in children))
""", "print('still here')")
    codes = eval(nb.cells[0].outputs[0].text)
    assert -9 in codes, codes  # killed by the out-of-memory killer of the kernel's cgroup
    assert nb.cells[1].outputs[0].text.strip() == "still here"
    assert SandboxedKernelManager.memory_limit_reached()


@pytest.mark.skipif(not cgroup_possible("memory"), reason="this machine lets the grader make no memory cgroup")
def test_a_kernel_that_fills_its_memory_with_files_dies_with_that_reason(tmp_path, monkeypatch):
    """Files in its /tmp, home and /dev/shm count towards the kernel's memory: past the limit,
    the out-of-memory killer ends the kernel, and the reason says so."""
    from course.grading.execute import not_graded

    monkeypatch.setenv("COURSE_MEMORY_LIMIT_GB", "1")
    monkeypatch.setenv("COURSE_FILE_LIMIT_GB", "0.5")
    monkeypatch.setattr(SandboxedKernelManager, "_ran_out_of_memory", False)
    filler = """
import os
for folder in ('/dev/shm', '/tmp', os.path.expanduser('~')):
    for number in range(9):  # 50 MB each: 450 MB a folder, within the file limit; not within the memory limit
        try:
            with open(f'{folder}/filler{number}', 'wb') as file:
                file.write(b'x' * (50 * 2**20))
        except OSError:
            break
"""
    with pytest.raises(DeadKernelError) as died:
        run_in_sandbox(tmp_path, filler)
    assert "memory limit of 1 GB reached" in not_graded(died.value).reason


@pytest.mark.skipif(not cgroup_possible("pids"), reason="this machine lets the grader make no pids cgroup")
def test_cgroups_a_grading_left_behind_are_removed_later():
    import os

    from course.grading.sandbox import kernel_cgroups, remove_cgroup

    left = kernel_cgroups({"pids": 64})["pids"]  # a kernel that died before its cgroup could go
    os.utime(left, (0, 0))  # made long ago
    new = kernel_cgroups({"pids": 64})["pids"]
    assert not left.exists() and new.exists()  # a cgroup made just now is never swept
    remove_cgroup(new)


def test_a_kernel_without_cgroups_is_never_said_to_have_run_out_of_memory(monkeypatch):
    from nbclient.exceptions import DeadKernelError

    from course.grading.execute import not_graded

    monkeypatch.setattr(SandboxedKernelManager, "_kernels_cgroups", [{}])
    monkeypatch.setattr(SandboxedKernelManager, "_ran_out_of_memory", False)
    assert "or ran past the memory" in not_graded(DeadKernelError("died")).reason
