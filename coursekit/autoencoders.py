"""Lab 13's kit: image scaling, the digit classifier the lab attacks, and its plots.

Nothing here is an answer: the lab's exercises (the autoencoder, the latent edit, the
attacks, the bilinear sampler) are the student's to write. The classifier below is the
same recipe the grader uses for its own copy, so the notebook's numbers and the grader's
agree.

    x = as_inputs(data.x_train)                   # uint8 (n, 28, 28) -> float32 (n, 28, 28, 1) in [0, 1]
    classifier = train_digit_classifier(data)     # logits (n, 10)
    labels = predict_labels(classifier, x)        # int (n,)
"""

import numpy as np

CLASSIFIER_TRAIN_CAP = 10_000   # training images the classifier sees, at most
CLASSIFIER_EPOCHS = 3
CLASSIFIER_SEED = 1313


def as_inputs(images) -> np.ndarray:
    """uint8 (n, 28, 28) with values 0..255 -> float32 (n, 28, 28, 1) in [0, 1]."""
    return (np.asarray(images, dtype="float32") / 255.0)[..., None]


def build_digit_classifier():
    """Flatten -> Dense(128, relu) -> Dense(10): a small MLP that outputs logits (no softmax),
    so that its loss gradient never vanishes on confidently classified images."""
    import keras

    return keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Flatten(),
                             keras.layers.Dense(128, activation="relu"), keras.layers.Dense(10)],
                            name="digit_classifier")


def classifier_weights(data, seed: int = CLASSIFIER_SEED) -> list:
    """Train the digit classifier on (at most 10 000 of) ``data``'s training images and return
    its weights; the same data and seed give the same weights."""
    import keras

    from coursekit.lab import set_determinism

    set_determinism(seed)
    count = min(len(data.x_train), CLASSIFIER_TRAIN_CAP)
    model = build_digit_classifier()
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(as_inputs(data.x_train[:count]), np.asarray(data.y_train[:count], dtype="int64"),
              batch_size=64, epochs=CLASSIFIER_EPOCHS, verbose=0)
    return [np.asarray(weight) for weight in model.get_weights()]


def train_digit_classifier(data, seed: int = CLASSIFIER_SEED):
    """The classifier the lab attacks and uses to see attributes move: a fresh model with
    ``classifier_weights(data, seed)``. Its outputs are logits of shape (n, 10)."""
    model = build_digit_classifier()
    model.set_weights(classifier_weights(data, seed))
    return model


def predict_labels(model, images, chunk: int = 500) -> np.ndarray:
    """argmax of ``model``'s outputs on float32 images (n, 28, 28, 1), in inference mode; int64 (n,)."""
    images = np.asarray(images, dtype="float32")
    parts = [np.asarray(model(images[start:start + chunk], training=False)).argmax(axis=-1)
             for start in range(0, len(images), chunk)]
    return np.concatenate(parts).astype("int64") if parts else np.zeros(0, "int64")


# ------------------------------------------------------------------- plots


def image_rows(rows: dict, title: str = "", row_labels=None, cmap: str = "gray"):
    """A grid with one row per entry of ``rows`` ({row name: images (k, 28, 28[, 1])}); the
    optional ``row_labels`` ({row name: k strings}) go under the images."""
    import matplotlib.pyplot as plt

    names = list(rows)
    columns = max(len(rows[name]) for name in names)
    figure, axes = plt.subplots(len(names), columns, figsize=(1.2 * columns, 1.35 * len(names)), squeeze=False)
    for row, name in enumerate(names):
        images = np.asarray(rows[name])
        for column in range(columns):
            axis = axes[row, column]
            axis.set_xticks([])
            axis.set_yticks([])
            if column < len(images):
                image = images[column].squeeze()
                axis.imshow(image, cmap=cmap, vmin=min(0.0, float(image.min())), vmax=max(1.0, float(image.max())))
                if row_labels and name in row_labels:
                    axis.set_xlabel(str(row_labels[name][column]), fontsize=8)
            else:
                axis.axis("off")
        axes[row, 0].set_ylabel(name, fontsize=9)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def perturbations(images, adversarial, clean_labels, adversarial_labels, title: str = "Adversarial examples"):
    """Three rows: the images, the perturbations r = x' - x (red positive, blue negative, on one
    symmetric scale) and the perturbed images, with the classifier's labels."""
    import matplotlib.pyplot as plt

    images, adversarial = np.asarray(images), np.asarray(adversarial)
    perturbation = adversarial - images
    scale = float(np.abs(perturbation).max()) or 1.0
    count = len(images)
    figure, axes = plt.subplots(3, count, figsize=(1.3 * count, 4.4), squeeze=False)
    for column in range(count):
        panels = ((images[column], "gray", 0.0, 1.0, f"{clean_labels[column]}"),
                  (perturbation[column], "seismic", -scale, scale, f"|r|={np.linalg.norm(perturbation[column]):.2f}"),
                  (adversarial[column], "gray", 0.0, 1.0, f"-> {adversarial_labels[column]}"))
        for row, (image, cmap, low, high, label) in enumerate(panels):
            axis = axes[row, column]
            axis.imshow(np.squeeze(image), cmap=cmap, vmin=low, vmax=high)
            axis.set_xticks([])
            axis.set_yticks([])
            axis.set_xlabel(label, fontsize=8)
    for row, name in enumerate(("x", "r = x' - x", "x' = x + r")):
        axes[row, 0].set_ylabel(name, fontsize=9)
    figure.suptitle(title)
    figure.tight_layout()
    return figure
