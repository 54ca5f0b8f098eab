"""Reference for lab 11 (GANs and moment matching).

Calibrated numbers (``SCORES``), all measured by the grader on its own copy of the data:

- ``digit_confidence``: the mean largest class probability that the grader's digit
  classifier (``coursekit.gan.train_digit_classifier``, trained on the grader's training
  split with a fixed seed) gives 1 000 samples of the trained DCGAN generator;
- ``class_entropy``: the entropy of the histogram of those samples' predicted classes,
  divided by ln 10 (0: every sample the same digit, mode collapse; 1: all ten equally);
- ``mmd_gain``: log10 of MMD²(untrained moment-matching generator, held-out digits) over
  MMD²(trained one, held-out digits): how many orders of magnitude closer to the data
  training on MMD² brought the generator.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from coursekit.gan import class_probabilities, generate, latent_batch, sample_scores, train_digit_classifier

LAB_ID = "11-gans"
DATASET = "mnist"
METRIC = "digit_confidence"

LATENT_DIM = 64
BATCH_SIZE = 64
GAN_STEPS_FULL, GAN_STEPS_SMOKE = 744, 120  # 12 passes over the 4 000 offline digits
LEARNING_RATE, BETA_1 = 1e-3, 0.5  # DCGAN says 2e-4; 1e-3 learns digits within a CPU budget
LEAK = 0.2

MMD_LATENT_DIM = 16
MMD_SIGMAS = (2.0, 5.0, 10.0, 20.0, 40.0, 80.0)
MMD_BATCH = 200
MMD_STEPS_FULL, MMD_STEPS_SMOKE = 600, 150
MMD_LEARNING_RATE = 1e-3

SAMPLES = 1000           # generated images the grader classifies
SAMPLE_SEED = 11011      # the grader's latent vectors (the notebook uses others)
MMD_SAMPLES = 500


# ---------------------------------------------------------------- data (ganhacks)


def to_gan_range(images):
    """uint8 (n, 28, 28) -> float32 (n, 28, 28, 1) in [-1, 1]."""
    return (np.asarray(images, dtype="float32") / 127.5 - 1.0)[..., None]


# ---------------------------------------------------------------- losses


def discriminator_loss(real_logits, fake_logits):
    """-(mean ln D(x) + mean ln(1 - D(G(z)))), D = sigmoid(logit)."""
    return -(ops.mean(ops.log_sigmoid(real_logits)) + ops.mean(ops.log_sigmoid(-fake_logits)))


def generator_loss_minimax(fake_logits):
    """mean ln(1 - D(G(z))): what G minimises in the original minimax game."""
    return ops.mean(ops.log_sigmoid(-fake_logits))


def generator_loss_nonsaturating(fake_logits):
    """-mean ln D(G(z)): G maximises ln D(G(z)) instead (fakes labelled real)."""
    return -ops.mean(ops.log_sigmoid(fake_logits))


def pull_away_term(embeddings):
    """EBGAN's f_PT: mean squared cosine similarity over the N(N-1) ordered pairs i != j."""
    s = np.asarray(embeddings, dtype=np.float64)
    unit = s / np.linalg.norm(s, axis=1, keepdims=True)
    cosine = unit @ unit.T
    n = len(s)
    return float((np.sum(cosine ** 2) - np.sum(np.diag(cosine) ** 2)) / (n * (n - 1)))


# ---------------------------------------------------------------- DCGAN


def build_generator(latent_dim=LATENT_DIM):
    return keras.Sequential([
        keras.Input(shape=(latent_dim,)),
        keras.layers.Dense(7 * 7 * 64, use_bias=False),
        keras.layers.BatchNormalization(),
        keras.layers.LeakyReLU(negative_slope=LEAK),
        keras.layers.Reshape((7, 7, 64)),
        keras.layers.Conv2DTranspose(32, 4, strides=2, padding="same", use_bias=False),
        keras.layers.BatchNormalization(),
        keras.layers.LeakyReLU(negative_slope=LEAK),
        keras.layers.Conv2DTranspose(1, 4, strides=2, padding="same", activation="tanh"),
    ], name="generator")


def build_discriminator():
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Conv2D(32, 4, strides=2, padding="same"),
        keras.layers.LeakyReLU(negative_slope=LEAK),
        keras.layers.Conv2D(64, 4, strides=2, padding="same"),
        keras.layers.LeakyReLU(negative_slope=LEAK),
        keras.layers.Flatten(),
        keras.layers.Dense(1),
    ], name="discriminator")


def train_step(generator, discriminator, g_optimizer, d_optimizer, real_images, z):
    """One step of D (real vs generated), then one of G (non-saturating). Returns (d_loss, g_loss)."""
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


def gan_steps(budget):
    """A fixed number of batches, whatever the size of the data (60 000 canonical digits or 4 000 offline)."""
    return budget.cap(GAN_STEPS_FULL, smoke=GAN_STEPS_SMOKE)


def train_gan(images, steps, seed, step_function=train_step, build=(build_generator, build_discriminator)):
    """Train a DCGAN on GAN-range ``images`` (n, 28, 28, 1) for ``steps`` batches.

    Returns:
        (generator, discriminator, {"discriminator": [...], "generator": [...]} per step)
    """
    from coursekit.lab import set_determinism

    set_determinism(seed)
    generator, discriminator = build[0](), build[1]()
    g_optimizer = keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1)
    d_optimizer = keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1)
    g_optimizer.build(generator.trainable_variables)
    d_optimizer.build(discriminator.trainable_variables)
    step = tf.function(lambda real, z: step_function(generator, discriminator, g_optimizer, d_optimizer, real, z))
    rng = np.random.default_rng(seed)
    latent_dim = generator.inputs[0].shape[-1]
    history = {"discriminator": [], "generator": []}
    order = np.array([], dtype=int)
    for _ in range(steps):
        if len(order) < BATCH_SIZE:
            order = rng.permutation(len(images))
        batch, order = order[:BATCH_SIZE], order[BATCH_SIZE:]
        z = rng.standard_normal((BATCH_SIZE, latent_dim)).astype("float32")
        d_loss, g_loss = step(images[batch], z)
        history["discriminator"].append(float(d_loss))
        history["generator"].append(float(g_loss))
    return generator, discriminator, history


_GENERATORS = {}


def _generator_for(dataset, budget, seed):
    """The reference DCGAN generator for one seed, trained once per process (both metrics use it)."""
    key = (dataset.key, len(dataset.x_train), budget.name, seed)
    if key not in _GENERATORS:
        _GENERATORS[key] = train_gan(to_gan_range(dataset.x_train), gan_steps(budget), seed)[0]
    return _GENERATORS[key]


# ---------------------------------------------------------------- the grader's classifier


_CLASSIFIERS = {}


def grader_classifier(dataset):
    """The grader's digit classifier for this data, trained once per process (fixed seed)."""
    key = (dataset.key, len(dataset.x_train), len(dataset.x_test))
    if key not in _CLASSIFIERS:
        _CLASSIFIERS[key] = train_digit_classifier(dataset)
    return _CLASSIFIERS[key]


def generator_scores(generator, dataset, n=SAMPLES, seed=SAMPLE_SEED):
    """``coursekit.gan.sample_scores`` of ``n`` samples drawn with the grader's latent vectors."""
    classifier, _ = grader_classifier(dataset)
    z = latent_batch(n, int(generator.inputs[0].shape[-1]), seed)
    return sample_scores(class_probabilities(classifier, generate(generator, z)))


def score_digit_confidence(dataset, budget, seed):
    return generator_scores(_generator_for(dataset, budget, seed), dataset)["confidence"]


def score_class_entropy(dataset, budget, seed):
    return generator_scores(_generator_for(dataset, budget, seed), dataset)["class_entropy"]


# ---------------------------------------------------------------- moment matching


def mmd2(x, y, sigmas=MMD_SIGMAS):
    """Biased MMD² of samples x (N, d) and y (M, d) under k(a, b) = Σ_s exp(-‖a - b‖² / (2 σ_s²))."""
    x = ops.reshape(x, (ops.shape(x)[0], -1))
    y = ops.reshape(y, (ops.shape(y)[0], -1))

    def kernel(a, b):
        distances = (ops.sum(a * a, axis=1)[:, None] + ops.sum(b * b, axis=1)[None, :]
                     - 2.0 * ops.matmul(a, ops.transpose(b)))
        distances = ops.maximum(distances, 0.0)
        return sum(ops.exp(-distances / (2.0 * sigma ** 2)) for sigma in sigmas)

    return ops.mean(kernel(x, x)) - 2.0 * ops.mean(kernel(x, y)) + ops.mean(kernel(y, y))


def mmd2_numpy(x, y, sigmas=MMD_SIGMAS):
    """The same estimator in float64 NumPy: the grader's yardstick."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)

    def mean_kernel(a, b):
        distances = np.maximum((a * a).sum(axis=1)[:, None] + (b * b).sum(axis=1)[None, :] - 2.0 * a @ b.T, 0.0)
        return sum(np.exp(-distances / (2.0 * sigma ** 2)) for sigma in sigmas).mean()

    return float(mean_kernel(x, x) - 2.0 * mean_kernel(x, y) + mean_kernel(y, y))


def build_mmd_generator(latent_dim=MMD_LATENT_DIM):
    return keras.Sequential([
        keras.Input(shape=(latent_dim,)),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dense(784, activation="tanh"),
        keras.layers.Reshape((28, 28, 1)),
    ], name="moment_matching_generator")


def mmd_steps(budget):
    return budget.cap(MMD_STEPS_FULL, smoke=MMD_STEPS_SMOKE)


def mmd_train_step(generator, optimizer, real_images, z):
    with tf.GradientTape() as tape:
        loss = mmd2(generator(z, training=True), real_images)
    gradients = tape.gradient(loss, generator.trainable_variables)
    optimizer.apply_gradients(zip(gradients, generator.trainable_variables))
    return loss


def train_mmd_generator(images, steps, seed, step_function=mmd_train_step):
    from coursekit.lab import set_determinism

    set_determinism(seed)
    generator = build_mmd_generator()
    optimizer = keras.optimizers.Adam(MMD_LEARNING_RATE)
    optimizer.build(generator.trainable_variables)
    step = tf.function(lambda real, z: step_function(generator, optimizer, real, z))
    rng = np.random.default_rng(seed)
    history = []
    for _ in range(steps):
        batch = rng.choice(len(images), MMD_BATCH, replace=False)
        z = rng.standard_normal((MMD_BATCH, MMD_LATENT_DIM)).astype("float32")
        history.append(float(step(images[batch], z)))
    return generator, history


def held_out_images(dataset, n=MMD_SAMPLES):
    return to_gan_range(dataset.x_test[:n])


_BASELINES = {}


def _baseline_mmd(dataset):
    """MMD² between an untrained moment-matching generator (seed 0) and the held-out digits."""
    from coursekit.lab import set_determinism

    key = (dataset.key, len(dataset.x_test))
    if key not in _BASELINES:
        set_determinism(0)
        untrained = build_mmd_generator()
        _BASELINES[key] = mmd2_numpy(generate(untrained, latent_batch(MMD_SAMPLES, MMD_LATENT_DIM, SAMPLE_SEED)),
                                     held_out_images(dataset))
    return _BASELINES[key]


def mmd_gain(generator, dataset):
    """log10(MMD²(untrained reference generator) / MMD²(generator)), both against held-out digits."""
    baseline = _baseline_mmd(dataset)
    z = latent_batch(MMD_SAMPLES, int(generator.inputs[0].shape[-1]), SAMPLE_SEED)
    found = mmd2_numpy(generate(generator, z), held_out_images(dataset))
    return float(np.log10(baseline / max(found, 1e-12))), found, baseline


def score_mmd_gain(dataset, budget, seed):
    generator, _ = train_mmd_generator(to_gan_range(dataset.x_train), mmd_steps(budget), seed)
    return mmd_gain(generator, dataset)[0]


# ---------------------------------------------------------------- Laplacian pyramid


def downsample(image):
    """(h, w) -> (h/2, w/2): the mean of each 2×2 block."""
    image = np.asarray(image, dtype=np.float64)
    h, w = image.shape
    return image.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))


def upsample(image):
    """(h, w) -> (2h, 2w): each pixel repeated into a 2×2 block."""
    return np.repeat(np.repeat(np.asarray(image, dtype=np.float64), 2, axis=0), 2, axis=1)


def laplacian_pyramid(image, levels):
    """[L_0, ..., L_{levels-1}, G_levels] with G_0 = image, G_{i+1} = downsample(G_i), L_i = G_i - upsample(G_{i+1})."""
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


def reconstruct_pyramid(pyramid):
    """G_i = L_i + upsample(G_{i+1}), from the coarsest level down to G_0."""
    image = np.asarray(pyramid[-1], dtype=np.float64)
    for laplacian in reversed(pyramid[:-1]):
        image = np.asarray(laplacian, dtype=np.float64) + upsample(image)
    return image


SCORES = {"digit_confidence": score_digit_confidence, "class_entropy": score_class_entropy,
          "mmd_gain": score_mmd_gain}
