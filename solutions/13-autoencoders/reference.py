"""Reference for lab 13 (autoencoders, latent editing, adversarial examples, bilinear sampling).

Calibrated numbers (``SCORES``), each "higher is better":

- ``reconstruction_r2``: 1 - sum ||d(e(x)) - x||^2 / sum ||mean_image - x||^2 over the
  held-out images: the share of the pixel variance the autoencoder reconstructs. The mean
  training image (the best constant guess) scores 0, an untrained network below 0, so the
  threshold is a ceiling on the reconstruction error: MSE <= (1 - threshold) * MSE(mean image).
- ``attribute_shift``: for each class pair (a, b) of ``ATTRIBUTE_PAIRS``, the held-out
  images of a are edited with x -> d(e(x) + v), v = mean(e(x_b) - e(x_a)) over training
  pairs; the score is the share the grader's classifier labels b after the edit minus
  before, averaged over the pairs.
- ``fgsm_flip_rate``: the share of correctly classified held-out images whose label the
  grader's classifier changes after the fast gradient sign method with ``EPSILON``.
- ``targeted_success``: the share of held-out images that the grader's classifier labels
  as the target (label + 1) mod 10 after ``targeted_perturbation``.
"""

import numpy as np

from coursekit.autoencoders import CLASSIFIER_SEED, as_inputs, predict_labels, train_digit_classifier

LAB_ID = "13-autoencoders"
DATASET = "mnist"
METRIC = "reconstruction_r2"

LATENT_DIM = 16
HIDDEN = 128
EPOCHS = 15
SMOKE_EPOCHS = 8
BATCH_SIZE = 32

ATTRIBUTE_PAIRS = ((1, 7), (4, 9), (3, 8), (7, 1))
EDIT_ALPHA = 1.0
ATTRIBUTE_TRAIN_PAIRS = 200     # training pairs (x1_i, x2_i) per class pair, at most

EPSILON = 0.1
ATTACK_IMAGES = 200             # held-out images attacked by the grader
TARGETED = dict(c=0.1, steps=20, learning_rate=0.5)
TARGETED_IMAGES = 100


# ------------------------------------------------------------------ 1. autoencoder


def reconstruction_error(x, x_hat):
    """||x_hat_i - x_i||^2 per image: float (n,) from two arrays (n, ...)."""
    difference = np.asarray(x_hat, dtype=np.float64) - np.asarray(x, dtype=np.float64)
    return (difference ** 2).reshape(len(difference), -1).sum(axis=1)


def build_encoder(latent_dim=LATENT_DIM):
    import keras

    return keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Flatten(),
                             keras.layers.Dense(HIDDEN, activation="relu"), keras.layers.Dense(latent_dim)],
                            name="encoder")


def build_decoder(latent_dim=LATENT_DIM):
    import keras

    return keras.Sequential([keras.Input(shape=(latent_dim,)), keras.layers.Dense(HIDDEN, activation="relu"),
                             keras.layers.Dense(784, activation="sigmoid"), keras.layers.Reshape((28, 28, 1))],
                            name="decoder")


def build_autoencoder(encoder, decoder):
    import keras

    inputs = keras.Input(shape=(28, 28, 1))
    return keras.Model(inputs, decoder(encoder(inputs)), name="autoencoder")


def split_validation(x):
    """(training part, validation part): the last 10% of the training images validate."""
    cut = len(x) - len(x) // 10
    return x[:cut], x[cut:]


def train_autoencoder(dataset, budget, seed):
    """(encoder, decoder) trained on MSE with early stopping on the validation split."""
    import keras

    from coursekit.lab import set_determinism

    set_determinism(seed)
    x_fit, x_val = split_validation(as_inputs(dataset.x_train))
    encoder, decoder = build_encoder(), build_decoder()
    autoencoder = build_autoencoder(encoder, decoder)
    autoencoder.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    autoencoder.fit(x_fit, x_fit, validation_data=(x_val, x_val), batch_size=BATCH_SIZE,
                    epochs=budget.cap(EPOCHS, smoke=SMOKE_EPOCHS), callbacks=[stop], verbose=0)
    return encoder, decoder


def reconstruct(encoder, decoder, x, chunk=500):
    return np.concatenate([np.asarray(decoder(encoder(x[i:i + chunk], training=False), training=False))
                           for i in range(0, len(x), chunk)])


def reconstruction_scores(encoder, decoder, dataset) -> dict:
    """{"r2", "mse", "mean_image_mse"} on the held-out images (MSE per pixel)."""
    x_test = as_inputs(dataset.x_test)
    mean_image = as_inputs(dataset.x_train).mean(axis=0, keepdims=True)
    model_error = reconstruction_error(x_test, reconstruct(encoder, decoder, x_test)).sum()
    mean_error = reconstruction_error(x_test, np.broadcast_to(mean_image, x_test.shape)).sum()
    pixels = x_test.size
    return {"r2": float(1.0 - model_error / mean_error), "mse": float(model_error / pixels),
            "mean_image_mse": float(mean_error / pixels)}


def score_reconstruction(dataset, budget, seed):
    return reconstruction_scores(*train_autoencoder(dataset, budget, seed), dataset)["r2"]


# ------------------------------------------------------------------ 2. latent editing


def attribute_vector(encoder, x_from, x_to):
    """mean_i (e(x_to_i) - e(x_from_i)): float (latent_dim,)."""
    codes_from = np.asarray(encoder(np.asarray(x_from, "float32"), training=False), dtype=np.float64)
    codes_to = np.asarray(encoder(np.asarray(x_to, "float32"), training=False), dtype=np.float64)
    return (codes_to - codes_from).mean(axis=0)


def edit(encoder, decoder, x, vector, alpha):
    """d(e(x) + alpha v): float32 (n, 28, 28, 1)."""
    codes = np.asarray(encoder(np.asarray(x, "float32"), training=False))
    moved = (codes + alpha * np.asarray(vector, dtype="float32")[None, :]).astype("float32")
    return np.asarray(decoder(moved, training=False))


def class_pairs(dataset, a, b, limit=ATTRIBUTE_TRAIN_PAIRS):
    """Training images of class a and class b, as many pairs as both have (at most ``limit``)."""
    x_a = dataset.x_train[dataset.y_train == a]
    x_b = dataset.x_train[dataset.y_train == b]
    count = min(len(x_a), len(x_b), limit)
    return as_inputs(x_a[:count]), as_inputs(x_b[:count])


def attribute_shift(encoder, decoder, dataset, classifier) -> dict:
    """{"shift", "pairs": {"a->b": (before, after)}}: the classifier's share of label b
    among the held-out images of a, before and after the edit."""
    per_pair = {}
    for a, b in ATTRIBUTE_PAIRS:
        x_from, x_to = class_pairs(dataset, a, b)
        vector = attribute_vector(encoder, x_from, x_to)
        x_test = as_inputs(dataset.x_test[dataset.y_test == a])
        before = float(np.mean(predict_labels(classifier, x_test) == b))
        after = float(np.mean(predict_labels(classifier, edit(encoder, decoder, x_test, vector, EDIT_ALPHA)) == b))
        per_pair[f"{a}->{b}"] = (before, after)
    shift = float(np.mean([after - before for before, after in per_pair.values()]))
    return {"shift": shift, "pairs": per_pair}


def score_attribute(dataset, budget, seed):
    encoder, decoder = train_autoencoder(dataset, budget, seed)
    return attribute_shift(encoder, decoder, dataset, train_digit_classifier(dataset))["shift"]


# ------------------------------------------------------------------ 3. adversarial examples


def fgsm(model, images, labels, epsilon):
    """x + epsilon sign(grad_x L(model(x), y)), clipped to [0, 1]; L the cross-entropy of the logits."""
    import tensorflow as tf

    x = tf.convert_to_tensor(np.asarray(images, dtype="float32"))
    y = tf.convert_to_tensor(np.asarray(labels, dtype="int64"))
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(y, model(x, training=False)))
    gradient = tape.gradient(loss, x)
    return np.clip(np.asarray(x + epsilon * tf.sign(gradient)), 0.0, 1.0)


def input_gradient(model, images, labels):
    """grad_x of the summed cross-entropy: float32 like ``images`` (for the judges' tolerance)."""
    import tensorflow as tf

    x = tf.convert_to_tensor(np.asarray(images, dtype="float32"))
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(
            np.asarray(labels, dtype="int64"), model(x, training=False)))
    return np.asarray(tape.gradient(loss, x))


def targeted_perturbation(model, images, targets, c=0.1, steps=20, learning_rate=0.5):
    """Gradient descent on r for sum_i c ||r_i||^2 + L(x_i + r_i, k_i), r_0 = 0, keeping x + r in [0, 1]."""
    import tensorflow as tf

    x = tf.convert_to_tensor(np.asarray(images, dtype="float32"))
    k = tf.convert_to_tensor(np.asarray(targets, dtype="int64"))
    r = tf.zeros_like(x)
    for _ in range(steps):
        with tf.GradientTape() as tape:
            tape.watch(r)
            objective = (c * tf.reduce_sum(tf.square(r))
                         + tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(k, model(x + r, training=False))))
        r = r - learning_rate * tape.gradient(objective, r)
        r = tf.clip_by_value(x + r, 0.0, 1.0) - x
    return np.asarray(x + r)


def attack_data(dataset):
    """The held-out images the grader attacks: float32 (m, 28, 28, 1) and their labels int64 (m,)."""
    count = min(ATTACK_IMAGES, len(dataset.x_test))
    return as_inputs(dataset.x_test[:count]), np.asarray(dataset.y_test[:count], dtype="int64")


def targets_for(labels):
    return (np.asarray(labels, dtype="int64") + 1) % 10


def flip_rate(classifier, x, y, x_adversarial) -> float:
    """Among the images the classifier gets right, the share it gets wrong after the attack."""
    correct = predict_labels(classifier, x) == y
    flipped = predict_labels(classifier, x_adversarial) != y
    return float(np.mean(flipped[correct])) if correct.any() else 0.0


def target_rate(classifier, x_adversarial, targets) -> float:
    return float(np.mean(predict_labels(classifier, x_adversarial) == targets))


def score_fgsm(dataset, budget, seed):
    classifier = train_digit_classifier(dataset, seed=CLASSIFIER_SEED + seed)
    x, y = attack_data(dataset)
    return flip_rate(classifier, x, y, fgsm(classifier, x, y, EPSILON))


def score_targeted(dataset, budget, seed):
    classifier = train_digit_classifier(dataset, seed=CLASSIFIER_SEED + seed)
    x, y = attack_data(dataset)
    x, y = x[:TARGETED_IMAGES], y[:TARGETED_IMAGES]
    targets = targets_for(y)
    return target_rate(classifier, targeted_perturbation(classifier, x, targets, **TARGETED), targets)


# ------------------------------------------------------------------ 4. bilinear sampling (optional part)


def affine_grid(theta, height, width):
    """Source coordinates (x_s, y_s) in [-1, 1] of each output pixel: float (n, height, width, 2).

    theta (n, 2, 3) maps the target grid (x_t, y_t, 1), x_t and y_t evenly spaced in [-1, 1]
    (linspace, corners included), to the source: (x_s, y_s) = theta @ (x_t, y_t, 1).
    """
    theta = np.asarray(theta, dtype=np.float64)
    y_t, x_t = np.meshgrid(np.linspace(-1, 1, height), np.linspace(-1, 1, width), indexing="ij")
    target = np.stack([x_t, y_t, np.ones_like(x_t)], axis=-1)          # (height, width, 3)
    return np.einsum("nij,hwj->nhwi", theta, target)


def bilinear_sample(images, grid):
    """V_i = sum_nm U_nm max(0, 1 - |x_i - m|) max(0, 1 - |y_i - n|) (Jaderberg et al. 2015, eq. 5).

    images (n, H, W, C); grid (n, h, w, 2) of (x, y) in [-1, 1], -1 the centre of the first
    pixel and +1 that of the last (x = (x_grid + 1)(W - 1) / 2); outside the image counts as 0.
    Returns float (n, h, w, C).
    """
    images = np.asarray(images, dtype=np.float64)
    grid = np.asarray(grid, dtype=np.float64)
    n, height, width, channels = images.shape
    x = (grid[..., 0] + 1.0) * (width - 1) / 2.0
    y = (grid[..., 1] + 1.0) * (height - 1) / 2.0
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    out = np.zeros(grid.shape[:-1] + (channels,))
    batch = np.arange(n)[:, None, None]
    for dx in (0, 1):
        for dy in (0, 1):
            xi, yi = x0 + dx, y0 + dy
            weight = np.maximum(0.0, 1.0 - np.abs(x - xi)) * np.maximum(0.0, 1.0 - np.abs(y - yi))
            inside = (xi >= 0) & (xi < width) & (yi >= 0) & (yi < height)
            values = images[batch, np.clip(yi, 0, height - 1), np.clip(xi, 0, width - 1)]
            out += np.where(inside, weight, 0.0)[..., None] * values
    return out


SCORES = {"reconstruction_r2": score_reconstruction, "attribute_shift": score_attribute,
          "fgsm_flip_rate": score_fgsm, "targeted_success": score_targeted}
