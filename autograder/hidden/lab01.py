"""Hidden checks for lab 01 (Keras basics)."""

import keras
import numpy as np
import tensorflow as tf

from autograder.hidden.common import require_arrays, require_model, require_threshold, rng
from autograder.labs import reference as _lab_reference

reference = _lab_reference("01-keras-basics")


def check_neuron(neuron):
    x, w, b = rng(1).normal(size=(5, 7)), rng(2).normal(size=7), 0.3
    require_arrays("neuron(x, w, b) on a batch of 5", neuron(x, w, b), reference.neuron(x, w, b))


def check_activations(sigmoid, relu, sigmoid_derivative, relu_derivative):
    s = np.linspace(-30, 30, 121)
    require_arrays("sigmoid", sigmoid(s), np.asarray(keras.activations.sigmoid(s)))
    require_arrays("relu", relu(s), np.maximum(s, 0))
    sig = 1 / (1 + np.exp(-s))
    require_arrays("sigmoid_derivative", sigmoid_derivative(s), sig * (1 - sig), atol=1e-9)
    require_arrays("relu_derivative (0 at s <= 0)", relu_derivative(s), (s > 0).astype(float))


def check_softmax(softmax):
    logits = rng(3).normal(scale=4, size=(6, 10))
    require_arrays("softmax", softmax(logits), np.asarray(keras.activations.softmax(logits)))
    huge = np.array([[1000.0, 999.0, 0.0], [-1000.0, -1001.0, -1002.0]])
    require_arrays("softmax of very large logits (shift by the row maximum)", softmax(huge),
                   reference.softmax(huge))


def check_cross_entropy(cross_entropy):
    targets = keras.utils.to_categorical(rng(4).integers(0, 10, 12), 10)
    predictions = reference.softmax(rng(5).normal(size=(12, 10)))
    expected = float(np.mean(keras.losses.categorical_crossentropy(targets, predictions)))
    require_arrays("cross_entropy (mean over the batch)", cross_entropy(targets, predictions), expected)


def check_softmax_cross_entropy_gradient(gradient):
    logits = rng(6).normal(size=(9, 10))
    targets = keras.utils.to_categorical(rng(7).integers(0, 10, 9), 10)
    variable = tf.Variable(logits)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(keras.losses.categorical_crossentropy(targets, tf.nn.softmax(variable)))
    require_arrays("gradient of summed softmax cross-entropy w.r.t. logits",
                   gradient(logits, targets), tape.gradient(loss, variable).numpy(), atol=1e-6)


def check_updates_per_epoch(updates_per_epoch):
    for n, batch in ((60000, 1), (60000, 128), (60000, 60000), (1000, 33), (10, 3)):
        found, expected = updates_per_epoch(n, batch), -(-n // batch)
        if found != expected:
            raise AssertionError(f"hidden check, updates_per_epoch({n}, {batch}): expected {expected}, found {found}")


def check_preprocess(preprocess):
    images = rng(8).integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    labels = rng(9).integers(0, 10, size=7).astype(np.uint8)
    x, y = preprocess(images, labels)
    expected_x, expected_y = reference.preprocess(images, labels)
    if np.asarray(x).dtype != np.float32:
        raise AssertionError(f"hidden check, preprocess: images should be float32, found {np.asarray(x).dtype}")
    require_arrays("preprocess images", x, expected_x)
    require_arrays("preprocess one-hot labels", y, expected_y)


def check_model(build_model):
    require_model(build_model, reference.build_cnn_mnist)


def check_accuracy(model):
    require_threshold(reference.LAB_ID, reference.METRIC, model, reference.DATASET)
