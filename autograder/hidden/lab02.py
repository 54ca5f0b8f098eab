"""Hidden checks for lab 02 (Fashion-MNIST CNN)."""

import keras
import numpy as np
from sklearn.metrics import confusion_matrix, f1_score

from autograder.hidden.common import require_arrays, require_model, require_threshold, rng
from autograder.references import lab02 as reference
from coursekit.data import ImageDataset


def _random_dataset() -> ImageDataset:
    generator = rng(10)
    return ImageDataset(
        "random", "random check data",
        generator.integers(0, 256, (300, 28, 28), dtype=np.uint8), generator.integers(0, 10, 300).astype(np.uint8),
        generator.integers(0, 256, (50, 28, 28), dtype=np.uint8), generator.integers(0, 10, 50).astype(np.uint8),
        tuple("abcdefghij"),
    )


def check_describe_data(describe_data):
    data = _random_dataset()
    found, expected = describe_data(data), reference.describe_data(data)
    missing = sorted(set(expected) - set(found or {}))
    if missing:
        raise AssertionError(f"hidden check, describe_data: the dict lacks the keys {missing}")
    for key, value in expected.items():
        if isinstance(value, (tuple, str)):
            same = tuple(found[key]) == value if isinstance(value, tuple) else str(found[key]) == value
            if not same:
                raise AssertionError(f"hidden check, describe_data[{key!r}]: expected {value!r}, found {found[key]!r}")
        else:
            require_arrays(f"describe_data[{key!r}]", found[key], value)


def check_class_means(class_mean_images):
    data = _random_dataset()
    require_arrays("class_mean_images", class_mean_images(data.x_train, data.y_train, 10),
                   reference.class_mean_images(data.x_train, data.y_train))


def check_sequential(build_sequential):
    require_model(build_sequential, reference.build_sequential)


def check_functional(build_functional):
    model = build_functional()
    if isinstance(model, keras.Sequential):
        raise AssertionError("hidden check: build_functional must build a functional keras.Model "
                             "(keras.Input -> layers -> keras.Model(inputs, outputs)), not a Sequential")
    require_model(lambda: model, reference.build_functional)


def _label_cases():
    generator = rng(11)
    yield generator.integers(0, 10, 400), generator.integers(0, 10, 400)
    y_true = generator.integers(0, 10, 200)
    yield y_true, np.where(generator.random(200) < 0.8, y_true, 3)  # class never predicted except 3
    yield np.array([0, 0, 1, 2]), np.array([0, 1, 1, 2])  # classes 3..9 absent


def check_confusion_matrix(confusion_matrix_from_counts):
    for y_true, y_pred in _label_cases():
        require_arrays("confusion_matrix_from_counts", confusion_matrix_from_counts(y_true, y_pred, 10),
                       confusion_matrix(y_true, y_pred, labels=np.arange(10)))


def check_f1(f1_from_confusion):
    for y_true, y_pred in _label_cases():
        matrix = confusion_matrix(y_true, y_pred, labels=np.arange(10))
        per_class, macro = f1_from_confusion(matrix)
        labels = np.arange(10)
        require_arrays("per-class F1", per_class, f1_score(y_true, y_pred, labels=labels, average=None, zero_division=0))
        require_arrays("macro F1", macro, f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0))


def check_confused_pairs(most_confused_pairs):
    for y_true, y_pred in _label_cases():
        matrix = confusion_matrix(y_true, y_pred, labels=np.arange(10))
        found = [tuple(int(v) for v in pair) for pair in most_confused_pairs(matrix, 4)]
        expected = reference.most_confused_pairs(matrix, 4)
        if found != expected:
            raise AssertionError(f"hidden check, most_confused_pairs: expected {expected}, found {found}")


def check_macro_f1(model):
    require_threshold(reference.LAB_ID, reference.METRIC, model, reference.DATASET)
