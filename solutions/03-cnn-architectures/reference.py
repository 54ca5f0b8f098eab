"""Reference for lab 03 (CNN architectures): the lecture 004 tour of architectures.

Calibrated classifiers, all trained on the same data as lab 02, with Adam, batches of 32 and
the last tenth of the training images held out for validation (never the test set):

- ``macro_f1`` (METRIC, ``train``): the Inception network of the task -- a convolutional
  stem, one Inception module, pooling and a dense head, 3 epochs;
- ``macro_f1_beyond_inception`` (SCORES, THRESHOLD_ABOVE_BEST): the same network's scores,
  whose threshold is their *best* seed plus a margin: the push's tier 1, which the unchanged
  Inception network must not reach;
- ``macro_f1_strong`` (SCORES): a stronger reference for the push's tier 2 --
  batch-normalised stem, the Inception module and a residual block, STRONG_EPOCHS epochs.

Lab 02's network (the CNN-MNIST stack) is imported from lab 02's reference, never copied.
"""

import keras
import numpy as np
from keras import layers

from autograder.cnn_mnist import preprocess
from autograder.labs import reference as lab_reference

lab02 = lab_reference("02-fashion-mnist-cnn")

LAB_ID = "03-cnn-architectures"
DATASET = "fashion_mnist"
METRIC = "macro_f1"
EPOCHS = 3
TRAIN_IMAGES = 8000  # the notebook's cap: all 4 000 offline images, 8 000 of the 60 000 online
STRONG_EPOCHS = 12
STRONG_SMOKE_EPOCHS = 4  # the smoke budget's 2 epochs leave the batch-normalised network below the Inception's best
VALIDATION_SPLIT = 0.1  # the last tenth of the training images: validation, never the test set
BATCH_SIZE = 32
LEARNING_RATE = 1e-3
BN_MOMENTUM = 0.9
INCEPTION_FILTERS = 32
BRANCHES = ("1x1", "3x3", "5x5", "pool")

build_lab02_network = lab02.build_functional


# ------------------------------------------------------------------ arithmetic


def conv_output_size(n, k, s=1, p=0, d=1):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def transposed_output_size(n, k, s=1, p=0):
    return s * (n - 1) + k - 2 * p


def dilate_kernel(kernel, d):
    kernel = np.asarray(kernel)
    k = kernel.shape[0]
    size = d * (k - 1) + 1
    dilated = np.zeros((size, size) + kernel.shape[2:], dtype=kernel.dtype)
    dilated[::d, ::d] = kernel
    return dilated


def transposed_conv2d(image, kernel, stride):
    image, kernel = np.asarray(image, dtype=np.float64), np.asarray(kernel, dtype=np.float64)
    (h, w), k = image.shape, kernel.shape[0]
    output = np.zeros((stride * (h - 1) + k, stride * (w - 1) + k))
    for row in range(h):
        for column in range(w):
            output[stride * row:stride * row + k, stride * column:stride * column + k] += image[row, column] * kernel
    return output


def global_average_pooling(features):
    return np.asarray(features).mean(axis=(1, 2))


def global_max_pooling(features):
    return np.asarray(features).max(axis=(1, 2))


def conv2d_parameter_count(kernel_size, in_channels, filters):
    return kernel_size * kernel_size * in_channels * filters + filters


def separable_conv2d_parameter_count(kernel_size, in_channels, filters, depth_multiplier=1):
    depthwise = kernel_size * kernel_size * in_channels * depth_multiplier
    pointwise = in_channels * depth_multiplier * filters
    return depthwise + pointwise + filters


def dense_parameter_count(n_inputs, n_outputs):
    return n_inputs * n_outputs + n_outputs


# ------------------------------------------------------------------ layers


class LocallyConnected2D(layers.Layer):
    """Unshared convolution, 'valid' padding, stride 1, no activation."""

    def __init__(self, filters, kernel_size, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size = int(filters), int(kernel_size)

    def build(self, input_shape):
        height, width, channels = input_shape[1:]
        self.out_height = height - self.kernel_size + 1
        self.out_width = width - self.kernel_size + 1
        self.kernel = self.add_weight(
            shape=(self.out_height, self.out_width, self.kernel_size, self.kernel_size, channels, self.filters),
            initializer="glorot_uniform", name="kernel")
        self.bias = self.add_weight(shape=(self.out_height, self.out_width, self.filters),
                                    initializer="zeros", name="bias")

    def call(self, inputs):
        k = self.kernel_size
        patches = keras.ops.image.extract_patches(inputs, k, strides=1, padding="valid")
        kernel = keras.ops.reshape(self.kernel, (self.out_height, self.out_width, -1, self.filters))
        return keras.ops.einsum("bijp,ijpf->bijf", patches, kernel) + self.bias


def locally_connected_reference(image, kernel, bias):
    """Per-position loop: image (n, h, w, c), kernel (oh, ow, k, k, c, f), bias (oh, ow, f)."""
    out_height, out_width, k = kernel.shape[:3]
    output = np.zeros((len(image), out_height, out_width, kernel.shape[-1]))
    for row in range(out_height):
        for column in range(out_width):
            window = image[:, row:row + k, column:column + k, :]
            output[:, row, column] = np.einsum("nklc,klcf->nf", window, kernel[row, column]) + bias[row, column]
    return output


def batch_norm(x, gamma, beta, moving_mean, moving_variance, training, momentum=0.99, epsilon=1e-3):
    x = np.asarray(x, dtype=np.float64)
    if training:
        axes = tuple(range(x.ndim - 1))
        mean, variance = x.mean(axis=axes), x.var(axis=axes)
        moving_mean = momentum * np.asarray(moving_mean) + (1 - momentum) * mean
        moving_variance = momentum * np.asarray(moving_variance) + (1 - momentum) * variance
    else:
        mean, variance = np.asarray(moving_mean), np.asarray(moving_variance)
    normalized = (x - mean) / np.sqrt(variance + epsilon)
    return gamma * normalized + beta, moving_mean, moving_variance


# ------------------------------------------------------------------ networks


def build_lenet() -> keras.Model:
    return keras.Sequential([
        keras.Input(shape=(32, 32, 1)),
        layers.Conv2D(6, 5, activation="tanh"),
        layers.AveragePooling2D(2),
        layers.Conv2D(16, 5, activation="tanh"),
        layers.AveragePooling2D(2),
        layers.Flatten(),
        layers.Dense(120, activation="tanh"),
        layers.Dense(84, activation="tanh"),
        layers.Dense(10, activation="softmax"),
    ])


def residual_block(inputs, momentum=BN_MOMENTUM):
    channels = inputs.shape[-1]
    x = layers.Conv2D(channels, 3, padding="same", use_bias=False)(inputs)
    x = layers.BatchNormalization(momentum=momentum)(x)
    x = layers.Activation("relu")(x)
    x = layers.Conv2D(channels, 3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization(momentum=momentum)(x)
    x = layers.Add()([inputs, x])
    return layers.Activation("relu")(x)


def residual_projection_block(inputs, filters, stride, momentum=BN_MOMENTUM):
    """A residual block that changes the shape (He et al., option B): the main path starts
    with a strided convolution to ``filters`` channels; the shortcut is a strided 1x1
    convolution to ``filters`` channels, batch-normalised, so that the two can be added."""
    x = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(inputs)
    x = layers.BatchNormalization(momentum=momentum)(x)
    x = layers.Activation("relu")(x)
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization(momentum=momentum)(x)
    shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False)(inputs)
    shortcut = layers.BatchNormalization(momentum=momentum)(shortcut)
    x = layers.Add()([shortcut, x])
    return layers.Activation("relu")(x)


def inception_module(inputs, filters=64, order=BRANCHES, reduce_filters=None):
    """The four branches of lecture 004, concatenated in ``order`` (names from BRANCHES).

    ``reduce_filters``: the filter count of the 1x1 convolutions before the 3x3 and 5x5 ones
    (GoogLeNet's "reduce"); None gives them ``filters``, as the lecture draws the module.
    """
    reduce_filters = filters if reduce_filters is None else reduce_filters
    branches = {}
    branches["1x1"] = layers.Conv2D(filters, 1, padding="same", activation="relu")(inputs)
    reduced = layers.Conv2D(reduce_filters, 1, padding="same", activation="relu")(inputs)
    branches["3x3"] = layers.Conv2D(filters, 3, padding="same", activation="relu")(reduced)
    reduced = layers.Conv2D(reduce_filters, 1, padding="same", activation="relu")(inputs)
    branches["5x5"] = layers.Conv2D(filters, 5, padding="same", activation="relu")(reduced)
    pooled = layers.MaxPooling2D(pool_size=3, strides=1, padding="same")(inputs)
    branches["pool"] = layers.Conv2D(filters, 1, padding="same", activation="relu")(pooled)
    return layers.Concatenate(axis=-1)([branches[name] for name in order])


def conv_multiply_adds(model) -> int:
    """Multiply-adds of a model's Conv2D layers: out_h * out_w * k_h * k_w * C_in * filters each."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D):
            _, height, width, _ = layer.output.shape
            k_h, k_w = layer.kernel_size
            total += int(height) * int(width) * k_h * k_w * int(layer.input.shape[-1]) * layer.filters
    return total


def build_inception_network(order=BRANCHES) -> keras.Model:
    inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(inputs)
    x = layers.MaxPooling2D(2)(x)
    x = inception_module(x, INCEPTION_FILTERS, order)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def build_separable_network(convolution=layers.SeparableConv2D) -> keras.Model:
    """A full 3x3 convolution on the one input channel, then two ``convolution`` layers
    (depthwise-separable by default; ``layers.Conv2D`` gives its standard twin) and a
    global-average-pooling head."""
    inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(inputs)
    x = layers.MaxPooling2D(2)(x)
    x = convolution(64, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = convolution(128, 3, padding="same", activation="relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def build_strong_network() -> keras.Model:
    """Batch-normalised stem, the Inception module, a residual block."""
    inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(32, 3, padding="same", use_bias=False)(inputs)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
    x = layers.Activation("relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = inception_module(x, INCEPTION_FILTERS)
    x = layers.MaxPooling2D(2)(x)
    x = residual_block(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def fit_with_adam(build, dataset, epochs, seed):
    """Seed, build, compile (Adam, cross-entropy) and fit on ``dataset``; return the model."""
    from coursekit.lab import set_determinism

    set_determinism(seed)
    model = build()
    model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.Adam(learning_rate=LEARNING_RATE),
                  metrics=["accuracy"])
    x_train, y_train = preprocess(dataset.x_train[:TRAIN_IMAGES], dataset.y_train[:TRAIN_IMAGES])
    model.fit(x_train, y_train, batch_size=BATCH_SIZE, epochs=epochs, validation_split=VALIDATION_SPLIT, verbose=0)
    return model


def train(dataset, budget, seed):
    return fit_with_adam(build_inception_network, dataset, budget.epochs(EPOCHS), seed)


def held_out_macro_f1(model, dataset) -> float:
    """A trained model's macro-F1 on the held-out split, as calibration scores its METRIC."""
    from autograder import metrics

    return metrics.score("macro_f1", dataset.y_test, metrics.predict_labels(model, dataset.x_test))


def strong_macro_f1(dataset, budget, seed) -> float:
    epochs = budget.epochs(STRONG_EPOCHS, smoke=STRONG_SMOKE_EPOCHS)
    return held_out_macro_f1(fit_with_adam(build_strong_network, dataset, epochs, seed), dataset)


def inception_macro_f1(dataset, budget, seed) -> float:
    return held_out_macro_f1(train(dataset, budget, seed), dataset)


SCORES = {"macro_f1_beyond_inception": inception_macro_f1, "macro_f1_strong": strong_macro_f1}
THRESHOLD_ABOVE_BEST = ("macro_f1_beyond_inception",)
