import gzip
import shutil

import numpy as np
import pytest

from course import data
from course.data import SHA256, DatasetError, ensure_fashion_mnist, load_fashion_mnist


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    return tmp_path / "keras" / "datasets" / "fashion-mnist"


@pytest.fixture
def no_network(monkeypatch):
    def refuse(name, cache):
        raise OSError("Temporary failure in name resolution")

    monkeypatch.setattr(data, "_download", refuse)


def test_cache_is_filled_from_debian_package(empty_cache, no_network):
    assert ensure_fashion_mnist() == empty_cache
    assert sorted(p.name for p in empty_cache.iterdir()) == sorted(SHA256)


def test_same_arrays_as_keras_loader(empty_cache, no_network):
    import keras

    ensure_fashion_mnist()
    ours = load_fashion_mnist()
    theirs = keras.datasets.fashion_mnist.load_data()
    for a, b in zip(ours[0] + ours[1], theirs[0] + theirs[1], strict=True):
        assert a.dtype == b.dtype == np.uint8
        np.testing.assert_array_equal(a, b)
    assert ours[0][0].shape == (60000, 28, 28) and ours[1][1].shape == (10000,)


def test_truncated_cache_file_is_replaced_from_debian(empty_cache, no_network):
    ensure_fashion_mnist()
    victim = empty_cache / "t10k-images-idx3-ubyte.gz"
    victim.write_bytes(victim.read_bytes()[:1000])
    ensure_fashion_mnist()
    assert data._is_intact(victim, victim.name)


def test_nothing_available_says_what_to_do(empty_cache, tmp_path, no_network):
    with pytest.raises(DatasetError) as error:
        ensure_fashion_mnist(debian_dir=tmp_path / "missing")
    message = str(error.value)
    assert "apt install dataset-fashion-mnist" in message
    assert str(empty_cache) in message
    assert "name resolution" in message
    assert all(name in message for name in SHA256)


def test_corrupt_file_without_replacement_is_named(empty_cache, tmp_path, no_network):
    debian = tmp_path / "debian"
    shutil.copytree(data.DEBIAN_DIR, debian)
    (debian / "train-labels-idx1-ubyte.gz").write_bytes(b"not gzip")
    with pytest.raises(DatasetError, match="train-labels-idx1-ubyte.gz: SHA-256 mismatch"):
        ensure_fashion_mnist(debian_dir=debian)


def test_download_is_used_when_debian_package_is_missing(empty_cache, tmp_path, monkeypatch):
    fetched = []

    def download(name, cache):  # stands in for Keras's get_file
        fetched.append(name)
        cache.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(data.DEBIAN_DIR / name, cache / name)

    monkeypatch.setattr(data, "_download", download)
    ensure_fashion_mnist(debian_dir=tmp_path / "missing")
    assert fetched == list(SHA256)


def test_file_with_wrong_header_is_rejected(tmp_path):
    path = tmp_path / "labels.gz"
    with gzip.open(path, "wb") as f:
        f.write(np.array([0x803, 5, 28, 28], ">u4").tobytes() + bytes(5 * 784))
    with pytest.raises(DatasetError, match="not a Fashion-MNIST IDX file"):
        data._read_idx(path, 0x801, ())
