"""Tools for lab 11 (GANs): the digit classifier that judges samples, and the plots.

Nothing here is a solution: the classifier is the instrument that measures a generator
(the grader trains its own copy, with the same recipe, on its own data), and the plots
only draw what the notebook computed.

Images in this lab live in the GAN range [-1, 1] (ganhacks: a tanh output), shaped
(n, 28, 28, 1); the classifier sees them mapped back to [0, 1].
"""

import math

import numpy as np

CLASSIFIER_IMAGES_SEEN = 18000  # 3 epochs of 4 000 digits + 2 000 non-digits; smaller sets get more epochs
CLASSIFIER_SEED = 1234
CLASSIFIER_MAX_TRAIN = 6000  # the first 6 000 training digits at most: a minute's training on a CPU


NOT_A_DIGIT = 10  # the classifier's eleventh class


def build_digit_classifier():
    """A small CNN for (n, 28, 28, 1) images in [0, 1] -> 11 probabilities: the ten digits
    and "not a digit" (class 10)."""
    import keras

    layers = keras.layers
    stack = [layers.Conv2D(16, 3, activation="relu"), layers.MaxPooling2D(2),
             layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
             layers.Flatten(), layers.Dense(11, activation="softmax")]
    images = keras.Input(shape=(28, 28, 1), name="images")
    outputs = images
    for layer in stack:
        outputs = layer(outputs)
    return keras.Model(images, outputs, name="digit_classifier")


def not_digits(images, seed: int) -> np.ndarray:
    """Images that are not digits, as many as ``images`` (uint8 (n, 28, 28)), in four kinds:
    uniform noise, smooth blobs (blurred noise), blends of two digits, and digits with their
    pixels shuffled (the right ink, no shape). The classifier learns to call them class 10,
    so that noise, blur and ghosts of two digits do not count as confident digits.

    Returns:
        uint8 (n, 28, 28).
    """
    rng = np.random.default_rng(seed)
    images = np.asarray(images, dtype=np.float64)
    n = len(images)
    kinds = rng.integers(0, 4, n)
    noise = rng.random((n, 28, 28)) * 255.0
    coarse = rng.random((n, 7, 7)) * 255.0
    blobs = np.repeat(np.repeat(coarse, 4, axis=1), 4, axis=2)
    blobs = (blobs + np.roll(blobs, 2, axis=1) + np.roll(blobs, 2, axis=2) + np.roll(blobs, (2, 2), axis=(1, 2))) / 4
    partners = images[rng.permutation(n)]
    blends = (images + partners) / 2.0
    shuffled = rng.permuted(images.reshape(n, -1), axis=1).reshape(n, 28, 28)
    chosen = np.select([kinds[:, None, None] == k for k in range(4)], [noise, blobs, blends, shuffled])
    return chosen.astype(np.uint8)


def train_digit_classifier(data, seed: int = CLASSIFIER_SEED):
    """Train ``build_digit_classifier`` on the first ``CLASSIFIER_MAX_TRAIN`` images of
    ``data.x_train`` (uint8 (n, 28, 28)) and half as many non-digits, deterministically.

    The same data and seed give the same classifier: the grader's copy, trained on its own
    data at the same budget, is the one this function gives the notebook. Small training
    sets (the smoke budget) get more epochs, up to 10, so that it sees as many batches.

    Returns:
        (classifier, held-out accuracy on data.x_test)
    """
    import keras

    from coursekit.lab import set_determinism

    set_determinism(seed)
    digits, labels = data.x_train[:CLASSIFIER_MAX_TRAIN], data.y_train[:CLASSIFIER_MAX_TRAIN]
    negatives = not_digits(digits[: len(digits) // 2], seed)
    x_train = np.concatenate([digits, negatives]).astype("float32")[..., None] / 255.0
    y_train = np.concatenate([np.asarray(labels, dtype="int64"), np.full(len(negatives), NOT_A_DIGIT)])
    classifier = build_digit_classifier()
    classifier.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.Adam(1e-3))
    epochs = int(min(10, max(3, round(CLASSIFIER_IMAGES_SEEN / len(x_train)))))
    classifier.fit(x_train, y_train, batch_size=64, epochs=epochs, shuffle=True, verbose=0)
    x_test = (np.asarray(data.x_test, dtype="float32") / 255.0)[..., None]
    predicted = class_probabilities(classifier, x_test * 2.0 - 1.0)[:, :10].argmax(axis=1)
    return classifier, float(np.mean(predicted == np.asarray(data.y_test)))


def class_probabilities(classifier, images, chunk: int = 500) -> np.ndarray:
    """Class probabilities (n, 11) of GAN-range images (n, 28, 28, 1) in [-1, 1] (class 10: not a digit)."""
    images = np.asarray(images, dtype="float32").reshape(-1, 28, 28, 1)
    parts = [np.asarray(classifier((images[start:start + chunk] + 1.0) / 2.0, training=False))
             for start in range(0, len(images), chunk)]
    return np.concatenate(parts).astype(np.float64)


def sample_scores(probabilities) -> dict:
    """How a classifier sees a batch of samples.

    Args:
        probabilities: (n, 11) class probabilities of n generated images (class 10: not a digit).

    Returns:
        {"confidence": mean over samples of the largest digit probability (1 = every
         sample looks like exactly one digit; noise, blur and blends score low),
         "class_entropy": entropy of the histogram of the predicted digits (the most
         probable of the ten) divided by ln 10 (1 = all ten digits equally often, 0 = one
         digit only: mode collapse), "histogram": counts per predicted digit,
         "not_digits": samples whose most probable class is "not a digit"}
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    digits = probabilities[:, :10]
    histogram = np.bincount(digits.argmax(axis=1), minlength=10)
    frequencies = histogram / max(histogram.sum(), 1)
    nonzero = frequencies[frequencies > 0]
    entropy = float(-(nonzero * np.log(nonzero)).sum() / math.log(10))
    return {"confidence": float(digits.max(axis=1).mean()), "class_entropy": entropy,
            "histogram": histogram, "not_digits": int(np.sum(probabilities.argmax(axis=1) == NOT_A_DIGIT))}


def latent_batch(n: int, latent_dim: int, seed: int) -> np.ndarray:
    """A fixed batch of latent vectors: float32 (n, latent_dim) from N(0, I) (ganhacks: a
    spherical z, Gaussian rather than uniform)."""
    return np.random.default_rng(seed).standard_normal((n, latent_dim)).astype("float32")


def generate(generator, z, chunk: int = 500) -> np.ndarray:
    """The generator's images (n, 28, 28, 1) for latent vectors ``z`` (n, latent_dim), inference mode."""
    return np.concatenate([np.asarray(generator(z[start:start + chunk], training=False)).reshape(-1, 28, 28, 1)
                           for start in range(0, len(z), chunk)])


# ----------------------------------------------------------------------------- plots


def image_grid(images, rows: int = 6, columns: int = 10, title: str = "Samples", labels=None):
    """A grid of images (n, 28, 28[, 1]) in [-1, 1], drawn black on white; ``labels`` under each."""
    import matplotlib.pyplot as plt

    images = np.asarray(images).reshape(len(images), *np.shape(images)[1:3])
    figure, axes = plt.subplots(rows, columns, figsize=(columns * 0.9, rows * 0.95))
    for index, axis in enumerate(np.ravel(axes)):
        axis.axis("off")
        if index < len(images):
            axis.imshow(images[index], cmap="gray_r", vmin=-1, vmax=1)
            if labels is not None:
                axis.set_title(str(labels[index]), fontsize=7)
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def loss_curves(history: dict, title: str = "GAN losses", smooth: int = 10):
    """Each loss per training step (faint) and its running mean over ``smooth`` steps."""
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 3.2))
    for name, values in history.items():
        values = np.asarray(values, dtype=float)
        line, = axis.plot(values, alpha=0.25)
        if len(values) >= smooth:
            running = np.convolve(values, np.ones(smooth) / smooth, mode="valid")
            axis.plot(np.arange(smooth - 1, len(values)), running, color=line.get_color(), label=name)
        else:
            line.set_label(name)
    axis.set_xlabel("training step")
    axis.set_ylabel("loss")
    axis.set_title(title)
    axis.legend()
    figure.tight_layout()
    return figure


def class_histogram(histogram, title: str = "Predicted classes of the samples"):
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 2.6))
    axis.bar(range(10), histogram)
    axis.set_xticks(range(10))
    axis.set_xlabel("digit the classifier sees")
    axis.set_ylabel("samples")
    axis.set_title(title)
    figure.tight_layout()
    return figure


def pyramid_row(levels, title: str = "Laplacian pyramid"):
    """The levels of a pyramid side by side, each at its own size."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(levels), figsize=(2.2 * len(levels), 2.4))
    for index, (axis, level) in enumerate(zip(np.atleast_1d(axes), levels)):
        axis.imshow(level, cmap="gray_r" if index == len(levels) - 1 else "RdBu")
        axis.set_title(f"{'G' if index == len(levels) - 1 else 'L'}_{index} {level.shape[0]}×{level.shape[1]}",
                       fontsize=8)
        axis.axis("off")
    figure.suptitle(title)
    figure.tight_layout()
    return figure


# ----------------------------------------------------------------------- visible checks


def check_gan_step(train_step, build_generator, build_discriminator, discriminator_loss,
                   generator_loss_nonsaturating, real_images, z) -> None:
    """One call of ``train_step`` on fresh models with SGD, checked from the outside:

    - the d_loss it returns is D's loss on ``real_images`` and on G(z) before the step;
    - the g_loss it returns is the non-saturating loss of G(z) (G before its update) under
      D *after* D's update (D steps first, then G);
    - both networks' weights moved.

    Raises:
        CheckFailed: with what differs.
    """
    import keras
    import tensorflow as tf

    from coursekit.checks import CheckFailed, check_array

    generator, discriminator = build_generator(), build_discriminator()
    g_before = [keras.ops.convert_to_numpy(weight).copy() for weight in generator.trainable_weights]
    d_before = [keras.ops.convert_to_numpy(weight).copy() for weight in discriminator.trainable_weights]
    fake = generator(z, training=True)
    expected_d = float(discriminator_loss(discriminator(real_images, training=True), discriminator(fake, training=True)))
    result = train_step(generator, discriminator, keras.optimizers.SGD(0.05), keras.optimizers.SGD(0.05),
                        tf.constant(real_images), tf.constant(z))
    try:
        d_loss, g_loss = (float(np.asarray(value)) for value in result)
    except (TypeError, ValueError):
        raise CheckFailed(f"train_step should return (d_loss, g_loss), found {result!r}") from None
    check_array("d_loss returned by train_step (D's loss before its update)", d_loss, expected_d, atol=1e-5, rtol=1e-4)
    expected_g = float(generator_loss_nonsaturating(discriminator(fake, training=True)))
    check_array("g_loss returned by train_step (non-saturating, under the updated D)", g_loss, expected_g,
                atol=1e-5, rtol=1e-4)
    for name, model, before in (("discriminator", discriminator, d_before), ("generator", generator, g_before)):
        moved = [not np.allclose(keras.ops.convert_to_numpy(weight), old) for weight, old in zip(model.trainable_weights, before)]
        if not all(moved):
            raise CheckFailed(f"the {name}'s weights {[i for i, m in enumerate(moved) if not m]} did not move: "
                              f"apply its optimizer to the gradient of its own loss")
    print("OK train_step: losses as specified, both networks updated")


def check_leaky_slopes(model, slope: float) -> None:
    """Every LeakyReLU layer of ``model`` has ``negative_slope == slope`` (Keras's default is 0.3)."""
    from coursekit.checks import CheckFailed

    layers = [layer for layer in model.layers if type(layer).__name__ == "LeakyReLU"]
    for index, layer in enumerate(layers, start=1):
        found = float(layer.get_config().get("negative_slope"))
        if abs(found - slope) > 1e-9:
            raise CheckFailed(f"LeakyReLU number {index} has negative_slope={found:g}, expected {slope:g} "
                              f"(Keras's default is 0.3: pass negative_slope={slope:g})")
    print(f"OK {len(layers)} LeakyReLU layers with negative_slope={slope:g}")
