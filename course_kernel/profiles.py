"""Training budgets: the lecture's epochs for students, capped ones for grading on a CPU.

`COURSE_PROFILE` picks the profile; when it is unset, nbgrader's executions (which set
`NBGRADER_EXECUTION`) get `grade` and everything else gets `full`.

nbgrader starts every grading kernel with `prepare_kernel()` (see `KERNEL_ARGS` and
nbgrader_config.py), before any cell of the student's notebook runs: it caps every `fit` to the
profile's budget, whatever the notebook says or deletes (the NumPy lecture's `iters_num` too), and
fixes the random seeds. A profile may give an assignment its own budget (`ASSIGNMENT_BUDGETS`);
thresholds are calibrated per assignment and profile, under that budget.
"""

import inspect
import os
import time
from dataclasses import dataclass
from pathlib import Path

from course_kernel import settings


@dataclass(frozen=True)
class Profile:
    name: str
    max_epochs: int | None  # None: as many as the notebook asks for
    max_train_samples: int | None  # None: the whole training set
    # A NumPy training loop's `iters_num` (scratch_cnn); None: as many as the notebook asks for.
    max_iterations: int | None = None

    @property
    def capped(self) -> bool:
        return any(cap is not None for cap in (self.max_epochs, self.max_train_samples, self.max_iterations))

    @property
    def description(self) -> str:
        if not self.capped:
            return "the lecture's epochs"
        if self.max_iterations is not None:
            return f"at most {self.max_iterations} iterations"
        epochs = "as many epochs as asked" if self.max_epochs is None else (
            f"at most {self.max_epochs} epoch{'s' if self.max_epochs > 1 else ''}")
        if self.max_train_samples is None:
            return epochs
        return f"{epochs} on the first {self.max_train_samples:,} training images"

    def epochs_run(self, requested: int) -> int:
        return requested if self.max_epochs is None else min(requested, self.max_epochs)

    def iterations_run(self, requested: int) -> int:
        return requested if self.max_iterations is None else min(requested, self.max_iterations)


PROFILES = {
    "full": Profile("full", None, None),  # what a student runs in Colab
    "grade": Profile("grade", 3, None),  # grading a class on a CPU
    "smoke": Profile("smoke", 1, 6000),  # CI
}
# One student's four notebooks should grade in about three minutes on 2 cores. mlp2 trains five
# models; the convolutional lectures train 4 to 25 times slower per epoch than the MLPs, so they
# grade one epoch on a training subset. Each budget still separates a correct notebook from one
# trained on unscaled images by a wide margin (docs/design/calibration.md). CI's `smoke` trains
# pooling's three models on half its images: they are most of the test suite's grading time.
ASSIGNMENT_BUDGETS = {
    # basics's CNN has 3.2 million parameters and trains on all 60,000 images (validation_data).
    ("grade", "basics"): Profile("grade", 1, None),
    ("grade", "mlp2"): Profile("grade", 2, None),
    ("grade", "cnn"): Profile("grade", 1, 24000),
    ("grade", "pooling"): Profile("grade", 1, 12000),
    ("smoke", "pooling"): Profile("smoke", 1, 3000),
    # scratch_cnn trains in NumPy, not with fit: its budget caps the loop's iterations.
    ("grade", "scratch_cnn"): Profile("grade", None, None, 200),
    ("smoke", "scratch_cnn"): Profile("smoke", None, None, 50),
}

# Extra arguments nbgrader (and the calibration command) pass to every kernel they start.
KERNEL_ARGS = [
    "--HistoryManager.hist_file=:memory:",
    "--IPKernelApp.exec_lines=import course_kernel.profiles; course_kernel.profiles.prepare_kernel()",
]


# The settings of a `fit` call that checks compare with what a task asks for.
FIT_SETTINGS = ("epochs", "batch_size", "validation_split")


def profile_named(name: str, assignment: str | None = None) -> Profile:
    """The profile `name`, with the assignment's own budget where it has one."""
    if name not in PROFILES:
        raise ValueError(
            f"COURSE_PROFILE={name!r} は不明です / unknown profile {name!r}: "
            f"set COURSE_PROFILE to one of {', '.join(PROFILES)}"
        )
    return ASSIGNMENT_BUDGETS.get((name, assignment), PROFILES[name])


def active_profile(assignment: str | None = None) -> Profile:
    if os.environ.get("NBGRADER_EXECUTION"):
        return grading_profile(assignment)
    return profile_named(settings.read().profile or "full", assignment)


def grading_profile(assignment: str | None = None) -> Profile:
    """The profile nbgrader's kernels grade under (they run with NBGRADER_EXECUTION set)."""
    return profile_named(settings.read().profile or "grade", assignment)


def grading_seed() -> int:
    return settings.read().seed


def _fit_class():
    """The class whose `fit` every Keras model runs (the backend's trainer)."""
    import keras

    return next(c for c in keras.Model.__mro__ if "fit" in c.__dict__)


# CPU-seconds this kernel spent in Keras's fit, evaluate and predict (the outermost call each
# time: a fit's validation is its own evaluate): the training and evaluation budget, beside the
# rest of grading a notebook (benchmarks/grading_time.py reads it).
BUDGET_CPU_S = {"seconds": 0.0, "depth": 0}


def _budget_timed(method):
    def timed(*args, **kwargs):
        BUDGET_CPU_S["depth"] += 1
        start = time.process_time()
        try:
            return method(*args, **kwargs)
        finally:
            BUDGET_CPU_S["depth"] -= 1
            if not BUDGET_CPU_S["depth"]:
                BUDGET_CPU_S["seconds"] += time.process_time() - start
    return timed


def install_fit_cap(profile: Profile) -> None:
    """Make every `Model.fit` train within the profile's budget.

    The history it returns carries `requested` (the epochs, batch size and validation split the
    notebook asked for), so checks can tell what a student wrote from what was run.
    """
    trainer = _fit_class()
    original = trainer.fit
    if getattr(original, "course_profile", None) is not None:
        original = original.__wrapped__
    signature = inspect.signature(original)

    def fit(*args, **kwargs):
        call = signature.bind(*args, **kwargs)
        call.apply_defaults()
        arguments = call.arguments
        requested = {key: arguments[key] for key in FIT_SETTINGS}
        arguments["epochs"] = profile.epochs_run(requested["epochs"])
        n = profile.max_train_samples
        if n is not None and hasattr(arguments["x"], "__len__") and len(arguments["x"]) > n:
            for key in ("x", "y", "sample_weight"):
                if arguments[key] is not None:
                    arguments[key] = arguments[key][:n]
        if arguments["validation_split"] or arguments["validation_data"] is not None:
            _in_batches(arguments, "validation_batch_size")
        if profile.capped:
            # One line per epoch keeps graded notebooks short and says what was changed.
            arguments["verbose"] = 2
            print(
                f"[course] profile {profile.name}: epochs {requested['epochs']} -> {arguments['epochs']}"
                + (f", first {n} training samples" if n is not None else "")
            )
        history = _budget_timed(original)(**arguments)
        history.requested = requested
        return history

    fit.__wrapped__ = original
    fit.course_profile = profile
    trainer.fit = fit


# The batch `evaluate`, `predict` and a fit's validation use in a grading kernel where the notebook
# gives none (Keras's default is 32, or the fit's batch size). It changes no accuracy and no
# weights, only how many images go through the model at once: on one thread, 10,000 test images
# through pooling's deep model take 4.1 CPU-s in batches of 256 or 1,000, 5.5 in batches of 32.
EVALUATION_BATCH = 1000


def _in_batches(arguments: dict, key: str) -> None:
    """Give arrays the evaluation batch where the call names none (datasets and generators
    batch themselves: Keras refuses a batch size for them)."""
    import numpy as np

    if arguments.get(key) is None and isinstance(arguments.get("x"), np.ndarray):
        arguments[key] = EVALUATION_BATCH


def quiet_progress_bars() -> None:
    """`evaluate` and `predict` print one line per call instead of a progress bar: in a graded
    notebook each bar becomes dozens of outputs in the autograded notebook and the feedback.
    Students in Colab, whose kernels do not run this, see the bars as usual. They also run in
    batches of EVALUATION_BATCH where the notebook gives no batch size."""
    trainer = _fit_class()
    for name in ("evaluate", "predict"):
        original = getattr(trainer, name)
        original = getattr(original, "__wrapped__", original)
        signature = inspect.signature(original)

        def method(*args, __original=original, __signature=signature, **kwargs):
            call = __signature.bind(*args, **kwargs)
            call.arguments["verbose"] = 2
            _in_batches(call.arguments, "batch_size")
            return _budget_timed(__original)(*call.args, **call.kwargs)

        method.__wrapped__ = original
        setattr(trainer, name, method)


ITERATIONS = "iters_num"  # what the NumPy training loops of scratch_cnn run for


def install_iteration_cap(shell, profile: Profile) -> None:
    """After every cell, bring the notebook's `iters_num` down to the profile's budget: the loop
    in the next cell then runs that many iterations, whatever the notebook set."""
    def cap(result):
        asked = shell.user_ns.get(ITERATIONS)
        if isinstance(asked, int) and asked > profile.max_iterations:
            shell.user_ns[ITERATIONS] = profile.max_iterations
            print(f"[course] profile {profile.name}: {ITERATIONS} {asked} -> {profile.max_iterations}")
    shell.events.register("post_run_cell", cap)


def installed_profile() -> Profile | None:
    """The profile whose cap `fit` runs under, or None."""
    return getattr(_fit_class().fit, "course_profile", None)


def use_kernel_threads() -> None:
    """TensorFlow on COURSE_KERNEL_THREADS threads: several kernels side by side, each on its share
    of the cores."""
    import tensorflow as tf

    threads = settings.read().kernel_threads
    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def prepare_kernel() -> None:
    """Run at the start of a grading kernel: capped fit, deterministic ops, fixed seeds.

    The kernel runs in the notebook's folder, which nbgrader (and the calibration command)
    name after the assignment: that picks the assignment's budget.
    """
    import keras
    import tensorflow as tf
    from IPython import get_ipython

    use_kernel_threads()
    profile = active_profile(Path.cwd().name)
    install_fit_cap(profile)
    quiet_progress_bars()
    if profile.capped:
        # CPU grading: the same notebook must get the same grade every time.
        tf.config.experimental.enable_op_determinism()

    # Seeds are set just before the notebook's first cell, not now: every kernel_info request
    # that a client sends while it waits for the kernel draws an IPython tip from Python's
    # `random`, as many times as timing allows, and Keras seeds each layer's initializer from
    # `random`.
    shell = get_ipython()

    def seed_before_first_cell(info):
        shell.events.unregister("pre_run_cell", seed_before_first_cell)
        keras.utils.set_random_seed(grading_seed())

    shell.events.register("pre_run_cell", seed_before_first_cell)
    if profile.max_iterations is not None:
        install_iteration_cap(shell, profile)
