"""The verifier and the hand-over between a test cell and it (the end-to-end forgers are in
test_hostile.py)."""

import json
import os

import keras
import nbformat
import pytest
from conftest import mlp

from course.grading.execute import _take, _write_new, apply_verdicts
from course.grading.verifier import Artefacts, verify
from course_kernel.handover import save


def test_what_a_cell_handed_over_is_taken_without_following_links(tmp_path):
    workdir = tmp_path / "mlp1"
    handover = workdir / ".course-handover"
    handover.mkdir(parents=True)
    secret = tmp_path / "gradebook.db"
    secret.write_text("the instructor's")
    (handover / "score.json").write_text('{"kind": "value", "value": [0.3, 0.9]}')
    (handover / "model.keras").symlink_to(secret)
    (handover / "notes.txt").write_text("not a hand-over")
    target = tmp_path / "verify" / "handed" / "test_accuracy"
    _take(handover, target)
    assert not handover.exists() and secret.read_text() == "the instructor's"
    assert sorted(p.name for p in target.iterdir()) == ["score.json"]
    # Left by the notebook outside a test cell: thrown away. A file in the folder's place: the same.
    handover.mkdir()
    (handover / "model.keras").write_text("decoy")
    _take(handover, None)
    handover.write_text("not a folder")
    _take(handover, target / "again")
    assert not handover.exists() and not (target / "again").exists()


def test_the_inputs_file_replaces_a_link_and_never_writes_through_it(tmp_path):
    secret = tmp_path / "gradebook.db"
    secret.write_text("the instructor's")
    inputs = tmp_path / ".course-inputs.json"
    inputs.symlink_to(secret)
    _write_new(inputs, '{"convolve": []}')
    assert secret.read_text() == "the instructor's" and not inputs.is_symlink()
    assert json.loads(inputs.read_text()) == {"convolve": []}
    os.unlink(inputs)
    inputs.mkdir()
    _write_new(inputs, "{}")  # kept from being made: no inputs, no crash
    assert inputs.is_dir()


def handed(tmp_path, cell, **artefacts):
    folder = tmp_path / "handed" / cell
    folder.mkdir(parents=True, exist_ok=True)
    for name, artefact in artefacts.items():
        save(folder, name, artefact)
    return folder


def test_missing_replaced_and_unsafe_hand_overs_fail_with_their_reason(tmp_path, profile_env):
    profile_env("smoke")
    handed(tmp_path, "test_model", model=mlp())
    verdicts = verify("mlp1", tmp_path).verdicts
    assert verdicts["test_model"] is None
    assert "x_train was not handed over for grading" in verdicts["test_preprocessing"]["en"]
    (tmp_path / "handed" / "test_model" / "model.keras").write_bytes(b"PK not a model")
    assert "cannot be loaded as a Keras model" in verify("mlp1", tmp_path).verdicts["test_model"]["en"]
    # Code in a model (a Lambda layer) is never deserialised: Keras's safe mode refuses it.
    lambda_model = keras.Sequential([keras.Input((784,)), keras.layers.Lambda(lambda x: x * 0),
                                     keras.layers.Dense(32, activation="relu"), keras.layers.Dense(10)])
    folder = handed(tmp_path, "test_model", model=lambda_model)
    with pytest.raises(AssertionError, match="cannot be loaded as a Keras model"):
        Artefacts(folder, {})["model"]


def test_a_cell_the_verifier_fails_gets_its_reason_as_an_error_unless_it_failed_already():
    passed = nbformat.v4.new_code_cell("hand_over(...)", metadata={"nbgrader": {"grade_id": "test_model"}})
    failed = nbformat.v4.new_code_cell("hand_over(...)", metadata={"nbgrader": {"grade_id": "test_history"}})
    failed.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="its own", traceback=[])]
    nb = nbformat.v4.new_notebook(cells=[passed, failed])
    layer = {"ja": "2 番目の層…", "en": "Layer 2 differs"}
    added = apply_verdicts(nb, {"test_model": layer, "test_history": {"ja": "検証器の", "en": "the verifier's"}})
    assert [o.evalue for o in passed.outputs] == ["2 番目の層…\nLayer 2 differs"]
    assert [o.evalue for o in failed.outputs] == ["its own"]
    assert added == {"test_model": layer}  # what the report reads, in both languages


def test_every_test_cell_of_every_source_notebook_hands_over_what_the_course_expects():
    from pathlib import Path

    from course.lectures import LECTURES

    for source in sorted(Path(__file__).resolve().parents[1].glob("source/*/*.ipynb")):
        assignment = source.parent.name
        test_cells = {}
        for cell in nbformat.read(source, as_version=4).cells:
            info = cell.metadata.get("nbgrader", {})
            if info.get("grade") and cell.cell_type == "code":
                test_cells[info["grade_id"]] = cell.source
        assert set(test_cells) == set(LECTURES[assignment].tests), assignment
        for grade_id, text in test_cells.items():
            assert f'hand_over("{assignment}", "{grade_id}", ' in text.split("### BEGIN HIDDEN TESTS")[1], grade_id


def test_each_notebook_tells_the_student_the_points_grading_gives():
    """The points in the task headings ("**課題 3**（2 点）", or a test's "（2 点）" in the text
    before it) add up to what nbgrader gives, and so does the first cell's 合計."""
    import re
    from pathlib import Path

    for source in sorted(Path(__file__).resolve().parents[1].glob("source/*/*.ipynb")):
        cells = nbformat.read(source, as_version=4).cells
        graded = sum(cell.metadata.get("nbgrader", {}).get("points", 0) for cell in cells)
        text = "\n".join(cell.source for cell in cells if cell.cell_type == "markdown")
        stated = re.findall(r"\*\*課題 \d+\*\*（(\d+) 点|テスト（(\d+) 点）", text)
        assert sum(int(heading or test) for heading, test in stated) == graded, source.parent.name
        assert re.findall(r"合計 (\d+) 点", cells[0].source) == [str(graded)], source.parent.name


def test_outside_grading_a_hidden_test_checks_in_the_kernel_with_the_courses_checks(monkeypatch):
    """The source notebook in the instructor's Jupyter: course_kernel finds the course's checks
    through the entry point the course registers, without importing `course` itself."""
    from course_kernel.handover import hand_over

    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    hand_over("mlp1", "test_model", model=mlp())
    with pytest.raises(AssertionError, match="Layer 2"):
        hand_over("mlp1", "test_model", model=mlp(output_activation="sigmoid"))
