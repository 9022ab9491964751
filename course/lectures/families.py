"""Families of input: what tells two inputs of a student's function apart in the ways that break
answers right for one kind only (a square map, non-negative values, one image, stride 1, no pad).

Each lecture declares, for what its tests call (a function, a class, or a class's method, named as
`Class().method`), a family function of the call's arguments (for a method: the class's arguments,
then `call=` the method's). Every family that grading draws must also be tried by a visible test,
so that a Colab student learns of it before the grade (tests/test_visible_tests.py runs both and
compares).
"""

import numpy as np


def nothing(*args, **kwargs) -> tuple:
    """One family: any input is like any other."""
    return ()


def signs(values) -> tuple:
    values = np.asarray(values, dtype=float)
    return ("negative values" if (values < 0).any() else "no negative values",)


def rows(values) -> tuple:
    """A batch of rows (points, or a row of scores per image): one, or several."""
    return ("one row" if len(values) == 1 else "several rows",)


def grid(values) -> tuple:
    """A 2-D map or image, or its last two axes: square or not."""
    shape = np.shape(values)
    return ("square" if shape[-2] == shape[-1] else "not square",)


def batch(shape) -> tuple:
    """NCHW images: one or several, one channel or several, square or not."""
    n, c, h, w = shape
    return ("one image" if n == 1 else "several images", "one channel" if c == 1 else "several channels",
            "square images" if h == w else "images not square")


def window(height, width, stride) -> tuple:
    """A filter or pooling window and how far it moves: square or not; by one, by less than the
    window (overlapping), or by the whole window or more."""
    return ("square window" if height == width else "window not square",
            "stride 1" if stride == 1 else "overlapping" if stride < max(height, width) else "not overlapping")


def padding(pad) -> tuple:
    return ("padded" if pad else "not padded",)
