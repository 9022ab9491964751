"""How long `course similarity` takes on a large class: builds one from the demo students with
random, honest-looking variations (comments, blank lines, names, each run's own training log) and
times the report on every assignment.

    .venv/bin/python benchmarks/similarity_time.py              # 300 students
    .venv/bin/python benchmarks/similarity_time.py --students 60

Not a test: it prints figures for docs/benchmarks.md.
"""

import argparse
import random
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

COURSE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(COURSE))

from course.instructor.demo import DEMO_CLASS, submission  # noqa: E402
from course.instructor.similarity import report  # noqa: E402

COMMENTS = ["# ここで計算する", "# 確認", "# TODO: あとで見直す", "# 形に注意", "# note", "# 講義のとおり"]
NAMES = {"result": ["result", "res", "out"], "window": ["window", "patch", "win"],
         "feature_map": ["feature_map", "fmap"]}


def varied(source: str, rng: random.Random) -> str:
    """`source` as one more honest student might write it."""
    lines = []
    for line in source.splitlines():
        if rng.random() < 0.15 and line.strip():
            lines.append(line[: len(line) - len(line.lstrip())] + rng.choice(COMMENTS))
        lines.append(line)
        if rng.random() < 0.1:
            lines.append("")
    text = "\n".join(lines)
    for name, choices in NAMES.items():
        text = re.sub(rf"\b{name}\b", rng.choice(choices), text)
    return text


def training_log(rng: random.Random) -> list:
    text = "".join(f"Epoch {e}/3\n750/750 - 9s - loss: {rng.uniform(0.2, 0.6):.4f} - accuracy: "
                   f"{rng.uniform(0.8, 0.9):.4f}\n" for e in range(1, 4))
    return [nbformat.v4.new_output("stream", name="stdout", text=text)]


def build(folder: Path, students: int, seed: int) -> list:
    rng = random.Random(seed)
    assignments = sorted(DEMO_CLASS)
    for assignment in assignments:
        shutil.copytree(COURSE / "release" / assignment, folder / "release" / assignment)
        demo = list(DEMO_CLASS[assignment].values())
        for i in range(students):
            nb = submission(COURSE, assignment, rng.choice(demo))
            for cell in nb.cells:
                if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
                    cell.source = varied(cell.source, rng)
                if cell.cell_type == "code" and ".fit(" in cell.source:
                    cell.outputs = training_log(rng)
            path = folder / "submitted" / f"s{i:03d}" / assignment / f"{assignment}.ipynb"
            path.parent.mkdir(parents=True)
            nbformat.write(nb, path)
    return assignments


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        start = time.perf_counter()
        assignments = build(folder, args.students, args.seed)
        built = time.perf_counter() - start
        start = time.perf_counter()
        pairs, groups, _ = report(folder, assignments)
        seconds = time.perf_counter() - start
    print(f"{args.students} students × {len(assignments)} assignments ({', '.join(assignments)}): class built in "
          f"{built:.0f} s; `course similarity` took {seconds:.1f} s, {len(pairs)} pairs with shared work, "
          f"{len(groups)} groups")
    return 0


if __name__ == "__main__":
    sys.exit(main())
