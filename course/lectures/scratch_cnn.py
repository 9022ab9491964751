"""畳み込みニューラルネットワークの概念 (from scratch in NumPy): what each test cell of
scratch_cnn.ipynb must hand over, and its checks."""

import numpy as np

from course.lectures import scratch
from course.lectures.expect import equals, function, gradient, trained_from_scratch
from course.lectures.families import batch, nothing, padding, window
from course.lectures.lecture import Lecture, NumPyOnly

NAME = "scratch_cnn"
# The layers run with the grader's im2col and col2im: a mistake there costs im2col's points, not theirs too.
NUMPY_ONLY = {"test_im2col": NumPyOnly(("im2col",)), "test_col2im": NumPyOnly(("col2im",)),
              **{cell: NumPyOnly(("Convolution",), reference=True)
                 for cell in ("test_convolution_forward", "test_convolution_backward")},
              **{cell: NumPyOnly(("Pooling",), reference=True)
                 for cell in ("test_pooling_forward", "test_pooling_backward")}}

SIMPLE_CONV_NET_PARAMS = 30 * (5 * 5 + 1) + (12 * 12 * 30 + 1) * 100 + (100 + 1) * 10  # 433,890

TESTS = {
    "test_im2col": [function("im2col", scratch.im2col)],
    "test_col2im": [function("col2im", scratch.col2im)],
    "test_convolution_forward": [function("convolution_forward", scratch.keras_convolution)],
    "test_convolution_backward": [
        gradient(f"convolution_d{p}", scratch.numerical_convolution_gradient(p)) for p in ("x", "W", "b")],
    "test_pooling_forward": [function("pooling_forward", scratch.keras_pooling)],
    "test_pooling_backward": [gradient("pooling_dx", scratch.numerical_pooling_gradient)],
    "test_param_count": [
        function("conv_net_params", lambda *args: scratch.keras_simple_conv_net(*args).count_params()),
        equals("simple_conv_net_params", SIMPLE_CONV_NET_PARAMS, "SimpleConvNet のパラメータ数が違います",
               "SimpleConvNet's parameter count"),
    ],
    "test_training": [trained_from_scratch("train_loss_list", "network", NAME)],
}


# scratch_cnn's cases, NCHW: (N, C, H, W, filter_h, filter_w, stride, pad). With and without
# padding, strides 1 to 3, one and several channels, square and other filters; one the seed prints.
IM2COL_CASES = [(2, 1, 4, 4, 3, 3, 1, 0), (2, 3, 7, 7, 3, 3, 1, 1), (1, 2, 8, 6, 2, 3, 2, 1),
                (3, 2, 9, 9, 5, 5, 2, 2), (2, 1, 6, 7, 4, 2, 3, 0), (1, 3, 5, 5, 1, 1, 1, 0)]
# (N, C, H, W, FN, FH, FW, stride, pad); the last is SimpleConvNet's first layer on a 28×28 image.
CONVOLUTION_LAYER_CASES = [(2, 1, 6, 6, 3, 3, 3, 1, 0), (2, 3, 7, 7, 4, 3, 3, 1, 1), (1, 2, 8, 7, 3, 2, 3, 2, 1),
                           (2, 3, 9, 9, 2, 5, 5, 2, 2), (1, 1, 28, 28, 2, 5, 5, 1, 0)]
# (N, C, H, W, pool_h, pool_w, stride): SimpleConvNet's 2×2 stride 2 first, then others (no padding:
# the lecture's Pooling never pads, and Keras's MaxPooling2D cannot).
POOLING_LAYER_CASES = [(2, 3, 4, 4, 2, 2, 2), (1, 2, 6, 8, 2, 2, 2), (2, 1, 7, 7, 3, 3, 2), (1, 3, 6, 6, 3, 3, 1),
                       (2, 2, 5, 6, 2, 3, 1)]


def inputs(cell: str, rng) -> dict:
    """What the layers and functions are called on, drawn now."""
    def array(*shape, scale=1.0):
        return (rng.standard_normal(shape) * scale).round(3).tolist()

    def distinct(*shape):  # no ties for a maximum, even after a numerical derivative's step
        return (rng.permutation(int(np.prod(shape))).reshape(shape) / 10).tolist()

    if cell == "test_im2col":
        return {"im2col": [{"args": [rng.integers(-9, 10, (n, c, h, w)).tolist(), fh, fw, stride, pad]}
                           for n, c, h, w, fh, fw, stride, pad in IM2COL_CASES]}
    if cell == "test_col2im":
        cases = []
        for n, c, h, w, fh, fw, stride, pad in IM2COL_CASES:
            rows = n * scratch.output_size(h, fh, stride, pad) * scratch.output_size(w, fw, stride, pad)
            cases.append({"args": [rng.integers(-9, 10, (rows, c * fh * fw)).tolist(), {"tuple": [n, c, h, w]},
                                   fh, fw, stride, pad]})
        return {"col2im": cases}
    layers = [(n, c, h, w, fn, fh, fw, stride, pad, scratch.output_size(h, fh, stride, pad),
               scratch.output_size(w, fw, stride, pad))
              for n, c, h, w, fn, fh, fw, stride, pad in CONVOLUTION_LAYER_CASES]
    if cell == "test_convolution_forward":
        return {"convolution_forward": [{"args": [array(n, c, h, w), array(fn, c, fh, fw, scale=0.5), array(fn),
                                                  stride, pad]}
                                        for n, c, h, w, fn, fh, fw, stride, pad, _, _ in layers]}
    if cell == "test_convolution_backward":
        cases = [{"args": [array(n, c, h, w), array(fn, c, fh, fw, scale=0.5), array(fn), array(n, fn, oh, ow),
                           stride, pad]}
                 for n, c, h, w, fn, fh, fw, stride, pad, oh, ow in layers[:4]]  # 28×28 costs the verifier seconds
        return {f"convolution_d{p}": cases for p in ("x", "W", "b")}
    pools = [(n, c, h, w, ph, pw, stride, (h - ph) // stride + 1, (w - pw) // stride + 1)
             for n, c, h, w, ph, pw, stride in POOLING_LAYER_CASES]
    if cell == "test_pooling_forward":
        return {"pooling_forward": [{"args": [array(n, c, h, w), ph, pw, stride]}
                                    for n, c, h, w, ph, pw, stride, _, _ in pools]}
    if cell == "test_pooling_backward":
        return {"pooling_dx": [{"args": [distinct(n, c, h, w), array(n, c, oh, ow), ph, pw, stride]}
                               for n, c, h, w, ph, pw, stride, oh, ow in pools]}
    if cell == "test_param_count":
        return {"conv_net_params": [{"args": [int(rng.integers(1, 65)), int(size), int(rng.integers(10, 301))]}
                                    for size in rng.permutation([3, 5, 7, 9])]}
    return {}


FAMILIES = {
    "im2col": lambda x, filter_h, filter_w, stride=1, pad=0: (
        *batch(np.shape(x)), *window(filter_h, filter_w, stride), *padding(pad)),
    "col2im": lambda col, shape, filter_h, filter_w, stride=1, pad=0: (
        *batch(shape), *window(filter_h, filter_w, stride), *padding(pad)),
    "Convolution().forward": lambda W, b, stride=1, pad=0, *, call: (
        *batch(np.shape(call[0])), *window(*np.shape(W)[2:], stride), *padding(pad)),
    "Convolution().backward": lambda W, b, stride=1, pad=0, *, call: (
        *batch((len(call[0]), np.shape(W)[1], *np.shape(call[0])[2:])), *window(*np.shape(W)[2:], stride),
        *padding(pad)),
    "Pooling().forward": lambda pool_h, pool_w, stride=1, pad=0, *, call: (
        *batch(np.shape(call[0])), *window(pool_h, pool_w, stride)),
    "Pooling().backward": lambda pool_h, pool_w, stride=1, pad=0, *, call: (
        *batch(np.shape(call[0])), *window(pool_h, pool_w, stride)),
    "Convolution": nothing, "Pooling": nothing, "conv_net_params": nothing,
}

LECTURE = Lecture(NAME, TESTS, numpy_only=NUMPY_ONLY, inputs=inputs, families=FAMILIES, grading_seconds=84.1,
                  keras_training=False)
