"""The similarity report on a class built for it (nothing is graded): independent solutions in
other spellings beside a renamed-and-reordered copy, a copied written answer, a retyped notebook
handed in with another's outputs, a group of three, and an untouched release notebook."""

import csv
import os
import random
import shutil

import nbformat
import pytest
from conftest import COURSE

from course.instructor.demo import Student, submission
from course.instructor.similarity import Work, compare, main

HEAD = "def convolve(image, kernel, stride=1, padding='valid'):\n"
SLIDES_PRINTS = """

print(convolve(image, kernel))
print(convolve(image[:5, :5], kernel, stride=2))
print(convolve(image, kernel, padding='same'))"""
# Correct `convolve`s written independently, each its own way.
INDEPENDENT = {
    "ben": """    img = np.array(image, dtype=float)
    k = np.array(kernel, dtype=float)
    if padding == 'same':
        img = np.pad(img, [(k.shape[0] // 2,) * 2, (k.shape[1] // 2,) * 2])
    windows = np.lib.stride_tricks.sliding_window_view(img, k.shape)[::stride, ::stride]
    return np.einsum('ijkl,kl->ij', windows, k)""",
    "dee": """    image = np.asarray(image, float)
    kernel = np.asarray(kernel, float)
    kh, kw = kernel.shape
    if padding == 'same':
        padded = np.zeros((image.shape[0] + kh - 1, image.shape[1] + kw - 1))
        padded[kh // 2:kh // 2 + image.shape[0], kw // 2:kw // 2 + image.shape[1]] = image
        image = padded
    rows = range(0, image.shape[0] - kh + 1, stride)
    cols = range(0, image.shape[1] - kw + 1, stride)
    result = []
    for r in rows:
        line = []
        for c in cols:
            total = 0.0
            for a in range(kh):
                for b in range(kw):
                    total += image[r + a, c + b] * kernel[a, b]
            line.append(total)
        result.append(line)
    return np.array(result)""",
    "eve": """    x = np.asarray(image, dtype=np.float64)
    w = np.asarray(kernel, dtype=np.float64)
    if padding == 'same':
        ph, pw = w.shape[0] // 2, w.shape[1] // 2
        x = np.pad(x, ((ph, ph), (pw, pw)), mode='constant')
    n_rows = 1 + (x.shape[0] - w.shape[0]) // stride
    n_cols = 1 + (x.shape[1] - w.shape[1]) // stride
    return np.array([[(x[stride * i:stride * i + w.shape[0], stride * j:stride * j + w.shape[1]] * w).sum()
                      for j in range(n_cols)] for i in range(n_rows)])""",
    "gus": """    arr = np.asarray(image, dtype=float)
    ker = np.asarray(kernel, dtype=float)
    height, width = ker.shape
    if padding == 'same':
        arr = np.pad(arr, ((height // 2, height // 2), (width // 2, width // 2)))
    outputs = {}
    for top in range(0, arr.shape[0] - height + 1, stride):
        for left in range(0, arr.shape[1] - width + 1, stride):
            outputs[top // stride, left // stride] = float(np.vdot(arr[top:top + height, left:left + width], ker))
    size = max(outputs)
    feature = np.zeros((size[0] + 1, size[1] + 1))
    for (i, j), value in outputs.items():
        feature[i, j] = value
    return feature""",
}
# cai's copy of ben's: names changed, independent lines swapped, comments added.
COPY_OF_BEN = """    # カーネルと画像を配列にする
    filt = np.array(kernel, dtype=float)
    picture = np.array(image, dtype=float)
    if padding == 'same':  # 周りを 0 で埋める
        picture = np.pad(picture, [(filt.shape[0] // 2,) * 2, (filt.shape[1] // 2,) * 2])
    # 窓を全部取り出してから掛けて足す
    patches = np.lib.stride_tricks.sliding_window_view(picture, filt.shape)[::stride, ::stride]
    return np.einsum('ijkl,kl->ij', patches, filt)"""
ANSWERS = {
    "ann": "Dense 層は画素ごとに重みがあるので 1024×1024 だと 1000 万個以上になるが、"
           "畳み込み層は 3×3 のカーネルをずらして使い回すので、重みはカーネルの大きさとフィルタ数で決まる。"
           "padding='same' だと出力は入力と同じ 28×28 になる。",
    "ben": "全結合では入力が大きいほど重みが増える。畳み込みは小さいフィルターを共有するので 320 個で済む。"
           "same にすると周りに 0 を足すので 28×28 のまま、valid だと 26×26 に縮む。",
    "cai": "画像が大きくなっても畳み込み層のパラメータは変わらない。カーネル 32 枚で (9+1)×32 になる。"
           "padding を same にすると出力の大きさが入力と同じになり、Flatten 後は 25,088 個になった。",
    "dee": "Dense だと 1 ピクセルに 1 つずつ重みが要るので大きな画像では数が爆発する。畳み込みは同じカーネルを"
           "全部の場所で使うので少ない。valid では端が削られて 26×26 になる。",
    "fay": "畳み込み層は重みを共有するから入力サイズに依存しない。same では 0 埋めで大きさが保たれる。",
    "gus": "パラメータ数はカーネルの大きさで決まり、画像の大きさには関係しない。出力は same で 28×28 だった。",
    "hal": "重み共有のおかげで畳み込みは軽い。padding='valid' だと (26, 26, 32) になると確かめた。",
    "ivy": "全結合層は 1024×1024 だと重すぎる。カーネルを動かすだけの畳み込み層は 320 個のパラメータだった。",
}
# eve's: ann's answer with a few words changed.
ANSWERS["eve"] = ANSWERS["ann"].replace("画素ごとに", "1 画素ずつ").replace("使い回す", "何度も使う").replace(
    "1000 万個以上", "とても多く")


def run_outputs(seed: int) -> list:
    """What a student's own Colab run printed while training: numbers no other run prints."""
    rng = random.Random(seed)
    lines = [f"Epoch {e}/50\n750/750 - 9s - loss: {rng.uniform(0.2, 0.6):.4f} - accuracy: {rng.uniform(0.8, 0.9):.4f}"
             f" - val_loss: {rng.uniform(0.2, 0.6):.4f} - val_accuracy: {rng.uniform(0.8, 0.9):.4f}\n"
             for e in range(1, 4)]
    return [nbformat.v4.new_output("stream", name="stdout", text="".join(lines))]


COMMON_FIGURE = nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgoAAAANSUhEUg=="})


def notebook(name: str, code: str | None, answer: str | None, outputs_of: int):
    if code is None:  # the release notebook as given
        nb = nbformat.read(COURSE / "release" / "cnn" / "cnn.ipynb", as_version=4)
    else:
        nb = submission(COURSE, "cnn", Student(name, tampered_cells={
            "convolution": HEAD + code + SLIDES_PRINTS, "discussion": answer}))
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "training":
            cell.outputs = run_outputs(outputs_of)
        if cell.cell_type == "code" and "plt.imshow" in cell.source:
            cell.outputs = [COMMON_FIGURE]  # the same sample image in every notebook: the class's, not evidence
    return nb


def reference_code() -> str:
    nb = submission(COURSE, "cnn", Student("the reference"))
    source = next(c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "convolution")
    return source.split(HEAD, 1)[1].split("\n\n\nprint", 1)[0]


@pytest.fixture(scope="module")
def similarity(tmp_path_factory):
    course = tmp_path_factory.mktemp("similarity")
    shutil.copytree(COURSE / "release" / "cnn", course / "release" / "cnn")
    shutil.copytree(COURSE / "source" / "cnn", course / "source" / "cnn")  # the reference solution
    reference = reference_code()
    retyped = reference.replace("feature_map", "fmap").replace("window", "patch")
    students = {
        "ann": (reference, ANSWERS["ann"], 1),
        "ben": (INDEPENDENT["ben"], ANSWERS["ben"], 2),
        "cai": (COPY_OF_BEN, ANSWERS["cai"], 3),
        "dee": (INDEPENDENT["dee"], ANSWERS["dee"], 4),
        "eve": (INDEPENDENT["eve"], ANSWERS["eve"], 5),
        "fay": (retyped, ANSWERS["fay"], 1),  # ann's outputs
        "gus": (INDEPENDENT["gus"], ANSWERS["gus"], 7),
        "hal": (INDEPENDENT["gus"], ANSWERS["hal"], 8),
        "ivy": (INDEPENDENT["gus"].replace("outputs", "values"), ANSWERS["ivy"], 9),
        "jon": (None, None, 10),
    }
    for name, (code, answer, outputs_of) in students.items():
        path = course / "submitted" / name / "cnn" / "cnn.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(notebook(name, code, answer, outputs_of), path)
    broken = course / "submitted" / "kit" / "cnn" / "cnn.ipynb"
    broken.parent.mkdir(parents=True)
    broken.write_text('{"cells": [')  # not a notebook: compared with no one, and the rest goes on
    assert main(["--course", str(course)]) == 0
    with open(course / "similarity.csv", newline="", encoding="utf-8") as f:
        rows = {(r["student_a"], r["student_b"]): r for r in csv.DictReader(f)}
    return course, rows


COPIES = {("ben", "cai"): "convolution code", ("ann", "eve"): "discussion text", ("ann", "fay"): "outputs",
          ("gus", "hal"): "convolution code", ("gus", "ivy"): "convolution code", ("hal", "ivy"): "convolution code"}


def test_every_copy_ranks_above_every_pair_of_independent_students(similarity):
    _, rows = similarity
    for pair, evidence in COPIES.items():
        assert pair in rows and evidence in rows[pair]["evidence"], (pair, rows.get(pair))
    lowest_copy = min(float(rows[pair]["score"]) for pair in COPIES)
    independent = {pair: float(r["score"]) for pair, r in rows.items() if pair not in COPIES}
    assert all(score < lowest_copy for score in independent.values()), (lowest_copy, independent)


def test_no_one_is_paired_through_starter_code_or_the_lectures_common_code(similarity):
    _, rows = similarity
    assert not [pair for pair in rows if "jon" in pair or "kit" in pair]
    assert not [r for r in rows.values() if "model" in r["evidence"] or "preprocessing" in r["evidence"]]


def test_the_page_names_the_group_and_the_outputs_evidence(similarity):
    course, _ = similarity
    page = (course / "similarity.html").read_text()
    assert "<td>cnn</td><td>convolution</td><td>gus, hal, ivy</td>" in page
    assert "The same outputs of a run" in page and "loss: " in page
    assert "not a verdict" in page


def test_the_demo_class_pairs_no_one_and_lists_the_reference_equal_answers_apart(tmp_path, capsys):
    """Five honest students: most of their answers are the instructor's own solution, which is no
    evidence that one copied another."""
    for folder in ("source", "release", "submitted"):
        shutil.copytree(COURSE / folder, tmp_path / folder)
    assert main(["--course", str(tmp_path)]) == 0
    said = capsys.readouterr().out
    with open(tmp_path / "similarity.csv", newline="", encoding="utf-8") as f:
        scores = {(r["assignment"], r["student_a"], r["student_b"]): float(r["score"]) for r in csv.DictReader(f)}
    assert max(scores.values(), default=0) < 0.5, scores
    assert "group in" not in said
    assert "4 student(s)' basics/adagrad_adam equals the reference solution: alice, bob, chris, dana" in said
    page = (tmp_path / "similarity.html").read_text()
    assert "<td>mlp1</td><td>preprocessing</td><td>3: alice, bob, emi</td>" in page


SHORT = 'x_train = x_train.reshape(-1, 28, 28, 1).astype("float32") / 255\n' \
        'x_test = x_test.reshape(-1, 28, 28, 1).astype("float32") / 255'
OTHER_SHORT = ['x_train = (x_train / 255.0)[..., None]\nx_test = (x_test / 255.0)[..., None]',
               'x_train = np.expand_dims(x_train, -1) / 255.\nx_test = np.expand_dims(x_test, -1) / 255.',
               'x_train = x_train[:, :, :, np.newaxis] / 255\nx_test = x_test[:, :, :, np.newaxis] / 255']


def test_a_short_canonical_answer_a_quarter_of_the_class_writes_is_not_evidence():
    works = [Work(f"same{i}", code={"preprocessing": SHORT}) for i in range(4)]
    works += [Work(f"other{i}", code={"preprocessing": OTHER_SHORT[i % 3]}) for i in range(12)]
    pairs = compare("cnn", works)
    assert pairs and max(p.score for p in pairs) < 0.5
    two = compare("cnn", [Work("a", code={"preprocessing": SHORT}), Work("b", code={"preprocessing": SHORT})])
    assert two[0].score < 0.4  # two students alike in two lines: little, however alike


def test_a_copy_scores_the_same_in_a_class_of_three_and_of_three_hundred():
    def score(works):
        return next(p.score for p in compare("cnn", works) if p.students == ("ben", "cai"))

    small = [Work("ben", code={"convolution": INDEPENDENT["ben"]}), Work("cai", code={"convolution": COPY_OF_BEN}),
             Work("dee", code={"convolution": INDEPENDENT["dee"]})]
    honest = [Work(f"s{i:03d}", code={"convolution": INDEPENDENT[("dee", "eve", "gus")[i % 3]]
                                      .replace("    ", "  " * (1 + i % 2))}) for i in range(297)]
    assert score(small) > 0.95 and abs(score(small) - score(small + honest)) < 0.05


def test_the_fingerprints_are_the_same_in_every_process():
    """An instructor who runs the report again gets the same scores: no hash seed in them."""
    import subprocess
    import sys

    script = ("from course.instructor.similarity import code_fingerprints; import sys; "
              "print(sorted(code_fingerprints(sys.stdin.read())))")
    runs = {subprocess.run([sys.executable, "-c", script], input=COPY_OF_BEN, capture_output=True, text=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}, check=True).stdout for seed in ("1", "2")}
    assert len(runs) == 1 and len(runs.pop()) > 100
