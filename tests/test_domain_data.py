"""MNIST -> MNIST-M (lab 12): the blend, the offline set, and the online loaders against a file:// mirror."""

import hashlib
import io
import tarfile

import numpy as np
import pytest

from coursekit import data as course_data
from coursekit import domain_data
from coursekit.data import DatasetError, RemoteFile, load_data
from coursekit.domain_data import BSDS_IMAGES, blend, load_mnist_m, read_bsds_archive
from coursekit.lab import BUDGETS


def test_blend_is_the_absolute_difference_per_channel():
    photo = np.zeros((40, 50, 3), np.uint8)
    photo[..., 0], photo[..., 1], photo[..., 2] = 100, 30, 250
    digits = np.zeros((3, 28, 28), np.uint8)
    digits[:, 10:18, 12:16] = 255
    images = blend(digits, [photo], seed=1)
    assert images.shape == (3, 28, 28, 3) and images.dtype == np.uint8
    np.testing.assert_array_equal(images[:, 0, 0], [[100, 30, 250]] * 3)     # background: the photo
    np.testing.assert_array_equal(images[:, 12, 13], [[155, 225, 5]] * 3)    # stroke: |photo - 255|


def test_blend_is_deterministic_and_takes_patches_of_every_photo():
    digits = np.zeros((200, 28, 28), np.uint8)
    photos = [np.full((30, 30, 3), value, np.uint8) for value in (10, 20, 30)]
    first, second = blend(digits, photos, seed=5), blend(digits, photos, seed=5)
    np.testing.assert_array_equal(first, second)
    assert set(np.unique(first[:, 0, 0, 0])) == {10, 20, 30}
    assert not np.array_equal(first, blend(digits, photos, seed=6))


def test_offline_set_is_real_digits_blended_with_scikit_image_photos():
    dataset = load_mnist_m(mode="offline", budget=BUDGETS["full"], verbose=False)
    assert dataset.key == "mnist_m_offline" and dataset.is_offline
    assert dataset.description.startswith("OFFLINE: ") and "scikit-image" in dataset.description
    assert dataset.photos == ("astronaut", "chelsea", "coffee", "rocket", "motorcycle")
    assert dataset.x_source_train.shape == dataset.x_target_train.shape == (4000, 28, 28, 3)
    assert dataset.x_source_test.shape == dataset.x_test.shape == (1000, 28, 28, 3)
    assert np.bincount(dataset.y_test).tolist() == [100] * 10
    digits = course_data.load_mnist(mode="offline", budget=BUDGETS["full"], verbose=False)
    np.testing.assert_array_equal(dataset.x_source_test[..., 1], digits.x_test)   # grey in every channel
    np.testing.assert_array_equal(dataset.y_test, digits.y_test)
    # the target test images are those digits blended: where a stroke is white the photo is inverted
    assert dataset.x_test.mean() > 3 * dataset.x_source_test.mean()
    assert not any(np.array_equal(a, b) for a, b in zip(dataset.x_target_train[:50], dataset.x_test[:50]))
    assert dataset.model_inputs(dataset.x_test[:2]).dtype == np.float32
    with pytest.raises(ValueError, match="read-only"):
        dataset.x_test[0, 0, 0, 0] = 1


def test_offline_set_never_moves_and_smoke_is_a_subset(capsys):
    domain_data._offline.cache_clear()
    first = load_mnist_m(mode="offline", budget=BUDGETS["smoke"])
    domain_data._offline.cache_clear()
    second = load_mnist_m(mode="offline", budget=BUDGETS["smoke"], verbose=False)
    np.testing.assert_array_equal(first.x_test, second.x_test)
    np.testing.assert_array_equal(first.x_target_train, second.x_target_train)
    assert len(first.x_source_train) == 1000 and len(first.x_test) == 500
    printed = capsys.readouterr().out
    assert "OFFLINE" in printed and "smoke budget subset" in printed


def test_registry_finds_the_data_set():
    dataset = load_data("mnist_m", mode="offline", budget=BUDGETS["smoke"], verbose=False)
    assert dataset.key == course_data.data_set("mnist_m").keys["offline"]
    assert course_data.data_set("mnist_m").keys["keras"] == "mnist_m"


# ------------------------------------------------------- the online loaders, against a file:// mirror


def _bsds_archive(path, n_photos=200, size=(36, 44)):
    """A tgz laid out like BSR_bsds500.tgz, with small JPEG crops of scikit-image's photos."""
    from PIL import Image
    from skimage import data

    photo = data.astronaut()
    with tarfile.open(path, "w:gz") as archive:
        for index in range(n_photos):
            crop = photo[index:index + size[0], 2 * index:2 * index + size[1]]
            buffer = io.BytesIO()
            Image.fromarray(crop).save(buffer, format="JPEG")
            member = tarfile.TarInfo(f"{BSDS_IMAGES}train/{index:06d}.jpg")
            member.size = buffer.getbuffer().nbytes
            buffer.seek(0)
            archive.addfile(member, buffer)
        readme = tarfile.TarInfo("BSR/README.txt")
        readme.size = 5
        archive.addfile(readme, io.BytesIO(b"BSR\n\n"))


@pytest.fixture(scope="module")
def mirrors(tmp_path_factory):
    """Keras's MNIST origin and Berkeley's BSDS500 origin, made of real offline digits and photos."""
    keras_origin, bsds_origin = tmp_path_factory.mktemp("keras"), tmp_path_factory.mktemp("bsds")
    digits = course_data.load_mnist(mode="offline", budget=BUDGETS["full"], verbose=False)
    images = np.concatenate([digits.x_train, digits.x_test])
    labels = np.concatenate([digits.y_train, digits.y_test])
    np.savez_compressed(keras_origin / "mnist.npz", x_train=np.resize(images, (60000, 28, 28)),
                        y_train=np.resize(labels, 60000), x_test=np.resize(images, (10000, 28, 28)),
                        y_test=np.resize(labels, 10000))
    _bsds_archive(bsds_origin / "BSR_bsds500.tgz")
    return keras_origin, bsds_origin


@pytest.fixture()
def mirrored_mnist(mirrors, monkeypatch):
    """Keras's published checksum belongs to the real file; the mirror's copy gets its own."""
    keras_origin, _ = mirrors
    digest = hashlib.sha256((keras_origin / "mnist.npz").read_bytes()).hexdigest()
    monkeypatch.setattr(course_data, "MNIST_FILES",
                        (RemoteFile("mnist.npz", course_data.MNIST_FILES[0].read, file_hash=digest),))


def test_online_set_downloads_digits_and_photos(mirrors, mirrored_mnist, tmp_path, capsys):
    keras_origin, bsds_origin = mirrors
    dataset = load_mnist_m(mode="keras", budget=BUDGETS["smoke"], origin_base=keras_origin.as_uri(),
                           photos_origin=bsds_origin.as_uri(), cache_dir=str(tmp_path))
    assert dataset.key == "mnist_m" and not dataset.is_offline
    assert dataset.x_source_train.shape == (1000, 28, 28, 3) and dataset.x_test.shape == (500, 28, 28, 3)
    assert len(dataset.photos) == 200 and "BSDS500" in dataset.description
    assert (tmp_path / "datasets" / "bsds500" / "BSR_bsds500.tgz").exists()
    assert (tmp_path / "datasets" / "mnist.npz").exists()
    assert "Downloading data from" in capsys.readouterr().out


def test_online_full_budget_keeps_the_stated_number_of_digits(mirrors, mirrored_mnist, tmp_path):
    keras_origin, bsds_origin = mirrors
    dataset = load_mnist_m(mode="keras", budget=BUDGETS["full"], origin_base=keras_origin.as_uri(),
                           photos_origin=bsds_origin.as_uri(), cache_dir=str(tmp_path), verbose=False)
    assert len(dataset.x_source_train) == domain_data.ONLINE_FULL_TRAIN
    assert len(dataset.x_test) == domain_data.ONLINE_FULL_TEST
    assert f"first {domain_data.ONLINE_FULL_TRAIN} training" in dataset.description


def test_corrupt_cached_archive_is_replaced(mirrors, tmp_path, capsys):
    _, bsds_origin = mirrors
    cache = tmp_path / "datasets" / "bsds500"
    cache.mkdir(parents=True)
    good = (bsds_origin / "BSR_bsds500.tgz").read_bytes()
    (cache / "BSR_bsds500.tgz").write_bytes(good[: len(good) // 3])  # a partial download
    photos = domain_data._online_photos(origin_base=bsds_origin.as_uri(), cache_dir=str(tmp_path))
    assert len(photos) == 200 and photos[0].shape == (36, 44, 3)
    assert "attempt 1 of 3 failed" in capsys.readouterr().out
    assert (cache / "BSR_bsds500.tgz").read_bytes() == good


def test_archive_without_the_photos_gives_a_clear_error(tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    _bsds_archive(broken / "BSR_bsds500.tgz", n_photos=3)
    with pytest.raises(ValueError, match="holds 3 photos under BSR/BSDS500/data/images/, expected at least 200"):
        read_bsds_archive(str(broken / "BSR_bsds500.tgz"))
    with pytest.raises(DatasetError) as failure:
        domain_data._online_photos(origin_base=broken.as_uri(), cache_dir=str(tmp_path / "cache"), attempts=2)
    message = str(failure.value)
    assert "Could not get a valid copy of 'BSR_bsds500.tgz'" in message and "after 2 attempts" in message
    assert "COURSE_DATA=offline" in message
    assert not (tmp_path / "cache" / "datasets" / "bsds500" / "BSR_bsds500.tgz").exists()


def test_not_an_archive_is_refused(tmp_path):
    path = tmp_path / "BSR_bsds500.tgz"
    path.write_bytes(b"<html>404 Not Found</html>")
    with pytest.raises(ValueError, match="not a readable BSDS500 archive"):
        read_bsds_archive(str(path))
