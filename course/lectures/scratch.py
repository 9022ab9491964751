"""The course's reference for the from-scratch CNN (seed 002, "④畳み込みニューラルネットワークの概念"):
im2col / col2im, the convolution and max-pooling layers' forward and backward passes in NumPy, in
the seed's NCHW layout, and what a student's versions are checked against: Keras's Conv2D and
MaxPooling2D with the same weights, and numerical gradients.

Students never import this (their notebook runs in Colab as it stands), nor can a grading kernel:
the checks and the verifier do. The layers' test cells get `reference_code()` in their inputs
(course_kernel/handover.py says why).
"""

import inspect

import numpy as np


def output_size(size: int, filter_size: int, stride: int, pad: int) -> int:
    return (size + 2 * pad - filter_size) // stride + 1


def im2col(input_data, filter_h, filter_w, stride=1, pad=0):
    """(N, C, H, W) images → one row per output position: (N·out_h·out_w, C·filter_h·filter_w)."""
    n, c, h, w = input_data.shape
    out_h, out_w = output_size(h, filter_h, stride, pad), output_size(w, filter_w, stride, pad)
    img = np.pad(input_data, [(0, 0), (0, 0), (pad, pad), (pad, pad)])
    col = np.zeros((n, c, filter_h, filter_w, out_h, out_w), dtype=img.dtype)
    for y in range(filter_h):
        for x in range(filter_w):
            col[:, :, y, x] = img[:, :, y:y + stride * out_h:stride, x:x + stride * out_w:stride]
    return col.transpose(0, 4, 5, 1, 2, 3).reshape(n * out_h * out_w, -1)


def col2im(col, input_shape, filter_h, filter_w, stride=1, pad=0):
    """im2col's adjoint: each row's values added back where they came from, padding cut off."""
    n, c, h, w = input_shape
    out_h, out_w = output_size(h, filter_h, stride, pad), output_size(w, filter_w, stride, pad)
    col = col.reshape(n, out_h, out_w, c, filter_h, filter_w).transpose(0, 3, 4, 5, 1, 2)
    img = np.zeros((n, c, h + 2 * pad + stride - 1, w + 2 * pad + stride - 1), dtype=col.dtype)
    for y in range(filter_h):
        for x in range(filter_w):
            img[:, :, y:y + stride * out_h:stride, x:x + stride * out_w:stride] += col[:, :, y, x]
    return img[:, :, pad:h + pad, pad:w + pad]


def convolution_forward(x, weights, bias, stride=1, pad=0):
    """Filters (FN, C, FH, FW) over images (N, C, H, W) → (N, FN, out_h, out_w)."""
    fn, _, fh, fw = weights.shape
    n, _, h, w = x.shape
    out = im2col(x, fh, fw, stride, pad) @ weights.reshape(fn, -1).T + bias
    return out.reshape(n, output_size(h, fh, stride, pad), output_size(w, fw, stride, pad), fn).transpose(0, 3, 1, 2)


def convolution_backward(x, weights, dout, stride=1, pad=0):
    """(dx, dW, db) of convolution_forward, given the gradient of its output."""
    fn, c, fh, fw = weights.shape
    dout = dout.transpose(0, 2, 3, 1).reshape(-1, fn)
    col = im2col(x, fh, fw, stride, pad)
    dweights = (col.T @ dout).T.reshape(fn, c, fh, fw)
    dx = col2im(dout @ weights.reshape(fn, -1), x.shape, fh, fw, stride, pad)
    return dx, dweights, dout.sum(axis=0)


def pooling_forward(x, pool_h, pool_w, stride=1, pad=0):
    """Max pooling of (N, C, H, W) → (N, C, out_h, out_w)."""
    n, c, h, w = x.shape
    col = im2col(x, pool_h, pool_w, stride, pad).reshape(-1, pool_h * pool_w)
    out_h, out_w = output_size(h, pool_h, stride, pad), output_size(w, pool_w, stride, pad)
    return col.max(axis=1).reshape(n, out_h, out_w, c).transpose(0, 3, 1, 2)


def pooling_backward(x, dout, pool_h, pool_w, stride=1, pad=0):
    """dx of pooling_forward: each output's gradient goes to the position of its maximum."""
    col = im2col(x, pool_h, pool_w, stride, pad).reshape(-1, pool_h * pool_w)
    dmax = np.zeros_like(col)
    dmax[np.arange(len(col)), col.argmax(axis=1)] = dout.transpose(0, 2, 3, 1).ravel()
    return col2im(dmax.reshape(-1, x.shape[1] * pool_h * pool_w), x.shape, pool_h, pool_w, stride, pad)


def numerical_gradient(f, x, h=1e-5):
    """The gradient of the scalar f() with respect to the array x (changed in place and restored),
    by central differences: what every backward pass is checked against."""
    grad = np.zeros_like(x, dtype=np.float64)
    for index in np.ndindex(x.shape):
        kept = x[index]
        x[index] = kept + h
        above = f()
        x[index] = kept - h
        below = f()
        x[index] = kept
        grad[index] = (above - below) / (2 * h)
    return grad


def relative_error(a, b) -> float:
    """|a - b| / max(|a|, |b|) in the Euclidean norm (0 when both are 0): rounding in either
    gives about 1e-10 here, a gradient of the wrong shape or sign about 1."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    return float(np.linalg.norm(a - b) / scale) if scale else 0.0


def numerical_convolution_gradient(wrt: str):
    """The numerical gradient of sum(convolution_forward(x, W, b) * dout) with respect to "x",
    "W" or "b": what Convolution.backward's dx, dW and db must be."""
    def gradient(x, weights, bias, dout, stride, pad):
        target = {"x": x, "W": weights, "b": bias}[wrt]
        return numerical_gradient(lambda: np.sum(convolution_forward(x, weights, bias, stride, pad) * dout), target)
    return gradient


def numerical_pooling_gradient(x, dout, pool_h, pool_w, stride):
    """The numerical gradient of sum(pooling_forward(x) * dout) with respect to x: Pooling.backward's dx."""
    return numerical_gradient(lambda: np.sum(pooling_forward(x, pool_h, pool_w, stride) * dout), x)


def keras_convolution(x, weights, bias, stride=1, pad=0):
    """What keras.layers.Conv2D computes with the same filters, in NCHW (Keras works in NHWC and
    pads only as 'same' does: the padding is put on the images first)."""
    import keras

    fn, c, fh, fw = weights.shape
    layer = keras.layers.Conv2D(fn, (fh, fw), strides=stride, padding="valid")
    layer.build((None, None, None, c))
    layer.set_weights([weights.transpose(2, 3, 1, 0), bias])
    padded = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)]).transpose(0, 2, 3, 1)
    return keras.ops.convert_to_numpy(layer(padded)).transpose(0, 3, 1, 2)


def keras_pooling(x, pool_h, pool_w, stride=1):
    """What keras.layers.MaxPooling2D computes, in NCHW."""
    import keras

    layer = keras.layers.MaxPooling2D((pool_h, pool_w), strides=stride, padding="valid")
    return keras.ops.convert_to_numpy(layer(x.transpose(0, 2, 3, 1))).transpose(0, 3, 1, 2)


def keras_simple_conv_net(filter_num, filter_size, hidden_size):
    """SimpleConvNet's architecture in Keras (conv, ReLU, 2×2 max pooling, Affine, ReLU, Affine on
    28×28 single-channel images), for its parameter count."""
    import keras

    return keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(filter_num, filter_size, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(hidden_size, activation="relu"),
        keras.layers.Dense(10),
    ])


SIMPLE_CONV_NET_SHAPES = {"W1": (30, 1, 5, 5), "b1": (30,), "W2": (4320, 100), "b2": (100,), "W3": (100, 10),
                          "b3": (10,)}


def simple_conv_net_scores(params, x):
    """SimpleConvNet's output (before softmax) for images x (N, 1, 28, 28), computed with the
    reference layers from its parameters alone."""
    conv = np.maximum(convolution_forward(x, params["W1"], params["b1"]), 0)
    hidden = np.maximum(pooling_forward(conv, 2, 2, 2).reshape(len(x), -1) @ params["W2"] + params["b2"], 0)
    return hidden @ params["W3"] + params["b3"]


def reference_code() -> str:
    """im2col and col2im as source code, for a grading kernel to run the student's layers with."""
    return "\n\n".join(inspect.getsource(function) for function in (output_size, im2col, col2im))
