"""Shared fixtures and helpers. Keras is imported where a test needs it, not at collection: the
tests that need no TensorFlow start at once (`make check`)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
COURSE = Path(__file__).resolve().parents[1]


def grading_env(profile: str = "smoke") -> dict:
    """The environment of a `course` command under `profile`, unless COURSE_PROFILE says otherwise."""
    return dict(os.environ, COURSE_PROFILE=os.environ.get("COURSE_PROFILE", profile))


def reads_demo_class(item) -> bool:
    return "demo_class" in item.fixturenames  # directly or through another fixture (`graded`)


def pytest_collection_modifyitems(items):
    """Most tests leave a core idle (they wait on kernels, sleepers, subprocesses), and grading the
    demo class keeps both busy for about 15 minutes: it grades in the background from the start
    (`demo_class`), the tests that read it run after the others, and the hostile class, whose tight
    time limits want the cores to itself, runs last."""
    def phase(item):
        if item.path.name == "test_hostile.py":
            return 2
        return 1 if reads_demo_class(item) else 0

    items.sort(key=phase)  # stable: each phase keeps the files' order


@pytest.fixture(scope="session", autouse=True)
def _demo_class_starts_with_the_session(request):
    if any(reads_demo_class(item) for item in request.session.items):
        request.getfixturevalue("demo_class")


@pytest.fixture(scope="session")
def demo_class(tmp_path_factory):
    """The demo class graded with the real command in a scratch copy of the course, under smoke and
    2 workers, started in the background when the session starts. Gives (the course folder,
    a function that waits for the command and returns it as a CompletedProcess)."""
    course = tmp_path_factory.mktemp("course")
    shutil.copytree(COURSE / "source", course / "source")
    shutil.copytree(COURSE / "submitted", course / "submitted")
    shutil.copy(COURSE / "nbgrader_config.py", course)
    output = tmp_path_factory.mktemp("demo-class-output")
    argv = [sys.executable, "-m", "course", "grade", "--workers", "2"]
    with open(output / "stdout", "w") as stdout, open(output / "stderr", "w") as stderr:
        process = subprocess.Popen(argv, cwd=course, env=grading_env(), stdout=stdout, stderr=stderr)

    def finished() -> subprocess.CompletedProcess:
        process.wait(timeout=3600)
        return subprocess.CompletedProcess(argv, process.returncode, (output / "stdout").read_text(),
                                           (output / "stderr").read_text())

    try:
        yield course, finished
    finally:
        if process.poll() is None:  # the session ended early; its workers and kernels end with it
            process.terminate()
            process.wait(timeout=60)


@pytest.fixture
def profile_env(monkeypatch):
    """Set the profile for one test; the rest of the suite sees no grading variables."""
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("COURSE_PROFILE", raising=False)

    def set_profile(name):
        monkeypatch.setenv("COURSE_PROFILE", name)

    return set_profile


@pytest.fixture
def restore_fit():
    from course_kernel.profiles import _fit_class

    trainer = _fit_class()
    originals = {name: getattr(trainer, name) for name in ("fit", "evaluate", "predict")}
    yield
    for name, method in originals.items():
        setattr(trainer, name, method)


def mlp(hidden=32, output_activation="softmax"):
    import keras

    model = keras.Sequential([
        keras.Input(shape=(784,)),
        keras.layers.Dense(hidden, activation="relu"),
        keras.layers.Dense(10, activation=output_activation),
    ])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


def tiny_data(n=100):
    rng = np.random.default_rng(0)
    return rng.random((n, 784), dtype="float32"), np.eye(10)[rng.integers(0, 10, n)]


def cgroup_possible(controller: str) -> bool:
    """Whether this machine lets the grader make a cgroup that limits `controller`."""
    from course.grading.sandbox import kernel_cgroups, remove_cgroup

    made = kernel_cgroups({controller: {"pids": 64, "memory": 2**30}[controller]})
    for cgroup in set(made.values()):
        remove_cgroup(cgroup)
    return controller in made
