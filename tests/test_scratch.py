"""The reference of the from-scratch CNN (course/lectures/scratch.py) against the seed, Keras and numerical
gradients: what students' im2col, Convolution and Pooling will be checked with."""

from pathlib import Path

import numpy as np
import pytest

from course.lectures import scratch, scratch_cnn
from course.lectures.checks import check_gradient, check_loss_list, check_outputs, scratch_accuracy
from course_kernel.handover import describe
from course_kernel.profiles import Profile

COURSE = Path(__file__).resolve().parents[1]
# Random batches, channels, strides and paddings, square and not.
CASES = [  # (N, C, H, W), (FN, FH, FW), stride, pad
    ((2, 1, 4, 4), (1, 3, 3), 1, 0),
    ((2, 3, 7, 6), (4, 3, 2), 1, 1),
    ((1, 2, 9, 9), (3, 5, 5), 2, 2),
    ((3, 2, 8, 7), (2, 2, 3), 3, 0),
]


def test_im2col_gives_the_rows_the_seed_prints():
    # The seed's example: two 4x4 single-channel images, a 3x3 filter, stride 1, no padding.
    images = np.array([[[[20, 95, 70, 5], [3, 91, 59, 59], [81, 15, 21, 32], [38, 32, 52, 89]]],
                       [[[45, 94, 38, 4], [18, 27, 44, 10], [22, 42, 9, 62], [20, 89, 26, 23]]]], dtype=float)
    col = scratch.im2col(images, 3, 3)
    assert col.shape == (8, 9)
    assert col[0].tolist() == [20, 95, 70, 3, 91, 59, 81, 15, 21]
    assert col[7].tolist() == [27, 44, 10, 42, 9, 62, 89, 26, 23]


@pytest.mark.parametrize("shape, filters, stride, pad", CASES)
def test_col2im_is_the_adjoint_of_im2col(shape, filters, stride, pad):
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape)
    col = scratch.im2col(x, filters[1], filters[2], stride, pad)
    other = rng.normal(size=col.shape)
    back = scratch.col2im(other, shape, filters[1], filters[2], stride, pad)
    assert back.shape == shape
    # <im2col(x), c> = <x, col2im(c)>: col2im adds each value back where im2col took it from.
    assert np.isclose(np.sum(col * other), np.sum(x * back))


@pytest.mark.parametrize("shape, filters, stride, pad", CASES)
def test_convolution_forward_is_what_keras_conv2d_computes(shape, filters, stride, pad):
    rng = np.random.default_rng(1)
    x = rng.normal(size=shape).astype(np.float32)
    weights = rng.normal(size=(filters[0], shape[1], filters[1], filters[2])).astype(np.float32)
    bias = rng.normal(size=filters[0]).astype(np.float32)
    ours = scratch.convolution_forward(x, weights, bias, stride, pad)
    assert np.allclose(ours, scratch.keras_convolution(x, weights, bias, stride, pad), atol=1e-4)


@pytest.mark.parametrize("shape, pool, stride", [((2, 3, 4, 4), (2, 2), 2), ((1, 2, 7, 6), (3, 2), 1),
                                                 ((2, 1, 9, 9), (3, 3), 3)])
def test_pooling_forward_is_what_keras_maxpooling2d_computes(shape, pool, stride):
    x = np.random.default_rng(2).normal(size=shape).astype(np.float32)
    assert np.array_equal(scratch.pooling_forward(x, *pool, stride), scratch.keras_pooling(x, *pool, stride))


@pytest.mark.parametrize("shape, filters, stride, pad", CASES)
def test_backward_passes_match_numerical_gradients(shape, filters, stride, pad):
    rng = np.random.default_rng(3)
    x = rng.normal(size=shape)
    weights = rng.normal(size=(filters[0], shape[1], filters[1], filters[2]))
    bias = rng.normal(size=filters[0])
    dout = rng.normal(size=scratch.convolution_forward(x, weights, bias, stride, pad).shape)

    def loss():  # a scalar whose gradient with respect to the output is dout
        return np.sum(scratch.convolution_forward(x, weights, bias, stride, pad) * dout)

    dx, dweights, dbias = scratch.convolution_backward(x, weights, dout, stride, pad)
    for analytic, value in ((dx, x), (dweights, weights), (dbias, bias)):
        assert scratch.relative_error(analytic, scratch.numerical_gradient(loss, value)) < 1e-6

    pool_out = scratch.pooling_forward(x, 2, 2, 2)
    dpool = rng.normal(size=pool_out.shape)
    numerical = scratch.numerical_gradient(lambda: np.sum(scratch.pooling_forward(x, 2, 2, 2) * dpool), x)
    assert scratch.relative_error(scratch.pooling_backward(x, dpool, 2, 2, 2), numerical) < 1e-6


def transposed_weight_gradient(x, weights, bias, dout, stride=1, pad=0):
    """The demo mistake the lecture's checks must catch: dW as col.T @ dout, not transposed back."""
    fn, c, fh, fw = weights.shape
    col = scratch.im2col(x, fh, fw, stride, pad)
    return (col.T @ dout.transpose(0, 2, 3, 1).reshape(-1, fn)).reshape(fn, c, fh, fw)


def test_a_transposed_weight_gradient_is_told_from_the_right_one():
    rng = np.random.default_rng(4)
    x, weights = rng.normal(size=(2, 2, 5, 5)), rng.normal(size=(2, 2, 3, 3))
    dout = rng.normal(size=(2, 2, 3, 3))
    _, dweights, _ = scratch.convolution_backward(x, weights, dout)
    assert scratch.relative_error(dweights, transposed_weight_gradient(x, weights, None, dout)) > 0.1


def solution_namespace(student: str) -> dict:
    """What a demo student's notebook defines up to the training: their im2col, col2im,
    Convolution, Pooling and parameter count, run here (as the notebook's cells run them)."""
    from course.instructor.demo import DEMO_CLASS, submission

    nb = submission(COURSE, "scratch_cnn", DEMO_CLASS["scratch_cnn"][student])
    namespace = {}
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in ("im2col", "col2im", "convolution", "pooling", "param_count") or cell.source.startswith(
                ("import numpy", "# im2colの処理確認")):
            exec(cell.source, namespace)
    return namespace


def hidden_test_failures(namespace: dict) -> set:
    """The function tests whose hidden part (as the source notebook writes it) fails on `namespace`."""
    import nbformat

    failed = set()
    source = nbformat.read(COURSE / "source" / "scratch_cnn" / "scratch_cnn.ipynb", as_version=4)
    for cell in source.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if grade_id.startswith("test_") and grade_id != "test_training":
            hidden = cell.source.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]
            try:
                exec(hidden, namespace)
            except AssertionError:
                failed.add(grade_id)
    return failed


@pytest.mark.parametrize("student, failed", [
    ("alice", set()),  # the reference solution
    ("bob", {"test_im2col"}),  # im2col ignores padding: the layers, graded with the course's im2col, pass
    ("chris", {"test_convolution_backward"}),  # dW not transposed
    ("emi", set()),  # im2col with a loop per window: also correct
])
def test_hidden_tests_fail_exactly_the_function_that_is_wrong(student, failed):
    assert hidden_test_failures(solution_namespace(student)) == failed


def test_a_wrong_gradient_is_told_apart_from_rounding():
    cases = scratch_cnn.inputs("test_convolution_backward", np.random.default_rng(1))["convolution_dW"]
    right = describe(lambda *args: scratch.convolution_backward(*(args[:2] + args[3:]))[1], cases)
    check_outputs("convolution_dW", right, cases, scratch.numerical_convolution_gradient("W"), check_gradient)
    with pytest.raises(AssertionError, match="differs from the numerical gradient: relative error"):
        check_outputs("convolution_dW", describe(transposed_weight_gradient, cases), cases,
                      scratch.numerical_convolution_gradient("W"), check_gradient)


def test_the_training_check_wants_every_iteration_and_a_falling_loss():
    grade = Profile("grade", None, None, 200)
    falling = list(np.linspace(2.3, 0.6, 200))
    check_loss_list(describe(falling), grade)
    with pytest.raises(AssertionError, match=r"iters_num \(200\) times"):
        check_loss_list(describe(falling[:50]), grade)
    with pytest.raises(AssertionError, match="does the loop call optimizer.update"):
        check_loss_list(describe([2.3] * 200), grade)


def test_the_test_accuracy_is_computed_from_the_parameters_alone():
    untrained = {name: np.zeros(shape) for name, shape in scratch.SIMPLE_CONV_NET_SHAPES.items()}
    untrained["b3"][3] = 1  # every image is a dress
    assert scratch_accuracy(untrained) == 0.1  # the test set has 1,000 of each class
    with pytest.raises(AssertionError, match=r"network.params\['W2'\] should have shape \(4320, 100\)"):
        scratch_accuracy(dict(untrained, W2=np.zeros((720, 100))))
