"""Publish the student notebooks: Colab badges for a public repository and a zip per assignment.

    make publish COLAB_REPO=owner/name          # or: course publish owner/name

Writes release/README.md: one *Open in Colab* badge per assignment, pointing at
release/<assignment>/<assignment>.ipynb in that public GitHub repository (push release/ there;
`--folder ""` when the repository holds the assignments at its top), and dist/<assignment>.zip,
the released folder to upload to an LMS. Run `make release` first: it publishes release/ as it is.
"""

import argparse
import re
import sys
import zipfile
from pathlib import Path

import nbformat

BADGE = "https://colab.research.google.com/assets/colab-badge.svg"


def title(notebook: Path) -> str:
    """The notebook's first heading, as the lecture names it."""
    for cell in nbformat.read(notebook, as_version=4).cells:
        for line in cell.source.splitlines() if cell.cell_type == "markdown" else ():
            if line.startswith("# "):
                return line[2:].strip()
    return notebook.stem


def colab_url(repo: str, branch: str, path: str) -> str:
    return f"https://colab.research.google.com/github/{repo}/blob/{branch}/{path}"


def readme(course: Path, repo: str, branch: str, folder: str) -> str:
    lines = ["# Notebooks of the Keras course", "",
             "Open a notebook in Colab with its badge, then *Runtime → Change runtime type → GPU*. Work through it "
             "from the top; hand it in with *File → Download → Download .ipynb*.", "",
             "| assignment | lecture | open |", "|---|---|---|"]
    for notebook in sorted((course / "release").glob("*/*.ipynb")):
        path = "/".join(p for p in (folder, notebook.parent.name, notebook.name) if p)
        badge = f"[![Open In Colab]({BADGE})]({colab_url(repo, branch, path)})"
        lines.append(f"| `{notebook.parent.name}` | {title(notebook)} | {badge} |")
    return "\n".join(lines) + "\n"


def zip_assignment(folder: Path, output: Path) -> None:
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not any(part.startswith(".") for part in path.relative_to(folder).parts):
                archive.write(path, Path(folder.name) / path.relative_to(folder))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("repo", help="the public GitHub repository students open notebooks from, owner/name")
    parser.add_argument("--branch", default="main")
    parser.add_argument("--folder", default="release", help="where release/ is in that repository (default: release)")
    parser.add_argument("--course", type=Path, default=Path.cwd(), help="the course directory (default: here)")
    args = parser.parse_args(argv)
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", args.repo or ""):
        print(f"COLAB_REPO must be a GitHub repository as owner/name (e.g. tanaka-lab/keras-course), not "
              f"{args.repo!r}.", file=sys.stderr)
        return 2
    course = args.course.resolve()
    assignments = sorted({p.parent for p in (course / "release").glob("*/*.ipynb")})
    if not assignments:
        print(f"Nothing released in {course / 'release'}: run `make release` first.", file=sys.stderr)
        return 1
    (course / "release" / "README.md").write_text(readme(course, args.repo, args.branch, args.folder.strip("/")),
                                                  "utf-8")
    dist = course / "dist"
    dist.mkdir(exist_ok=True)
    for folder in assignments:
        zip_assignment(folder, dist / f"{folder.name}.zip")
    print(f"{course / 'release' / 'README.md'}: Colab badges for github.com/{args.repo}; "
          f"{', '.join(f'dist/{f.name}.zip' for f in assignments)} for an LMS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
