"""The course's reference for the from-scratch CNN (seed 002, "④畳み込みニューラルネットワークの概念"):
im2col / col2im, the convolution and max-pooling layers' forward and backward passes in NumPy, in
the seed's NCHW layout, and what a student's versions are checked against: Keras's Conv2D and
MaxPooling2D with the same weights, and numerical gradients.

Students never import this (their notebook runs in Colab as it stands); checks and the verifier do.
"""

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
    """max |a - b| / max(|a|, |b|), elementwise; 0 where both are 0."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = np.maximum(np.abs(a), np.abs(b))
    return float(np.max(np.abs(a - b) / np.where(scale > 0, scale, 1), initial=0))  # where 0, |a - b| is 0


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
