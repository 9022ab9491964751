"""MLP②: what each test cell of mlp2.ipynb must hand over, and its checks."""

from course.lectures.checks import check_learning_curves
from course.lectures.expect import dense, dropout, model, same_as_history, trained
from course.lectures.lecture import Lecture

NAME = "mlp2"

TESTS = {
    "test_history_values": [same_as_history("loss", "result", "loss"),
                            same_as_history("val_accuracy", "result", "val_accuracy")],
    "test_learning_curves": [lambda a, profile: check_learning_curves(a["fig"], a["result"])],
    "test_model_128": [model("model_128", [dense(128, 100480), dense(10, 1290, "softmax")])],
    "test_result_128": [trained("result_128", "model_128", NAME)],
    "test_model_deep": [model("model_deep", [dense(128, 100480), dense(64, 8256), dense(32, 2080),
                                             dense(10, 330, "softmax")])],
    "test_result_deep": [trained("result_deep", "model_deep", NAME)],
    "test_model_dropout": [model("model_dropout", [dense(128, 100480), dropout((None, 128)), dense(64, 8256),
                                                   dense(32, 2080), dense(10, 330, "softmax")])],
    "test_result_dropout": [trained("result_dropout", "model_dropout", NAME)],
}


LECTURE = Lecture(NAME, TESTS, grading_seconds=53.8)
