import pytest
from conftest import mlp, tiny_data
from jupyter_client.manager import KernelManager

from course_kernel.profiles import (
    KERNEL_ARGS,
    PROFILES,
    Profile,
    active_profile,
    install_fit_cap,
    install_iteration_cap,
    installed_profile,
    quiet_progress_bars,
)


def test_default_profiles(profile_env, monkeypatch):
    assert active_profile().name == "full"
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert active_profile().name == "grade"
    profile_env("smoke")
    assert active_profile().name == "smoke"


def test_convolutional_lectures_grade_on_a_subset(profile_env):
    profile_env("grade")
    assert active_profile("mlp1").description == "at most 3 epochs"
    assert active_profile("cnn").description == "at most 1 epoch on the first 24,000 training images"
    assert active_profile("pooling").description == "at most 1 epoch on the first 12,000 training images"
    assert active_profile("mlp2").description == "at most 2 epochs"
    profile_env("smoke")
    assert active_profile("cnn") == PROFILES["smoke"]


def test_the_numpy_lecture_caps_its_iterations(profile_env):
    profile_env("grade")
    assert active_profile("scratch_cnn").description == "at most 200 iterations"
    profile_env("smoke")
    assert active_profile("scratch_cnn").description == "at most 50 iterations"


def test_iters_num_is_brought_down_after_the_cell_that_sets_it(capsys):
    class Shell:  # what the cap uses of IPython's shell
        user_ns = {}
        events = type("Events", (), {"register": lambda self, event, callback: setattr(self, event, callback)})()

    shell = Shell()
    install_iteration_cap(shell, Profile("grade", None, None, 200))
    shell.user_ns["iters_num"] = 1000
    shell.events.post_run_cell(None)
    assert shell.user_ns["iters_num"] == 200
    assert "[course] profile grade: iters_num 1000 -> 200" in capsys.readouterr().out
    shell.user_ns["iters_num"] = 100  # the extension's 100 iterations fit the budget
    shell.events.post_run_cell(None)
    assert shell.user_ns["iters_num"] == 100 and not capsys.readouterr().out


def test_unknown_profile_is_refused(profile_env):
    profile_env("fast")
    with pytest.raises(ValueError, match="one of full, grade, smoke"):
        active_profile()


def test_fit_is_capped_whatever_the_notebook_asks(restore_fit, capsys):
    install_fit_cap(PROFILES["grade"])
    x, y = tiny_data()
    history = mlp().fit(x, y, epochs=500, validation_split=0.2, verbose=0)
    assert history.params["epochs"] == 3 and len(history.history["loss"]) == 3
    assert history.requested == {"epochs": 500, "batch_size": None, "validation_split": 0.2}
    assert "epochs 500 -> 3" in capsys.readouterr().out
    assert installed_profile() == PROFILES["grade"]


def test_positional_epochs_and_training_subset_are_capped(restore_fit):
    install_fit_cap(Profile("test", 2, 10))
    x, y = tiny_data(50)
    history = mlp().fit(x, y, 1, 7)  # batch_size=1, epochs=7
    assert history.params["epochs"] == 2
    assert history.params["steps"] == 10  # one step per sample of the subset


def test_full_profile_changes_nothing(restore_fit):
    install_fit_cap(PROFILES["full"])
    x, y = tiny_data(20)
    history = mlp().fit(x, y, epochs=4, batch_size=5, verbose=0)
    assert history.params["epochs"] == 4 and history.params["steps"] == 4


def test_evaluate_and_predict_print_a_line_not_a_progress_bar_in_a_grading_kernel(restore_fit, capfd):
    model = mlp()
    x, y = tiny_data(200)
    model.evaluate(x, y, batch_size=10)
    assert capfd.readouterr().out.count("\b") > 0  # Keras's progress bar, redrawn with backspaces
    quiet_progress_bars()
    quiet_progress_bars()  # wraps once
    loss, accuracy = model.evaluate(x, y, batch_size=10)
    assert model.predict(x, 10, 1).shape == (200, 10)  # verbose given by position
    out = capfd.readouterr().out
    assert "\b" not in out and len(out.strip().splitlines()) == 2, out


def test_installing_twice_wraps_once(restore_fit):
    install_fit_cap(PROFILES["grade"])
    install_fit_cap(PROFILES["smoke"])
    x, y = tiny_data(20)
    assert mlp().fit(x, y, epochs=5, verbose=0).params["epochs"] == 1


def first_layer_weights(workdir, kernel_info_requests):
    """The initial weights of a notebook's first Dense layer, in a grading kernel."""
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(extra_arguments=KERNEL_ARGS, cwd=str(workdir))
    client = manager.client()
    try:
        client.start_channels()
        client.wait_for_ready(timeout=120)
        for _ in range(kernel_info_requests):
            client.kernel_info(reply=True, timeout=30)
        printed = []
        client.execute_interactive(
            "import keras\nlayer = keras.layers.Dense(4)\nlayer.build((None, 3))\nprint(layer.kernel.numpy().tolist())",
            timeout=120,
            output_hook=lambda msg: printed.append(msg["content"].get("text", "")),
        )
        return "".join(printed)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_a_grading_kernel_initialises_the_same_weights_however_long_its_client_waited(tmp_path):
    # Each kernel_info request draws from Python's `random` (IPython's start-up tips).
    weights = [first_layer_weights(tmp_path, requests) for requests in (0, 3)]
    assert weights[0].startswith("[[") and weights[0] == weights[1]


def test_evaluation_in_a_grading_kernel_runs_in_large_batches_unless_the_notebook_says():
    import numpy as np

    from course_kernel.profiles import EVALUATION_BATCH, _in_batches

    unstated, stated, dataset = {"x": np.zeros((5, 2))}, {"x": np.zeros((5, 2)), "batch_size": 32}, {"x": object()}
    for arguments in (unstated, stated, dataset):
        _in_batches(arguments, "batch_size")
    assert unstated["batch_size"] == EVALUATION_BATCH and stated["batch_size"] == 32 and "batch_size" not in dataset
