"""Lab 13 (autoencoders, latent editing, adversarial examples, bilinear sampling).

Visible checks: the notebook's set-up cell and reference answers run in-process, then one
wrong answer, then the exercise's check cell from the student notebook. Hidden checks: the
declarations' ``call`` and ``judge`` (``autograder.check.check``) on wrong answers, with their
messages; thresholds that fail the shortcuts they guard; the reference against Keras,
TensorFlow and SciPy where it claims to compute the same.
"""

import json

import numpy as np
import pytest

from autograder.check import check
from autograder.exercise import Failure
from autograder.labs import reference as lab_reference
from autograder.thresholds import lookup
from lab_cells import run_check
from solution_text import REPO

LAB = "13-autoencoders"
reference = lab_reference(LAB)


def _cells(folder):
    (notebook,) = (REPO / folder / LAB).glob("*.ipynb")
    return json.loads(notebook.read_text())["cells"]


@pytest.fixture(scope="module")
def lab13():
    """(student cells by id, namespace): set-up, every reference answer, an untrained autoencoder
    and the digit classifier (the visible checks only need their properties)."""
    import keras

    from coursekit.autoencoders import train_digit_classifier

    student = {cell["metadata"]["nbgrader"]["grade_id"]: "".join(cell["source"]) for cell in _cells("labs")}
    namespace = {}
    exec(student["cell-01"], namespace)
    for cell in _cells("solutions"):
        source = "".join(cell["source"])
        if cell["metadata"]["nbgrader"]["solution"] and source.startswith("def "):
            exec(source, namespace)
    keras.utils.set_random_seed(0)
    namespace["encoder"], namespace["decoder"] = reference.build_encoder(), reference.build_decoder()
    namespace["classifier"] = train_digit_classifier(namespace["data"])
    exec(student["fgsm"].split("check_array(")[0], namespace)   # the linear toy model the checks share
    return student, namespace


@pytest.fixture(scope="module")
def trained():
    """The reference autoencoder at the smoke budget on the offline data (seed 0)."""
    from coursekit.data import load_mnist
    from coursekit.lab import BUDGETS

    dataset = load_mnist(mode="offline", budget=BUDGETS["smoke"], verbose=False)
    encoder, decoder = reference.train_autoencoder(dataset, BUDGETS["smoke"], 0)
    return dataset, encoder, decoder


def _threshold(metric):
    return lookup(LAB, metric, "mnist5k_offline", "smoke")["threshold"]


# ------------------------------------------------------------------ visible checks


def test_reference_answers_pass_every_visible_check(lab13):
    source, base = lab13
    for test_id in ("reconstruction_error", "autoencoder", "latent_edit", "fgsm", "targeted", "bilinear"):
        exec(source[test_id], dict(base))


@pytest.mark.parametrize("test_id, wrong, expected", [
    ("reconstruction_error", "def reconstruction_error(x, x_hat):\n    return np.mean((x_hat - x) ** 2, axis=(1, 2, 3))",
     "reconstruction_error(blank, grey): 784 pixels * 0.5^2 each: at index (0,) expected 196, found 0.25"),
    ("reconstruction_error", "def reconstruction_error(x, x_hat):\n    return ((x_hat - x) ** 2).sum(axis=(1, 2))",
     "reconstruction_error(blank, grey): 784 pixels * 0.5^2 each: expected shape (3,), found (3, 1)"),
    ("autoencoder", "def build_encoder(latent_dim=16):\n    return keras.Sequential([keras.Input((28, 28, 1)), "
                    "keras.layers.Flatten(), keras.layers.Dense(128, activation='relu'), "
                    "keras.layers.Dense(latent_dim, activation='relu')])",
     "layer 3: expected Dense(16), found Dense(16, activation=relu)"),
    ("autoencoder", "def build_autoencoder(encoder, decoder):\n    inputs = keras.Input((28, 28, 1))\n"
                    "    return keras.Model(inputs, build_decoder(16)(build_encoder(16)(inputs)))",
     "build_autoencoder(encoder, decoder)(x) vs decoder(encoder(x)) with the same two models: at index"),
    ("latent_edit", "def attribute_vector(encoder, x_from, x_to):\n"
                    "    return np.mean(encoder(x_from) - encoder(x_to), axis=0)",
     "attribute_vector(encoder, x1, x2) of one pair = e(x2) - e(x1): at index"),
    ("latent_edit", "def edit_latent(encoder, decoder, x, vector, alpha):\n"
                    "    return decoder(encoder(x) + vector).numpy()",
     "edit_latent(..., alpha=0) = d(e(x)): at index"),
    ("fgsm", "def fgsm(model, images, labels, epsilon):\n    x = tf.convert_to_tensor(images)\n"
             "    with tf.GradientTape() as tape:\n        tape.watch(x)\n"
             "        loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, model(x)))\n"
             "    return (x + epsilon * tf.sign(tape.gradient(loss, x))).numpy()",
     "fgsm on a linear model, epsilon = 0.1: at index"),
    ("fgsm", "def fgsm(model, images, labels, epsilon):\n    x = tf.convert_to_tensor(images)\n"
             "    with tf.GradientTape() as tape:\n        tape.watch(x)\n"
             "        loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, model(x)))\n"
             "    return np.clip(x + epsilon * tape.gradient(loss, x), 0, 1)",
     "fgsm on a linear model, epsilon = 0.1: at index"),
    ("targeted", "def targeted_perturbation(model, images, targets, c=0.1, steps=20, learning_rate=0.5):\n"
                 "    x = tf.convert_to_tensor(images)\n    r = tf.zeros_like(x)\n    for _ in range(steps):\n"
                 "        with tf.GradientTape() as tape:\n            tape.watch(r)\n"
                 "            loss = c * tf.reduce_sum(r ** 2) + tf.reduce_sum(\n"
                 "                tf.nn.sparse_softmax_cross_entropy_with_logits(targets, model(x + r)))\n"
                 "        r = r + learning_rate * tape.gradient(loss, r)\n"
                 "        r = tf.clip_by_value(x + r, 0, 1) - x\n    return (x + r).numpy()",
     "targeted_perturbation(linear, ..., steps=1, learning_rate=0.5): at index"),
    ("bilinear", "def bilinear_sample(images, grid):\n    n, H, W, C = images.shape\n"
                 "    x = np.rint((grid[..., 0] + 1) * (W - 1) / 2).astype(int).clip(0, W - 1)\n"
                 "    y = np.rint((grid[..., 1] + 1) * (H - 1) / 2).astype(int).clip(0, H - 1)\n"
                 "    return images[np.arange(n)[:, None, None], y, x]",
     "a shift by half a pixel: the mean of two neighbours: at index"),
    ("bilinear", "def affine_grid(theta, height, width):\n"
                 "    y, x = np.meshgrid(np.linspace(-1, 1, height), np.linspace(-1, 1, width), indexing='ij')\n"
                 "    return np.einsum('nij,hwj->nhwi', np.asarray(theta), np.stack([y, x, np.ones_like(x)], -1))",
     "affine_grid(identity, 2, 3): at index"),
])
def test_wrong_answers_fail_the_visible_checks(lab13, test_id, wrong, expected):
    message = run_check(lab13, test_id, wrong)
    assert expected in message, message


# ------------------------------------------------------------------ hidden checks: formulas


def test_hidden_checks_pass_the_reference_formulas():
    check(LAB, "reconstruction_error", {"reconstruction_error": reference.reconstruction_error})
    check(LAB, "autoencoder", {"build_encoder": reference.build_encoder, "build_decoder": reference.build_decoder,
                               "build_autoencoder": reference.build_autoencoder})
    check(LAB, "latent_edit", {"attribute_vector": reference.attribute_vector, "edit_latent": reference.edit})
    check(LAB, "fgsm", {"fgsm": reference.fgsm})
    check(LAB, "targeted", {"targeted_perturbation": reference.targeted_perturbation})
    check(LAB, "bilinear", {"affine_grid": reference.affine_grid, "bilinear_sample": reference.bilinear_sample})


def _fgsm_variant(direction=1.0, clip=True, reduce="sum"):
    import tensorflow as tf

    def fgsm(model, images, labels, epsilon):
        x = tf.convert_to_tensor(np.asarray(images, "float32"))
        with tf.GradientTape() as tape:
            tape.watch(x)
            losses = tf.nn.sparse_softmax_cross_entropy_with_logits(np.asarray(labels, "int64"), model(x))
            loss = tf.reduce_sum(losses) if reduce == "sum" else tf.reduce_mean(losses)
        moved = np.asarray(x + direction * epsilon * tf.sign(tape.gradient(loss, x)))
        return np.clip(moved, 0, 1) if clip else moved
    return fgsm


def _targeted_variant(reduce="sum", project=True, norm="squared"):
    import tensorflow as tf

    def targeted_perturbation(model, images, targets, c=0.1, steps=20, learning_rate=0.5):
        x = tf.convert_to_tensor(np.asarray(images, "float32"))
        r = tf.zeros_like(x)
        for _ in range(steps):
            with tf.GradientTape() as tape:
                tape.watch(r)
                losses = tf.nn.sparse_softmax_cross_entropy_with_logits(np.asarray(targets, "int64"), model(x + r))
                size = tf.reduce_sum(r ** 2) if norm == "squared" else tf.reduce_sum(tf.abs(r))
                loss = c * size + (tf.reduce_sum(losses) if reduce == "sum" else tf.reduce_mean(losses))
            r = r - learning_rate * tape.gradient(loss, r)
            if project:
                r = tf.clip_by_value(x + r, 0, 1) - x
        return np.asarray(x + r)
    return targeted_perturbation


@pytest.mark.parametrize("grade_id, names, expected", [
    ("reconstruction_error", {"reconstruction_error": lambda x, x_hat: np.mean(
        (np.asarray(x_hat) - np.asarray(x)).reshape(len(x), -1) ** 2, axis=1)}, "the mean over pixels"),
    ("reconstruction_error", {"reconstruction_error": lambda x, x_hat: np.sum((np.asarray(x_hat) - np.asarray(x)) ** 2)},
     "one number for the whole batch"),
    ("latent_edit", {"attribute_vector": lambda e, a, b: reference.attribute_vector(e, b, a), "edit_latent": reference.edit},
     "attribute_vector points the wrong way"),
    ("latent_edit", {"attribute_vector": reference.attribute_vector,
                     "edit_latent": lambda e, d, x, v, alpha: reference.edit(e, d, x, v, 1.0)},
     "edit_latent(..., alpha=0.5): at index"),
    ("fgsm", {"fgsm": _fgsm_variant(direction=-1.0)}, "the step goes down the loss gradient"),
    ("fgsm", {"fgsm": _fgsm_variant(clip=False)}, "clip x + r to the pixel range [0, 1]"),
    ("targeted", {"targeted_perturbation": _targeted_variant(reduce="mean")},
     "targeted_perturbation(..., c=0.1, steps=5, learning_rate=0.5): at index"),
    ("targeted", {"targeted_perturbation": _targeted_variant(norm="l1")},
     "targeted_perturbation(..., c=0.1, steps=5, learning_rate=0.5): at index"),
    ("targeted", {"targeted_perturbation": _targeted_variant(project=False)}, "keep x + r in [0, 1]"),
    ("bilinear", {"affine_grid": lambda theta, h, w: reference.affine_grid(theta, h, w)[..., ::-1],
                  "bilinear_sample": reference.bilinear_sample}, "the last axis holds (y, x)"),
])
def test_hidden_checks_reject_wrong_formulas(grade_id, names, expected):
    with pytest.raises(Failure) as failure:
        check(LAB, grade_id, names)
    assert expected in str(failure.value), str(failure.value)


def test_hidden_fgsm_accepts_a_mean_loss():
    """The mean of the losses has the gradient's signs: an equivalent answer, accepted."""
    check(LAB, "fgsm", {"fgsm": _fgsm_variant(reduce="mean")})


# ------------------------------------------------------------------ the reference vs the libraries


def test_reference_fgsm_and_gradient_match_keras_losses():
    import keras
    import tensorflow as tf

    from coursekit.autoencoders import build_digit_classifier

    keras.utils.set_random_seed(3)
    model = build_digit_classifier()
    x = np.random.default_rng(0).random((4, 28, 28, 1), dtype=np.float32)
    y = np.array([1, 2, 3, 4])
    tensor = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(tensor)
        loss = tf.reduce_sum(keras.losses.sparse_categorical_crossentropy(y, model(tensor), from_logits=True))
    gradient = tape.gradient(loss, tensor).numpy()
    np.testing.assert_allclose(reference.input_gradient(model, x, y), gradient, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(reference.fgsm(model, x, y, 0.1), np.clip(x + 0.1 * np.sign(gradient), 0, 1))


def test_reference_bilinear_sampler_equals_scipy_and_the_kernel_sum():
    from scipy.ndimage import map_coordinates

    generator = np.random.default_rng(5)
    images = generator.random((1, 6, 5, 1))
    grid = generator.uniform(-1.4, 1.4, (1, 4, 7, 2))
    found = reference.bilinear_sample(images, grid)[0, ..., 0]
    x, y = (grid[0, ..., 0] + 1) * 2, (grid[0, ..., 1] + 1) * 2.5
    np.testing.assert_allclose(found, map_coordinates(images[0, ..., 0], [y, x], order=1, mode="grid-constant"),
                               atol=1e-12)
    # eq. 5 of Jaderberg et al., summed over every pixel
    rows, columns = np.meshgrid(np.arange(6), np.arange(5), indexing="ij")
    kernel = (np.maximum(0, 1 - np.abs(x[..., None, None] - columns)) * np.maximum(0, 1 - np.abs(y[..., None, None] - rows)))
    np.testing.assert_allclose(found, (kernel * images[0, ..., 0]).sum(axis=(-1, -2)), atol=1e-12)


def test_attack_settings_of_the_probe_are_the_references():
    from autograder.labs import exercises

    settings = exercises(LAB)["attack_success"].inputs()
    assert settings["epsilon"] == reference.EPSILON
    assert settings["count"] == reference.ATTACK_IMAGES
    assert settings["targeted_count"] == reference.TARGETED_IMAGES
    assert settings["targeted"] == reference.TARGETED


# ------------------------------------------------------------------ thresholds fail their shortcuts


def test_the_trained_reference_passes_reconstruction_and_attribute_checks(trained):
    _, encoder, decoder = trained
    report = check(LAB, "reconstruction", {"encoder": encoder, "decoder": decoder})
    assert report["score"] >= report["threshold"]
    report = check(LAB, "attribute_shift", {"encoder": encoder, "decoder": decoder})
    assert report["score"] >= report["threshold"]


def test_an_untrained_autoencoder_fails_both_thresholds():
    import keras

    keras.utils.set_random_seed(1)
    names = {"encoder": reference.build_encoder(), "decoder": reference.build_decoder()}
    with pytest.raises(Failure, match="reconstruction_r2 = -.* is below the threshold"):
        check(LAB, "reconstruction", names)
    with pytest.raises(Failure, match="attribute_shift = .* is below the threshold"):
        check(LAB, "attribute_shift", names)


def test_a_decoder_that_always_draws_the_mean_image_fails(trained):
    """The best constant guess scores R^2 = 0, far under the threshold: the ceiling is a real ceiling."""
    dataset, encoder, _ = trained
    from coursekit.autoencoders import as_inputs

    mean_image = as_inputs(dataset.x_train).mean(axis=0).reshape(-1).clip(1e-4, 1 - 1e-4)
    constant = reference.build_decoder()
    weights = constant.get_weights()
    weights[2] = np.zeros_like(weights[2])
    weights[3] = np.log(mean_image / (1 - mean_image)).astype("float32")
    constant.set_weights(weights)
    scores = reference.reconstruction_scores(encoder, constant, dataset)
    assert abs(scores["r2"]) < 0.01
    assert scores["r2"] < _threshold("reconstruction_r2") - 0.3
    with pytest.raises(Failure, match="below the threshold"):
        check(LAB, "reconstruction", {"encoder": encoder, "decoder": constant})


def test_an_identity_network_is_refused_for_its_structure():
    """Copying the input through is no autoencoder: without the 16-number bottleneck it is refused."""
    import keras

    identity = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten()])
    unflatten = keras.Sequential([keras.Input((784,)), keras.layers.Reshape((28, 28, 1))])
    with pytest.raises(Failure, match="encoder: expected 3 layers, found 1"):
        check(LAB, "reconstruction", {"encoder": identity, "decoder": unflatten})


def test_random_sign_noise_and_a_reversed_fgsm_fail_the_attack_thresholds():
    def random_signs(model, images, labels, epsilon):
        noise = np.sign(np.random.default_rng(0).normal(size=np.shape(images)))
        return np.clip(images + epsilon * noise, 0, 1)

    targeted = reference.targeted_perturbation
    with pytest.raises(Failure, match="fgsm_flip_rate = 0.0.* is below the threshold"):
        check(LAB, "attack_success", {"fgsm": random_signs, "targeted_perturbation": targeted})
    with pytest.raises(Failure, match="fgsm_flip_rate = 0.0.* is below the threshold"):
        check(LAB, "attack_success", {"fgsm": _fgsm_variant(direction=-1.0), "targeted_perturbation": targeted})


def test_an_untargeted_step_fails_the_targeted_threshold():
    """Pushing away from the true label (FGSM) does not steer the digit to the chosen target."""
    def away_from_the_label(model, images, targets, c=0.1, steps=20, learning_rate=0.5):
        return reference.fgsm(model, images, (np.asarray(targets) - 1) % 10, 0.1)

    with pytest.raises(Failure, match="targeted_success = 0.* is below the threshold"):
        check(LAB, "attack_success", {"fgsm": reference.fgsm, "targeted_perturbation": away_from_the_label})


def test_an_attack_outside_the_epsilon_box_is_refused():
    def too_far(model, images, labels, epsilon):
        return reference.fgsm(model, images, labels, 2 * epsilon)

    with pytest.raises(Failure, match="leave the epsilon = 0.1 box"):
        check(LAB, "attack_success", {"fgsm": too_far, "targeted_perturbation": reference.targeted_perturbation})


# ------------------------------------------------------------------ the kit's plots


def test_the_kit_plots_edits_and_perturbations():
    import matplotlib.pyplot as plt

    from coursekit.autoencoders import image_rows, perturbations

    images = np.random.default_rng(2).random((3, 28, 28, 1))
    figure = image_rows({"x": images, "edited": images[:2]}, title="rows", row_labels={"x": ["a", "b", "c"]})
    assert len(figure.axes) == 6 and figure.axes[0].get_xlabel() == "a"
    plt.close(figure)
    figure = perturbations(images, np.clip(images + 0.1, 0, 1), [1, 2, 3], [4, 5, 6])
    assert len(figure.axes) == 9 and figure.axes[6].get_xlabel() == "-> 4"
    plt.close(figure)
