"""Lab 09's target data: the UCI digits of scikit-learn in MNIST's format.

They ship inside scikit-learn, so there is no download to check against a mirror: the same
bytes online and offline. These tests pin the split, the format and the conversion.
"""

import numpy as np
import pytest

from coursekit.lab import BUDGETS
from coursekit.transfer_data import N_TEST, load_uci_digits, to_mnist_format


@pytest.fixture(scope="module")
def digits():
    return load_uci_digits(verbose=False)


def test_split_shapes_and_types(digits):
    assert digits.x_train.shape == (1797 - N_TEST, 28, 28) and digits.x_test.shape == (N_TEST, 28, 28)
    assert digits.x_train.dtype == np.uint8 and digits.y_train.dtype == np.uint8
    assert digits.class_names == tuple(str(k) for k in range(10))
    assert not digits.description.startswith("OFFLINE")  # the same data in both modes


def test_every_class_in_both_splits_with_enough_images_for_the_largest_m(digits):
    assert np.bincount(digits.y_train, minlength=10).min() >= 50
    assert np.bincount(digits.y_test, minlength=10).min() >= 50


def test_split_is_fixed_and_budget_independent(digits):
    again = load_uci_digits(budget=BUDGETS["full"], verbose=False)
    np.testing.assert_array_equal(again.x_test, digits.x_test)
    np.testing.assert_array_equal(again.y_train, digits.y_train)


def test_splits_do_not_share_images():
    from sklearn.datasets import load_digits

    data = load_uci_digits(verbose=False)
    train = {image.tobytes() for image in data.x_train}
    # identical scans occur in the UCI set; only count test images that are distinct from all training ones
    shared = sum(image.tobytes() in train for image in data.x_test)
    assert shared <= 5, shared
    assert len(load_digits().images) == len(data.x_train) + len(data.x_test)


def test_mnist_format_centres_the_digit_in_a_20_pixel_box():
    square = np.zeros((1, 8, 8))
    square[0, 2:6, 2:6] = 16
    image = to_mnist_format(square)[0]
    assert image.shape == (28, 28) and image.dtype == np.uint8
    assert image[:4].max() == 0 and image[24:].max() == 0 and image[:, :4].max() == 0 and image[:, 24:].max() == 0
    assert image[14, 14] == 255
    rows, cols = np.nonzero(image)
    assert abs(rows.mean() - 13.5) < 0.6 and abs(cols.mean() - 13.5) < 0.6


def test_prints_which_data(capsys):
    load_uci_digits()
    assert "UCI handwritten digits" in capsys.readouterr().out
