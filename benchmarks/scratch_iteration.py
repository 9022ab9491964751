"""Seconds per training iteration of the seed's SimpleConvNet in NumPy (conv 30×5×5 → ReLU →
pool 2×2 → Affine 100 → ReLU → Affine 10), forward and backward through course/scratch.py's
reference, on a batch of 100 random images: what the scratch_cnn lecture's training budget per
profile is planned from (the seed trains 1,000 iterations).

    python benchmarks/scratch_iteration.py --iterations 20

Not a test: it prints figures. The optimizer step (Adam) and accuracy evaluation are not included.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course import scratch  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.random((100, 1, 28, 28))
    w1, b1 = 0.01 * rng.standard_normal((30, 1, 5, 5)), np.zeros(30)
    w2, w3 = 0.01 * rng.standard_normal((30 * 12 * 12, 100)), 0.01 * rng.standard_normal((100, 10))

    def iteration():
        conv = scratch.convolution_forward(x, w1, b1)
        relu = np.maximum(conv, 0)
        pooled = scratch.pooling_forward(relu, 2, 2, 2)
        hidden = np.maximum(pooled.reshape(len(x), -1) @ w2, 0)
        dscores = np.ones((len(x), 10))  # the loss's gradient: its value does not change the time
        dhidden = (dscores @ w3.T) * (hidden > 0)
        dpooled = (dhidden @ w2.T).reshape(pooled.shape)
        drelu = scratch.pooling_backward(relu, dpooled, 2, 2, 2) * (conv > 0)
        scratch.convolution_backward(x, w1, drelu)

    iteration()  # warm-up
    start = time.perf_counter()
    for _ in range(args.iterations):
        iteration()
    seconds = (time.perf_counter() - start) / args.iterations
    print(f"{seconds * 1000:.1f} ms per iteration of batch 100; the seed's 1,000 iterations: {seconds * 1000:.0f} s")


if __name__ == "__main__":
    main()
