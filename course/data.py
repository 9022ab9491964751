"""Fashion-MNIST, loaded as the lecture does, on machines with or without internet.

`keras.datasets.fashion_mnist.load_data()` reads four files from Keras's cache
(``~/.keras/datasets/fashion-mnist/``) and downloads them when they are missing. Offline
machines get them from Debian's ``dataset-fashion-mnist`` package instead: `ensure_fashion_mnist`
fills the cache from there, checking every file's SHA-256 first.

Run ``course data`` to fill the cache and see where it is.
"""

import gzip
import hashlib
import os
import shutil
import sys
from pathlib import Path

import numpy as np

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
SHA256 = {
    "train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
    "train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
    "t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
    "t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
}


class DatasetError(RuntimeError):
    """Fashion-MNIST cannot be had; the message says what to do."""


def keras_cache_dir() -> Path:
    """Where `keras.datasets.fashion_mnist.load_data()` looks for the files."""
    keras_home = os.environ.get("KERAS_HOME") or Path.home() / ".keras"
    return Path(keras_home) / "datasets" / "fashion-mnist"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_intact(path: Path, name: str) -> bool:
    return path.is_file() and _sha256(path) == SHA256[name]


def _download(name: str, cache: Path) -> None:
    from keras.utils import get_file

    get_file(
        name,
        origin=ORIGIN + name,
        file_hash=SHA256[name],
        cache_dir=str(cache.parent.parent),
        cache_subdir=os.path.join(cache.parent.name, cache.name),
    )


def ensure_fashion_mnist(debian_dir: Path | None = None, download: bool = True) -> Path:
    """Make sure Keras's cache holds the four intact files; return the cache folder.

    Each file comes from the cache if intact, else from Debian's package, else from the network.
    Raises DatasetError, with what to install or where to put which file, when none works.
    """
    cache = keras_cache_dir()
    debian_dir = Path(debian_dir or DEBIAN_DIR)
    problems = []
    for name in SHA256:
        target = cache / name
        if _is_intact(target, name):
            continue
        if target.exists():
            problems.append(f"{target}: SHA-256 mismatch (truncated or corrupt)")
        packaged = debian_dir / name
        if _is_intact(packaged, name):
            cache.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(".partial")
            shutil.copyfile(packaged, partial)
            partial.replace(target)
            continue
        if packaged.exists():
            problems.append(f"{packaged}: SHA-256 mismatch (truncated or corrupt)")
        if download:
            try:
                _download(name, cache)
            except Exception as error:  # no network, DNS failure, HTTP error, bad hash
                problems.append(f"download of {ORIGIN + name} failed: {error}")
            else:
                if _is_intact(target, name):
                    continue
        raise DatasetError(_unavailable_message(name, cache, problems))
    return cache


def _unavailable_message(name: str, cache: Path, problems: list) -> str:
    details = "".join(f"\n  - {p}" for p in problems) or f"\n  - {name} is in none of them"
    files = "".join(f"\n      {n}  sha256 {h}" for n, h in SHA256.items())
    return (
        "Fashion-MNIST を用意できません。次のどれかをしてください: インターネットに接続する / "
        "`sudo apt install dataset-fashion-mnist` / 下の 4 ファイルをキャッシュに置く。\n"
        f"Fashion-MNIST is not available (looked in {cache}, {DEBIAN_DIR} and {ORIGIN}):"
        f"{details}\n"
        "Do one of:\n"
        "  1. connect to the internet and run `course data` again;\n"
        "  2. install Debian's package: `sudo apt install dataset-fashion-mnist`;\n"
        f"  3. download these four files from {ORIGIN} and put them in {cache}/"
        f" (replacing any corrupt one):{files}"
    )


def _read_idx(path: Path, magic: int, shape_tail: tuple) -> np.ndarray:
    """Read one IDX file (the format of the Fashion-MNIST files), checking its header."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = len(shape_tail) + 1
    header = np.frombuffer(data[: 4 + 4 * dims], ">u4")
    if len(header) != 1 + dims or header[0] != magic or tuple(header[2:]) != shape_tail:
        raise DatasetError(f"{path} is not a Fashion-MNIST IDX file: delete it and run `course data`")
    body = np.frombuffer(data, np.uint8, offset=4 + 4 * dims)
    return body.reshape((int(header[1]),) + shape_tail)


def load_fashion_mnist():
    """The arrays `keras.datasets.fashion_mnist.load_data()` returns, read by the course itself.

    Checks call this rather than Keras so that a notebook that replaces Keras's loader cannot
    change the data it is graded on.
    """
    cache = ensure_fashion_mnist()
    x_train = _read_idx(cache / "train-images-idx3-ubyte.gz", 0x803, (28, 28))
    y_train = _read_idx(cache / "train-labels-idx1-ubyte.gz", 0x801, ())
    x_test = _read_idx(cache / "t10k-images-idx3-ubyte.gz", 0x803, (28, 28))
    y_test = _read_idx(cache / "t10k-labels-idx1-ubyte.gz", 0x801, ())
    return (x_train, y_train), (x_test, y_test)


def main(argv=None) -> int:
    import argparse

    argparse.ArgumentParser(description="Put Fashion-MNIST into Keras's cache (from Debian's dataset-fashion-mnist "
                            "when it is installed, else downloaded), checked by SHA-256.").parse_args(argv)
    try:
        cache = ensure_fashion_mnist()
    except DatasetError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"Fashion-MNIST is ready in {cache}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
