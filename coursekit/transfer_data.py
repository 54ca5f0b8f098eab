"""Lab 09's target-task data: the UCI handwritten digits that ship inside scikit-learn.

``sklearn.datasets.load_digits()`` holds 1 797 real handwritten digits (43 writers, UCI ML
repository, Alpaydin & Kaynak 1998), each an 8x8 grid of counts 0..16. They ship inside the
scikit-learn package, so this data is the same online and offline: no download, no mirror.

To feed them to a network trained on MNIST they are brought to MNIST's format the way MNIST
itself was made: scaled to a 20x20 box (bilinear) and centred in a 28x28 image, 0..255.
TensorFlow is imported inside the functions only.
"""

import dataclasses

import numpy as np

from coursekit.lab import Budget, budget_from_env

SPLIT_SEED = 20150909  # fixed: the held-out target images never move
N_TEST = 797           # held out; the other 1 000 images are the pool the m labelled ones come from
BOX, SIZE = 20, 28


@dataclasses.dataclass(frozen=True)
class TargetDigits:
    """The target task's images in MNIST's format.

    Attributes:
        key: "uci_digits".
        description: one line saying which data this is.
        x_train: uint8 (1000, 28, 28), the pool of labelled target images.
        y_train: uint8 (1000,), digits 0..9.
        x_test: uint8 (797, 28, 28), held out.
        y_test: uint8 (797,).
        class_names: ("0", ..., "9").
    """

    key: str
    description: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple


def to_mnist_format(images8: np.ndarray) -> np.ndarray:
    """(n, 8, 8) counts 0..16 -> uint8 (n, 28, 28): bilinear to 20x20, centred, 0..255."""
    import tensorflow as tf

    scaled = np.asarray(images8, dtype="float32")[..., None] / 16.0
    box = tf.image.resize(scaled, (BOX, BOX), method="bilinear").numpy()[..., 0]
    margin = (SIZE - BOX) // 2
    canvas = np.zeros((len(box), SIZE, SIZE), dtype="float32")
    canvas[:, margin:margin + BOX, margin:margin + BOX] = box
    return np.round(np.clip(canvas, 0.0, 1.0) * 255.0).astype(np.uint8)


def load_uci_digits(budget: Budget | None = None, verbose: bool = True) -> TargetDigits:
    """The 1 797 UCI digits of scikit-learn in MNIST's format, split 1 000 / 797 (fixed).

    The budget does not shrink this set: the target task uses only a few labelled images
    per class anyway, and all 797 held-out images are scored at every budget.
    """
    from sklearn.datasets import load_digits

    budget = budget or budget_from_env()
    bunch = load_digits()
    if bunch.images.shape != (1797, 8, 8):
        raise ValueError(f"scikit-learn's digits have shape {bunch.images.shape}, expected (1797, 8, 8)")
    order = np.random.default_rng(SPLIT_SEED).permutation(len(bunch.images))
    images, labels = to_mnist_format(bunch.images[order]), bunch.target[order].astype(np.uint8)
    data = TargetDigits(
        key="uci_digits",
        description="UCI handwritten digits (1 797, 8x8, shipped in scikit-learn), scaled to MNIST's 28x28 format",
        x_train=images[N_TEST:], y_train=labels[N_TEST:], x_test=images[:N_TEST], y_test=labels[:N_TEST],
        class_names=tuple(str(digit) for digit in range(10)))
    if verbose:
        print(f"Target data: {data.description} -- {len(data.x_train)} training (the pool for the m labelled "
              f"images) and {len(data.x_test)} held-out images ({budget.name} budget: the same set)")
    return data
