"""How far the seed's SimpleConvNet gets in a number of Adam iterations of batch 100 on
Fashion-MNIST, over several random streams, and how long an iteration takes: what scratch_cnn's
budget per profile and its thresholds' margin are set from (docs/design/calibration.md).

    python benchmarks/scratch_training.py --iterations 50 --runs 12

Each run draws its initial weights (std 0.01) and its mini-batches from its own stream and trains
with the course's reference layers (course/lectures/scratch.py) and the lecture's Adam; its accuracy is
recomputed on the 10,000 test images as the verifier does. The notebook's own seeds 0–4 are five
such streams: this shows how far a correct notebook may land from them. Not a test: it prints figures.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course.lectures import scratch  # noqa: E402
from course.lectures.checks import dataset, scratch_accuracy  # noqa: E402


def gradients(params, x, labels):
    """SimpleConvNet's forward and backward pass (conv → ReLU → pool → Affine → ReLU → Affine → softmax)."""
    conv = scratch.convolution_forward(x, params["W1"], params["b1"])
    relu = np.maximum(conv, 0)
    pooled = scratch.pooling_forward(relu, 2, 2, 2)
    flat = pooled.reshape(len(x), -1)
    hidden = flat @ params["W2"] + params["b2"]
    active = np.maximum(hidden, 0)
    scores = active @ params["W3"] + params["b3"]
    probabilities = np.exp(scores - scores.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    dscores = probabilities.copy()
    dscores[np.arange(len(x)), labels] -= 1
    dscores /= len(x)
    dhidden = (dscores @ params["W3"].T) * (hidden > 0)
    dpooled = (dhidden @ params["W2"].T).reshape(pooled.shape)
    drelu = scratch.pooling_backward(relu, dpooled, 2, 2, 2) * (conv > 0)
    _, dw1, db1 = scratch.convolution_backward(x, params["W1"], drelu)
    return {"W1": dw1, "b1": db1, "W2": flat.T @ dhidden, "b2": dhidden.sum(axis=0),
            "W3": active.T @ dscores, "b3": dscores.sum(axis=0)}


def train(seed: int, iterations: int, images, labels) -> dict:
    rng = np.random.default_rng(seed)
    params = {name: (0.01 * rng.standard_normal(shape) if name.startswith("W") else np.zeros(shape))
              for name, shape in scratch.SIMPLE_CONV_NET_SHAPES.items()}
    first, second = ({name: np.zeros_like(value) for name, value in params.items()} for _ in range(2))
    for step in range(1, iterations + 1):
        batch = rng.choice(len(images), 100)
        grads = gradients(params, images[batch], labels[batch])
        rate = 0.001 * np.sqrt(1 - 0.999 ** step) / (1 - 0.9 ** step)  # the lecture's Adam
        for name in params:
            first[name] += 0.1 * (grads[name] - first[name])
            second[name] += 0.001 * (grads[name] ** 2 - second[name])
            params[name] -= rate * first[name] / (np.sqrt(second[name]) + 1e-7)
    return params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--runs", type=int, default=12)
    args = parser.parse_args()
    (x_train, y_train), _ = dataset()
    images = x_train.reshape(-1, 1, 28, 28) / 255
    accuracies, seconds = [], 0.0
    for seed in range(args.runs):
        start = time.perf_counter()
        params = train(seed, args.iterations, images, y_train)
        seconds += time.perf_counter() - start
        accuracies.append(scratch_accuracy(params))
        print(f"run {seed}: test accuracy {accuracies[-1]:.4f}", flush=True)
    per_iteration = seconds / (args.runs * args.iterations)
    print(f"{args.iterations} iterations, {args.runs} runs: min {min(accuracies):.4f}, mean {np.mean(accuracies):.4f}, "
          f"std {np.std(accuracies):.4f}; {per_iteration * 1000:.0f} ms per iteration (the seed's 1,000: "
          f"{per_iteration * 1000:.0f} s)")


if __name__ == "__main__":
    main()
