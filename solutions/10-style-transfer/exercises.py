"""Lab 10's graded exercises, one declaration per nbgrader grade_id (see autograder/exercise.py).

The losses are compared with the reference formulas on arrays of other shapes than the
notebook's, and each must let gradients through (``call`` records the gradient of the
student's function under a ``GradientTape``; ``judge`` compares it with the reference's).
The optimisations run in the student's kernel on the grader's hidden cases (another photo,
another texture, another content/style pair, another start) and come back as images; the
grader measures their losses itself, with the reference losses and its own copy of the
feature network, against the lab's calibrated thresholds. The trained generator comes back
as a Keras model and is sampled on the grader's own noise.
"""

import numpy as np
import tensorflow as tf
from keras import ops

from coursekit.image_data import load_style_images
from coursekit.lab import budget_from_env
from coursekit.style import optimisation_steps

from autograder.exercise import Exercise, Failure, probe_helper
from autograder.judges import field, grader_data, same_array, same_model, same_value, threshold_report

from . import LAB_ID, reference

# ------------------------------------------------------------ student side (probe helpers)


@probe_helper
def random_maps(shapes, seed):
    """Non-negative float32 feature maps of the given shapes (ReLU-like), the grader's own."""
    generator = np.random.default_rng(seed)
    return [np.maximum(generator.standard_normal(shape), 0).astype("float32") for shape in shapes]


@probe_helper
def error_line(error):
    return f"{type(error).__name__}: {error}"[:300]


@probe_helper
def value_and_gradient(function, first, *rest):
    """{"value": function(first, *rest), "gradient": d sum(value) / d first, or None}, as arrays,
    or {"error": what the function raised}."""
    variable = tf.Variable(np.asarray(first, dtype="float32"))
    try:
        with tf.GradientTape() as tape:
            value = function(variable, *rest)
            total = ops.sum(value)
        gradient = tape.gradient(total, variable)
    except Exception as error:  # the student's code may raise anything; report it
        return {"error": error_line(error)}
    return {"value": np.asarray(value, dtype="float64"),
            "gradient": None if gradient is None else np.asarray(gradient, dtype="float64")}


@probe_helper
def hidden_data():
    """The lab's images and feature network, as the notebook loads them, with the steps of this budget."""
    return load_style_images(verbose=False), optimisation_steps(budget_from_env())


@probe_helper
def target_grams(extractor, image):
    """The Gram matrices (1, C, C) of ``image``'s style maps by the lab's formula (not the student's)."""
    grams = []
    for feature_map in extractor.style(image):
        batch, height, width, channels = ops.shape(feature_map)
        flat = ops.reshape(feature_map, (batch, height * width, channels))
        grams.append(np.asarray(ops.einsum("bmi,bmj->bij", flat, flat)) / float(height * width))
    return grams


@probe_helper
def image_result(result):
    """What an optimisation returned, as a float32 array, or a description of what came instead."""
    try:
        return np.asarray(result, dtype="float32")
    except (TypeError, ValueError):
        return f"not an image: {type(result).__name__}"


# ------------------------------------------------------------------ grader side


def _traced(outputs, name, what, reference_function, *arguments):
    """Compare one ``value_and_gradient`` record with the reference function's."""
    record = field(outputs, name, what)
    if not isinstance(record, dict):
        raise Failure(f"{what}: the trace could not be read")
    if "error" in record:
        raise Failure(f"{what} raised {record['error']} on the grader's inputs")
    expected = value_and_gradient(reference_function, *arguments)
    same_array(what, field(record, "value", what), expected["value"], atol=1e-5, rtol=1e-4)
    if record.get("gradient") is None:
        raise Failure(f"{what}: no gradient reaches its input; compute it with keras.ops, not NumPy "
                      "(np.asarray or .numpy() cuts the chain of derivatives)")
    same_array(f"gradient of {what} with respect to its input", record["gradient"], expected["gradient"],
               atol=1e-4, rtol=1e-3)


def _image(outputs, size, what):
    if isinstance(outputs, str):
        raise Failure(f"{what} should return an image, found {outputs}")
    try:
        image = reference.as_batch(outputs, size)
    except ValueError as error:
        raise Failure(f"{what}: {error}") from None
    if not np.all(np.isfinite(image)):
        raise Failure(f"{what}: the image holds values that are not finite")
    return image


# ------------------------------------------------------------------ 1-2. the losses


class gram(Exercise):
    """gram_matrix on feature maps of other shapes, and its gradient."""

    def inputs():
        return {"maps": random_maps([(2, 5, 7, 3), (1, 3, 3, 16), (3, 1, 4, 5)], 1001)}

    def call(inputs, gram_matrix):
        return {f"case {k}": value_and_gradient(gram_matrix, maps) for k, maps in enumerate(inputs["maps"], 1)}

    def judge(outputs, inputs):
        for k, maps in enumerate(inputs["maps"], 1):
            _traced(outputs, f"case {k}", f"gram_matrix of maps shaped {maps.shape}", reference.gram_matrix, maps)


class texture_loss(Exercise):
    """texture_loss on three layers of other shapes, a batch of two, and its gradient."""

    def inputs():
        shapes = [(2, 6, 6, 4), (2, 4, 5, 8), (2, 2, 3, 6)]
        targets = random_maps([(1, *shape[1:]) for shape in shapes], 1003)
        grams = [np.einsum("bmi,bmj->bij", t.reshape(1, -1, t.shape[-1]), t.reshape(1, -1, t.shape[-1]))
                 / (t.shape[1] * t.shape[2]) for t in targets]
        return {"maps": random_maps(shapes, 1002), "grams": [g.astype("float32") for g in grams]}

    def call(inputs, texture_loss):
        maps, grams = inputs["maps"], inputs["grams"]
        zeros = [m[:1] * 0 for m in maps]
        return {"loss": value_and_gradient(lambda first, rest: texture_loss([first, *rest], grams), maps[0], maps[1:]),
                "zeros": value_and_gradient(lambda first, rest: texture_loss([first, *rest], grams), zeros[0], zeros[1:])}

    def judge(outputs, inputs):
        maps, grams = inputs["maps"], inputs["grams"]

        def loss(first, rest):
            return reference.texture_loss([first, *rest], grams)

        _traced(outputs, "loss", "texture_loss of 3 layers, batch of 2", loss, maps[0], maps[1:])
        record = field(outputs, "zeros", "the trace")
        if "error" in record:
            raise Failure(f"texture_loss of all-zero maps raised {record['error']}")
        same_array("texture_loss of all-zero maps (1 per layer)", field(record, "value", "the trace"), 3.0, rtol=1e-4)


class content_loss(Exercise):
    """content_loss on maps of another shape (a batch of two), and its gradient."""

    def inputs():
        maps, target = random_maps([(2, 5, 6, 7), (1, 5, 6, 7)], 1004)
        return {"maps": maps, "target": target}

    def call(inputs, content_loss):
        return {"loss": value_and_gradient(content_loss, inputs["maps"], inputs["target"])}

    def judge(outputs, inputs):
        _traced(outputs, "loss", "content_loss, batch of 2", reference.content_loss, inputs["maps"], inputs["target"])


class total_variation(Exercise):
    """total_variation for beta = 2, 1 and 3 on images of other shapes, and its gradient."""

    def inputs():
        generator = np.random.default_rng(1005)
        return {"cases": [[generator.random((2, 9, 11, 3), dtype=np.float32), 2.0],
                          [generator.random((1, 5, 6, 1), dtype=np.float32), 1.0],
                          [generator.random((1, 7, 7, 3), dtype=np.float32), 3.0]]}

    def call(inputs, total_variation):
        return {f"case {k}": value_and_gradient(lambda images, beta=beta: total_variation(images, beta=beta), images)
                for k, (images, beta) in enumerate(inputs["cases"], 1)}

    def judge(outputs, inputs):
        for k, (images, beta) in enumerate(inputs["cases"], 1):
            _traced(outputs, f"case {k}", f"total_variation of images shaped {images.shape}, beta={beta}",
                    lambda x, beta=beta: reference.total_variation(x, beta=beta), images)


# ------------------------------------------------------------------ 3. the engine


class optimise(Exercise):
    """optimise_pixels on the grader's quadratic loss: steps, losses, the box [0, 1], the minimum."""

    def inputs():
        generator = np.random.default_rng(1006)
        return {"target": generator.uniform(-0.5, 1.5, (1, 12, 10, 3)).astype("float32"),
                "start": generator.random((1, 12, 10, 3), dtype=np.float32), "steps": 150, "learning_rate": 0.08}

    def call(inputs, optimise_pixels):
        target = inputs["target"]
        image, losses = optimise_pixels(lambda image: ops.mean((image - target) ** 2), inputs["start"],
                                        inputs["steps"], inputs["learning_rate"])
        return {"image": image_result(image), "losses": [float(loss) for loss in losses]}

    def judge(outputs, inputs):
        target, start = inputs["target"], inputs["start"]
        losses = field(outputs, "losses", "optimise_pixels's result")
        same_value("len(losses) after 150 steps", len(losses), inputs["steps"])
        same_array("losses[0] (the loss of the initial image, before the first step)", losses[0],
                   np.mean((start - target) ** 2), rtol=1e-4)
        image = field(outputs, "image", "optimise_pixels's result")
        if isinstance(image, str) or np.shape(image) != start.shape:
            raise Failure(f"optimise_pixels should return an image shaped like the initial one {start.shape}, "
                          f"found {image if isinstance(image, str) else np.shape(image)}")
        if not (np.min(image) >= 0 and np.max(image) <= 1):
            raise Failure(f"optimise_pixels: pixels outside [0, 1] (from {np.min(image):.3f} to {np.max(image):.3f}); "
                          "clip them after every step")
        same_array("the image after 150 steps vs the nearest image in [0, 1] to the target", image,
                   np.clip(target, 0, 1), atol=0.03, rtol=0)


# ------------------------------------------------------------------ 4-6. optimisations on pixels


class inversion(Exercise):
    """invert_features on another photo's content features, from another start."""

    def inputs():
        return {"photo": "coffee", "seed": 7}  # the notebook inverts astronaut from seed 0

    def call(inputs, invert_features):
        data, steps = hidden_data()
        extractor = data.extractor()
        features = extractor.content(data.contents[inputs["photo"]][None])
        size = data.image_size
        return image_result(invert_features(extractor, features, (1, size, size, 3), steps["inversion"],
                                            seed=inputs["seed"]))

    def judge(outputs, inputs):
        data = grader_data(reference)
        image = _image(outputs, data.image_size, "invert_features")
        value = reference.inversion_gain(data, image, inputs["photo"])
        return threshold_report(LAB_ID, "inversion_gain", value, data,
                                about=f"(inverting the {inputs['photo']} photo's {data.extractor().content_layer} "
                                      f"features; log10 of a flat image's content loss / yours)")


class texture(Exercise):
    """synthesise_texture on another texture's Gram matrices, from another start."""

    def inputs():
        return {"texture": "gravel", "seed": 7}  # the notebook synthesises brick from seed 0

    def call(inputs, synthesise_texture):
        data, steps = hidden_data()
        extractor = data.extractor()
        grams = target_grams(extractor, data.textures[inputs["texture"]][None])
        size = data.image_size
        return image_result(synthesise_texture(extractor, grams, (1, size, size, 3), steps["texture"],
                                               seed=inputs["seed"]))

    def judge(outputs, inputs):
        data = grader_data(reference)
        image = _image(outputs, data.image_size, "synthesise_texture")
        value = reference.texture_gain(data, image, inputs["texture"])
        return threshold_report(LAB_ID, "texture_gain", value, data,
                                about=f"(synthesising {inputs['texture']}; log10 of a flat image's texture loss / yours)")


class style(Exercise):
    """style_transfer on another content photo and style image."""

    def inputs():
        return {"content": "coffee", "style": "grass"}  # the notebook: chelsea in the style of gravel

    def call(inputs, style_transfer):
        data, steps = hidden_data()
        extractor = data.extractor()
        grams = target_grams(extractor, data.textures[inputs["style"]][None])
        return image_result(style_transfer(extractor, data.contents[inputs["content"]][None], grams, steps["style"]))

    def judge(outputs, inputs):
        data = grader_data(reference)
        image = _image(outputs, data.image_size, "style_transfer")
        value = reference.style_gain(data, image, inputs["content"], inputs["style"])
        return threshold_report(LAB_ID, "style_gain", value, data,
                                about=f"({inputs['content']} in the style of {inputs['style']}; log10 of the "
                                      f"photo's loss / the stylised image's)")


# ------------------------------------------------------------------ 7. the generator


class generator(Exercise):
    """build_generator's model against the reference generator (structure, shapes, outputs)."""

    def inputs():
        return {"noise": np.random.default_rng(1007).standard_normal((3, 16, 16, 8)).astype("float32")}

    def call(inputs, build_generator):
        return build_generator()

    def judge(outputs, inputs):
        same_model(outputs, reference.build_generator(), batch=inputs["noise"])


class generator_gain(Exercise):
    """The trained generator's samples, on the grader's own noise: their texture loss, and that they vary."""

    def inputs():
        return {}

    def call(inputs, generator):
        return generator

    def judge(outputs, inputs):
        if outputs is None or not hasattr(outputs, "layers"):
            raise Failure(f"`generator` should be the trained keras.Model, found {type(outputs).__name__}")
        try:
            samples = reference.generator_samples(outputs)
        except Exception as error:  # a model that does not take (n, 16, 16, 8) noise
            raise Failure(f"the generator could not map the grader's noise {reference.NOISE_SHAPE} to images "
                          f"({type(error).__name__}: {error})") from None
        data = grader_data(reference)
        if samples.shape[1:] != (data.image_size, data.image_size, 3):
            raise Failure(f"the generator's samples are shaped {samples.shape[1:]}, expected "
                          f"{(data.image_size, data.image_size, 3)}")
        spread = float(samples.std(axis=0).mean())
        if not spread >= 1e-3:
            raise Failure(f"the generator's samples do not depend on the noise (pixel std across samples "
                          f"{spread:.2g}); a texture generator makes a different image for each z")
        value = reference.generator_gain(data, samples, reference.NOTEBOOK["generator"])
        return threshold_report(LAB_ID, "generator_gain", value, data,
                                about=f"({len(samples)} samples on the grader's noise; log10 of flat images' "
                                      f"texture loss / the samples')")
