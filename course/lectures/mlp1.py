"""MLP①: what each test cell of mlp1.ipynb must hand over, and its checks."""


from course.lectures.expect import LECTURE_FIT, accuracy, dense, history, images, model, score
from course.lectures.lecture import Lecture

NAME = "mlp1"

TESTS = {
    "test_preprocessing": [images("train", (60000, 784)), images("test", (10000, 784))],
    "test_labels": [images("train"), images("test")],
    "test_model": [model("model", [dense(32, 25120), dense(10, 330, "softmax")])],
    "test_history": [history("result", "model", **LECTURE_FIT)],
    "test_accuracy": [score("score", "model"), accuracy("model", NAME)],
}


LECTURE = Lecture(NAME, TESTS, grading_seconds=24.5)
