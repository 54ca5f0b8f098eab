"""Lab 12 (domain adaptation): the training loop that drives a student's step, and plots.

The loop holds no answer: it draws the batches, sets lambda from the schedule it is given
before every step, and calls the step function it is given. The same loop trains the
notebook's networks and the grader's calibration runs, so both see the same batches.
"""

import numpy as np

BATCH_SIZE = 64              # source images per step; as many target images
VALIDATION_FRACTION = 0.1    # the first tenth of the source training images
LEARNING_RATE, ANNEALING_ALPHA, ANNEALING_BETA, MOMENTUM = 0.01, 10.0, 0.75, 0.9   # Ganin & Lempitsky


def to_inputs(images) -> np.ndarray:
    """uint8 (n, 28, 28, 3) -> float32 (n, 28, 28, 3) in [-0.5, 0.5]: scaled, then centred."""
    return np.asarray(images, dtype="float32") / 255.0 - 0.5


def steps_per_epoch(data) -> int:
    """Training steps in one epoch: the source training images (less validation) / BATCH_SIZE."""
    n_val = int(len(data.y_source_train) * VALIDATION_FRACTION)
    return (len(data.y_source_train) - n_val) // BATCH_SIZE


def annealed_sgd(total_steps: int):
    """SGD with momentum 0.9 and Ganin & Lempitsky's annealed learning rate
    mu_p = 0.01 / (1 + 10 p)^0.75, p = step / total_steps."""
    import keras

    class Annealed(keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            progress = keras.ops.cast(step, "float32") / float(total_steps)
            return LEARNING_RATE / (1.0 + ANNEALING_ALPHA * progress) ** ANNEALING_BETA

        def get_config(self):
            return {}

    return keras.optimizers.SGD(Annealed(), momentum=MOMENTUM)


def source_split(data):
    """(x_train, y_train, x_val, y_val): the labelled source images less a validation tenth.

    x_* float32 (n, 28, 28, 3) in [0, 1]; y_* int64 (n,).
    """
    n_val = int(len(data.y_source_train) * VALIDATION_FRACTION)
    x, y = to_inputs(data.x_source_train), np.asarray(data.y_source_train, dtype="int64")
    return x[n_val:], y[n_val:], x[:n_val], y[:n_val]


def predict(model, inputs, batch_size: int = 500) -> np.ndarray:
    """``model(inputs)`` in inference mode, in batches, as one NumPy array."""
    return np.concatenate([np.asarray(model(inputs[start:start + batch_size], training=False))
                           for start in range(0, len(inputs), batch_size)])


def accuracy(model, inputs, labels) -> float:
    return float(np.mean(predict(model, inputs).argmax(axis=1) == np.asarray(labels)))


def source_only_step(model, optimizer, x_source, y_source):
    """One plain supervised step on labelled source images: the baseline without adaptation."""
    import keras
    import tensorflow as tf

    with tf.GradientTape() as tape:
        probabilities = model(x_source, training=True)
        loss = keras.ops.mean(keras.losses.sparse_categorical_crossentropy(y_source, probabilities))
    weights = model.trainable_variables
    gradients = tape.gradient(loss, weights)
    optimizer.apply_gradients(list(zip(gradients, weights)))
    return {"class_loss": loss}


def train_networks(data, epochs: int, seed: int, step, model, classifier, optimizer, reversal=None,
                   schedule=None, target: bool = True, verbose: bool = True) -> dict:
    """Train for ``epochs`` epochs of ``BATCH_SIZE`` source (and target) images per step.

    Args:
        data: a ``coursekit.domain_data.DomainData``.
        step: ``step(model, optimizer, x_source, y_source, x_target)`` with ``target``, else
            ``step(model, optimizer, x_source, y_source)``; returns a dict of scalar losses.
        model: what ``step`` trains (the two-headed DANN model, or the classifier alone).
        classifier: the label classifier (G_f then G_y), measured on the validation split.
        reversal: the gradient reversal layer; before every step its ``lambda_`` is assigned
            ``schedule(progress)``, progress = steps done / all steps, in [0, 1).
        seed: orders the batches (the caller seeds the weights).

    Returns:
        history: {loss name: per-epoch mean, "lambda": its last value per epoch,
        "val_accuracy": per epoch}.
    """
    import tensorflow as tf

    x_train, y_train, x_val, y_val = source_split(data)
    x_target = to_inputs(data.x_target_train)
    compiled = tf.function(step)
    rng = np.random.default_rng(seed)
    per_epoch = steps_per_epoch(data)
    total = epochs * per_epoch
    history = {"lambda": [], "val_accuracy": []}
    for epoch in range(epochs):
        order, target_order = rng.permutation(len(x_train)), rng.permutation(len(x_target))
        losses = {}
        for index in range(per_epoch):
            if reversal is not None:
                reversal.lambda_.assign(schedule((epoch * per_epoch + index) / total))
            batch = order[index * BATCH_SIZE:(index + 1) * BATCH_SIZE]
            arguments = [x_train[batch], y_train[batch]]
            if target:
                arguments.append(x_target[target_order[np.arange(index * BATCH_SIZE, (index + 1) * BATCH_SIZE)
                                                       % len(x_target)]])
            for name, value in compiled(model, optimizer, *arguments).items():
                losses.setdefault(name, []).append(float(value))
        for name, values in losses.items():
            history.setdefault(name, []).append(float(np.mean(values)))
        history["lambda"].append(float(np.asarray(reversal.lambda_)) if reversal is not None else 0.0)
        history["val_accuracy"].append(accuracy(classifier, x_val, y_val))
        if verbose:
            shown = ", ".join(f"{name} {values[-1]:.4f}" for name, values in history.items())
            print(f"epoch {epoch + 1}/{epochs}: {shown}", flush=True)
    return history


# ------------------------------------------------------------------ plots


def domain_samples(data, per_domain: int = 10, title: str | None = None):
    """Source digits above their target-domain counterparts' kind: the first held-out images of each."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, per_domain, figsize=(per_domain * 1.0, 2.4))
    for column in range(per_domain):
        for row, (images, name) in enumerate(((data.x_source_test, "source"), (data.x_test, "target"))):
            axis = axes[row, column]
            axis.imshow(images[column])
            axis.set_xticks([])
            axis.set_yticks([])
            if column == 0:
                axis.set_ylabel(name)
        axes[0, column].set_title(data.class_names[data.y_test[column]], fontsize=8)
    figure.suptitle(title or data.description[:110], fontsize=8)
    figure.tight_layout()
    return figure


def training_curves(histories: dict, title: str = "Training"):
    """Per-epoch curves of several runs: {run name: history from ``train_networks``}."""
    import matplotlib.pyplot as plt

    keys = [key for key in ("class_loss", "domain_loss", "lambda", "val_accuracy")
            if any(key in history for history in histories.values())]
    figure, axes = plt.subplots(1, len(keys), figsize=(3.6 * len(keys), 3))
    for axis, key in zip(np.atleast_1d(axes), keys):
        for name, history in histories.items():
            if key in history:
                axis.plot(range(1, len(history[key]) + 1), history[key], "o-", label=name)
        axis.set_xlabel("epoch")
        axis.set_title(key)
        axis.legend(fontsize=7)
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def embedding_plot(panels: dict, n_source: int, title: str = "Features, 2-D PCA"):
    """Side-by-side scatter plots of 2-D points: {panel title: (n_source + n_target, 2) points,
    the source rows first}."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 4))
    for axis, (name, points) in zip(np.atleast_1d(axes), panels.items()):
        points = np.asarray(points)
        axis.scatter(points[:n_source, 0], points[:n_source, 1], s=4, alpha=0.5, label="source (MNIST)")
        axis.scatter(points[n_source:, 0], points[n_source:, 1], s=4, alpha=0.5, label="target (MNIST-M)")
        axis.set_title(name)
        axis.legend(markerscale=3, fontsize=8)
    figure.suptitle(title)
    figure.tight_layout()
    return figure
