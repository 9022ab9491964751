"""How long each lecture notebook runs from top to bottom as a student runs it (the lecture's
epochs, all 48,000 training images), on this machine's CPU: the figures each notebook's
introduction gives for a Colab CPU runtime (2 cores, as here).

    python benchmarks/run_times.py                     # every lecture
    python benchmarks/run_times.py --assignments mlp1 cnn

Running every epoch would take hours, so each `fit` trains one epoch and the rest are
extrapolated from its steady pace (the steps after the first 10, validation included), and each
NumPy training loop of scratch_cnn runs `--iterations` of its `iters_num` and is scaled up.
The GPU column is not measured here: it assumes the slides' Colab GPU pace, 4 ms per step
(3 s per epoch for both the MLP and the first CNN in the slides' logs), for every model.
Not a test: it prints figures.
"""

import argparse
import json
import sys
import time
from pathlib import Path

from jupyter_core.utils import run_sync
from nbclient import NotebookClient

COURSE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(COURSE))

from course.instructor.demo import Student, submission  # noqa: E402

SLIDES_GPU_SECONDS_PER_STEP = 0.004

# Run in the kernel before the notebook: one epoch per fit, timed; iters_num cut down.
TIMED_KERNEL = """
import json, time
import keras
from IPython import get_ipython

_fits, _cells, _scale = [], [], {'next_cell': 1.0}
_trainer = next(c for c in keras.Model.__mro__ if 'fit' in c.__dict__)
_fit = _trainer.fit

class _Pace(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if batch == 9:
            self.after_10 = time.perf_counter()
    def on_epoch_end(self, epoch, logs=None):
        self.end = time.perf_counter()

def timed_fit(self, x=None, y=None, batch_size=None, epochs=1, verbose='auto', validation_split=0.0, **kwargs):
    pace = _Pace()
    start = time.perf_counter()
    history = _fit(self, x, y, batch_size=batch_size, epochs=1, verbose=0, validation_split=validation_split,
                   callbacks=[pace], **kwargs)
    steps = history.params['steps']
    first = time.perf_counter() - start
    steady = (pace.end - pace.after_10) * steps / (steps - 10)
    _fits.append({'epochs': epochs, 'steps': steps, 'first_epoch_s': first, 'epoch_s': steady,
                  'params': self.count_params()})
    _scale['fit_extra'] = _scale.get('fit_extra', 0.0) + (epochs - 1) * steady
    history.requested = {'epochs': epochs, 'batch_size': batch_size, 'validation_split': validation_split}
    return history

_trainer.fit = timed_fit
_shell = get_ipython()

def _start(info):
    _scale['start'] = time.perf_counter()

def _stop(result):
    _cells.append((time.perf_counter() - _scale.get('start', time.perf_counter())) * _scale['next_cell'])
    _scale['next_cell'] = 1.0
    asked = _shell.user_ns.get('iters_num')
    if isinstance(asked, int) and asked > ITERATIONS:
        _shell.user_ns['iters_num'] = ITERATIONS
        _scale['next_cell'] = asked / ITERATIONS  # the loop runs in the next cell

_shell.events.register('pre_run_cell', _start)
_shell.events.register('post_run_cell', _stop)
"""
REPORT = "print(json.dumps({'fits': _fits, 'cells_s': sum(_cells), 'fit_extra_s': _scale.get('fit_extra', 0.0)}))"


def run_time(assignment: str, iterations: int) -> dict:
    nb = submission(COURSE, assignment, Student("the solutions"))
    # Test cells that count epochs fail here; the notebook runs on regardless.
    client = NotebookClient(nb, timeout=3600, kernel_name="python3", allow_errors=True)
    with client.setup_kernel():
        execute = run_sync(client.kc.execute_interactive)
        execute(TIMED_KERNEL.replace("ITERATIONS", str(iterations)), timeout=120)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                client.execute_cell(cell, index)
        printed = []

        def keep_stdout(message):
            if message["content"].get("name") == "stdout":
                printed.append(message["content"]["text"])

        execute(REPORT, timeout=60, output_hook=keep_stdout)
    return json.loads("".join(printed))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignments", nargs="+", default=sorted(p.name for p in (COURSE / "source").iterdir()))
    parser.add_argument("--iterations", type=int, default=50, help="of each NumPy training loop")
    args = parser.parse_args()
    print(f"{'notebook':<12} {'CPU here':>9} {'GPU (slides pace)':>18}   fits: epochs x seconds per epoch here")
    for assignment in args.assignments:
        started = time.perf_counter()
        times = run_time(assignment, args.iterations)
        cpu = times["cells_s"] + times["fit_extra_s"]
        fit_cpu = sum(f["first_epoch_s"] + (f["epochs"] - 1) * f["epoch_s"] for f in times["fits"])
        fit_gpu = sum(f["epochs"] * f["steps"] * SLIDES_GPU_SECONDS_PER_STEP for f in times["fits"])
        gpu = cpu - fit_cpu + fit_gpu if times["fits"] else None
        fits = ", ".join(f"{f['epochs']} x {f['epoch_s']:.1f} s ({f['params']:,} params)" for f in times["fits"])
        print(f"{assignment:<12} {cpu / 60:>7.1f} m {'' if gpu is None else f'{gpu / 60:.1f} m':>18}   "
              f"{fits or 'no fit'}   [benchmark ran {time.perf_counter() - started:.0f} s]", flush=True)


if __name__ == "__main__":
    main()
