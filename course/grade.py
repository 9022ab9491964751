"""Grade the class in one command.

    python -m course.grade                  # every assignment in source/
    python -m course.grade mlp1 --regrade   # grade again what was graded before

For each assignment: regenerate release/ from source/, autograde every submission in
submitted/<student>/<assignment>/ (ones graded before are kept unless --regrade, or unless the
student handed in again), rewrite feedback/, then export grades.csv and print one row per
student. Run it in the course's environment (`make grade`): nbgrader starts `alembic` and the
kernel from PATH.
"""

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from course.data import DatasetError, ensure_fashion_mnist
from course.profiles import active_profile


def environment() -> dict:
    """This interpreter's environment, its bin/ first on PATH, so nbgrader finds the right tools."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def nbgrader(course: Path, *args: str) -> bool:
    """Run one nbgrader command; on failure say so and go on (what is graded stays graded)."""
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=environment())
    if done.returncode:
        print(f"ERROR `nbgrader {' '.join(args)}` failed (its log is above); grades already in "
              "gradebook.db are kept. Fix what it reports and run this command again.", file=sys.stderr)
    return done.returncode == 0


def kernel_problem(course: Path):
    """Why the grading kernel could not cap training, or None when it can."""
    from jupyter_client.kernelspec import KernelSpecManager

    python = KernelSpecManager().get_kernel_spec("python3").argv[0]
    python = shutil.which(python, path=environment()["PATH"]) or python
    check = subprocess.run(
        [python, "-c", "import course.profiles"], cwd=course, env=environment(), capture_output=True, text=True
    )
    if check.returncode:
        return (
            f"The python3 kernel ({python}) cannot import the course package, so grading could not cap "
            "training or run hidden tests. Run `make env` and grade with the course's environment "
            f"(`make grade`).\n{check.stderr.strip()}"
        )
    return None


def misnamed_submissions(course: Path, assignment: str) -> list:
    """Notebooks in a submission folder that nbgrader would ignore, e.g. Colab's `Copy of mlp1.ipynb`."""
    expected = {p.name for p in (course / "source" / assignment).glob("*.ipynb")}
    problems = []
    for folder in sorted((course / "submitted").glob(f"*/{assignment}")):
        present = {p.name for p in folder.glob("*.ipynb")}
        for name in sorted(present - expected):
            wanted = " or ".join(sorted(expected - present)) or "the assignment's notebook name"
            problems.append(f"{folder / name}: not graded; rename it to {wanted}")
    return problems


def class_table(course: Path, assignments: list) -> list:
    """(student, assignment, score, max score, the tests that lost points) for every submission."""
    from nbgrader.api import Gradebook, MissingEntry

    rows = []
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student in sorted(s.id for s in gradebook.students):
            for assignment in assignments:
                try:
                    submission = gradebook.find_submission(assignment, student)
                except MissingEntry:
                    continue
                lost = []
                for g in (grade for notebook in submission.notebooks for grade in notebook.grades):
                    if g.needs_manual_grade:  # a written answer, or a test that never ran
                        why = "grade by hand" if g.cell.cell_type == "markdown" else "not autograded"
                        lost.append(f"{g.name} ({why}, {g.max_score:g})")
                    elif g.score < g.max_score:
                        lost.append(f"{g.name} -{g.max_score - g.score:g}")
                rows.append((student, assignment, submission.score, submission.max_score, lost))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignments", nargs="*", help="assignment ids (default: every folder in source/)")
    parser.add_argument("--regrade", action="store_true", help="autograde again submissions graded before")
    parser.add_argument("--course", type=Path, default=Path.cwd(), help="the course directory (default: here)")
    args = parser.parse_args(argv)
    course = args.course.resolve()

    assignments = args.assignments or sorted(p.name for p in (course / "source").iterdir() if p.is_dir())
    unknown = [a for a in assignments if not (course / "source" / a).is_dir()]
    if unknown:
        print(f"No such assignment in {course / 'source'}: {', '.join(unknown)}", file=sys.stderr)
        return 2
    try:
        ensure_fashion_mnist()
        problem = kernel_problem(course)
        profile = active_profile()
    except (DatasetError, ValueError) as error:
        problem = str(error)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    print(f"Grading {', '.join(assignments)} under the {profile.name} profile ({profile.description}).")

    force = ["--force"] if args.regrade else []
    ok = True
    for assignment in assignments:
        if not nbgrader(course, "generate_assignment", assignment, "--force"):
            ok = False
            continue
        for problem in misnamed_submissions(course, assignment):
            print(f"WARNING {problem}", file=sys.stderr)
        if not any((course / "submitted").glob(f"*/{assignment}")):
            print(f"No submissions of {assignment} in {course / 'submitted'}: released only.")
            continue
        ok &= nbgrader(course, "autograde", assignment, *force)
        # Always: feedback must show grades given by hand since the last run.
        ok &= nbgrader(course, "generate_feedback", assignment, "--force")
    ok &= nbgrader(course, "export", "--to", "grades.csv")

    rows = class_table(course, assignments)
    print(f"\n{'student':<12} {'assignment':<12} {'score':>7}  lost points")
    for student, assignment, score, max_score, lost in rows:
        print(f"{student:<12} {assignment:<12} {score:>3g}/{max_score:<3g}  {', '.join(lost) or '-'}")
    print(f"\n{len(rows)} submissions graded; grades in {course / 'grades.csv'}, feedback in {course / 'feedback'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
