"""`nbgrader autograde`, notebook after notebook, in one process kept for the whole grading run:
the coordinator's side of each notebook without starting Python and importing nbgrader and Dask
for every one (about 3 CPU-seconds a notebook on mlp1; docs/benchmarks.md).

It never runs student code: each notebook is executed on a Dask worker, in a fresh sandboxed
kernel (GradeOneExecute). Each notebook runs as `nbgrader autograde ASSIGNMENT --student STUDENT
--force` would, configuration read again, its output in its own log file, the gradebook's lock
held from its start to its end except while its notebook executes; the lock is let go between
notebooks, so that the other processes record theirs.

    python -m course.grading.autograde     # in the course directory; what AutogradeProcess starts

reads one course.protocol.Autograde per line on stdin and answers each with a
course.protocol.Autograded line on stdout.
"""

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from course import protocol
from course.grading.worker import die_with_parent
from course.protocol import Autograde, Autograded


@contextlib.contextmanager
def _output_to(log: Path):
    """This process's stdout and stderr (Python's and every library's, file descriptors 1 and 2)
    written to `log`, as a process of its own would have them."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with log.open("w", encoding="utf-8") as file:
        os.dup2(file.fileno(), 1)
        os.dup2(file.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def autograde(request: Autograde) -> int:
    """`nbgrader autograde` of one notebook in this process, run as nbgrader's own tests run it; its
    exit code."""
    from jupyter_core.application import NoStart
    from nbgrader.apps.nbgraderapp import NbGraderApp

    from course.grading import nbgrader_plugins

    os.environ[nbgrader_plugins.OUTCOME_FILE] = request.outcome
    app = NbGraderApp.instance()
    try:
        app.initialize(["autograde", request.assignment, "--student", request.student, "--force"])
        app.start()
        return 0
    except NoStart:  # how a Jupyter application says that its subcommand has run
        return 0
    except SystemExit as exit:
        return exit.code if isinstance(exit.code, int) else 1
    except Exception:
        app.log.exception("autograde failed")
        return 1
    finally:
        app.reset()
        nbgrader_plugins.release_gradebook()


def serve() -> int:
    die_with_parent()
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    for line in sys.stdin:
        request = protocol.loads(Autograde, line)
        with _output_to(Path(request.log)):
            exit_code = autograde(request)
        replies.write(protocol.dumps(Autograded(exit_code)) + "\n")
        replies.flush()
    return 0


class AutogradeProcess:
    """One `python -m course.grading.autograde` in the course directory, for one slot of the cluster."""

    def __init__(self, course: Path, env: dict, log: Path):
        """`log`: where what it writes outside a notebook goes (a failed start, say), added to."""
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a", encoding="utf-8") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "course.grading.autograde"], cwd=course, env=env,
                                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=out, text=True,
                                            encoding="utf-8", start_new_session=True)

    def autograde(self, request: Autograde) -> int | None:
        """nbgrader's exit code for the notebook; None where this process ended first (it is of no
        further use then)."""
        try:
            self.process.stdin.write(protocol.dumps(request) + "\n")
            self.process.stdin.flush()
            line = self.process.stdout.readline()
        except (BrokenPipeError, ValueError):
            line = ""
        if not line:
            self.process.wait()
            return None
        return protocol.loads(Autograded, line).exit_code

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


if __name__ == "__main__":
    sys.exit(serve())
