"""CNN: what each test cell of cnn.ipynb must hand over, and its checks."""

import numpy as np

from course.lectures.checks import convolution_cases, keras_convolution
from course.lectures.expect import conv, dense, dropout, function, images, model, trained
from course.lectures.families import grid, signs, window
from course.lectures.lecture import Lecture, NumPyOnly

NAME = "cnn"
NUMPY_ONLY = {cell: NumPyOnly(("convolve",)) for cell in ("test_convolution_slides", "test_convolution_keras")}

TESTS = {
    "test_preprocessing": [images("train", (60000, 28, 28, 1)), images("test", (10000, 28, 28, 1)),
                           images("train"), images("test")],
    "test_convolution_slides": [function("convolve", keras_convolution)],
    "test_convolution_keras": [function("convolve", keras_convolution)],
    "test_model": [model("model", [conv(32, (None, 28, 28, 32), 320), ("Flatten", (None, 25088), 0, {}),
                                   dropout((None, 25088)), dense(10, 250890, "softmax")])],
    "test_result": [trained("result", "model", NAME)],
    "test_model_two_conv": [model("model_two_conv", [
        conv(32, (None, 28, 28, 32), 320), conv(64, (None, 28, 28, 64), 18496), ("Flatten", (None, 50176), 0, {}),
        dropout((None, 50176)), dense(10, 501770, "softmax")])],
    "test_result_two_conv": [trained("result_two_conv", "model_two_conv", NAME)],
}


SLIDES_IMAGE = [[0, 2, 3, 1, 2, 3], [4, 2, 1, 2, 3, 0], [2, 2, 1, 3, 2, 1], [1, 1, 2, 3, 1, 2],
                [1, 4, 2, 2, 3, 1], [2, 0, 2, 1, 4, 0]]
SLIDES_KERNEL = [[1, 2, 2], [0, 0, 1], [2, 1, 1]]


def inputs(cell: str, rng) -> dict:
    """What `convolve` is called on: the slides' image and kernel, and convolutions drawn now."""
    if cell == "test_convolution_slides":
        crop = [row[:5] for row in SLIDES_IMAGE[:5]]
        return {"convolve": [{"args": [SLIDES_IMAGE, SLIDES_KERNEL], "kwargs": {"stride": 1, "padding": "valid"}},
                             {"args": [crop, SLIDES_KERNEL], "kwargs": {"stride": 1, "padding": "valid"}},
                             {"args": [crop, SLIDES_KERNEL], "kwargs": {"stride": 2, "padding": "valid"}},
                             {"args": [SLIDES_IMAGE, SLIDES_KERNEL], "kwargs": {"stride": 1, "padding": "same"}}]}
    if cell == "test_convolution_keras":
        return {"convolve": convolution_cases(rng)}
    return {}


FAMILIES = {"convolve": lambda image, kernel, stride=1, padding="valid": (
    *grid(image), *signs(image), *window(*np.shape(kernel), stride), padding)}

LECTURE = Lecture(NAME, TESTS, numpy_only=NUMPY_ONLY, inputs=inputs, families=FAMILIES, grading_seconds=45.9)
