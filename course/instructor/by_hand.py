"""Grade the written answers by hand: JupyterLab with nbgrader's formgrader on this course.

    make grade-by-hand          # or: course grade-by-hand

In JupyterLab: *Nbgrader* → *Formgrader* → *Manual Grading* → an assignment → a student; give
the points of each written answer (考察) and a comment; they are saved as you type. Then
`make grade` writes them into grades.csv and the students' feedback.
"""

import argparse
import os
import sys
from pathlib import Path


def lab_command(port: int | None, token: str | None, browser: bool) -> list:
    command = [sys.executable, "-m", "jupyterlab", "--ServerApp.root_dir=.",
               # An instructor's machine may be offline: JupyterLab fetches no news and checks for no update.
               "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if port:
        command.append(f"--ServerApp.port={port}")
    if token is not None:
        command.append(f"--IdentityProvider.token={token}")
    if not browser:
        command.append("--no-browser")
    if os.geteuid() == 0:  # a container or a CI machine: Jupyter refuses root without this
        command.append("--allow-root")
    return command


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", type=Path, default=Path.cwd(), help="the course directory (default: here)")
    parser.add_argument("--port", type=int, help="the server's port (default: 8888 or the next free one)")
    parser.add_argument("--token", help="the login token (default: a new one, printed with the address)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    args = parser.parse_args(argv)
    course = args.course.resolve()
    if not (course / "gradebook.db").exists():
        print(f"Nothing is graded in {course} yet: run `make grade` first, then grade the written answers "
              "by hand.", file=sys.stderr)
        return 1
    print("In JupyterLab: Nbgrader → Formgrader → Manual Grading. Then `make grade` puts the points "
          "into grades.csv and the feedback.", flush=True)
    os.chdir(course)
    # Formgrader's own buttons (autograde, feedback) start nbgrader's kernels from PATH.
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    command = lab_command(args.port, args.token, not args.no_browser)
    os.execv(command[0], command)


if __name__ == "__main__":
    sys.exit(main())
