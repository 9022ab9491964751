"""The demo class: fictional students' submissions, built from release/ and the source solutions.

    course demo-class     # rewrite submitted/ (after changing a source notebook)

Each student answers every solution cell with the reference solution, except for the mistakes
listed here — the ones students really make. tests/ checks that submitted/ is what this builds.
"""

import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat


@dataclass
class Student:
    story: str
    # {grade_id of a solution or given cell: [(text in the reference solution or the given cell,
    #  what the student wrote instead)]}
    answers: dict = field(default_factory=dict)
    # {grade_id of a test or given cell: what the student turned it into, or None where they deleted it}
    tampered_cells: dict = field(default_factory=dict)


# emi's im2col: one output position at a time (every image's window at that position), rows in
# the same order.
IM2COL_LOOPS_REPLACED = """    col = np.zeros((N, C, filter_h, filter_w, out_h, out_w))

    for y in range(filter_h):
        y_max = y + stride * out_h
        for x in range(filter_w):
            x_max = x + stride * out_w
            col[:, :, y, x, :, :] = img[:, :, y:y_max:stride, x:x_max:stride]

    col = col.transpose(0, 4, 5, 1, 2, 3)  # (N, C, filter_h, filter_w, out_h, out_w) -> \
(N, out_h, out_w, C, filter_h, filter_w)
    col = col.reshape(N * out_h * out_w, -1)
    return col"""
IM2COL_LOOPS = """    windows = []
    for i in range(out_h):
        for j in range(out_w):
            window = img[:, :, i * stride:i * stride + filter_h, j * stride:j * stride + filter_w]
            windows.append(window.reshape(N, -1))
    # (N, out_h * out_w, C * filter_h * filter_w): image by image, position by position
    return np.stack(windows, axis=1).reshape(N * out_h * out_w, -1)"""
MLP_IMPORTS = "from keras.models import Sequential\nfrom keras.layers import Dense"
# basics' seed model, and emi's: the same layers through keras.Input ... keras.Model.
SEED_MODEL_SEQUENTIAL = """model = models.Sequential()
model.add(layers.Reshape((28, 28, 1), input_shape=(28*28,), name='reshape'))
model.add(layers.Conv2D(16, (5, 5), padding='same',
                        kernel_initializer=initializers.TruncatedNormal(),
                        use_bias=True, activation='relu',
                        name='conv_filter'))
model.add(layers.MaxPooling2D((2, 2), name='max_pooling'))
model.add(layers.Flatten(name='flatten'))
model.add(layers.Dense(1024, activation='relu',
                       kernel_initializer=initializers.TruncatedNormal(),
                       name='hidden'))
model.add(layers.Dense(10, activation='softmax', name='softmax'))"""
SEED_MODEL_FUNCTIONAL = """inputs = layers.Input(shape=(28 * 28,))
x = layers.Reshape((28, 28, 1), name='reshape')(inputs)
x = layers.Conv2D(16, (5, 5), padding='same', kernel_initializer=initializers.TruncatedNormal(),
                  activation='relu', name='conv_filter')(x)
x = layers.MaxPooling2D((2, 2), name='max_pooling')(x)
x = layers.Flatten(name='flatten')(x)
x = layers.Dense(1024, activation='relu', kernel_initializer=initializers.TruncatedNormal(), name='hidden')(x)
model = models.Model(inputs, layers.Dense(10, activation='softmax', name='softmax')(x))"""
DEMO_CLASS = {
    "basics": {
        "alice": Student("the reference solution"),
        "bob": Student(
            "softmax without subtracting the row's maximum: right on small inputs, nan on inputs of ±1000",
            answers={"softmax": [("np.exp(f - np.max(f, axis=1, keepdims=True))", "np.exp(f)")]},
        ),
        "chris": Student(
            "Momentum forgets its velocity: v = -learning_rate × g afresh at every update, so it moves as SGD does",
            answers={"sgd_momentum": [
                ("            self.v[key] = self.momentum * self.v[key] - self.learning_rate * grads[key]",
                 "            self.v[key] = -self.learning_rate * grads[key]")]},
        ),
        "dana": Student(
            "Adam without bias correction: the learning rate is not scaled by √(1 − β2^t) / (1 − β1^t)",
            answers={"adagrad_adam": [(
                "        learning_rate_t = self.learning_rate * np.sqrt(1.0 - self.beta2 ** self.iter) / "
                "(1.0 - self.beta1 ** self.iter)",
                "        learning_rate_t = self.learning_rate")]},
        ),
        "emi": Student(
            "writes everything in other correct spellings: sigmoid and tanh through np.tanh, the error by "
            "indexing the correct class, softmax with the maximum of axis -1, the filter with NumPy's sliding "
            "windows and einsum, Adam in the textbook's form with m̂ and v̂, the model with Keras's functional API",
            answers={
                "model": [(SEED_MODEL_SEQUENTIAL, SEED_MODEL_FUNCTIONAL)],
                "activations": [("    return 1 / (1 + np.exp(-x))", "    return 0.5 * (1 + np.tanh(x / 2))"),
                                ("    return (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))",
                                 "    return np.tanh(x)"),
                                ("    return np.maximum(0, x)", "    return np.where(x > 0, x, 0.0)")],
                "error": [("    correct = np.sum(p * t, axis=1)  # P_n：各行（各データ）の正解の種類の確率\n"
                           "    return -np.sum(np.log(correct))",
                           "    return -np.log(p[np.arange(len(p)), np.argmax(t, axis=1)]).sum()")],
                "softmax": [("    exp = np.exp(f - np.max(f, axis=1, keepdims=True))\n"
                             "    return exp / np.sum(exp, axis=1, keepdims=True)",
                             "    shifted = f - f.max(axis=-1, keepdims=True)\n"
                             "    return np.exp(shifted) / np.exp(shifted).sum(axis=-1, keepdims=True)")],
                "edge_filter": [("    result = np.zeros((out_h, out_w))\n"
                                 "    for i in range(out_h):\n"
                                 "        for j in range(out_w):\n"
                                 "            result[i, j] = np.sum(image[i:i + kh, j:j + kw] * kernel)\n"
                                 "    return result",
                                 "    windows = np.lib.stride_tricks.sliding_window_view(image, (kh, kw))\n"
                                 "    return np.einsum('ijkl,kl->ij', windows, kernel)")],
                "adagrad_adam": [(
                    "        learning_rate_t = self.learning_rate * np.sqrt(1.0 - self.beta2 ** self.iter) / "
                    "(1.0 - self.beta1 ** self.iter)\n"
                    "        for key in params.keys():\n"
                    "            self.m[key] += (1 - self.beta1) * (grads[key] - self.m[key])\n"
                    "            self.v[key] += (1 - self.beta2) * (grads[key] ** 2 - self.v[key])\n"
                    "            params[key] -= learning_rate_t * self.m[key] / (np.sqrt(self.v[key]) + 1e-7)",
                    "        for key in params.keys():\n"
                    "            self.m[key] = self.beta1 * self.m[key] + (1 - self.beta1) * grads[key]\n"
                    "            self.v[key] = self.beta2 * self.v[key] + (1 - self.beta2) * grads[key] ** 2\n"
                    "            m_hat = self.m[key] / (1 - self.beta1 ** self.iter)\n"
                    "            v_hat = self.v[key] / (1 - self.beta2 ** self.iter)\n"
                    "            params[key] -= self.learning_rate * m_hat / (np.sqrt(v_hat) + 1e-7)")],
            },
        ),
    },
    "mlp1": {
        "alice": Student("the reference solution"),
        "bob": Student(
            "calls to_categorical without keeping its result, so fit fails on integer labels",
            answers={"labels": [("y_train = to_categorical", "to_categorical"),
                                ("y_test = to_categorical", "to_categorical")]},
        ),
        "chris": Student(
            "softmax replaced by sigmoid in the output layer: same parameter count, visible tests pass. Writes "
            "the rest in other correct spellings: reshape(-1, 784) / 255.0, tf.keras, keras.Input first",
            answers={"preprocessing": [("reshape(60000, 784) / 255", "reshape(-1, 784) / 255.0"),
                                       ("reshape(10000, 784) / 255", "reshape(-1, 784) / 255.0")],
                     "model": [(MLP_IMPORTS, "from tensorflow import keras"),
                               ("model = Sequential()\nmodel.add(Dense(32, input_shape=(784,), activation='relu'))\n"
                                "model.add(Dense(10, activation='softmax'))",
                                "model = keras.Sequential([\n    keras.Input(shape=(784,)),\n"
                                "    keras.layers.Dense(32, activation='relu'),\n"
                                "    keras.layers.Dense(10, activation='sigmoid'),\n])")]},
        ),
        "dana": Student(
            "reshapes but forgets to divide by 255. Builds the model with Keras's functional API and "
            "metrics=['acc'], also correct",
            answers={"preprocessing": [(") / 255", ")")],
                     "model": [(MLP_IMPORTS, "import keras\nfrom keras.layers import Dense"),
                               ("model = Sequential()\nmodel.add(Dense(32, input_shape=(784,), activation='relu'))\n"
                                "model.add(Dense(10, activation='softmax'))",
                                "inputs = keras.Input(shape=(784,))\nhidden = Dense(32, activation='relu')(inputs)\n"
                                "model = keras.Model(inputs, Dense(10, activation='softmax')(hidden))"),
                               ("metrics=['accuracy']", "metrics=['acc']")]},
        ),
        "emi": Student(
            "trains for 500 epochs, deletes a test cell and turns another into `pass`",
            answers={"training": [("epochs=30", "epochs=500")]},
            tampered_cells={"test_labels": None, "test_model": "pass"},
        ),
    },
    "mlp2": {
        "alice": Student("the reference solution"),
        "bob": Student(
            "puts Dropout after the second Dense layer: same parameter count, visible tests pass. Builds "
            "model_128 with tf.keras's functional API, also correct",
            answers={"model_128": [(
                "model_128 = Sequential()\nmodel_128.add(Dense(128, input_shape=(784,), activation='relu'))\n"
                "model_128.add(Dense(10, activation='softmax'))",
                "import tensorflow as tf\n\ninputs = tf.keras.Input(shape=(784,))\n"
                "hidden = tf.keras.layers.Dense(128, activation='relu')(inputs)\n"
                "model_128 = tf.keras.Model(inputs, tf.keras.layers.Dense(10, activation='softmax')(hidden))")],
                "model_dropout": [
                ("model_dropout.add(Dropout(0.5))\nmodel_dropout.add(Dense(64, activation='relu'))",
                 "model_dropout.add(Dense(64, activation='relu'))\nmodel_dropout.add(Dropout(0.5))"),
            ]},
        ),
        "chris": Student(
            "leaves out the Dense(32) layer of the deeper model",
            answers={"model_deep": [("model_deep.add(Dense(32, activation='relu'))\n", "")]},
        ),
        "dana": Student(
            "copies the loss lines into the accuracy subplot and only changes their labels",
            answers={"learning_curves": [
                ("result.history['accuracy'], label", "result.history['loss'], label"),
                ("result.history['val_accuracy'], label", "result.history['val_loss'], label"),
            ]},
        ),
        "emi": Student(
            "uses Keras 2's history key 'val_acc', and trains every given model 5 epochs instead of 50 to save "
            "time in Colab (grading runs the given cells as they are: no points lost)",
            answers={"history_values": [("result.history['val_accuracy']", "result.history['val_acc']")],
                     **{cell: [("epochs=50", "epochs=5")] for cell in
                        ("training", "training_128", "training_deep", "training_dropout", "model_large")}},
        ),
    },
    "cnn": {
        "alice": Student("the reference solution"),
        "bob": Student(
            "gives the first model padding='valid': it trains as well, but it is not the lecture's model",
            answers={"model": [("padding='same', input_shape", "padding='valid', input_shape")]},
        ),
        "chris": Student(
            "moves the window one pixel at a time whatever the stride. Builds the first model with Keras's "
            "functional API, also correct",
            answers={"convolution": [(
                "window = image[i * stride:i * stride + kernel_h, j * stride:j * stride + kernel_w]",
                "window = image[i:i + kernel_h, j:j + kernel_w]",
            )], "model": [(
                "model = Sequential()\nmodel.add(Conv2D(filters=32, kernel_size=3, strides=1,\n"
                "                 padding='same', input_shape=(28, 28, 1), activation='relu'))\n"
                "model.add(Flatten())\nmodel.add(Dropout(0.5))\nmodel.add(Dense(10, activation='softmax'))",
                "import keras\n\ninputs = keras.Input(shape=(28, 28, 1))\n"
                "features = Conv2D(filters=32, kernel_size=3, strides=1, padding='same', activation='relu')(inputs)\n"
                "model = keras.Model(inputs, Dense(10, activation='softmax')(Dropout(0.5)(Flatten()(features))))")]},
        ),
        "dana": Student(
            "gives the second conv layer 32 filters instead of 64. Writes the rest in other correct spellings: "
            "reshape(-1, 28, 28, 1) / 255.0, keras.Input first in the first model",
            answers={"preprocessing": [(f"x_{split}.reshape(x_{split}.shape[0], 28, 28, 1) / 255",
                                        f"x_{split}.reshape(-1, 28, 28, 1) / 255.0") for split in ("train", "test")],
                     "model": [("model = Sequential()\nmodel.add(Conv2D(filters=32, kernel_size=3, strides=1,\n"
                                "                 padding='same', input_shape=(28, 28, 1), activation='relu'))",
                                "import keras\n\nmodel = Sequential()\nmodel.add(keras.Input(shape=(28, 28, 1)))\n"
                                "model.add(Conv2D(filters=32, kernel_size=3, strides=1, padding='same', "
                                "activation='relu'))")],
                     "model_two_conv": [("model_two_conv.add(Conv2D(filters=64",
                                         "model_two_conv.add(Conv2D(filters=32")]},
        ),
        "emi": Student(
            "reshapes to (N, 28, 28), without the channel axis (Keras 3 adds it itself when training), and "
            "deletes the given cell that trains the two-conv model (grading puts it back)",
            answers={"preprocessing": [(", 28, 28, 1) / 255", ", 28, 28) / 255")]},
            tampered_cells={"training_two_conv": None},
        ),
    },
    "pooling": {
        "alice": Student("the reference solution"),
        "bob": Student(
            "uses AveragePooling2D in model_pool: same shapes and parameter count, visible tests pass",
            answers={"model_pool": [("model_pool.add(MaxPooling2D", "model_pool.add(AveragePooling2D")]},
        ),
        "chris": Student(
            "max_pool always moves by pool_size, whatever the stride: the slides' example still passes",
            answers={"max_pool": [("if stride is None:\n        stride = pool_size", "stride = pool_size")]},
        ),
        "dana": Student(
            "builds the book's convnet with padding='same'. Builds model_pool with tf.keras and keras.Input, also "
            "correct",
            answers={"model_pool": [(
                "model_pool = Sequential()\nmodel_pool.add(Conv2D(filters=32, kernel_size=3, strides=1,\n"
                "                      padding='same', input_shape=(28, 28, 1), activation='relu'))",
                "import tensorflow as tf\n\nmodel_pool = tf.keras.Sequential([tf.keras.Input(shape=(28, 28, 1))])\n"
                "model_pool.add(tf.keras.layers.Conv2D(32, 3, padding='same', activation='relu'))")],
                "model_valid": [("(3, 3), activation='relu'", "(3, 3), padding='same', activation='relu'")]},
        ),
        "emi": Student(
            "lists the images the model got right instead of the wrong ones",
            answers={"misclassified": [("predicted_labels != true_labels", "predicted_labels == true_labels")]},
        ),
    },
    "scratch_cnn": {
        "alice": Student("the reference solution"),
        "bob": Student(
            "im2col ignores padding: no np.pad, and out_h, out_w without pad (the seed's example still passes)",
            answers={"im2col": [("out_h = (H + 2 * pad - filter_h)", "out_h = (H - filter_h)"),
                                ("out_w = (W + 2 * pad - filter_w)", "out_w = (W - filter_w)"),
                                ("img = np.pad(input_data, [(0, 0), (0, 0), (pad, pad), (pad, pad)], 'constant')",
                                 "img = input_data")]},
        ),
        "chris": Student(
            "Convolution.backward reshapes col.T @ dout into the filters' shape without transposing it first",
            answers={"convolution": [("self.dW = self.dW.transpose(1, 0).reshape(FN, C, FH, FW)",
                                      "self.dW = self.dW.reshape(FN, C, FH, FW)")]},
        ),
        "dana": Student(
            "the training loop computes the gradients but never calls optimizer.update",
            answers={"train": [("        optimizer.update(network.params, grad)\n", "")]},
        ),
        "emi": Student(
            "writes im2col with a loop over every output position and counts the parameters layer by layer in "
            "another order: slower, also correct",
            answers={"im2col": [(IM2COL_LOOPS_REPLACED, IM2COL_LOOPS)],
                     "param_count": [("    conv_size = 28 - filter_size + 1\n    pool_size = conv_size // 2\n",
                                      "    pool_size = (28 - filter_size + 1) // 2\n")]},
        ),
    },
}


# What each demo student writes where a written answer is asked for (graded by hand), in their own
# words: honest students do not write the same sentences. A student not named here writes alice's.
WRITTEN_ANSWERS = {
    "mlp2": {
        "alice": "学習用データの loss は最後まで下がったが、val_loss は 10 エポックほどで下がらなくなり、"
                 "その後は上がった。学習用データに合わせ過ぎた過学習だと思う。"
                 "Dropout を入れると val_loss の上がり方が小さくなり、テストの正解率も少し上がった。",
        "bob": "エポックが進むと訓練の誤差はずっと小さくなったのに、検証の誤差は途中から増えていった。"
               "これは過学習で、訓練データを覚えてしまったからだと考える。ドロップアウトのモデルでは検証の誤差があまり増えなかった。",
        "chris": "val_loss が一番小さいのは 8 エポック目あたりで、そこから先は loss だけが減り続けた。"
                 "モデルが学習用の画像に特化しすぎている。Dropout(0.2) を足したら差が縮まった。",
        "dana": "グラフを見ると、青い線（学習）は下がり続け、オレンジの線（検証）は途中で底を打って上がる。"
                "過学習の典型的な形だ。ユニットをランダムに止める Dropout で、この開きは小さくなった。",
        "emi": "学習を続けるほど学習データへの当てはまりは良くなるが、見たことのないデータでの損失は悪化した。"
               "つまり汎化しなくなっている。Dropout を使うと検証損失の悪化がゆるやかになった。",
    },
    "cnn": {
        "alice": "Dense 層は画素ごとに重みがあるので 1024×1024 だと 1000 万個以上になるが、"
                 "畳み込み層は 3×3 のカーネルをずらして使い回すので、重みはカーネルの大きさとフィルタ数で決まる。"
                 "padding='same' だと出力は入力と同じ 28×28 になる。",
        "bob": "全結合層では入力の画素数だけ重みが必要になり、大きな画像ではパラメータが膨大になる。"
               "畳み込みは同じフィルターを画像全体で共有するので 320 個で済む。same にすると大きさは変わらない。",
        "chris": "畳み込み層のパラメータ数は (3×3+1)×32 で、画像の大きさとは関係がない。"
                 "一方、Dense は入力が増えるとそのぶん重みが増える。valid では出力が 26×26 に縮んだ。",
        "dana": "画像が大きくなると全結合のパラメータは爆発的に増えるが、カーネルを共有する畳み込みでは増えない。"
                "周りを 0 で埋める same では、出力も 28×28 のままだった。",
        "emi": "重み共有のおかげで、畳み込み層は入力サイズに依存しない少ないパラメータで済む。"
               "Flatten してから Dense につなぐと、そこで一気にパラメータが増えることも確かめた。",
    },
    "pooling": {
        "alice": "マックスプーリングは領域の中で一番大きい値を残して、ほかの値と細かい位置を捨てる。"
                 "model_deep は Dropout が多いので val_loss があまり上がらず、model_pool より過学習が少なかった。",
        "bob": "2×2 の窓ごとに最大値だけを取り出すので、特徴マップは縦横半分になり、少しずれても同じ値が残る。"
               "Dropout を入れた深いモデルのほうが検証の損失が安定していた。",
        "chris": "プーリングで失われるのは、窓の中の最大以外の値と、その最大がどこにあったかという情報だ。"
                 "model_pool は途中から val_loss が上がったが、model_deep では上がり方がゆるやかだった。",
        "dana": "最大値プーリングは強い反応だけを残すので位置のずれに強くなるが、細かな位置は分からなくなる。"
                "学習曲線を比べると、ドロップアウトの多いモデルが一番過学習しにくかった。",
        "emi": "窓の最大値を代表にすることで計算量が減り、小さな平行移動の影響も受けにくくなる。"
               "深いモデルは正解率も高く、検証損失の増加も小さかった。",
    },
    "scratch_cnn": {
        "alice": "im2col を使うと畳み込みが行列の積 1 回になり、for 文で 1 か所ずつ計算するより速い。"
                 "1 つ目の層では 57,600×25 の行列になり、同じ画素が何回もコピーされるのでメモリは増える。"
                 "学習用とテスト用の正答率はどちらも上がっていき、差は小さかったので、まだ過学習はしていないと思う。",
        "bob": "im2col で窓を行に並べておけば、NumPy の行列積がまとめて計算してくれるのでループより速い。"
               "その代わり重なった窓の画素を複製するため、展開後の配列は元の画像よりずっと大きくなる。"
               "訓練とテストの精度はほぼ同じように伸びたので、過学習は見られなかった。",
        "chris": "for 文では Python が 1 要素ずつ処理するが、im2col の後は BLAS の行列積 1 回で済むので速くなる。"
                 "ストライド 1 だと各画素が最大 25 回コピーされ、メモリ使用量が増えるのが欠点だ。"
                 "テストの正答率が学習用に近いまま上がったので、過学習はまだ起きていない。",
        "dana": "行列の積に直すことで、高速な線形代数ライブラリをそのまま使えるのが利点だと思う。"
                "ただし展開した行列は入力の何倍もの大きさになり、メモリを多く使う。"
                "正答率のグラフでは 2 本の線が離れていかなかった。",
        "emi": "im2col は畳み込みをまとめて 1 回の dot にできるので、二重ループよりずっと速かった。"
               "同じ画素を何度も持つのでメモリは増えるが、この大きさなら問題ない。"
               "学習データとテストデータの正答率の差が小さく、汎化できていると考える。",
    },
}


def _grade_id(cell) -> str:
    return cell.metadata.get("nbgrader", {}).get("grade_id", "")


def reference_answers(source: Path, student: str = "alice") -> dict:
    """{grade_id: the code a student types in place of the stub} for every solution cell (written
    answers in `student`'s words)."""
    answers = {}
    assignment = source.parent.name
    for cell in nbformat.read(source, as_version=4).cells:
        if not cell.metadata.get("nbgrader", {}).get("solution"):
            continue
        if cell.cell_type == "markdown":
            answers[_grade_id(cell)] = WRITTEN_ANSWERS[assignment].get(student, WRITTEN_ANSWERS[assignment]["alice"])
        else:
            lines = [line for line in cell.source.splitlines() if "### BEGIN SOLUTION" not in line
                     and "### END SOLUTION" not in line]
            answers[_grade_id(cell)] = "\n".join(lines)
    return answers


def submission(course: Path, assignment: str, student: Student, name: str = "alice"):
    """The notebook `student` hands in (written answers in the words of the demo student `name`)."""
    answers = reference_answers(course / "source" / assignment / f"{assignment}.ipynb", name)
    nb = nbformat.read(course / "release" / assignment / f"{assignment}.ipynb", as_version=4)
    unknown = (set(student.answers) | set(student.tampered_cells)) - {_grade_id(cell) for cell in nb.cells}
    if unknown:
        raise ValueError(f"{assignment}: no cells {sorted(unknown)} in the released notebook")
    cells = []
    for cell in nb.cells:
        grade_id = _grade_id(cell)
        text = answers.get(grade_id, cell.source)
        for reference, written in student.answers.get(grade_id, []):
            if reference not in text:
                raise ValueError(f"{assignment}/{grade_id}: the cell no longer contains {reference!r}")
            text = text.replace(reference, written)
        cell.source = student.tampered_cells.get(grade_id, text)
        if cell.source is not None:
            cells.append(cell)
    nb.cells = cells
    return nb


def write_demo_class(course: Path) -> None:
    for assignment, students in DEMO_CLASS.items():
        for name, student in students.items():
            path = course / "submitted" / name / assignment / f"{assignment}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(submission(course, assignment, student, name), path)


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", type=Path, default=Path.cwd(), help="the course directory (default: here)")
    args = parser.parse_args(argv)
    write_demo_class(args.course.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
