"""Set a notebook's accuracy thresholds for one profile, with the evidence beside them.

    course calibrate mlp1 --profile grade           # train the reference solution
    course calibrate mlp1 --profile full --slides model=0.8694
    course calibrate pooling --profile full --models model_valid --lower-bound-from grade

Training: the source notebook (the reference solution) runs once per seed exactly as grading
runs it (course.grading.execute: same kernel start-up, sandbox, cap on fit and threads per kernel),
and the check's own recomputed test accuracy of each model is recorded, with where it was measured
(the device, TensorFlow's and Keras's versions, the seeds, the spread). The threshold is the
minimum over the seeds less the margin, rounded down to 0.001. Measured on a GPU, it is written
beside the CPU's, as `<profile>@gpu`. With --slides, the threshold is
the slides' reported accuracy less the margin (the `full` profile: the slides' 50-epoch GPU runs
are what a Colab student gets). A model the slides do not report takes, under `full`, its
threshold from a profile that trains it less.
"""

import argparse
import json
import math
import statistics
import sys
from pathlib import Path

import nbformat

from course.grading.execute import run_task
from course.lectures.checks import THRESHOLDS
from course.protocol import Task
from course_kernel.profiles import PROFILES, profile_named
from course_kernel.settings import carried, kernel_threads

# The last cell of a calibration run: the accuracies, and where they were measured.
MEASURE_CELL = """import json
import keras
import tensorflow as tf
from course.lectures.checks import measure_test_accuracy
_gpus = [tf.config.experimental.get_device_details(g).get("device_name", g.name)
         for g in tf.config.list_physical_devices("GPU")]
_cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "")
print("COURSE-ACCURACY", json.dumps({
    "accuracies": {n: measure_test_accuracy(globals()[n]) for n in MODELS},
    "device": ", ".join(_gpus) if _gpus else f"CPU ({_cpu})", "gpu": bool(_gpus),
    "tensorflow": tf.__version__, "keras": keras.__version__}))"""


def measure(notebook: Path, profile: str, seed: int, models: list) -> dict:
    """Run the notebook under the profile with the seed; return {"accuracies": {model name: test
    accuracy}, "device": ..., "gpu": whether it trained on a GPU, "tensorflow": ..., "keras": ...}."""
    nb = nbformat.read(notebook, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(MEASURE_CELL.replace("MODELS", json.dumps(models))))
    assignment = notebook.parent.name
    task = Task(name=f"calibration/{assignment}", assignment=assignment, notebook=nbformat.writes(nb), files={},
                settings=dict(carried(), COURSE_PROFILE=profile, COURSE_SEED=str(seed)), timeout=3600,
                reference=True)
    result = run_task(task)  # exactly as grading runs a notebook
    if result.problem:
        raise RuntimeError(f"{notebook} could not run under seed {seed}: {result.problem}\n{result.log[-3000:]}")
    for output in nbformat.reads(result.notebook, as_version=4).cells[-1].outputs:
        if output.get("name") == "stdout" and "COURSE-ACCURACY" in output.text:
            return json.loads(output.text.split("COURSE-ACCURACY", 1)[1])
    raise RuntimeError(f"{notebook} did not run to its end under seed {seed}: see its last cells")


def floor3(value: float) -> float:
    return math.floor(value * 1000 + 1e-9) / 1000


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignment")
    parser.add_argument("--profile", required=True, choices=sorted(PROFILES))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--margin", type=float, default=0.02)
    parser.add_argument("--models", nargs="+", default=["model"], help="model variables to measure")
    parser.add_argument("--slides", nargs="+", metavar="MODEL=ACCURACY",
                        help="take the threshold from the slides' reported accuracies instead")
    parser.add_argument("--lower-bound-from", metavar="PROFILE", choices=sorted(PROFILES),
                        help="for --models the slides do not report: reuse that profile's threshold, "
                             "which trains less than this one")
    parser.add_argument("--source", default="source", type=Path, help="the course's source folder")
    args = parser.parse_args(argv)

    table = json.loads(THRESHOLDS.read_text("utf-8")) if THRESHOLDS.exists() else {}
    entries = table.setdefault(args.assignment, {})
    if args.slides or args.lower_bound_from:
        for name in args.models if args.lower_bound_from else []:
            entries[name][args.profile] = {
                "threshold": entries[name][args.lower_bound_from]["threshold"],
                "lower_bound_from": args.lower_bound_from,
            }
        for pair in args.slides or []:
            name, reported = pair.split("=")
            reported = float(reported)
            entries.setdefault(name, {})[args.profile] = {
                "threshold": floor3(reported - args.margin),
                "slides": reported,
                "margin": args.margin,
            }
    else:
        if len(args.seeds) < 5:
            parser.error("calibrate with at least 5 seeds")
        notebook = args.source / args.assignment / f"{args.assignment}.ipynb"
        runs = []
        for seed in args.seeds:
            runs.append(measure(notebook, args.profile, seed, args.models))
            print(f"seed {seed}: {runs[-1]['accuracies']} on {runs[-1]['device']}", flush=True)
        # Where it was measured: a GPU's thresholds go beside the CPU's (`full@gpu` beside `full`).
        key = f"{args.profile}@gpu" if runs[0]["gpu"] else args.profile
        for name in args.models:
            accuracies = [round(run["accuracies"][name], 4) for run in runs]
            entries.setdefault(name, {})[key] = {
                "threshold": floor3(min(accuracies) - args.margin),
                "min": min(accuracies),
                "mean": round(statistics.mean(accuracies), 4),
                "max": max(accuracies),
                "stdev": round(statistics.stdev(accuracies), 4),
                "margin": args.margin,
                "seeds": args.seeds,
                "accuracies": accuracies,
                "budget": profile_named(args.profile, args.assignment).description,
                "kernel_threads": kernel_threads(),
                "device": runs[0]["device"],
                "tensorflow": runs[0]["tensorflow"],
                "keras": runs[0]["keras"],
            }
    THRESHOLDS.write_text(json.dumps(table, indent=2, ensure_ascii=False) + "\n", "utf-8")
    print(json.dumps(table[args.assignment], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
