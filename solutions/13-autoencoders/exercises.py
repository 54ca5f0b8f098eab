"""Lab 13's graded exercises, one declaration per nbgrader grade_id (see autograder/exercise.py).

Formulas (reconstruction error, attribute vector and edit, the two attacks, the sampler) are
called on the grader's own small models and arrays and compared with the reference. The
trained autoencoder comes back as its encoder and decoder models; the grader rebuilds the
reconstructions and the latent edits itself, on its own copy of the held-out data, and looks
at the edits with its own digit classifier. The attacks are run by the student's functions on
a classifier the probe trains with the course's fixed recipe (``coursekit.autoencoders``); the
grader measures the perturbed images on its own copy of that classifier.
"""

import functools

import keras
import numpy as np

from coursekit.autoencoders import as_inputs, build_digit_classifier, train_digit_classifier
from coursekit.data import LOADERS
from coursekit.lab import budget_from_env

from autograder import thresholds
from autograder.exercise import Exercise, Failure, probe_helper
from autograder.judges import field, grader_data, same_array, same_model, same_structure, threshold_report

from . import LAB_ID, reference

# ------------------------------------------------------------ student side (probe helpers)


@probe_helper
def grader_images(count, seed):
    """float32 (count, 28, 28, 1) in [0, 1] with blank (0) and saturated (1) pixels, as digits have."""
    values = np.random.default_rng(seed).random((count, 28, 28, 1), dtype=np.float32)
    values[values < 0.3] = 0.0
    values[values > 0.9] = 1.0
    return values


@probe_helper
def seeded(model, seed):
    """``model`` with every weight drawn from ``seed`` (kernels scaled by 1 / sqrt(fan in))."""
    generator = np.random.default_rng(seed)
    values = []
    for weight in model.get_weights():
        scale = 1.0 / np.sqrt(weight.shape[0]) if weight.ndim == 2 else 0.3
        values.append((generator.normal(size=weight.shape) * scale).astype("float32"))
    model.set_weights(values)
    return model


@probe_helper
def small_coder(latent_dim, seed):
    """(encoder, decoder) that are not the lab's: 28x28 images <-> ``latent_dim`` codes, fixed weights."""
    encoder = keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Flatten(),
                                keras.layers.Dense(latent_dim, activation="tanh")])
    decoder = keras.Sequential([keras.Input(shape=(latent_dim,)), keras.layers.Dense(784, activation="sigmoid"),
                                keras.layers.Reshape((28, 28, 1))])
    return seeded(encoder, seed), seeded(decoder, seed + 1)


@probe_helper
def fixed_classifier(seed):
    """The lab's classifier architecture (logits out) with fixed, untrained weights."""
    return seeded(build_digit_classifier(), seed)


@probe_helper
def grader_attack_data(count):
    """The grader's classifier (the course's recipe) and its first ``count`` held-out images and labels."""
    dataset = LOADERS["mnist"](budget=budget_from_env(), verbose=False)
    count = min(count, len(dataset.x_test))
    return (train_digit_classifier(dataset), as_inputs(dataset.x_test[:count]),
            np.asarray(dataset.y_test[:count], dtype="int64"))


@probe_helper
def reference_grid(theta, height, width):
    """The grid the sampler is judged on, computed here so that a wrong affine_grid costs only its own part."""
    theta = np.asarray(theta, dtype=np.float64)
    y_t, x_t = np.meshgrid(np.linspace(-1, 1, height), np.linspace(-1, 1, width), indexing="ij")
    target = np.stack([x_t, y_t, np.ones_like(x_t)], axis=-1)
    return np.einsum("nij,hwj->nhwi", theta, target)


# ------------------------------------------------------------------ grader side


def _array(name, found, shape):
    """``found`` as a float64 array of ``shape``, or a Failure that says what came instead."""
    try:
        array = np.asarray(found, dtype=np.float64)
    except (TypeError, ValueError):
        raise Failure(f"{name}: expected an array of numbers shaped {shape}, found {type(found).__name__}") from None
    if array.shape != tuple(shape):
        raise Failure(f"{name}: expected shape {tuple(shape)}, found {array.shape}")
    if not np.isfinite(array).all():
        raise Failure(f"{name}: holds values that are not finite (NaN or infinity)")
    return array


def _trained_coder(outputs):
    encoder = field(outputs, "encoder", "the answer")
    decoder = field(outputs, "decoder", "the answer")
    same_structure("encoder", encoder, reference.build_encoder())
    same_structure("decoder", decoder, reference.build_decoder())
    return encoder, decoder


@functools.lru_cache(maxsize=2)
def _classifier_weights(key, budget_name):
    return tuple(train_digit_classifier(grader_data(reference)).get_weights())


def _grader_classifier(dataset):
    """The grader's own digit classifier (trained once per process and data), a fresh copy."""
    model = build_digit_classifier()
    model.set_weights(list(_classifier_weights(dataset.key, budget_from_env().name)))
    return model


def _threshold(metric, dataset):
    return thresholds.lookup(LAB_ID, metric, dataset.key, budget_from_env().name)["threshold"]


# ------------------------------------------------------------------ 1. the autoencoder


class reconstruction_error(Exercise):
    """reconstruction_error(x, x_hat) = ||x_hat_i - x_i||^2 per image, on the grader's arrays."""

    def inputs():
        generator = np.random.default_rng(1301)
        return {"cases": [[grader_images(5, 1302), grader_images(5, 1303)],
                          [generator.random((3, 4, 6)), generator.random((3, 4, 6))]]}

    def call(inputs, reconstruction_error):
        return [np.asarray(reconstruction_error(x, x_hat), dtype=np.float64) for x, x_hat in inputs["cases"]]

    def judge(outputs, inputs):
        for case, ((x, x_hat), found) in enumerate(zip(inputs["cases"], outputs), start=1):
            expected = reference.reconstruction_error(x, x_hat)
            found = np.asarray(found, dtype=np.float64)
            if found.shape == () and np.isclose(found, expected.sum()):
                raise Failure(f"reconstruction_error (case {case}): one number for the whole batch; "
                              "return one error per image, shape (n,)")
            if found.shape == expected.shape and np.allclose(found, expected / x[0].size):
                raise Failure(f"reconstruction_error (case {case}): the mean over pixels; the formula is "
                              "the sum of squares ||x_hat - x||^2 of each image")
            same_array(f"reconstruction_error (case {case}, arrays shaped {np.shape(x)})", found, expected,
                       atol=1e-4, rtol=1e-5)


class autoencoder(Exercise):
    """build_encoder, build_decoder and build_autoencoder with latent_dim=8, against the reference."""

    def inputs():
        return {"latent_dim": 8, "images": grader_images(6, 1304),
                "codes": np.random.default_rng(1305).normal(size=(6, 8)).astype("float32")}

    def call(inputs, build_encoder, build_decoder, build_autoencoder):
        encoder, decoder = build_encoder(inputs["latent_dim"]), build_decoder(inputs["latent_dim"])
        autoencoder = build_autoencoder(encoder, decoder)
        x = inputs["images"]
        return {"encoder": encoder, "decoder": decoder,
                "autoencoder_output": np.asarray(autoencoder(x, training=False)),
                "chained_output": np.asarray(decoder(encoder(x, training=False), training=False))}

    def judge(outputs, inputs):
        latent_dim = inputs["latent_dim"]
        try:
            same_model(field(outputs, "encoder"), reference.build_encoder(latent_dim), batch=inputs["images"])
        except AssertionError as error:
            raise Failure(f"build_encoder({latent_dim}): {error}") from None
        try:
            same_model(field(outputs, "decoder"), reference.build_decoder(latent_dim), batch=inputs["codes"])
        except AssertionError as error:
            raise Failure(f"build_decoder({latent_dim}): {error}") from None
        shape = (len(inputs["images"]), 28, 28, 1)
        found = _array("build_autoencoder(encoder, decoder) on the grader's images",
                       field(outputs, "autoencoder_output"), shape)
        chained = _array("decoder(encoder(x))", field(outputs, "chained_output"), shape)
        if not np.allclose(found, chained, atol=1e-5):
            raise Failure("build_autoencoder(encoder, decoder) computes something else than decoder(encoder(x)) "
                          "with the same models: call the encoder and decoder it is given, do not build new layers")


class reconstruction(Exercise):
    """The trained encoder and decoder reconstruct the grader's held-out digits below the error ceiling."""

    def inputs():
        return {}

    def call(inputs, encoder, decoder):
        return {"encoder": encoder, "decoder": decoder}

    def judge(outputs, inputs):
        encoder, decoder = _trained_coder(outputs)
        dataset = grader_data(reference)
        scores = reference.reconstruction_scores(encoder, decoder, dataset)
        ceiling = (1.0 - _threshold("reconstruction_r2", dataset)) * scores["mean_image_mse"]
        print(f"reconstruction MSE {scores['mse']:.5f} per pixel on {len(dataset.x_test)} held-out images; "
              f"the mean training image scores {scores['mean_image_mse']:.5f}; the ceiling is {ceiling:.5f}")
        report = threshold_report(LAB_ID, "reconstruction_r2", scores["r2"], dataset,
                                  about=f"(1 - your error / the mean image's, on {dataset.description})")
        return {**report, "mse": round(scores["mse"], 5), "ceiling_mse": round(ceiling, 5)}


# ------------------------------------------------------------------ 2. editing in latent space


class latent_edit(Exercise):
    """attribute_vector and edit_latent on the grader's own small encoder and decoder."""

    def inputs():
        return {"latent_dim": 5, "seed": 1306, "x_from": grader_images(7, 1307), "x_to": grader_images(7, 1308),
                "x": grader_images(4, 1309), "alphas": [0.5, -1.5],
                "vector": np.random.default_rng(1310).normal(size=5).astype("float32")}

    def call(inputs, attribute_vector, edit_latent):
        encoder, decoder = small_coder(inputs["latent_dim"], inputs["seed"])
        return {"vector": np.asarray(attribute_vector(encoder, inputs["x_from"], inputs["x_to"]), dtype=np.float64),
                "edits": [np.asarray(edit_latent(encoder, decoder, inputs["x"], inputs["vector"], alpha))
                          for alpha in inputs["alphas"]]}

    def judge(outputs, inputs):
        encoder, decoder = small_coder(inputs["latent_dim"], inputs["seed"])
        expected = reference.attribute_vector(encoder, inputs["x_from"], inputs["x_to"])
        found = np.asarray(field(outputs, "vector"), dtype=np.float64)
        if found.shape == expected.shape and np.allclose(found, -expected, atol=1e-5):
            raise Failure("attribute_vector points the wrong way: v = mean(e(x_to) - e(x_from)) moves from "
                          "x_from towards x_to")
        same_array("attribute_vector(encoder, x_from, x_to), latent size 5", found, expected, atol=1e-5)
        edits = field(outputs, "edits")
        for alpha, edited in zip(inputs["alphas"], edits):
            same_array(f"edit_latent(..., alpha={alpha})", edited,
                       reference.edit(encoder, decoder, inputs["x"], inputs["vector"], alpha), atol=1e-5)


class attribute_shift(Exercise):
    """x -> d(e(x) + v) with the trained autoencoder: the grader's classifier sees the class move."""

    def inputs():
        return {}

    def call(inputs, encoder, decoder):
        return {"encoder": encoder, "decoder": decoder}

    def judge(outputs, inputs):
        encoder, decoder = _trained_coder(outputs)
        dataset = grader_data(reference)
        result = reference.attribute_shift(encoder, decoder, dataset, _grader_classifier(dataset))
        for pair, (before, after) in result["pairs"].items():
            source, target = pair.split("->")
            print(f"digits {source} edited towards {target}: the grader's classifier says {target} for "
                  f"{before:.0%} before, {after:.0%} after")
        report = threshold_report(LAB_ID, "attribute_shift", result["shift"], dataset,
                                  about="(mean share of edited digits that now read as the target class)")
        return {**report, "pairs": {pair: list(values) for pair, values in result["pairs"].items()}}


# ------------------------------------------------------------------ 3. adversarial examples


class fgsm(Exercise):
    """fgsm(model, x, y, epsilon) on the grader's images and a fixed classifier, against the reference."""

    def inputs():
        return {"seed": 1311, "images": grader_images(12, 1312),
                "labels": np.random.default_rng(1313).integers(0, 10, 12), "epsilons": [0.05, 0.2]}

    def call(inputs, fgsm):
        model = fixed_classifier(inputs["seed"])
        return [np.asarray(fgsm(model, inputs["images"], inputs["labels"], epsilon), dtype=np.float64)
                for epsilon in inputs["epsilons"]]

    def judge(outputs, inputs):
        model = fixed_classifier(inputs["seed"])
        x, y = inputs["images"], inputs["labels"]
        gradient = reference.input_gradient(model, x, y)
        clear = np.abs(gradient) > 1e-6 * np.abs(gradient).max()   # pixels whose sign is not a rounding matter
        for epsilon, found in zip(inputs["epsilons"], outputs):
            name = f"fgsm(..., epsilon={epsilon})"
            found = _array(name, found, x.shape)
            if found.min() < -1e-6 or found.max() > 1 + 1e-6:
                raise Failure(f"{name}: values from {found.min():.3f} to {found.max():.3f}; clip x + r to the "
                              "pixel range [0, 1]")
            if np.abs(found - x).max() > epsilon + 1e-5:
                raise Failure(f"{name}: a pixel moved by {np.abs(found - x).max():.3f}, more than epsilon")
            expected = reference.fgsm(model, x, y, epsilon)
            if np.allclose(found[clear], np.clip(x - epsilon * np.sign(gradient), 0, 1)[clear], atol=1e-5):
                raise Failure(f"{name}: the step goes down the loss gradient (it makes the true class more likely); "
                              "FGSM adds epsilon * sign(gradient) to raise the loss")
            same_array(f"{name}, pixels with a non-zero gradient", found[clear], expected[clear], atol=1e-5)


class targeted(Exercise):
    """targeted_perturbation on the grader's images, targets and a fixed classifier, against the reference."""

    def inputs():
        return {"seed": 1314, "images": grader_images(6, 1315),
                "targets": np.array([3, 0, 9, 5, 5, 1]),
                "settings": [{"c": 0.1, "steps": 5, "learning_rate": 0.5},
                             {"c": 2.0, "steps": 4, "learning_rate": 0.2}]}

    def call(inputs, targeted_perturbation):
        model = fixed_classifier(inputs["seed"])
        return [np.asarray(targeted_perturbation(model, inputs["images"], inputs["targets"], **settings),
                           dtype=np.float64) for settings in inputs["settings"]]

    def judge(outputs, inputs):
        model = fixed_classifier(inputs["seed"])
        x = inputs["images"]
        for settings, found in zip(inputs["settings"], outputs):
            name = "targeted_perturbation(..., " + ", ".join(f"{key}={value}" for key, value in settings.items()) + ")"
            found = _array(name, found, x.shape)
            if found.min() < -1e-6 or found.max() > 1 + 1e-6:
                raise Failure(f"{name}: values from {found.min():.3f} to {found.max():.3f}; after each step keep "
                              "x + r in [0, 1] (r = clip(x + r, 0, 1) - x)")
            same_array(name, found, reference.targeted_perturbation(model, x, inputs["targets"], **settings),
                       atol=2e-4, rtol=1e-3)


class attack_success(Exercise):
    """fgsm and targeted_perturbation against the grader's classifier: success rates within epsilon."""

    def inputs():
        return {"count": 200, "epsilon": 0.1, "targeted_count": 100,
                "targeted": {"c": 0.1, "steps": 20, "learning_rate": 0.5}}

    def call(inputs, fgsm, targeted_perturbation):
        classifier, x, y = grader_attack_data(inputs["count"])
        few = inputs["targeted_count"]
        return {"fgsm": np.asarray(fgsm(classifier, x, y, inputs["epsilon"]), dtype=np.float32),
                "targeted": np.asarray(targeted_perturbation(classifier, x[:few], (y[:few] + 1) % 10,
                                                             **inputs["targeted"]), dtype=np.float32)}

    def judge(outputs, inputs):
        dataset = grader_data(reference)
        x, y = reference.attack_data(dataset)
        x, y = x[:inputs["count"]], y[:inputs["count"]]
        epsilon = inputs["epsilon"]
        adversarial = _array("fgsm on the grader's images", field(outputs, "fgsm"), x.shape)
        if np.abs(adversarial - x).max() > epsilon + 1e-5 or adversarial.min() < 0 or adversarial.max() > 1:
            raise Failure(f"fgsm on the grader's images: the perturbed images leave the epsilon = {epsilon} box "
                          "around the images or the pixel range [0, 1]")
        few = inputs["targeted_count"]
        targeted_images = _array("targeted_perturbation on the grader's images", field(outputs, "targeted"),
                                 x[:few].shape)
        if targeted_images.min() < 0 or targeted_images.max() > 1:
            raise Failure("targeted_perturbation on the grader's images: pixels outside [0, 1]")
        classifier = _grader_classifier(dataset)
        flips = reference.flip_rate(classifier, x, y, adversarial)
        report = threshold_report(LAB_ID, "fgsm_flip_rate", flips, dataset,
                                  about=f"(share of {len(x)} correctly classified held-out images whose label "
                                        f"FGSM changes, epsilon = {epsilon})")
        reached = reference.target_rate(classifier, targeted_images, reference.targets_for(y[:few]))
        norms = np.linalg.norm((targeted_images - x[:few]).reshape(few, -1), axis=1)
        print(f"targeted attack: mean ||r|| = {norms.mean():.3f}")
        targeted_report = threshold_report(LAB_ID, "targeted_success", reached, dataset,
                                           about=f"(share of {few} held-out images now read as (label + 1) mod 10)")
        return {**report, "targeted_success": targeted_report["score"],
                "targeted_threshold": targeted_report["threshold"], "mean_norm": round(float(norms.mean()), 4)}


# ------------------------------------------------------------------ 4. bilinear sampling


class bilinear(Exercise):
    """affine_grid and bilinear_sample (Jaderberg et al. 2015) on the grader's images and transforms."""

    def inputs():
        generator = np.random.default_rng(1316)
        angle = 0.4
        theta = np.array([[[np.cos(angle), -np.sin(angle), 0.1], [np.sin(angle), np.cos(angle), -0.2]],
                          [[1.3, 0.2, 0.35], [-0.1, 0.8, 0.05]]])
        return {"images": generator.random((2, 9, 7, 3)), "theta": theta, "size": [5, 8]}

    def call(inputs, affine_grid, bilinear_sample):
        height, width = inputs["size"]
        grid = np.asarray(affine_grid(inputs["theta"], height, width), dtype=np.float64)
        return {"grid": grid,
                "sampled": np.asarray(bilinear_sample(inputs["images"],
                                                      reference_grid(inputs["theta"], height, width)),
                                      dtype=np.float64)}

    def judge(outputs, inputs):
        height, width = inputs["size"]
        expected_grid = reference.affine_grid(inputs["theta"], height, width)
        found_grid = np.asarray(field(outputs, "grid"), dtype=np.float64)
        if found_grid.shape == expected_grid.shape and np.allclose(found_grid, expected_grid[..., ::-1], atol=1e-6):
            raise Failure("affine_grid: the last axis holds (y, x); it should hold (x, y), x along the width")
        same_array(f"affine_grid(theta, {height}, {width})", found_grid, expected_grid, atol=1e-6)
        same_array("bilinear_sample on the grader's images (some points fall outside: they count as 0)",
                   field(outputs, "sampled"),
                   reference.bilinear_sample(inputs["images"], reference_grid(inputs["theta"], height, width)),
                   atol=1e-6)
