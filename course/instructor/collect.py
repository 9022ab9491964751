"""Collect a class's notebooks from an LMS download into submitted/<student>/<assignment>/.

    course collect submissions.zip              # an LMS archive
    course collect downloads/                   # or a folder
    course collect moodle.zip --pattern '(?P<student>[^_/]+)_[^/]*/'

Each file's path in the archive (or folder) names its student: by default the first folder
(`taro/mlp1.ipynb`, Moodle-style `Taro Yamada_1234_assignsubmission_file_/mlp1.ipynb` gives
`Taro_Yamada_1234_assignsubmission_file_` unless --pattern says otherwise) or, for files at the
top, the file-name prefix before the first `_` (Canvas-style `yamadataro_1234_5678_mlp1.ipynb`).
`--pattern` is a regular expression searched in the path; its group `student` names the student.

Colab's and browsers' renamings (`Copy of mlp1.ipynb`, `mlp1 (1).ipynb`, `mlp1.ipynb.json`)
are recognised and reported. A student with two candidate notebooks for one assignment is
reported and neither is collected: nothing is chosen silently.
"""

import argparse
import re
import sys
import zipfile
from collections import defaultdict
from pathlib import Path, PurePosixPath

from course.grading.intake import normalised_name

FOLDER_PER_STUDENT = r"^(?P<student>[^/]+)/"
PREFIX_PER_STUDENT = r"^(?P<student>[^/_]+)_[^/]*$"
_SKIPPED = ("__MACOSX/", ".DS_Store", ".ipynb_checkpoints/")
MAX_NOTEBOOK_BYTES = 50 * 2**20  # a lecture notebook without outputs is well under 1 MB


def student_id(raw: str) -> str:
    """A folder name nbgrader accepts: letters, digits, `_`, `-` and `.` kept, the rest `_`."""
    return re.sub(r"[^\w.-]", "_", raw.strip(), flags=re.ASCII).strip("._") or "unnamed"


def _entries(source: Path):
    """(path inside the archive or folder, size, a function that reads it) for every file."""
    if source.is_dir():
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            yield path.relative_to(source).as_posix(), path.stat().st_size, path.read_bytes
    elif zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as archive:
            for info in sorted(archive.infolist(), key=lambda i: i.filename):
                if not info.is_dir():
                    yield info.filename, info.file_size, lambda info=info: archive.read(info)
    else:
        raise SystemExit(f"{source}: neither a folder nor a zip archive. Give the LMS's download (.zip) "
                         "or the folder it unpacks to.")


def _assignment_of(filename: str, assignments: list) -> tuple:
    """(the file's name without an LMS's `<student>_..._` prefix, its assignment or None)."""
    parts = filename.split("_")
    for name in ("_".join(parts[i:]) for i in range(len(parts))):
        normal = normalised_name(name)
        if normal.endswith(".ipynb") and normal.removesuffix(".ipynb") in assignments:
            return name, normal.removesuffix(".ipynb")
    return filename, None


def _student_of(path: str, pattern) -> str | None:
    patterns = [pattern] if pattern else [FOLDER_PER_STUDENT, PREFIX_PER_STUDENT]
    for candidate in patterns:
        match = re.search(candidate, path)
        if match and match.group("student"):
            return student_id(match.group("student"))
    return None


def collect(source: Path, course: Path, pattern: str | None = None) -> tuple:
    """Copy the notebooks into submitted/; return (report lines, whether anything went wrong)."""
    assignments = sorted(p.name for p in (course / "source").iterdir() if p.is_dir())
    found = defaultdict(list)  # (student, assignment) -> [(path in the archive, bytes)]
    report, problems = [], False
    for path, size, read in _entries(source):
        if any(part in path for part in _SKIPPED):
            continue
        if size > MAX_NOTEBOOK_BYTES:
            report.append(f"skipped  {path}: {size:,} bytes, more than a notebook of this course can be")
            problems = True
            continue
        filename, assignment = _assignment_of(PurePosixPath(path).name, assignments)
        student = _student_of(path, pattern)
        if assignment not in assignments or student is None:
            why = "no student in its path (see --pattern)" if assignment in assignments else (
                f"not a notebook of this course ({', '.join(a + '.ipynb' for a in assignments)})")
            report.append(f"skipped  {path}: {why}")
            problems = True
            continue
        if normalised_name(filename) != filename:
            report.append(f"renamed  {path} -> {student}/{assignment}/{assignment}.ipynb")
        found[student, assignment].append((path, read()))

    for (student, assignment), candidates in sorted(found.items()):
        if len(candidates) > 1:
            names = ", ".join(path for path, _ in candidates)
            report.append(f"CONFLICT {student}/{assignment}: {len(candidates)} candidate notebooks ({names}); "
                          "none collected. Keep one, or ask the student which to grade.")
            problems = True
            continue
        target = course / "submitted" / student / assignment / f"{assignment}.ipynb"
        content = candidates[0][1]
        if target.exists() and target.read_bytes() == content:
            report.append(f"same     {target.relative_to(course)}")
            continue
        state = "replaced" if target.exists() else "new     "
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        report.append(f"{state} {target.relative_to(course)}")
    return report, problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="the LMS's zip archive, or a folder")
    parser.add_argument("--pattern", help="regular expression whose group `student` names the student")
    parser.add_argument("--course", type=Path, default=Path.cwd(), help="the course directory (default: here)")
    args = parser.parse_args(argv)
    if args.pattern and "(?P<student>" not in args.pattern:
        parser.error("--pattern needs a group named student, e.g. '^(?P<student>[^/]+)/'")
    report, problems = collect(args.source, args.course.resolve(), args.pattern)
    print("\n".join(report) or f"{args.source}: no files")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
