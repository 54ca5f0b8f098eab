"""Lab 10's data: texture and content photographs, and the network whose features define style.

The images are real photographs that ship inside scikit-image (both data modes):
textures ``brick``, ``grass``, ``gravel`` (grey, repeated to three channels) and content
photos ``astronaut``, ``chelsea`` (a cat), ``coffee``; each is centre-cropped to a square and
resized to ``IMAGE_SIZE`` x ``IMAGE_SIZE``, float32 RGB in [0, 1].

The features Phi(x) come from one of two networks, chosen by ``COURSE_DATA``:

- ``keras`` (default): VGG19 with its ImageNet weights (Simonyan & Zisserman 2015), as Gatys,
  Ecker & Bethge used it. The weights file is the one ``keras.applications.VGG19`` downloads,
  fetched through Keras's download-and-cache (``keras.utils.get_file``) and checked against
  Keras's published MD5; a corrupt or partial file is removed and fetched again, and after
  three tries a ``DatasetError`` says which file, where and what to do.
- ``offline``: no pretrained ImageNet weights can be had without the internet. A multi-scale
  network of *random* filters stands in: Ustyuzhaninov, Brendel, Gatys & Bethge (ICLR 2017,
  "What does it take to generate natural textures?") showed that one convolutional layer of
  random filters at several sizes already synthesises natural textures. Here: four scales
  (3, 5, 9 and 15 pixels), 32 filters each, ReLU, weights drawn once from a fixed seed.

Either way ``data.extractor()`` returns a ``FeatureExtractor``: ``extractor.style(images)`` gives
one feature map per style layer, ``extractor.content(images)`` the content layer's map.
"""

import dataclasses
import functools
import os

import numpy as np

from coursekit.data import DataSet, DatasetError, RemoteFile, fetch_and_read
from coursekit.lab import DATA_MODES, Budget, budget_from_env, data_mode_from_env

IMAGE_SIZE = 64
TEXTURES = ("brick", "grass", "gravel")
CONTENTS = ("astronaut", "chelsea", "coffee")

ONLINE_KEY = "vgg19_imagenet"
OFFLINE_KEY = "random_multiscale_offline"

VGG19_ORIGIN = "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/"
VGG19_STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1")
VGG19_CONTENT_LAYER = "block4_conv2"

RANDOM_SCALES = (3, 5, 9, 15)
RANDOM_FILTERS = 32
RANDOM_SEED = 20170424  # fixed: the offline network never changes
RANDOM_STYLE_LAYERS = tuple(f"random_{size}x{size}" for size in RANDOM_SCALES)
RANDOM_CONTENT_LAYER = "random_3x3"


# ------------------------------------------------------------------ the images


def _square(image: np.ndarray, size: int, zoom: float = 1.0) -> np.ndarray:
    """Centre crop of side ``min(h, w) / zoom``, resized to ``size`` x ``size``, RGB float32 in [0, 1]."""
    from skimage.transform import resize

    image = np.asarray(image, dtype=np.float32) / 255.0
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    side = int(min(image.shape[:2]) / zoom)
    top, left = (image.shape[0] - side) // 2, (image.shape[1] - side) // 2
    crop = image[top:top + side, left:left + side, :3]
    return np.clip(resize(crop, (size, size), anti_aliasing=True), 0, 1).astype(np.float32)


@functools.lru_cache(maxsize=None)
def _skimage_images(size: int) -> tuple:
    try:
        from skimage import data as skimage_data
    except ImportError as error:
        raise DatasetError("lab 10 needs scikit-image (its images ship inside it); "
                           "install it with `pip install -r requirements.txt`.") from error
    # Textures at 2x zoom (a 256-pixel crop of the 512-pixel photo): bricks and stones stay visible at 64 px.
    textures = {name: _square(getattr(skimage_data, name)(), size, zoom=2.0) for name in TEXTURES}
    contents = {name: _square(getattr(skimage_data, name)(), size) for name in CONTENTS}
    return textures, contents


# ------------------------------------------------------------------ the networks


def _read_vgg19_weights(path: str) -> str:
    """Check that ``path`` is a Keras HDF5 weights file holding VGG19's convolution layers."""
    import h5py

    with h5py.File(path, "r") as weights:
        names = {name.decode() if isinstance(name, bytes) else str(name) for name in weights.attrs["layer_names"]}
    missing = sorted(set(VGG19_STYLE_LAYERS + (VGG19_CONTENT_LAYER,)) - names)
    if missing:
        raise ValueError(f"the weights file lacks VGG19 layers {missing}")
    return path


VGG19_WEIGHTS = RemoteFile(
    "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5", _read_vgg19_weights,
    file_hash="253f8cb515780f3b799900260a226db6",  # Keras's own MD5, keras/src/applications/vgg19.py
)


class FeatureExtractor:
    """Phi: images (batch, H, W, 3) in [0, 1] -> feature maps, differentiable (a Keras model inside).

    Attributes:
        style_layers: names of the layers whose Gram matrices define texture/style.
        content_layer: name of the layer whose features define content.
        model: a keras.Model from images to [style maps..., content map].
    """

    def __init__(self, model, style_layers: tuple, content_layer: str, preprocess):
        self.model, self.style_layers, self.content_layer = model, tuple(style_layers), content_layer
        self._preprocess = preprocess

    def both(self, images):
        """(list of style maps, each (batch, H_l, W_l, C_l); content map (batch, H_c, W_c, C_c))."""
        import keras

        images = keras.ops.convert_to_tensor(images, dtype="float32")
        if len(images.shape) == 3:
            images = images[None]
        outputs = self.model(self._preprocess(images), training=False)
        return list(outputs[:-1]), outputs[-1]

    def style(self, images) -> list:
        return self.both(images)[0]

    def content(self, images):
        return self.both(images)[1]

    def __repr__(self):
        return f"FeatureExtractor(style_layers={self.style_layers}, content_layer={self.content_layer!r})"


def _vgg19_preprocess(images):
    """[0, 1] RGB -> VGG19's input: 0..255 BGR minus the ImageNet channel means (Keras's "caffe" mode)."""
    import keras

    return keras.ops.flip(images * 255.0, axis=-1) - keras.ops.convert_to_tensor([103.939, 116.779, 123.68])


def _identity(images):
    return images


@functools.lru_cache(maxsize=4)
def _vgg19_extractor(weights_path: str) -> FeatureExtractor:
    import keras

    vgg = keras.applications.VGG19(include_top=False, weights=weights_path, input_shape=(None, None, 3))
    names = VGG19_STYLE_LAYERS + (VGG19_CONTENT_LAYER,)
    model = keras.Model(vgg.inputs, [vgg.get_layer(name).output for name in names], name="vgg19_features")
    model.trainable = False
    return FeatureExtractor(model, VGG19_STYLE_LAYERS, VGG19_CONTENT_LAYER, _vgg19_preprocess)


def random_filters(size: int, channels: int = 3, filters: int = RANDOM_FILTERS, seed: int = RANDOM_SEED) -> tuple:
    """Zero-mean Gaussian filters of unit norm, float32 (size, size, channels, filters), and zero biases."""
    generator = np.random.default_rng([seed, size])
    kernel = generator.standard_normal((size, size, channels, filters))
    kernel -= kernel.mean(axis=(0, 1, 2), keepdims=True)
    kernel /= np.sqrt((kernel ** 2).sum(axis=(0, 1, 2), keepdims=True))
    return kernel.astype(np.float32), np.zeros(filters, np.float32)


@functools.lru_cache(maxsize=1)
def _random_extractor() -> FeatureExtractor:
    import keras

    inputs = keras.Input(shape=(None, None, 3), name="image")
    centred = keras.layers.Rescaling(2.0, offset=-1.0, name="centre")(inputs)  # [0, 1] -> [-1, 1]
    maps = []
    for size in RANDOM_SCALES:
        layer = keras.layers.Conv2D(RANDOM_FILTERS, size, activation="relu", name=f"random_{size}x{size}")
        maps.append(layer(centred))
        layer.set_weights(list(random_filters(size)))
    content = maps[RANDOM_STYLE_LAYERS.index(RANDOM_CONTENT_LAYER)]
    model = keras.Model(inputs, maps + [content], name="random_multiscale_features")
    model.trainable = False
    return FeatureExtractor(model, RANDOM_STYLE_LAYERS, RANDOM_CONTENT_LAYER, _identity)


# ------------------------------------------------------------------ the data set


@dataclasses.dataclass(frozen=True)
class StyleImages:
    """Lab 10's images and feature network.

    Attributes:
        key: the threshold tables' data key: "vgg19_imagenet" or "random_multiscale_offline".
        description: one line saying which images and which network.
        textures: {"brick" | "grass" | "gravel": float32 (IMAGE_SIZE, IMAGE_SIZE, 3) in [0, 1]}.
        contents: {"astronaut" | "chelsea" | "coffee": float32 (IMAGE_SIZE, IMAGE_SIZE, 3) in [0, 1]}.
        network: "vgg19_imagenet" or "random_multiscale".
        weights_path: the checked VGG19 weights file (online), or None (offline).
    """

    key: str
    description: str
    textures: dict
    contents: dict
    network: str
    weights_path: str | None = None

    @property
    def image_size(self) -> int:
        return next(iter(self.textures.values())).shape[0]

    def extractor(self) -> FeatureExtractor:
        """The feature network Phi (built once per process, then reused)."""
        if self.network == "vgg19_imagenet":
            return _vgg19_extractor(self.weights_path)
        return _random_extractor()

    def summary(self) -> str:
        return (f"Data: {self.description} -- textures {', '.join(self.textures)}; content photos "
                f"{', '.join(self.contents)}; {self.image_size}x{self.image_size} RGB")


def load_style_images(mode: str | None = None, budget: Budget | None = None, verbose: bool = True,
                      **fetch_options) -> StyleImages:
    """The lab's images and feature network in a data mode (``COURSE_DATA`` when None).

    The budget does not change the data (the lab's step counts shrink instead); it is
    accepted so that every loader is called alike.

    Args:
        fetch_options: ``coursekit.data.fetch_and_read``'s ``origin_base``, ``cache_dir``, ``attempts``.
    """
    mode = mode or data_mode_from_env()
    if mode not in DATA_MODES:
        raise ValueError(f"data mode {mode!r} is not one of {DATA_MODES}")
    budget = budget or budget_from_env()
    textures, contents = _skimage_images(IMAGE_SIZE)
    photos = "textures and photos shipped in scikit-image"
    if mode == "offline":
        data = StyleImages(
            OFFLINE_KEY, f"OFFLINE: {photos}; features of a random multi-scale network standing in for "
            f"VGG19 (Ustyuzhaninov et al. 2017; COURSE_DATA=offline)", dict(textures), dict(contents),
            "random_multiscale")
    else:
        options = dict(fetch_options)
        options.setdefault("origin_base", os.environ.get("COURSE_DATA_MIRROR") or VGG19_ORIGIN)
        path = fetch_and_read(VGG19_WEIGHTS, "models", **options)
        data = StyleImages(ONLINE_KEY, f"{photos}; features of VGG19 with ImageNet weights "
                           f"(keras.applications, via Keras's download cache)", dict(textures), dict(contents),
                           "vgg19_imagenet", path)
    if verbose:
        print(data.summary())
    return data


DATA_SETS = {"style_images": DataSet(load=load_style_images, keys={"keras": ONLINE_KEY, "offline": OFFLINE_KEY})}
