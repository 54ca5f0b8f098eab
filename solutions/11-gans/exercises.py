"""Lab 11's graded exercises, one declaration per nbgrader grade_id (see autograder/exercise.py).

The losses and the MMD² estimator come back as traces: their values and their gradients
(``tf.GradientTape``) on the grader's inputs, because training needs both. The training
step runs on the grader's own two tiny networks with fixed weights and plain SGD, so its
result (the weights after one step) shows every choice it made. Trained generators come
back as models and are measured in the grader's process: by its own digit classifier
(``coursekit.gan``, trained on the grader's data with a fixed seed, once per process), and
by MMD² against its own held-out digits.
"""

import math

import keras
import numpy as np
import tensorflow as tf

from autograder.exercise import Exercise, Failure, probe_helper
from autograder.judges import field, grader_data, same_array, same_model, threshold_report
from coursekit.data import DIGIT_CLASSES

from . import LAB_ID, reference


# ------------------------------------------------------------ student side (probe helpers)


@probe_helper
def error_line(error):
    return f"{type(error).__name__}: {error}"[:300]


@probe_helper
def logit_cases():
    """(real_logits, fake_logits) float32 pairs: moderate, one-sided, and extreme (|logit| up to 60)."""
    rng = np.random.default_rng(1101)
    return [(rng.normal(0, 2, 7).astype("float32"), rng.normal(0, 2, 5).astype("float32")),
            (rng.normal(3, 1, 4).astype("float32"), rng.normal(-3, 1, 6).astype("float32")),
            (np.array([60.0, -60.0, 0.0], "float32"), np.array([-60.0, 45.0, 0.5, -0.5], "float32"))]


@probe_helper
def value_and_gradients(function, *arrays):
    """``function(*tensors)`` as a float and its gradient w.r.t. each input (None when none flows)."""
    tensors = [tf.constant(array) for array in arrays]
    with tf.GradientTape() as tape:
        for tensor in tensors:
            tape.watch(tensor)
        value = function(*tensors)
    # a NumPy result left the tape: nothing can be differentiated
    gradients = tape.gradient(value, tensors) if tf.is_tensor(value) else [None] * len(tensors)
    return {"value": np.asarray(value, dtype=np.float64),
            "gradients": [None if gradient is None else np.asarray(gradient) for gradient in gradients]}


@probe_helper
def traced(function, *arrays):
    try:
        return value_and_gradients(function, *arrays)
    except Exception as error:  # the student's code may raise anything; report it
        return {"error": error_line(error)}


@probe_helper
def tiny_gan():
    """The grader's own small generator (8-dim z -> 8×8×1 images) and discriminator, with
    fixed weights: kernels uniform in ±sqrt(3 / fan_in), biases and batch-norm scales fixed."""
    generator = keras.Sequential([
        keras.Input(shape=(8,)), keras.layers.Dense(4 * 4 * 4, use_bias=False), keras.layers.BatchNormalization(),
        keras.layers.LeakyReLU(negative_slope=0.2), keras.layers.Reshape((4, 4, 4)),
        keras.layers.Conv2DTranspose(1, 3, strides=2, padding="same", activation="tanh")])
    discriminator = keras.Sequential([
        keras.Input(shape=(8, 8, 1)), keras.layers.Conv2D(4, 3, strides=2, padding="same"),
        keras.layers.LeakyReLU(negative_slope=0.2), keras.layers.Flatten(), keras.layers.Dense(1)])
    generator_rng = np.random.default_rng(1102)
    for model in (generator, discriminator):
        values = []
        for weight in model.get_weights():
            if weight.ndim >= 2:
                bound = math.sqrt(3 / int(np.prod(weight.shape[:-1])))
                values.append(generator_rng.uniform(-bound, bound, weight.shape).astype("float32"))
            else:
                values.append(generator_rng.uniform(0.5, 1.5, weight.shape).astype("float32"))
        model.set_weights(values)
    return generator, discriminator


@probe_helper
def train_step_inputs():
    rng = np.random.default_rng(1103)
    return rng.uniform(-1, 1, (6, 8, 8, 1)).astype("float32"), rng.standard_normal((6, 8)).astype("float32")


@probe_helper
def train_step_trace(train_step, real_images, z):
    """Two calls of the student's train_step on the grader's tiny GAN, plain SGD(0.05)."""
    generator, discriminator = tiny_gan()
    g_optimizer, d_optimizer = keras.optimizers.SGD(0.05), keras.optimizers.SGD(0.05)
    trace = {"losses": []}
    try:
        for _ in range(2):
            losses = train_step(generator, discriminator, g_optimizer, d_optimizer,
                                tf.constant(real_images), tf.constant(z))
            trace["losses"].append([float(np.asarray(loss)) for loss in losses])
    except Exception as error:  # the student's code may raise anything; report it
        trace["error"] = error_line(error)
    trace["generator"] = [keras.ops.convert_to_numpy(weight) for weight in generator.trainable_weights]
    trace["discriminator"] = [keras.ops.convert_to_numpy(weight) for weight in discriminator.trainable_weights]
    return trace


@probe_helper
def mmd_cases():
    """(x, y, sigmas): different sizes, a shifted cloud, identical samples, images."""
    rng = np.random.default_rng(1104)
    x = rng.normal(0, 1, (9, 5)).astype("float32")
    return [(x, rng.normal(0.5, 1.5, (6, 5)).astype("float32"), [1.0, 3.0]),
            (x, x.copy(), [0.5, 2.0, 8.0]),
            (rng.uniform(-1, 1, (12, 28, 28, 1)).astype("float32"),
             rng.uniform(-1, 1, (10, 28, 28, 1)).astype("float32"), [5.0, 10.0, 20.0])]


@probe_helper
def pyramid_cases():
    rng = np.random.default_rng(1105)
    return [(rng.random((28, 28)), 2), (rng.random((32, 16)), 3), (rng.random((8, 8)), 1)]


@probe_helper
def random_pyramid():
    """Any arrays of the right shapes are a pyramid: L_0 (16, 24), L_1 (8, 12), G_2 (4, 6)."""
    rng = np.random.default_rng(1106)
    return [rng.normal(size=(16, 24)), rng.normal(size=(8, 12)), rng.normal(size=(4, 6))]


# ------------------------------------------------------------------ grader side


def _stable_log_sigmoid(x):
    return -np.logaddexp(0.0, -np.asarray(x, dtype=np.float64))


def _sigmoid(x):
    return np.exp(_stable_log_sigmoid(x))


def _judge_trace(name, trace, value, gradients, inputs_named):
    if not isinstance(trace, dict):
        raise Failure(f"{name}: the trace could not be read")
    if trace.get("error"):
        raise Failure(f"{name} raised {trace['error']} on the grader's inputs")
    same_array(f"{name}: value", field(trace, "value", name), value, atol=1e-5, rtol=1e-4)
    found = field(trace, "gradients", name)
    for what, found_gradient, expected in zip(inputs_named, found, gradients):
        if found_gradient is None:
            raise Failure(f"{name}: no gradient flows back to {what}; write it with keras.ops "
                          "(or TensorFlow) so that training can differentiate it, not NumPy")
        same_array(f"{name}: gradient w.r.t. {what}", found_gradient, expected, atol=1e-6, rtol=1e-4)


def _leaky_slopes(model, what):
    """Keras's LeakyReLU defaults to a slope of 0.3; the lab asks for 0.2: say so plainly."""
    layers = [layer for layer in getattr(model, "layers", []) if type(layer).__name__ == "LeakyReLU"]
    for index, layer in enumerate(layers, start=1):
        slope = float(layer.get_config().get("negative_slope", 0.3))
        if abs(slope - reference.LEAK) > 1e-9:
            raise Failure(f"{what}: LeakyReLU number {index} has negative_slope={slope:g}, expected "
                          f"{reference.LEAK:g} (Keras's default is 0.3)")


def _need_model(outputs, what, input_shape, output_shape):
    if not hasattr(outputs, "layers") or not hasattr(outputs, "inputs"):
        raise Failure(f"{what} should be a keras.Model, found {type(outputs).__name__}")
    found_in = tuple(outputs.inputs[0].shape[1:])
    found_out = tuple(outputs.outputs[0].shape[1:])
    if len(found_in) != 1 or found_out != output_shape:
        raise Failure(f"{what} should map latent vectors {input_shape} to images (batch, "
                      f"{', '.join(map(str, output_shape))}); it maps {found_in} to {found_out}")


class gan_range(Exercise):
    """to_gan_range on the grader's images (0 and 255 included)."""

    def inputs():
        rng = np.random.default_rng(1100)
        images = rng.integers(0, 256, (7, 28, 28), dtype=np.uint8)
        images[0, 0, :2] = [0, 255]
        return {"images": images}

    def call(inputs, to_gan_range):
        return np.asarray(to_gan_range(inputs["images"]))

    def judge(outputs, inputs):
        same_array("to_gan_range(images) (uint8 0..255 -> float32 in [-1, 1], shape (n, 28, 28, 1))",
                   outputs, reference.to_gan_range(inputs["images"]))


class d_loss(Exercise):
    """discriminator_loss's value and gradients on the grader's logits, extreme ones included."""

    def inputs():
        return {"cases": logit_cases()}

    def call(inputs, discriminator_loss):
        return [traced(discriminator_loss, real, fake) for real, fake in inputs["cases"]]

    def judge(outputs, inputs):
        for case, ((real, fake), trace) in enumerate(zip(inputs["cases"], outputs), start=1):
            value = -(_stable_log_sigmoid(real).mean() + _stable_log_sigmoid(-fake).mean())
            gradients = [-_sigmoid(-real) / len(real), _sigmoid(fake) / len(fake)]
            _judge_trace(f"discriminator_loss (case {case}, logits up to {np.abs([*real, *fake]).max():.0f})",
                         trace, value, gradients, ("real_logits", "fake_logits"))


class g_losses(Exercise):
    """generator_loss_minimax and generator_loss_nonsaturating: values and gradients."""

    def inputs():
        return {"cases": [fake for _, fake in logit_cases()]}

    def call(inputs, generator_loss_minimax, generator_loss_nonsaturating):
        return {"minimax": [traced(generator_loss_minimax, fake) for fake in inputs["cases"]],
                "nonsaturating": [traced(generator_loss_nonsaturating, fake) for fake in inputs["cases"]]}

    def judge(outputs, inputs):
        for case, fake in enumerate(inputs["cases"], start=1):
            n = len(fake)
            expected = {"minimax": (_stable_log_sigmoid(-fake).mean(), -_sigmoid(fake) / n),
                        "nonsaturating": (-_stable_log_sigmoid(fake).mean(), -_sigmoid(-fake) / n)}
            for name, (value, gradient) in expected.items():
                traces = field(outputs, name, "the losses")
                _judge_trace(f"generator_loss_{name} (case {case})", traces[case - 1], value, [gradient],
                             ("fake_logits",))


class pull_away(Exercise):
    """pull_away_term on the grader's embeddings."""

    def inputs():
        rng = np.random.default_rng(1107)
        same = np.tile(rng.normal(size=(1, 6)), (4, 1))
        return {"cases": [rng.normal(size=(10, 6)), np.eye(5, 8) * 3.0, same * np.arange(1, 5)[:, None]]}

    def call(inputs, pull_away_term):
        return [float(pull_away_term(embeddings)) for embeddings in inputs["cases"]]

    def judge(outputs, inputs):
        for case, (embeddings, found) in enumerate(zip(inputs["cases"], outputs), start=1):
            same_array(f"pull_away_term (case {case}, N={len(embeddings)})", found,
                       reference.pull_away_term(embeddings))


class dcgan_generator(Exercise):
    """build_generator() and build_generator(16) against the reference DCGAN generator."""

    def inputs():
        return {}

    def call(inputs, build_generator):
        return {"default": build_generator(), "latent_16": build_generator(latent_dim=16)}

    def judge(outputs, inputs):
        rng = np.random.default_rng(1108)
        for key, latent_dim in (("default", reference.LATENT_DIM), ("latent_16", 16)):
            model = field(outputs, key, "the generators")
            what = f"build_generator({'' if key == 'default' else 'latent_dim=16'})"
            _leaky_slopes(model, what)
            try:
                same_model(model, reference.build_generator(latent_dim),
                           batch=rng.standard_normal((8, latent_dim)).astype("float32"))
            except AssertionError as failure:
                raise Failure(f"{what}: {failure}") from None


class dcgan_discriminator(Exercise):
    """build_discriminator() against the reference DCGAN discriminator."""

    def inputs():
        return {}

    def call(inputs, build_discriminator):
        return build_discriminator()

    def judge(outputs, inputs):
        batch = np.random.default_rng(1109).uniform(-1, 1, (8, 28, 28, 1)).astype("float32")
        _leaky_slopes(outputs, "build_discriminator()")
        same_model(outputs, reference.build_discriminator(), batch=batch)


class gan_step(Exercise):
    """Two calls of train_step on the grader's tiny GAN: losses and weights against the reference."""

    def inputs():
        real_images, z = train_step_inputs()
        return {"real_images": real_images, "z": z}

    def call(inputs, train_step):
        return train_step_trace(train_step, inputs["real_images"], inputs["z"])

    def judge(outputs, inputs):
        expected = train_step_trace(reference.train_step, inputs["real_images"], inputs["z"])
        losses = field(outputs, "losses", "the trace")
        for step, expected_losses in enumerate(expected["losses"], start=1):
            if outputs.get("error") and step > len(losses):
                raise Failure(f"train_step raised {outputs['error']} on call {step}")
            if step > len(losses) or len(losses[step - 1]) != 2:
                raise Failure(f"train_step (call {step}) should return (d_loss, g_loss)")
            for name, found, value in zip(("d_loss", "g_loss"), losses[step - 1], expected_losses):
                hint = {"d_loss": " (D's loss on the real batch and on G(z) of this call)",
                        "g_loss": " (the non-saturating loss: G's fakes labelled real)"}[name]
                same_array(f"train_step (call {step}): {name}{hint}", found, value, atol=1e-5, rtol=1e-4)
        for model in ("discriminator", "generator"):
            found = field(outputs, model, "the trace")
            for index, (weight, value) in enumerate(zip(found, expected[model])):
                same_array(f"{model}'s weight {index} after two train_steps (SGD)", weight, value,
                           atol=1e-5, rtol=1e-4)


def _generator_scores(outputs):
    _need_model(outputs, "generator", "(batch, latent_dim)", (28, 28, 1))
    dataset = grader_data(reference)
    scores = reference.generator_scores(outputs, dataset)
    histogram = ", ".join(f"{digit}: {count}" for digit, count in zip(DIGIT_CLASSES, scores["histogram"]))
    print(f"the grader's classifier on {reference.SAMPLES} samples: predicted digits {histogram}; "
          f"{scores['not_digits']} look like no digit")
    return scores, dataset


class digit_confidence(Exercise):
    """The trained generator's samples, as the grader's digit classifier sees them: confidence."""

    def inputs():
        return {}

    def call(inputs, generator):
        return generator

    def judge(outputs, inputs):
        scores, dataset = _generator_scores(outputs)
        report = threshold_report(LAB_ID, "digit_confidence", scores["confidence"], dataset,
                                  about=f"(mean top digit probability of {reference.SAMPLES} samples)")
        return {**report, "histogram": scores["histogram"].tolist()}


class class_diversity(Exercise):
    """The trained generator's samples cover the digits: entropy of the predicted-class histogram."""

    def inputs():
        return {}

    def call(inputs, generator):
        return generator

    def judge(outputs, inputs):
        scores, dataset = _generator_scores(outputs)
        report = threshold_report(LAB_ID, "class_entropy", scores["class_entropy"], dataset,
                                  about="(entropy of the predicted digits / ln 10; 0 is mode collapse)")
        return {**report, "histogram": scores["histogram"].tolist()}


class mmd_estimator(Exercise):
    """mmd2 on the grader's samples and bandwidths: value and gradient w.r.t. x."""

    def inputs():
        return {"cases": mmd_cases()}

    def call(inputs, mmd2):
        return [traced(lambda x, y: mmd2(x, y, sigmas), x, y) for x, y, sigmas in inputs["cases"]]

    def judge(outputs, inputs):
        for case, ((x, y, sigmas), trace) in enumerate(zip(inputs["cases"], outputs), start=1):
            x64, y64 = tf.constant(x, tf.float64), tf.constant(y, tf.float64)
            with tf.GradientTape() as tape:
                tape.watch([x64, y64])
                value = reference.mmd2(x64, y64, sigmas)
            gradients = [np.asarray(gradient) for gradient in tape.gradient(value, [x64, y64])]
            _judge_trace(f"mmd2 (case {case}: N={len(x)}, M={len(y)}, sigmas={sigmas})", trace,
                         reference.mmd2_numpy(x, y, sigmas), gradients, ("x", "y"))


class mmd_generator(Exercise):
    """The moment-matching generator: how much closer to held-out digits (MMD²) than an untrained one."""

    def inputs():
        return {}

    def call(inputs, mmd_generator):
        return mmd_generator

    def judge(outputs, inputs):
        _need_model(outputs, "mmd_generator", "(batch, latent_dim)", (28, 28, 1))
        dataset = grader_data(reference)
        gain, found, baseline = reference.mmd_gain(outputs, dataset)
        print(f"MMD² to {reference.MMD_SAMPLES} held-out digits: your generator {found:.4g}, "
              f"an untrained one {baseline:.4g}")
        return threshold_report(LAB_ID, "mmd_gain", gain, dataset,
                                about="(log10 of the untrained generator's MMD² over yours)")


class pyramid(Exercise):
    """laplacian_pyramid on the grader's images, and its ValueError on a size it cannot halve."""

    def inputs():
        return {"cases": pyramid_cases()}

    def call(inputs, laplacian_pyramid):
        trace = {"pyramids": [[np.asarray(level) for level in laplacian_pyramid(image, levels)]
                              for image, levels in inputs["cases"]]}
        try:
            laplacian_pyramid(np.zeros((28, 28)), 3)
            trace["raises"] = "nothing"
        except ValueError:
            trace["raises"] = "ValueError"
        except Exception as error:  # the student's code may raise anything; report it
            trace["raises"] = error_line(error)
        return trace

    def judge(outputs, inputs):
        pyramids = field(outputs, "pyramids", "the trace")
        for (image, levels), found in zip(inputs["cases"], pyramids):
            expected = reference.laplacian_pyramid(image, levels)
            name = f"laplacian_pyramid(image {image.shape}, levels={levels})"
            if len(found) != len(expected):
                raise Failure(f"{name}: expected {len(expected)} arrays [L_0, ..., L_{levels - 1}, G_{levels}], "
                              f"found {len(found)}")
            for index, (level, value) in enumerate(zip(found, expected)):
                what = f"G_{levels}" if index == levels else f"L_{index}"
                same_array(f"{name}: {what}", level, value, atol=1e-9, rtol=1e-9)
        raised = field(outputs, "raises", "the trace")
        if raised != "ValueError":
            raise Failure(f"laplacian_pyramid(28×28 image, levels=3) should raise ValueError "
                          f"(28 is not divisible by 2**3), raised {raised}")


class reconstruct(Exercise):
    """reconstruct_pyramid: exact on the grader's pyramid, and the round trip of your own."""

    def inputs():
        return {"cases": pyramid_cases(), "pyramid": random_pyramid()}

    def call(inputs, laplacian_pyramid, reconstruct_pyramid):
        return {"given": np.asarray(reconstruct_pyramid(inputs["pyramid"])),
                "round_trips": [np.asarray(reconstruct_pyramid(laplacian_pyramid(image, levels)))
                                for image, levels in inputs["cases"]]}

    def judge(outputs, inputs):
        same_array("reconstruct_pyramid([L_0 (16, 24), L_1 (8, 12), G_2 (4, 6)]) "
                   "(G_i = L_i + upsample(G_{i+1}))", field(outputs, "given", "the trace"),
                   reference.reconstruct_pyramid(inputs["pyramid"]), atol=1e-9, rtol=1e-9)
        for (image, levels), found in zip(inputs["cases"], field(outputs, "round_trips", "the trace")):
            same_array(f"reconstruct_pyramid(laplacian_pyramid(image {image.shape}, {levels})) vs the image",
                       found, image, atol=1e-9, rtol=1e-9)
