"""Each Keras lecture's reference solution trained as grading trains it, its test accuracies beside
the slides' (50 epochs on a Colab GPU), and the time per notebook, on whatever device this runs.

    python benchmarks/full_results.py                       # `full`: the slides' epochs (a GPU)
    python benchmarks/full_results.py --profile smoke       # a small budget, on a CPU

Not a test: it prints figures for docs/benchmarks.md and docs/design/calibration.md. Each notebook
runs once, seed 0, through course.instructor.calibrate.measure (the sandbox, the kernel's
threads, the cap on fit), which also says where it ran.
"""

import argparse
import json
import sys
import time
from pathlib import Path

COURSE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(COURSE))

from course.instructor.calibrate import measure  # noqa: E402
from course.lectures import LECTURES  # noqa: E402
from course.lectures.checks import THRESHOLDS  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="full")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--assignments", nargs="+", default=[n for n, lecture in LECTURES.items()
                                                             if lecture.keras_training])
    args = parser.parse_args()
    table = json.loads(THRESHOLDS.read_text("utf-8"))
    print(f"profile {args.profile}, seed {args.seed}")
    print(f"{'assignment':<11} {'model':<15} {'accuracy':>8} {'slides':>7} {'difference':>10} {'seconds':>8}  device")
    for assignment in args.assignments:
        models = sorted(table.get(assignment, {}))
        start = time.perf_counter()
        run = measure(COURSE / "source" / assignment / f"{assignment}.ipynb", args.profile, args.seed, models)
        seconds = time.perf_counter() - start
        for name in models:
            accuracy = run["accuracies"][name]
            slides = table[assignment][name].get("full", {}).get("slides")
            difference = f"{100 * (accuracy - slides):+.2f} pt" if slides else "-"
            print(f"{assignment:<11} {name:<15} {accuracy:8.4f} {slides or '-':>7} {difference:>10} {seconds:8.1f}  "
                  f"{run['device']} (TensorFlow {run['tensorflow']}, Keras {run['keras']})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
