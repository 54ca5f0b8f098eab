"""Lab 11 (GANs and moment matching): typical wrong answers caught, with their messages,
by the hidden checks (``autograder.check.check``, as plain nbgrader runs them) and by the
notebook's visible checks; the thresholds fail the shortcuts they guard; the reference
losses equal Keras's own cross-entropy.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from autograder import thresholds
from autograder.check import check
from autograder.exercise import Failure
from autograder.labs import reference as _lab_reference
from coursekit import gan
from coursekit.checks import CheckFailed
from coursekit.data import load_mnist
from coursekit.lab import budget_from_env

LAB = "11-gans"
reference = _lab_reference(LAB)


def _fails(grade_id, names, expected):
    with pytest.raises(Failure) as failure:
        check(LAB, grade_id, names)
    assert expected in str(failure.value), str(failure.value)


# ------------------------------------------------------------------ the reference itself


def test_reference_losses_equal_keras_binary_cross_entropy():
    rng = np.random.default_rng(0)
    real, fake = rng.normal(0, 3, 9).astype("float32"), rng.normal(0, 3, 7).astype("float32")
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    assert float(reference.discriminator_loss(real, fake)) == pytest.approx(
        float(bce(np.ones(9), real)) + float(bce(np.zeros(7), fake)), rel=1e-5)
    assert float(reference.generator_loss_nonsaturating(fake)) == pytest.approx(float(bce(np.ones(7), fake)), rel=1e-5)
    assert float(reference.generator_loss_minimax(fake)) == pytest.approx(-float(bce(np.zeros(7), fake)), rel=1e-5)


def test_reference_mmd2_keras_and_numpy_agree_and_vanish_on_equal_samples():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(20, 7)), rng.normal(0.3, 1.2, size=(15, 7))
    assert float(reference.mmd2(x, y, [1.0, 4.0])) == pytest.approx(reference.mmd2_numpy(x, y, [1.0, 4.0]), rel=1e-9)
    assert reference.mmd2_numpy(x, x, [1.0, 4.0]) == pytest.approx(0.0, abs=1e-12)
    assert reference.mmd2_numpy(x, y, [1.0, 4.0]) > 0.01


def test_reference_answers_pass_every_hidden_check_that_needs_no_training():
    names = {name: getattr(reference, name) for name in (
        "to_gan_range", "discriminator_loss", "generator_loss_minimax", "generator_loss_nonsaturating",
        "pull_away_term", "build_generator", "build_discriminator", "train_step", "mmd2", "laplacian_pyramid",
        "reconstruct_pyramid")}
    for grade_id in ("gan_range", "d_loss", "g_losses", "pull_away", "dcgan_generator", "dcgan_discriminator",
                     "gan_step", "mmd_estimator", "pyramid", "reconstruct"):
        check(LAB, grade_id, names)


# ------------------------------------------------------------------ losses


def _naive_discriminator_loss(real_logits, fake_logits):
    return -(ops.mean(ops.log(ops.sigmoid(real_logits))) + ops.mean(ops.log(1 - ops.sigmoid(fake_logits))))


def _numpy_discriminator_loss(real_logits, fake_logits):
    real, fake = np.asarray(real_logits, dtype=np.float64), np.asarray(fake_logits, dtype=np.float64)
    return -(np.mean(-np.logaddexp(0, -real)) + np.mean(-np.logaddexp(0, fake)))


def _summed_discriminator_loss(real_logits, fake_logits):
    return -(ops.sum(ops.log_sigmoid(real_logits)) + ops.sum(ops.log_sigmoid(-fake_logits)))


@pytest.mark.parametrize("wrong, expected", [
    (_naive_discriminator_loss, "(not finite)"),
    (_numpy_discriminator_loss, "no gradient flows back to real_logits"),
    (_summed_discriminator_loss, "discriminator_loss (case 1, logits up to"),
])
def test_hidden_d_loss_rejects(wrong, expected):
    _fails("d_loss", {"discriminator_loss": wrong}, expected)


def test_hidden_g_losses_reject_the_two_swapped():
    _fails("g_losses", {"generator_loss_minimax": reference.generator_loss_nonsaturating,
                        "generator_loss_nonsaturating": reference.generator_loss_minimax},
           "generator_loss_minimax (case 1): value")


def test_hidden_g_losses_reject_a_sign_error():
    _fails("g_losses", {"generator_loss_minimax": reference.generator_loss_minimax,
                        "generator_loss_nonsaturating": lambda fake: ops.mean(ops.log_sigmoid(fake))},
           "generator_loss_nonsaturating (case 1): value")


# ------------------------------------------------------------------ models and the training step


def _generator_with_default_leak(latent_dim=64):
    """The reference generator with Keras's default LeakyReLU slope (0.3) instead of 0.2."""
    return keras.Sequential([
        keras.Input(shape=(latent_dim,)), keras.layers.Dense(7 * 7 * 64, use_bias=False),
        keras.layers.BatchNormalization(), keras.layers.LeakyReLU(), keras.layers.Reshape((7, 7, 64)),
        keras.layers.Conv2DTranspose(32, 4, strides=2, padding="same", use_bias=False),
        keras.layers.BatchNormalization(), keras.layers.LeakyReLU(),
        keras.layers.Conv2DTranspose(1, 4, strides=2, padding="same", activation="tanh")])


def test_hidden_generator_rejects_keras_default_leaky_slope():
    _fails("dcgan_generator", {"build_generator": _generator_with_default_leak}, "build_generator(): LeakyReLU number 1 has negative_slope=0.3, expected 0.2")


def test_hidden_discriminator_rejects_a_sigmoid_output():
    def build_discriminator():
        model = reference.build_discriminator()
        return keras.Sequential([keras.Input(shape=(28, 28, 1)), *model.layers[:-1],
                                 keras.layers.Dense(1, activation="sigmoid")])
    _fails("dcgan_discriminator", {"build_discriminator": build_discriminator}, "expected Dense(1)")


def _minimax_step(generator, discriminator, g_optimizer, d_optimizer, real_images, z):
    with tf.GradientTape() as tape:
        d_loss = reference.discriminator_loss(discriminator(real_images, training=True),
                                              discriminator(generator(z, training=True), training=True))
    d_optimizer.apply_gradients(zip(tape.gradient(d_loss, discriminator.trainable_variables),
                                    discriminator.trainable_variables))
    with tf.GradientTape() as tape:
        g_loss = reference.generator_loss_minimax(discriminator(generator(z, training=True), training=True))
    g_optimizer.apply_gradients(zip(tape.gradient(g_loss, generator.trainable_variables), generator.trainable_variables))
    return d_loss, g_loss


def _inference_mode_step(generator, discriminator, g_optimizer, d_optimizer, real_images, z):
    with tf.GradientTape() as tape:
        d_loss = reference.discriminator_loss(discriminator(real_images), discriminator(generator(z)))
    d_optimizer.apply_gradients(zip(tape.gradient(d_loss, discriminator.trainable_variables),
                                    discriminator.trainable_variables))
    with tf.GradientTape() as tape:
        g_loss = reference.generator_loss_nonsaturating(discriminator(generator(z)))
    g_optimizer.apply_gradients(zip(tape.gradient(g_loss, generator.trainable_variables), generator.trainable_variables))
    return d_loss, g_loss


def _generator_first_step(generator, discriminator, g_optimizer, d_optimizer, real_images, z):
    with tf.GradientTape() as tape:
        g_loss = reference.generator_loss_nonsaturating(discriminator(generator(z, training=True), training=True))
    g_optimizer.apply_gradients(zip(tape.gradient(g_loss, generator.trainable_variables), generator.trainable_variables))
    with tf.GradientTape() as tape:
        d_loss = reference.discriminator_loss(discriminator(real_images, training=True),
                                              discriminator(generator(z, training=True), training=True))
    d_optimizer.apply_gradients(zip(tape.gradient(d_loss, discriminator.trainable_variables),
                                    discriminator.trainable_variables))
    return d_loss, g_loss


@pytest.mark.parametrize("wrong, expected", [
    (_minimax_step, "train_step (call 1): g_loss (the non-saturating loss"),
    (_inference_mode_step, "train_step (call 1): d_loss"),
    (_generator_first_step, "train_step (call 1): d_loss"),
])
def test_hidden_gan_step_rejects(wrong, expected):
    _fails("gan_step", {"train_step": wrong}, expected)


def test_visible_gan_step_check_rejects_the_minimax_step():
    real, z = np.random.default_rng(0).uniform(-1, 1, (8, 28, 28, 1)).astype("float32"), gan.latent_batch(8, 64, 1)
    with pytest.raises(CheckFailed, match="g_loss returned by train_step"):
        gan.check_gan_step(_minimax_step, reference.build_generator, reference.build_discriminator,
                           reference.discriminator_loss, reference.generator_loss_nonsaturating, real, z)


def test_visible_leaky_slope_check_names_keras_default():
    with pytest.raises(CheckFailed, match="negative_slope=0.3, expected 0.2"):
        gan.check_leaky_slopes(_generator_with_default_leak(), 0.2)


# ------------------------------------------------------------------ MMD² and the pyramid


def _mmd2_variance_for_sigma(x, y, sigmas):
    return reference.mmd2(x, y, [np.sqrt(sigma) for sigma in sigmas])


def _mmd2_unbiased(x, y, sigmas):
    x, y = ops.reshape(x, (ops.shape(x)[0], -1)), ops.reshape(y, (ops.shape(y)[0], -1))

    def kernel(a, b):
        d = ops.sum(a * a, 1)[:, None] + ops.sum(b * b, 1)[None, :] - 2 * ops.matmul(a, ops.transpose(b))
        return sum(ops.exp(-d / (2 * s ** 2)) for s in sigmas)

    n, m = ops.shape(x)[0], ops.shape(y)[0]
    kxx, kyy = kernel(x, x), kernel(y, y)
    return ((ops.sum(kxx) - ops.sum(ops.diagonal(kxx))) / (n * (n - 1)) - 2 * ops.mean(kernel(x, y))
            + (ops.sum(kyy) - ops.sum(ops.diagonal(kyy))) / (m * (m - 1)))


@pytest.mark.parametrize("wrong, expected", [
    (_mmd2_variance_for_sigma, "mmd2 (case 1: N=9, M=6, sigmas=[1.0, 3.0]): value"),
    (_mmd2_unbiased, "mmd2 (case 1: N=9, M=6, sigmas=[1.0, 3.0]): value"),
    (lambda x, y, sigmas: reference.mmd2_numpy(x, y, sigmas), "no gradient flows back to x"),
])
def test_hidden_mmd_rejects(wrong, expected):
    _fails("mmd_estimator", {"mmd2": wrong}, expected)


def test_hidden_pyramid_requires_a_value_error_and_the_right_levels():
    def no_check(image, levels):
        return reference.laplacian_pyramid(image, levels) if np.shape(image)[0] % 2 ** levels == 0 else [image]

    _fails("pyramid", {"laplacian_pyramid": no_check}, "should raise ValueError")

    def gaussian_levels(image, levels):
        pyramid = reference.laplacian_pyramid(image, levels)
        images = [reference.reconstruct_pyramid(pyramid[i:]) for i in range(levels)]
        return images + [pyramid[-1]]

    _fails("pyramid", {"laplacian_pyramid": gaussian_levels}, "L_0")


def test_hidden_reconstruct_rejects_the_wrong_order():
    def wrong_order(pyramid):
        image = pyramid[-1]
        for laplacian in pyramid[:-1]:
            image = laplacian + reference.upsample(image)
        return image

    with pytest.raises(Failure, match="your code raised"):
        check(LAB, "reconstruct", {"laplacian_pyramid": reference.laplacian_pyramid, "reconstruct_pyramid": wrong_order})


# ------------------------------------------------------------------ thresholds guard the shortcuts


@pytest.fixture(scope="module")
def data():
    return load_mnist(verbose=False)


def _constant_generator(image, latent_dim=64):
    """A generator that ignores z and always draws ``image`` (28, 28) in [-1, 1]: zero kernel, bias = atanh(image)."""
    model = keras.Sequential([keras.Input(shape=(latent_dim,)), keras.layers.Dense(784, activation="tanh"),
                              keras.layers.Reshape((28, 28, 1))])
    bias = np.arctanh(np.clip(np.asarray(image, dtype=np.float64).ravel(), -0.999, 0.999)).astype("float32")
    model.set_weights([np.zeros((latent_dim, 784), "float32"), bias])
    return model


def _threshold(metric, data):
    return thresholds.lookup(LAB, metric, data.key, budget_from_env().name)["threshold"]


def test_untrained_generator_fails_both_sample_thresholds(data):
    keras.utils.set_random_seed(3)
    scores = reference.generator_scores(reference.build_generator(), data)
    assert scores["confidence"] < _threshold("digit_confidence", data)
    assert scores["class_entropy"] < _threshold("class_entropy", data)


def test_collapsed_generator_fails_the_entropy_threshold_however_good_its_digit(data):
    digit = reference.to_gan_range(data.x_train[:1])[0, ..., 0]
    scores = reference.generator_scores(_constant_generator(digit), data)
    assert scores["confidence"] > 0.5          # a real digit: the classifier is sure of it
    assert scores["class_entropy"] == 0.0 < _threshold("class_entropy", data)


def test_noise_and_the_mean_digit_fail_the_confidence_threshold(data):
    mean_digit = reference.to_gan_range(data.x_train).mean(axis=0)[..., 0]
    noise = keras.Sequential([keras.Input(shape=(64,)), keras.layers.Dense(784, activation="tanh"),
                              keras.layers.Reshape((28, 28, 1))])
    noise.set_weights([np.random.default_rng(0).normal(0, 3, (64, 784)).astype("float32"), np.zeros(784, "float32")])
    for shortcut in (_constant_generator(mean_digit), noise):
        assert reference.generator_scores(shortcut, data)["confidence"] < _threshold("digit_confidence", data)


def test_mmd_gain_threshold_fails_untrained_and_mean_digit_generators(data):
    keras.utils.set_random_seed(5)
    untrained = reference.build_mmd_generator()
    mean_digit = reference.to_gan_range(data.x_train).mean(axis=0)[..., 0]
    for shortcut in (untrained, _constant_generator(mean_digit, reference.MMD_LATENT_DIM)):
        assert reference.mmd_gain(shortcut, data)[0] < _threshold("mmd_gain", data)


def test_judging_classifier_is_deterministic_and_knows_digits_from_non_digits(data):
    first, accuracy = gan.train_digit_classifier(data)
    second, _ = gan.train_digit_classifier(data)
    images = reference.to_gan_range(data.x_test[:50])
    np.testing.assert_array_equal(gan.class_probabilities(first, images), gan.class_probabilities(second, images))
    assert accuracy > 0.7
    negatives = gan.not_digits(data.x_test, seed=9)[..., None] / 127.5 - 1.0
    assert gan.sample_scores(gan.class_probabilities(first, negatives))["not_digits"] > 0.7 * len(negatives)
