"""How the functions a NumPy task's checks name are called from what the student's code defines.

`calling(function, namespace, reference)` gives the function the verifier's checks call `function`
(course/lectures/<lecture>.py): the student's own where the names agree (`convolve`), else one made
from the student's classes or functions as the notebook's tests use them (`sgd_steps` from `SGD`,
`convolution_forward` from `Convolution`). It runs in the NumPy-only process
(course/grading/numpy_only.py), which gets this file as text, and in an instructor's Jupyter outside
grading: it imports nothing but NumPy.
"""

import contextlib

import numpy as np


def error_slope(w):
    """dE/dw of basics' error with two valleys, E(w) = (w² − 1)² + 0.3 w (the notebook's dE)."""
    return 4 * w * (w ** 2 - 1) + 0.3


def optimizer_path(optimizer, w0, grads):
    """The weights after each step of optimizer.update(params, {'w': g}), for g in grads (the
    notebook's optimizer_path)."""
    params = {"w": np.array(w0, dtype=float)}
    path = []
    for g in grads:
        optimizer.update(params, {"w": np.array(g, dtype=float)})
        path.append(np.array(params["w"], dtype=float))
    return np.array(path)


@contextlib.contextmanager
def _functions(namespace: dict, functions: dict):
    """`functions` in place of the namespace's own while a call runs (scratch_cnn's layers run with
    the grader's im2col and col2im, so that a mistake there costs im2col's points and not theirs too)."""
    kept = {name: namespace[name] for name in functions if name in namespace}
    namespace.update(functions)
    try:
        yield
    finally:
        for name in functions:
            namespace.pop(name, None)
        namespace.update(kept)


def calling(function: str, namespace: dict, reference: dict | None = None):
    """What the checks call `function`, made from the student's `namespace` (see the module's doc);
    `reference`: {name: function} to use in its place while a layer runs."""
    ns = namespace

    def convolution(x, weights, bias, stride, pad, dout=None):
        layer = ns["Convolution"](weights, bias, int(stride), int(pad))
        out = layer.forward(x)
        return layer, out if dout is None else layer.backward(dout)

    def pooling(x, pool_h, pool_w, stride, dout=None):
        layer = ns["Pooling"](int(pool_h), int(pool_w), int(stride))
        out = layer.forward(x)
        return layer, out if dout is None else layer.backward(dout)

    made = {
        "descend": lambda w0, learning_rate, steps: ns["gradient_descent"](error_slope, w0, learning_rate, int(steps)),
        "sgd_steps": lambda w0, grads, learning_rate: optimizer_path(ns["SGD"](learning_rate=learning_rate), w0,
                                                                     grads),
        "momentum_steps": lambda w0, grads, learning_rate, momentum: optimizer_path(
            ns["Momentum"](learning_rate=learning_rate, momentum=momentum), w0, grads),
        "adagrad_steps": lambda w0, grads, learning_rate: optimizer_path(ns["AdaGrad"](learning_rate=learning_rate),
                                                                         w0, grads),
        "adam_steps": lambda w0, grads, learning_rate, beta1, beta2: optimizer_path(
            ns["Adam"](learning_rate=learning_rate, beta1=beta1, beta2=beta2), w0, grads),
    }
    layers = {
        "convolution_forward": lambda x, w, b, stride, pad: convolution(x, w, b, stride, pad)[1],
        "convolution_dx": lambda x, w, b, dout, stride, pad: convolution(x, w, b, stride, pad, dout)[1],
        "convolution_dW": lambda x, w, b, dout, stride, pad: convolution(x, w, b, stride, pad, dout)[0].dW,
        "convolution_db": lambda x, w, b, dout, stride, pad: convolution(x, w, b, stride, pad, dout)[0].db,
        "pooling_forward": lambda x, pool_h, pool_w, stride: pooling(x, pool_h, pool_w, stride)[1],
        "pooling_dx": lambda x, dout, pool_h, pool_w, stride: pooling(x, pool_h, pool_w, stride, dout)[1],
    }
    if function in layers:
        def layer(*args):
            with _functions(ns, reference or {}):
                return layers[function](*args)
        return layer
    return made.get(function) or ns[function]
