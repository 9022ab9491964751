import subprocess
import sys
from pathlib import Path

from course.instructor.cli import COMMANDS


def course(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "course", *args], capture_output=True, text=True, timeout=120)


def test_one_command_lists_every_instructor_command():
    listed = course("--help")
    assert listed.returncode == 0
    for name in COMMANDS:
        assert f"\n  {name} " in listed.stdout
    # The console script pip installs is the same command.
    script = Path(sys.executable).parent / "course"
    assert subprocess.run([script, "--help"], capture_output=True, text=True).stdout == listed.stdout


def test_each_command_has_its_own_help_under_its_name():
    for name in ("grade", "export", "demo-class", "data"):
        helped = course(name, "--help")
        assert helped.returncode == 0 and helped.stdout.startswith(f"usage: course {name}"), (name, helped.stdout)


def test_an_unknown_command_says_which_exist():
    run = course("grde")
    assert run.returncode == 2 and "no command 'grde'" in run.stderr and "grade-by-hand" in run.stderr
