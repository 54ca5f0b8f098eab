"""Lab 10's data: scikit-image's photos, the offline random network, and the VGG19 weights
through Keras's download-and-cache, tested against a file:// mirror (no internet here)."""

import dataclasses
import hashlib

import h5py
import numpy as np
import pytest

from coursekit import image_data
from coursekit.data import LOADERS, DatasetError, data_set, load_data
from coursekit.image_data import load_style_images
from coursekit.lab import BUDGETS

WEIGHTS_NAME = image_data.VGG19_WEIGHTS.name


def test_offline_images_are_real_and_the_same_every_time():
    first = load_style_images(mode="offline", budget=BUDGETS["smoke"], verbose=False)
    second = load_style_images(mode="offline", budget=BUDGETS["full"], verbose=False)
    assert first.key == "random_multiscale_offline" and first.description.startswith("OFFLINE: ")
    assert set(first.textures) == {"brick", "grass", "gravel"}
    assert set(first.contents) == {"astronaut", "chelsea", "coffee"}
    for name, image in {**first.textures, **first.contents}.items():
        assert image.shape == (64, 64, 3) and image.dtype == np.float32, name
        assert 0 <= image.min() and image.max() <= 1 and image.std() > 0.05, name
    for name in first.textures:  # grey photos repeated to three channels
        np.testing.assert_array_equal(first.textures[name][..., 0], first.textures[name][..., 2])
    assert not np.allclose(first.contents["chelsea"][..., 0], first.contents["chelsea"][..., 2])
    for name in first.contents:
        np.testing.assert_array_equal(first.contents[name], second.contents[name])


def test_the_loader_says_which_data(capsys):
    load_style_images(mode="offline", budget=BUDGETS["smoke"])
    printed = capsys.readouterr().out
    assert "OFFLINE" in printed and "random multi-scale network" in printed and "scikit-image" in printed


def test_registered_under_its_name_with_both_keys():
    assert "style_images" in LOADERS
    assert data_set("style_images").keys == {"keras": "vgg19_imagenet", "offline": "random_multiscale_offline"}
    assert load_data("style_images", mode="offline", verbose=False).key == "random_multiscale_offline"
    with pytest.raises(ValueError, match="data mode 'local' is not one of"):
        load_style_images(mode="local", verbose=False)


def test_random_filters_are_fixed_zero_mean_unit_norm():
    kernel, bias = image_data.random_filters(5)
    again, _ = image_data.random_filters(5)
    np.testing.assert_array_equal(kernel, again)
    assert kernel.shape == (5, 5, 3, 32) and not bias.any()
    np.testing.assert_allclose(kernel.sum(axis=(0, 1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose((kernel ** 2).sum(axis=(0, 1, 2)), 1, rtol=1e-5)
    assert not np.allclose(image_data.random_filters(3)[0][:3, :3], kernel[:3, :3])


def test_offline_extractor_maps_and_gradients():
    import tensorflow as tf

    data = load_style_images(mode="offline", verbose=False)
    extractor = data.extractor()
    assert extractor.style_layers == ("random_3x3", "random_5x5", "random_9x9", "random_15x15")
    image = tf.Variable(data.contents["coffee"][None])
    with tf.GradientTape() as tape:
        style, content = extractor.both(image)
        total = sum(tf.reduce_sum(m) for m in style) + tf.reduce_sum(content)
    assert [tuple(m.shape) for m in style] == [(1, 62, 62, 32), (1, 60, 60, 32), (1, 56, 56, 32), (1, 50, 50, 32)]
    np.testing.assert_array_equal(np.asarray(content), np.asarray(style[0]))
    assert np.all(np.asarray(content) >= 0) and np.asarray(tape.gradient(total, image)).any()
    assert data.extractor() is extractor  # built once per process


# ------------------------------------------------------------------ online: a file:// mirror


def _fake_weights(path, layers=image_data.VGG19_STYLE_LAYERS + (image_data.VGG19_CONTENT_LAYER,)):
    """A small HDF5 file laid out as Keras's weights files: layer_names, one group per layer."""
    with h5py.File(path, "w") as weights:
        weights.attrs["layer_names"] = [name.encode() for name in layers]
        for name in layers:
            group = weights.create_group(name)
            group.attrs["weight_names"] = [f"{name}/kernel:0".encode()]
            group.create_dataset(f"{name}/kernel:0", data=np.zeros((1, 1, 1, 1), np.float32))
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A mirror folder holding a fake weights file whose MD5 the loader is told to expect, and an
    empty cache folder (Keras falls back to /tmp/.keras for a cache folder that does not exist)."""
    (tmp_path / "cache").mkdir()
    folder = tmp_path / "mirror"
    folder.mkdir()
    digest = _fake_weights(folder / WEIGHTS_NAME)
    monkeypatch.setattr(image_data, "VGG19_WEIGHTS", dataclasses.replace(image_data.VGG19_WEIGHTS, file_hash=digest))
    return folder


def test_weights_come_through_the_keras_cache(mirror, tmp_path, capsys):
    data = load_style_images(mode="keras", origin_base=mirror.as_uri(), cache_dir=str(tmp_path / "cache"))
    assert data.key == "vgg19_imagenet" and data.network == "vgg19_imagenet"
    assert data.weights_path == str(tmp_path / "cache" / "models" / WEIGHTS_NAME)
    assert "VGG19 with ImageNet weights" in capsys.readouterr().out


def test_the_mirror_variable_is_used(mirror, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_MIRROR", mirror.as_uri())
    data = load_style_images(mode="keras", verbose=False, cache_dir=str(tmp_path / "cache"))
    assert data.weights_path.endswith(WEIGHTS_NAME)


def test_corrupt_cached_copy_is_replaced(mirror, tmp_path):
    cached = tmp_path / "cache" / "models" / WEIGHTS_NAME
    cached.parent.mkdir()
    cached.write_bytes(b"half a file")
    data = load_style_images(mode="keras", verbose=False, origin_base=mirror.as_uri(), cache_dir=str(tmp_path / "cache"))
    assert cached.read_bytes() == (mirror / WEIGHTS_NAME).read_bytes() and data.weights_path == str(cached)


def test_a_partial_download_is_retried_then_refused_clearly(mirror, tmp_path, capsys):
    good = (mirror / WEIGHTS_NAME).read_bytes()
    (mirror / WEIGHTS_NAME).write_bytes(good[: len(good) // 2])
    with pytest.raises(DatasetError) as failure:
        load_style_images(mode="keras", verbose=False, origin_base=mirror.as_uri(), cache_dir=str(tmp_path / "cache"))
    message = str(failure.value)
    assert WEIGHTS_NAME in message and "after 3 attempts" in message and "COURSE_DATA=offline" in message
    assert capsys.readouterr().out.count("retrying") == 2
    assert not (tmp_path / "cache" / "models" / WEIGHTS_NAME).exists()  # no corrupt copy left behind


def test_a_file_without_vgg19s_layers_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "mirror"
    folder.mkdir()
    (tmp_path / "c").mkdir()
    digest = _fake_weights(folder / WEIGHTS_NAME, layers=("block1_conv1",))
    monkeypatch.setattr(image_data, "VGG19_WEIGHTS", dataclasses.replace(image_data.VGG19_WEIGHTS, file_hash=digest))
    with pytest.raises(DatasetError, match=r"lacks VGG19 layers \['block1_conv2'|lacks VGG19 layers \['block2_conv1'"):
        load_style_images(mode="keras", verbose=False, origin_base=folder.as_uri(), cache_dir=str(tmp_path / "c"),
                          attempts=1)


def test_unreachable_origin_says_what_to_do(tmp_path):
    (tmp_path / "cache").mkdir()
    with pytest.raises(DatasetError, match="set COURSE_DATA=offline"):
        load_style_images(mode="keras", verbose=False, origin_base=(tmp_path / "nowhere").as_uri(),
                          cache_dir=str(tmp_path / "cache"), attempts=1)


def test_vgg19_extractor_loads_a_keras_weights_file(tmp_path):
    """The online network end to end, on a VGG19 weights file in Keras's HDF5 layout (random
    weights: the ImageNet file cannot be downloaded here): layers, shapes, preprocessing."""
    import keras
    from keras.src.legacy.saving import legacy_h5_format

    vgg = keras.applications.VGG19(include_top=False, weights=None, input_shape=(None, None, 3))
    path = tmp_path / WEIGHTS_NAME
    with h5py.File(path, "w") as weights:
        legacy_h5_format.save_weights_to_hdf5_group(weights, vgg)
    assert image_data._read_vgg19_weights(str(path)) == str(path)
    extractor = image_data._vgg19_extractor(str(path))
    image = np.random.default_rng(0).random((1, 64, 64, 3), dtype=np.float32)
    style, content = extractor.both(image)
    assert [tuple(m.shape) for m in style] == [(1, 64, 64, 64), (1, 32, 32, 128), (1, 16, 16, 256), (1, 8, 8, 512)]
    assert tuple(content.shape) == (1, 8, 8, 512)
    expected = keras.applications.vgg19.preprocess_input(image * 255.0)
    first = keras.Model(vgg.inputs, vgg.get_layer("block1_conv1").output)
    first.set_weights(vgg.get_layer("block1_conv1").get_weights())
    np.testing.assert_allclose(np.asarray(style[0]), np.asarray(first(expected)), rtol=1e-4, atol=1e-4)
