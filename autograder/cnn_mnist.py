"""What the reference recipes of several labs share: the CNN-MNIST network of
lecture 004 and its training loop."""

import keras
import numpy as np
from keras import layers


def preprocess(images, labels):
    """uint8 (n, 28, 28) images and (n,) labels -> float32 (n, 28, 28, 1) in [0, 1]
    and one-hot float32 (n, 10)."""
    x = (np.asarray(images, dtype="float32") / 255.0)[..., None]
    y = keras.utils.to_categorical(labels, 10).astype("float32")
    return x, y


def cnn_mnist_layers() -> list:
    """The layers of the Keras CNN-MNIST example as written in lecture 004."""
    return [
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Dropout(0.25),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ]


def build_cnn_mnist() -> keras.Model:
    return keras.Sequential([keras.Input(shape=(28, 28, 1)), *cnn_mnist_layers()])


def compile_like_lecture(model) -> keras.Model:
    """categorical cross-entropy, Adadelta, accuracy -- as in the 004 example.

    Keras 2.1 (2018) defaulted Adadelta's learning rate to 1.0; Keras 3 defaults
    to 0.001, which barely moves in a few epochs, so the rate is set explicitly.
    """
    model.compile(loss="categorical_crossentropy",
                  optimizer=keras.optimizers.Adadelta(learning_rate=1.0),
                  metrics=["accuracy"])
    return model


VALIDATION_SPLIT = 0.1  # the last tenth of the training data watches training; the test set does not


def train_cnn(dataset, epochs: int, batch_size: int = 128, seed: int = 0):
    """Build, compile and fit the CNN-MNIST network on ``dataset`` as the notebooks do (the last
    tenth of the training data held out for validation); return the model."""
    from coursekit.lab import set_determinism

    set_determinism(seed)
    model = compile_like_lecture(build_cnn_mnist())
    x_train, y_train = preprocess(dataset.x_train, dataset.y_train)
    model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, validation_split=VALIDATION_SPLIT, verbose=0)
    return model
