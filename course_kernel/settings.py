"""Every COURSE_* setting, read in this one place, with its default and meaning (COURSE_OUTCOME_FILE,
which `course grade` sets for its own nbgrader processes, is plumbing, not a setting).

It lives beside the kernel's code because a grading kernel reads three of them (the profile, the
seed, its threads) and may import nothing of `course`; the rest of the course reads its settings
here too. A task carries the coordinator's `CARRIED` settings to the worker that grades it, so a
value left in a worker's shell never changes a grade. docs/instructors/configuration.md lists
them all (a test checks that it does).
"""

import os
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Settings:
    """The course's settings: each field is the variable COURSE_<FIELD NAME IN CAPITALS>."""

    profile: str | None = None  # training budget: full, grade or smoke (default: grade when grading, else full)
    seed: int = 0  # the random seed of every grading kernel
    # TensorFlow threads per grading kernel (grading: 2); the local cluster runs 2 × cores / this kernels
    kernel_threads: int | None = None
    memory_limit_gb: float = 8  # address space of a grading kernel's processes (and the verifier's); a kernel's memory
    cpu_limit_s: int = 1800  # CPU seconds of a grading kernel
    file_limit_gb: float = 1  # the largest file a grading kernel may write; also its /tmp and home
    process_limit: int = 512  # processes and threads of a grading kernel
    cell_timeout_s: int = 600  # wall seconds of one cell while grading
    notebook_timeout_s: float = 1800  # wall seconds of one notebook (`course grade --timeout`)
    sandbox: str = "on"  # off: students' code runs with the grader's permissions (`course grade --no-sandbox`)
    scheduler: str | None = None  # the Dask scheduler to grade on (`course grade --scheduler`)
    tls_dir: str | None = None  # the course's certificates for a tls:// scheduler (`--certificates`)
    # assignments graded on a worker with a GPU under any profile (e.g. "cnn pooling"); under full,
    # every lecture that trains with Keras goes to one, where a worker declares a GPU
    gpu_assignments: str | None = None

    @staticmethod
    def variable(field_name: str) -> str:
        return f"COURSE_{field_name.upper()}"


DEFAULT_KERNEL_THREADS = 2
NUMBERS = {"seed": int, "kernel_threads": int, "memory_limit_gb": float, "cpu_limit_s": int, "file_limit_gb": float,
           "process_limit": int, "cell_timeout_s": int, "notebook_timeout_s": float}
# What a task takes from the coordinator to the worker and its kernel.
CARRIED = ("profile", "seed", "kernel_threads", "memory_limit_gb", "cpu_limit_s", "file_limit_gb", "process_limit",
           "cell_timeout_s", "sandbox")


def read(env=None) -> Settings:
    """The settings `env` (default: this process's environment) gives; a value that is not a
    number where one is needed raises ValueError with what to set instead."""
    env = os.environ if env is None else env
    values = {}
    for field in fields(Settings):
        name = Settings.variable(field.name)
        text = env.get(name)
        if not text:
            continue
        kind = NUMBERS.get(field.name)
        try:
            values[field.name] = kind(text) if kind else text
        except ValueError:
            what = "an integer" if kind is int else "a number"
            example = DEFAULT_KERNEL_THREADS if field.default is None else field.default
            raise ValueError(f"{name}={text!r} is not {what}: set it to a number like {example} or unset it") from None
    return Settings(**values)


def carried(env=None) -> dict:
    """{variable: value} of the CARRIED settings set in `env` (default: this process's environment)."""
    env = os.environ if env is None else env
    names = (Settings.variable(name) for name in CARRIED)
    return {name: env[name] for name in names if env.get(name)}


def carried_names() -> tuple:
    return tuple(Settings.variable(name) for name in CARRIED)


def kernel_threads(env=None) -> int:
    """The TensorFlow threads of each grading kernel."""
    return read(env).kernel_threads or DEFAULT_KERNEL_THREADS
