"""The reference-model checks: every kind of difference is named, in words.

Each kind of difference is exercised by at least five deliberately wrong variants.
"""

import keras
import numpy as np
import pytest
from keras import layers

from autograder.reference_checks import ModelMismatch, compare_with_reference
from coursekit.checks import CheckFailed, check_model_layers
from coursekit.model_diff import first_difference, spec, summarize

BATCH = np.random.default_rng(0).random((4, 28, 28, 1), dtype=np.float32)


def cnn(**changes):
    """The CNN-MNIST stack; ``changes`` swaps layers by position (None deletes one)."""
    stack = {
        1: layers.Conv2D(32, 3, activation="relu"), 2: layers.Conv2D(64, 3, activation="relu"),
        3: layers.MaxPooling2D(2), 4: layers.Dropout(0.25), 5: layers.Flatten(),
        6: layers.Dense(128, activation="relu"), 7: layers.Dropout(0.5), 8: layers.Dense(10, activation="softmax"),
    }
    for key, layer in changes.items():
        stack[int(key[1:])] = layer
    chosen = [layer for _, layer in sorted(stack.items()) if layer is not None]
    return keras.Sequential([keras.Input((28, 28, 1)), *chosen])


def difference(student, reference=None):
    return first_difference(summarize(student), summarize(reference or cnn()))


def test_identical_models_have_no_difference():
    assert difference(cnn()) is None
    compare_with_reference(cnn(), cnn(), BATCH)


@pytest.mark.parametrize("changes, expected", [
    ({"l3": layers.Conv2D(64, 3)}, "layer 3: expected MaxPooling2D(pool_size=2×2), found Conv2D(64, 3×3)"),
    ({"l1": layers.Dense(32)}, "layer 1: expected Conv2D(32, 3×3, activation=relu), found Dense(32)"),
    ({"l4": layers.BatchNormalization()}, "layer 4: expected Dropout(rate=0.25), found BatchNormalization"),
    ({"l3": layers.AveragePooling2D(2)}, "layer 3: expected MaxPooling2D(pool_size=2×2), found AveragePooling2D"),
    ({"l5": layers.GlobalAveragePooling2D()}, "layer 5: expected Flatten(), found GlobalAveragePooling2D"),
])
def test_wrong_layer_class(changes, expected):
    assert difference(cnn(**changes)).startswith(expected)


@pytest.mark.parametrize("changes, expected", [
    ({"l1": layers.Conv2D(16, 3, activation="relu")}, "layer 1: expected Conv2D(32, 3×3, activation=relu), found Conv2D(16, 3×3, activation=relu)"),
    ({"l2": layers.Conv2D(64, 5, activation="relu")}, "layer 2: expected Conv2D(64, 3×3, activation=relu), found Conv2D(64, 5×5, activation=relu)"),
    ({"l2": layers.Conv2D(64, 3, strides=2, activation="relu")}, "found Conv2D(64, 3×3, strides=2×2, activation=relu)"),
    ({"l1": layers.Conv2D(32, 3, padding="same", activation="relu")}, "found Conv2D(32, 3×3, padding=same, activation=relu)"),
    ({"l6": layers.Dense(128, activation="sigmoid")}, "layer 6: expected Dense(128, activation=relu), found Dense(128, activation=sigmoid)"),
    ({"l8": layers.Dense(10)}, "layer 8: expected Dense(10, activation=softmax), found Dense(10)"),
    ({"l6": layers.Dense(64, activation="relu")}, "layer 6: expected Dense(128, activation=relu), found Dense(64, activation=relu)"),
    ({"l3": layers.MaxPooling2D(3)}, "layer 3: expected MaxPooling2D(pool_size=2×2), found MaxPooling2D(pool_size=3×3)"),
    ({"l4": layers.Dropout(0.5)}, "layer 4: expected Dropout(rate=0.25), found Dropout(rate=0.5)"),
    ({"l7": layers.Dropout(0.2)}, "layer 7: expected Dropout(rate=0.5), found Dropout(rate=0.2)"),
])
def test_wrong_key_setting(changes, expected):
    assert expected in difference(cnn(**changes))


@pytest.mark.parametrize("changes, expected", [
    ({"l4": None}, "layer 4: expected Dropout(rate=0.25), found Flatten()"),
    ({"l8": None}, "expected 8 layers, found 7: after layer 7 the model should go on with Dense(10, activation=softmax)"),
    ({"l9": layers.Dense(10)}, "expected 8 layers, found 9: the model should end after layer 8 but goes on with Dense(10)"),
    ({"l7": None, "l8": None}, "should go on with Dropout(rate=0.5), Dense(10, activation=softmax)"),
    ({"l1": None}, "layer 1: expected Conv2D(32, 3×3, activation=relu), found Conv2D(64, 3×3, activation=relu)"),
])
def test_missing_or_extra_layers(changes, expected):
    assert expected in difference(cnn(**changes))


def _on_input(shape):
    return keras.Sequential([keras.Input(shape), layers.Conv2D(32, 3, activation="relu"), layers.Flatten(),
                             layers.Dense(10, activation="softmax")])


@pytest.mark.parametrize("shape, expected", [
    ((30, 28, 1), "layer 1 (Conv2D(32, 3×3, activation=relu)): expected output shape (None, 26, 26, 32), found (None, 28, 26, 32)"),
    ((28, 28, 3), "layer 1 (Conv2D(32, 3×3, activation=relu)): expected 320 parameters, found 896"),
    ((28, 30, 1), "expected output shape (None, 26, 26, 32), found (None, 26, 28, 32)"),
    ((32, 32, 1), "expected output shape (None, 26, 26, 32), found (None, 30, 30, 32)"),
    ((28, 28, 2), "expected 320 parameters, found 608"),
])
def test_shapes_and_parameter_counts(shape, expected):
    assert expected in difference(_on_input(shape), _on_input((28, 28, 1)))


def test_input_shape_is_named_first():
    with pytest.raises(ModelMismatch, match=r"model input: expected shape \(None, 28, 28, 1\), found \(None, 28, 28, 3\)"):
        compare_with_reference(_on_input((28, 28, 3)), _on_input((28, 28, 1)), BATCH)


# --------------------------------------------------------------------- graphs

def inception(order=(0, 1, 2, 3), filters=(8, 12, 4, 4), five=5, pool="max", branches=4, skip=False):
    inputs = keras.Input((28, 28, 1))
    stem = layers.Conv2D(6, 3, padding="same", activation="relu")(inputs)
    one = layers.Conv2D(filters[0], 1, padding="same", activation="relu")(stem)
    three = layers.Conv2D(filters[1], 3, padding="same", activation="relu")(
        layers.Conv2D(6, 1, padding="same", activation="relu")(stem))
    five_branch = layers.Conv2D(filters[2], five, padding="same", activation="relu")(
        layers.Conv2D(2, 1, padding="same", activation="relu")(stem))
    pooling = layers.MaxPooling2D(3, strides=1, padding="same") if pool == "max" else \
        layers.AveragePooling2D(3, strides=1, padding="same")
    pooled = layers.Conv2D(filters[3], 1, padding="same", activation="relu")(pooling(stem))
    all_branches = [one, three, five_branch, pooled][:branches]
    merged = layers.Concatenate()([all_branches[i] for i in order if i < branches])
    if skip:
        merged = layers.Add()([merged, layers.Conv2D(sum(filters[:branches]), 1)(stem)])
    outputs = layers.Dense(10, activation="softmax")(layers.Flatten()(merged))
    return keras.Model(inputs, outputs)


def test_branch_order_does_not_matter():
    for order in ((3, 2, 1, 0), (1, 0, 3, 2), (2, 3, 0, 1)):
        assert difference(inception(order=order), inception()) is None


@pytest.mark.parametrize("variant, expected", [
    (dict(five=3), "the reference has Conv2D(4, 5×5, padding=same, activation=relu) fed by Conv2D(2, 1×1, padding=same, activation=relu); at that place your model has Conv2D(4, 3×3, padding=same, activation=relu)"),
    (dict(pool="average"), "the reference has MaxPooling2D(pool_size=3×3, strides=1×1, padding=same) fed by Conv2D(6, 3×3, padding=same, activation=relu); at that place your model has AveragePooling2D"),
    (dict(branches=3), "the reference has MaxPooling2D(pool_size=3×3, strides=1×1, padding=same) fed by Conv2D(6, 3×3, padding=same, activation=relu); your model has no such layer"),
    (dict(filters=(8, 16, 4, 4)), "the reference has Conv2D(12, 3×3, padding=same, activation=relu) fed by Conv2D(6, 1×1, padding=same, activation=relu); at that place your model has Conv2D(16, 3×3"),
    (dict(filters=(4, 12, 4, 4)), "at that place your model has Conv2D(4, 1×1, padding=same, activation=relu)"),
])
def test_wrong_branches(variant, expected):
    assert expected in difference(inception(**variant), inception())


@pytest.mark.parametrize("student, reference, expected", [
    (dict(), dict(skip=True), "the reference has Conv2D(28, 1×1) fed by Conv2D(6, 3×3, padding=same, activation=relu); your model has no such layer"),
    (dict(skip=True), dict(), "the reference has Flatten() fed by Concatenate(); your Flatten() is fed by Add() instead"),
    (dict(skip=True, branches=3), dict(skip=True), "the reference has MaxPooling2D(pool_size=3×3, strides=1×1, padding=same) fed by Conv2D(6, 3×3, padding=same, activation=relu)"),
    (dict(skip=True, order=(3, 2, 1, 0)), dict(skip=True), None),
    (dict(skip=True, filters=(8, 12, 4, 8)), dict(skip=True), "the reference has Conv2D(4, 1×1, padding=same, activation=relu) fed by MaxPooling2D(pool_size=3×3, strides=1×1, padding=same); at that place your model has Conv2D(8, 1×1, padding=same, activation=relu)"),
])
def test_skip_connections(student, reference, expected):
    found = difference(inception(**student), inception(**reference))
    assert found == expected if expected is None else expected in found


# ---------------------------------------------------------- function under same weights

class Scale(layers.Layer):
    """Multiplies by a factor; the factor is not part of the class name or key settings."""

    def __init__(self, factor=1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, inputs):
        return inputs * self.factor


def _scaled(factor):
    return keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(), Scale(factor), layers.Dense(10)])


@pytest.mark.parametrize("factor", [0.0, 0.5, 2.0, -1.0, 1.01])
def test_same_structure_different_function_is_caught(factor):
    with pytest.raises(ModelMismatch, match="with the reference's weights your model computes something else"):
        compare_with_reference(_scaled(factor), _scaled(1.0), BATCH)


def test_weights_are_transplanted_so_initialisation_does_not_matter():
    keras.utils.set_random_seed(1)
    student = cnn()
    keras.utils.set_random_seed(2)
    compare_with_reference(student, cnn(), BATCH)


def test_visible_check_names_the_layer_and_shows_the_model():
    expected = [spec("Conv2D", filters=32, kernel_size=3, activation="relu"), spec("MaxPooling2D", pool_size=2)]
    with pytest.raises(CheckFailed) as failure:
        check_model_layers(cnn(), expected, input_shape=(28, 28, 1))
    message = str(failure.value)
    assert message.startswith("layer 2: expected MaxPooling2D(pool_size=2×2), found Conv2D(64, 3×3, activation=relu)")
    assert "layer 8: Dense(10, activation=softmax)" in message


def test_visible_check_rejects_non_models():
    with pytest.raises(CheckFailed, match="returned None"):
        check_model_layers(None, [])
    with pytest.raises(CheckFailed, match="expected a keras.Model, found list"):
        check_model_layers([], [])
