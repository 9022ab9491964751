"""Training budgets: the lecture's epochs for students, capped ones for grading on a CPU.

`COURSE_PROFILE` picks the profile; when it is unset, nbgrader's executions (which set
`NBGRADER_EXECUTION`) get `grade` and everything else gets `full`.

nbgrader starts every grading kernel with `prepare_kernel()` (see `KERNEL_ARGS` and
nbgrader_config.py), before any cell of the student's notebook runs: it fixes the random seeds
and caps every `fit` to the profile's budget, whatever the notebook says or deletes.
"""

import inspect
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    max_epochs: int | None  # None: as many as the notebook asks for
    max_train_samples: int | None  # None: the whole training set
    description: str

    @property
    def capped(self) -> bool:
        return self.max_epochs is not None or self.max_train_samples is not None

    def epochs_run(self, requested: int) -> int:
        return requested if self.max_epochs is None else min(requested, self.max_epochs)


PROFILES = {
    "full": Profile("full", None, None, "the lecture's epochs, for a Colab GPU"),
    "grade": Profile("grade", 3, None, "at most 3 epochs, for grading a class on a CPU"),
    "smoke": Profile("smoke", 1, 6000, "1 epoch on the first 6,000 training images, for CI"),
}

# Extra arguments nbgrader (and the calibration command) pass to every kernel they start.
KERNEL_ARGS = [
    "--HistoryManager.hist_file=:memory:",
    "--IPKernelApp.exec_lines=import course.profiles; course.profiles.prepare_kernel()",
]


def active_profile() -> Profile:
    default = "grade" if os.environ.get("NBGRADER_EXECUTION") else "full"
    name = os.environ.get("COURSE_PROFILE") or default
    if name not in PROFILES:
        raise ValueError(
            f"COURSE_PROFILE={name!r} は不明です / unknown profile {name!r}: "
            f"set COURSE_PROFILE to one of {', '.join(PROFILES)}"
        )
    return PROFILES[name]


def grading_seed() -> int:
    return int(os.environ.get("COURSE_SEED", "0"))


def _fit_class():
    """The class whose `fit` every Keras model runs (the backend's trainer)."""
    import keras

    return next(c for c in keras.Model.__mro__ if "fit" in c.__dict__)


def install_fit_cap(profile: Profile) -> None:
    """Make every `Model.fit` train within the profile's budget.

    The history it returns carries `requested_epochs`, so checks can tell what the notebook
    asked for from what was run.
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
        requested = arguments["epochs"]
        arguments["epochs"] = profile.epochs_run(requested)
        n = profile.max_train_samples
        if n is not None and hasattr(arguments["x"], "__len__") and len(arguments["x"]) > n:
            for key in ("x", "y", "sample_weight"):
                if arguments[key] is not None:
                    arguments[key] = arguments[key][:n]
        if profile.capped:
            # One line per epoch keeps graded notebooks short and says what was changed.
            arguments["verbose"] = 2
            print(
                f"[course] profile {profile.name}: epochs {requested} -> {arguments['epochs']}"
                + (f", first {n} training samples" if n is not None else "")
            )
        history = original(**arguments)
        history.requested_epochs = requested
        return history

    fit.__wrapped__ = original
    fit.course_profile = profile.name
    trainer.fit = fit


def fit_cap_profile() -> str | None:
    """The name of the profile whose cap is installed, or None."""
    return getattr(_fit_class().fit, "course_profile", None)


def prepare_kernel() -> None:
    """Run at the start of a grading kernel: fixed seeds, deterministic ops, capped fit."""
    import keras
    import tensorflow as tf

    profile = active_profile()
    keras.utils.set_random_seed(grading_seed())
    if profile.capped:
        # CPU grading: the same notebook must get the same grade every time.
        tf.config.experimental.enable_op_determinism()
    install_fit_cap(profile)
