"""Reference for lab 02 (Fashion-MNIST CNN)."""

import keras
import numpy as np

from autograder.cnn_mnist import build_cnn_mnist, cnn_mnist_layers, train_cnn

LAB_ID = "02-fashion-mnist-cnn"
DATASET = "fashion_mnist"
METRIC = "macro_f1"
EPOCHS = 3
BATCH_SIZE = 128

build_sequential = build_cnn_mnist


def build_functional() -> keras.Model:
    inputs = keras.Input(shape=(28, 28, 1))
    x = inputs
    for layer in cnn_mnist_layers():
        x = layer(x)
    return keras.Model(inputs, x)


def describe_data(dataset) -> dict:
    pixels = dataset.x_train.astype(np.float64)
    return {
        "train_shape": dataset.x_train.shape, "test_shape": dataset.x_test.shape,
        "dtype": str(dataset.x_train.dtype),
        "class_counts": np.bincount(dataset.y_train, minlength=10),
        "pixel_mean": pixels.mean(), "pixel_std": pixels.std(),
        "pixel_min": int(dataset.x_train.min()), "pixel_max": int(dataset.x_train.max()),
    }


def class_mean_images(images, labels, n_classes=10):
    return np.stack([images[labels == k].astype(np.float64).mean(axis=0) for k in range(n_classes)])


def most_confused_pairs(matrix, k=3):
    matrix = np.asarray(matrix)
    pairs = [(int(matrix[a, b] + matrix[b, a]), a, b)
             for a in range(len(matrix)) for b in range(a + 1, len(matrix))]
    pairs.sort(key=lambda item: (-item[0], item[1], item[2]))
    return [(a, b, count) for count, a, b in pairs[:k]]


def misclassified_examples(y_true, probabilities, true_class, predicted_class, k=8):
    """Indices of the samples of ``true_class`` predicted as ``predicted_class``, most confident first.

    Args:
        y_true: (n,) class indices.
        probabilities: (n, n_classes) predicted class probabilities; the prediction is their argmax.
    Returns:
        (m,) int64, m <= k, ordered by probabilities[i, predicted_class] descending, ties by index.
    """
    y_true, probabilities = np.asarray(y_true), np.asarray(probabilities)
    chosen = np.flatnonzero((y_true == true_class) & (probabilities.argmax(axis=1) == predicted_class))
    order = np.lexsort((chosen, -probabilities[chosen, predicted_class]))
    return chosen[order][:k].astype(np.int64)


def train(dataset, budget, seed):
    return train_cnn(dataset, budget.epochs(EPOCHS), BATCH_SIZE, seed)
