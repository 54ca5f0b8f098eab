"""Lab 06's graded exercises, one declaration per nbgrader grade_id (see autograder/exercise.py).

The student's layers (``CustomDropout``, ``DropConnectDense``) and the models built of them
never leave the student's kernel: ``call`` runs them on the grader's inputs under fixed seeds
and returns their traces (outputs, gradients, what they raised), and ``judge`` measures those.
Models of Keras's own layers (the augmentation pipeline, the plain MLP, the deep networks)
come back as models and are judged in the grader's process.

Statistical tolerances: with 200 000 Bernoulli draws the fraction of zeros has a standard
deviation of at most 0.0011, the mean of inverted-dropout outputs (relative to the input's)
at most 0.004; the tolerances below are several standard deviations wide.
"""

import math

import keras
import numpy as np
import tensorflow as tf

from coursekit.data import LOADERS
from coursekit.lab import budget_from_env, set_determinism
from coursekit.model_diff import first_difference, summarize

from autograder.exercise import Exercise, Failure, probe_helper
from autograder.judges import as_tuples, field, grader_data, layer_specs, same_array, same_model, threshold_report

from . import LAB_ID, reference

ZERO_FRACTION_TOLERANCE = 0.01
MEAN_TOLERANCE = 0.03


# ------------------------------------------------------------ student side (probe helpers)


@probe_helper
def raised(build):
    """What ``build()`` raised: "ValueError" (or a subclass of it), another exception's name, or "nothing"."""
    try:
        build()
    except ValueError:
        return "ValueError"
    except Exception as error:  # the student's code may raise anything; report it
        return error_line(error)
    return "nothing"


@probe_helper
def error_line(error):
    """One line for an exception the student's code raised part-way through a trace."""
    return f"{type(error).__name__}: {error}"[:300]


@probe_helper
def dropout_input():
    """200 000 positive float32 values shaped (500, 8, 50), the grader's own."""
    return (0.5 + np.random.default_rng(1060).random((500, 8, 50))).astype("float32")


@probe_helper
def one_hot_rows(n_inputs, rows=4000):
    """``rows`` one-hot rows cycling through the ``n_inputs`` inputs: e_0, e_1, ..., e_0, ..."""
    return np.tile(np.eye(n_inputs, dtype="float32"), (rows // n_inputs + 1, 1))[:rows]


@probe_helper
def weight_shapes(layer):
    return [list(np.shape(weight)) for weight in layer.get_weights()]


@probe_helper
def plain_summary(model):
    """``coursekit.model_diff.summarize`` as plain data: one dict per layer."""
    return [{"kind": spec.kind, "settings": [[key, value] for key, value in spec.settings],
             "output_shape": spec.output_shape, "params": spec.params, "inputs": list(spec.inputs)}
            for spec in summarize(model)]


@probe_helper
def pipeline_settings(pipeline):
    """[[layer class, {setting: value}]] of a Sequential of preprocessing layers."""
    names = ("factor", "height_factor", "width_factor", "fill_mode", "interpolation")
    return [[type(layer).__name__, {name: layer.get_config().get(name) for name in names}]
            for layer in pipeline.layers]


@probe_helper
def fill_weights(model, seed=606):
    """Overwrite every float weight of ``model`` with fixed values that depend only on the
    weights' order and shapes: kernels uniform in +-sqrt(3 / fan_in), vectors (biases, batch-norm
    statistics) uniform in [0.5, 1.5]. Two models of the same structure then compute alike."""
    generator = np.random.default_rng(seed)
    values = []
    for weight in model.get_weights():
        weight = np.asarray(weight)
        if weight.dtype.kind != "f":
            values.append(weight)
        elif weight.ndim >= 2:
            fan_in = int(np.prod(weight.shape[:-1]))
            values.append((generator.uniform(-1, 1, weight.shape) * math.sqrt(3 / fan_in)).astype(weight.dtype))
        else:
            values.append(generator.uniform(0.5, 1.5, weight.shape).astype(weight.dtype))
    model.set_weights(values)


@probe_helper
def model_trace(model, batch):
    """A model built of any layers, as plain data: its input shape, its layers, its nested
    pipeline's settings, and its inference-mode outputs on ``batch`` under ``fill_weights``."""
    try:
        input_shape = list(model.inputs[0].shape)
    except (AttributeError, IndexError, TypeError, ValueError):
        input_shape = None
    nested = [layer for layer in model.layers if hasattr(layer, "layers")]
    trace = {"input_shape": input_shape, "layers": plain_summary(model),
             "pipeline": pipeline_settings(nested[0]) if nested else None}
    fill_weights(model)
    trace["outputs"] = np.asarray(model(batch, training=False))
    return trace


@probe_helper
def gap_model(weights):
    """A small classifier of (n, 28, 28, 1) images with the given weights; its Dropout makes
    training-mode predictions differ from inference-mode ones."""
    model = keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(32, activation="relu"), keras.layers.Dropout(0.5),
                              keras.layers.Dense(10, activation="softmax")])
    model.set_weights(weights)
    return model


@probe_helper
def seeded_deep_network(activation, depth, width, seed, scheme="glorot_uniform"):
    """``depth`` Dense layers on 784 inputs (the last a 10-way softmax), kernels drawn from ``seed``
    with NumPy (``scheme`` "glorot_uniform": U[-a, a], a = sqrt(6/(fan_in+fan_out)); "he_normal":
    N(0, 2/fan_in)), zero biases."""
    generator = np.random.default_rng(seed)
    model = keras.Sequential([keras.Input(shape=(784,))]
                             + [keras.layers.Dense(width, activation=activation) for _ in range(depth - 1)]
                             + [keras.layers.Dense(10, activation="softmax")])
    values = []
    for weight in model.get_weights():
        if np.ndim(weight) == 2 and scheme == "he_normal":
            values.append(generator.normal(0, math.sqrt(2 / weight.shape[0]), weight.shape).astype("float32"))
        elif np.ndim(weight) == 2:
            limit = math.sqrt(6 / (weight.shape[0] + weight.shape[1]))
            values.append(generator.uniform(-limit, limit, weight.shape).astype("float32"))
        else:
            values.append(np.zeros(np.shape(weight), "float32"))
    model.set_weights(values)
    return model


@probe_helper
def lab_images(images):
    """uint8 (n, 28, 28) -> float32 (n, 28, 28, 1) in [0, 1], as the notebook prepares them."""
    return (np.asarray(images, dtype="float32") / 255.0)[..., None]


@probe_helper
def class_probabilities(model, images, chunk=500):
    return np.concatenate([np.asarray(model(images[start:start + chunk], training=False))
                           for start in range(0, len(images), chunk)])


# ------------------------------------------------------------------ grader side


def _close_to(name, found, expected, tolerance):
    if not abs(found - expected) <= tolerance:
        raise Failure(f"{name}: expected {expected:.4f} (within {tolerance}), found {found:.4f}")


def _array_like(name, found, shape):
    """``found`` as a float64 array of ``shape``, or a Failure that says what came instead."""
    try:
        array = np.asarray(found, dtype=np.float64)
    except (TypeError, ValueError):
        raise Failure(f"{name}: expected an array of numbers shaped {shape}, found {type(found).__name__}") from None
    if array.shape != tuple(shape):
        raise Failure(f"{name}: expected shape {tuple(shape)}, found {array.shape}")
    return array


def _part(outputs, record, key, what):
    """``record[key]`` of a trace; if it is missing because the student's code raised part-way
    through (``outputs["error"]``), a Failure that says so."""
    if isinstance(record, dict) and key in record:
        return field(record, key, what)
    error = outputs.get("error") if isinstance(outputs, dict) else None
    if error:
        raise Failure(f"{what}: your code raised {error} on the grader's inputs")
    raise Failure(f"{what}: the trace lacks {key!r}")


def _no_error(outputs):
    """The student's code raised after every part the judge looks at (a trace's last part)."""
    if isinstance(outputs, dict) and outputs.get("error"):
        raise Failure(f"your code raised {outputs['error']} on the grader's inputs")


def _require_raised(name, found):
    if found != "ValueError":
        raise Failure(f"{name} should raise ValueError (keras-io style argument check), raised {found}")


def _as_lists(value):
    """Tuples as lists, all the way down: how a value looks after the probe's round trip."""
    if isinstance(value, (list, tuple)):
        return [_as_lists(item) for item in value]
    if isinstance(value, dict):
        return {key: _as_lists(item) for key, item in value.items()}
    return value


def _dataset():
    return grader_data(reference)


# ------------------------------------------------------------------ 1. dropout


class dropout(Exercise):
    """CustomDropout (inverted scaling) on the grader's inputs: masks, scaling, seeds, gradient."""

    def inputs():
        return {"x": dropout_input(), "rates": [0.1, 0.7], "bad_rates": [1.0, -0.1, 1.5]}

    def call(inputs, CustomDropout):
        x = inputs["x"]
        trace = {"raises": [raised(lambda: CustomDropout(rate)) for rate in inputs["bad_rates"]],
                 "raises_scale_at": raised(lambda: CustomDropout(0.5, scale_at="never")), "rates": []}
        try:
            for rate in inputs["rates"]:
                record = {}
                trace["rates"].append(record)
                layer = CustomDropout(rate, seed=11)
                record["inference"] = np.asarray(layer(x, training=False))
                record["no_flag"] = np.asarray(layer(x))
                record["training"] = np.asarray(layer(x, training=True))
                record["again"] = np.asarray(layer(x, training=True))
                record["twins"] = [np.asarray(CustomDropout(rate, seed=11)(x, training=True)) for _ in range(2)]
                graph_layer = CustomDropout(rate, seed=5)
                record["graph"] = np.asarray(tf.function(lambda batch: graph_layer(batch, training=True))(x))
            trace["rate_zero"] = np.asarray(CustomDropout(0.0)(x, training=True))
            ones = tf.ones((400, 50))
            layer = CustomDropout(0.4, seed=2)
            with tf.GradientTape() as tape:
                tape.watch(ones)
                outputs = layer(ones, training=True)
                total = tf.reduce_sum(outputs)
            gradient = tape.gradient(total, ones)
            trace["gradient"] = {"outputs": np.asarray(outputs),
                                 "gradient": None if gradient is None else np.asarray(gradient)}
            copy = CustomDropout.from_config(CustomDropout(0.25, seed=3).get_config())
            trace["config_rate"] = getattr(copy, "rate", None)
        except Exception as error:  # what the trace holds so far is still judged, in order
            trace["error"] = error_line(error)
        return trace

    def judge(outputs, inputs):
        x = inputs["x"]
        for rate, found in zip(inputs["bad_rates"], field(outputs, "raises", "the trace")):
            _require_raised(f"CustomDropout(rate={rate})", found)
        _require_raised("CustomDropout(0.5, scale_at='never')", field(outputs, "raises_scale_at", "the trace"))
        records = field(outputs, "rates", "the trace")
        for index, rate in enumerate(inputs["rates"]):
            name = f"CustomDropout({rate})"
            trace = records[index] if index < len(records) else {}

            def part(key, what):
                return _part(outputs, trace, key, what)

            same_array(f"{name}(x, training=False)", part("inference", f"{name}(x, training=False)"), x, atol=0, rtol=0)
            same_array(f"{name}(x) with no training flag", part("no_flag", f"{name}(x)"), x, atol=0, rtol=0)
            found = _array_like(f"{name}(x, training=True)", part("training", f"{name}(x, training=True)"), x.shape)
            keras_output = np.asarray(keras.layers.Dropout(rate, seed=11)(x, training=True), dtype=np.float64)
            dropped = found == 0
            _close_to(f"{name} in training: fraction of zeros (Keras's Dropout: {np.mean(keras_output == 0):.4f})",
                      float(dropped.mean()), rate, ZERO_FRACTION_TOLERANCE)
            same_array(f"{name} in training: kept values x / (1 - rate)", found[~dropped], x[~dropped] / (1 - rate),
                       atol=1e-6, rtol=1e-5)
            _close_to(f"{name} in training: mean output / mean input (Keras's Dropout: "
                      f"{keras_output.mean() / x.mean():.4f})", float(found.mean() / x.mean()), 1.0, MEAN_TOLERANCE)
            again = _array_like(f"{name}(x, training=True), second call",
                                part("again", f"{name}(x, training=True), second call"), x.shape)
            if np.array_equal(again, found):
                raise Failure(f"{name}: two calls in training mode dropped the same units; draw a new mask on "
                              "every call (keras.random.uniform(..., seed=self.seed_generator))")
            twins = [_array_like(f"{name}, seed=11 (in training)", twin, x.shape)
                     for twin in part("twins", f"two layers {name}, seed=11")]
            if len(twins) != 2 or not np.array_equal(*twins):
                raise Failure(f"{name}, seed=11: two layers with the same seed dropped different units; create a "
                              "keras.random.SeedGenerator(seed) in __init__ and pass it to keras.random")
            graph = _array_like(f"{name} inside tf.function", part("graph", f"{name} inside tf.function"), x.shape)
            _close_to(f"{name} inside tf.function: fraction of zeros", float(np.mean(graph == 0)), rate,
                      ZERO_FRACTION_TOLERANCE)
        same_array("CustomDropout(0.0) in training (nothing to drop)",
                   _part(outputs, outputs, "rate_zero", "CustomDropout(0.0)(x, training=True)"), x, atol=0, rtol=0)
        gradient = _part(outputs, outputs, "gradient", "the gradient of CustomDropout(0.4) in training")
        if gradient.get("gradient") is None:
            raise Failure("CustomDropout(0.4) in training: no gradient reaches its input; use keras.ops, not NumPy")
        same_array("gradient of sum(CustomDropout(0.4)(ones)) w.r.t. its input (mask / (1 - rate))",
                   gradient["gradient"], field(gradient, "outputs"), atol=1e-6)
        rate = _part(outputs, outputs, "config_rate", "CustomDropout.from_config(layer.get_config())")
        if not isinstance(rate, (int, float)) or isinstance(rate, bool) or abs(rate - 0.25) > 1e-9:
            raise Failure("CustomDropout.from_config(layer.get_config()) lost the rate; put rate, scale_at and "
                          "seed into get_config()")
        _no_error(outputs)


class dropout_original(Exercise):
    """CustomDropout with scale_at="test" (the original scaling) on the grader's inputs."""

    def inputs():
        return {"x": dropout_input(), "rates": [0.2, 0.6]}

    def call(inputs, CustomDropout):
        x = inputs["x"]
        trace = []
        for rate in inputs["rates"]:
            layer = CustomDropout(rate, scale_at="test", seed=21)
            trace.append({"inference": np.asarray(layer(x, training=False)),
                          "training": np.asarray(layer(x, training=True))})
        return trace

    def judge(outputs, inputs):
        x = inputs["x"]
        if not isinstance(outputs, list) or len(outputs) != len(inputs["rates"]):
            raise Failure("the trace of CustomDropout(..., scale_at='test') is incomplete")
        for rate, trace in zip(inputs["rates"], outputs):
            name = f"CustomDropout({rate}, scale_at='test')"
            same_array(f"{name} at inference: x * (1 - rate)", field(trace, "inference"), x * (1 - rate),
                       atol=1e-6, rtol=1e-5)
            found = _array_like(f"{name} in training", field(trace, "training"), x.shape)
            dropped = found == 0
            _close_to(f"{name} in training: fraction of zeros", float(dropped.mean()), rate, ZERO_FRACTION_TOLERANCE)
            same_array(f"{name} in training: kept values (unscaled)", found[~dropped], x[~dropped], atol=0, rtol=0)
            _close_to(f"{name}: mean training output / mean inference output",
                      float(found.mean() / (x.mean() * (1 - rate))), 1.0, MEAN_TOLERANCE)


# ------------------------------------------------------------------ 2. DropConnect


class dropconnect(Exercise):
    """DropConnectDense on the grader's weights and inputs: inference, per-example masks, scaling, seeds."""

    def inputs():
        generator = np.random.default_rng(1061)
        cases = []
        for units, rate, n_inputs, activation in ((30, 0.25, 20, None), (12, 0.6, 9, "relu")):
            cases.append({"units": units, "rate": rate, "n_inputs": n_inputs, "activation": activation,
                          "kernel": generator.normal(size=(n_inputs, units)).astype("float32"),
                          "bias": generator.normal(size=units).astype("float32"),
                          "x": generator.normal(size=(64, n_inputs)).astype("float32")})
        expectation = {"kernel": generator.normal(size=(20, 30)).astype("float32"),
                       "row": generator.random((1, 20)).astype("float32")}
        return {"cases": cases, "expectation": expectation, "bad_rates": [1.0, -0.2]}

    def call(inputs, DropConnectDense):
        trace = {"raises": [raised(lambda: DropConnectDense(8, rate)) for rate in inputs["bad_rates"]], "cases": []}
        try:
            for case in inputs["cases"]:
                units, n_inputs = case["units"], case["n_inputs"]

                def built(seed=7):
                    layer = DropConnectDense(units, case["rate"], activation=case["activation"], seed=seed)
                    layer.build((None, n_inputs))
                    return layer

                record = {}
                trace["cases"].append(record)
                layer = built()
                record["shapes"] = weight_shapes(layer)
                if record["shapes"] != [[n_inputs, units], [units]]:
                    break  # the judge stops at the shapes
                layer.set_weights([case["kernel"], case["bias"]])
                record["inference"] = np.asarray(layer(case["x"], training=False))
                record["no_flag"] = np.asarray(layer(case["x"]))
                layer.set_weights([np.ones((n_inputs, units), "float32"), np.zeros(units, "float32")])
                one_hot = one_hot_rows(n_inputs)
                record["training"] = np.asarray(layer(one_hot, training=True))
                twins = [built() for _ in range(2)]
                for twin in twins:
                    twin.set_weights(layer.get_weights())
                record["twins"] = [np.asarray(twin(one_hot, training=True)) for twin in twins]
            expectation = {}
            trace["expectation"] = expectation
            layer = DropConnectDense(30, 0.3, activation=None, seed=9)
            layer.build((None, 20))
            expectation["shapes"] = weight_shapes(layer)
            if expectation["shapes"] == [[20, 30], [30]]:
                layer.set_weights([inputs["expectation"]["kernel"], np.zeros(30, "float32")])
                repeated = np.repeat(inputs["expectation"]["row"], 4000, axis=0)
                expectation["outputs"] = np.asarray(tf.function(lambda batch: layer(batch, training=True))(repeated))
                with tf.GradientTape() as tape:
                    loss = tf.reduce_sum(layer(repeated[:8], training=True))
                expectation["gradients"] = [None if gradient is None else np.asarray(gradient)
                                            for gradient in tape.gradient(loss, layer.trainable_weights)]
            copy = DropConnectDense.from_config(DropConnectDense(5, 0.2, activation="relu", seed=1).get_config())
            trace["config"] = {"units": getattr(copy, "units", None), "rate": getattr(copy, "rate", None)}
        except Exception as error:  # what the trace holds so far is still judged, in order
            trace["error"] = error_line(error)
        return trace

    def judge(outputs, inputs):
        for rate, found in zip(inputs["bad_rates"], field(outputs, "raises", "the trace")):
            _require_raised(f"DropConnectDense(8, rate={rate})", found)
        records = field(outputs, "cases", "the trace")
        for index, case in enumerate(inputs["cases"]):
            units, rate, n_inputs, activation = case["units"], case["rate"], case["n_inputs"], case["activation"]
            name = f"DropConnectDense({units}, {rate}, activation={activation})"
            record = records[index] if index < len(records) else {}

            def part(key, what):
                return _part(outputs, record, key, what)

            shapes = [tuple(shape) for shape in part("shapes", f"{name}.build((None, {n_inputs}))")]
            if shapes != [(n_inputs, units), (units,)]:
                raise Failure(f"{name} built on {n_inputs} inputs: expected weights [kernel {(n_inputs, units)}, "
                              f"bias {(units,)}] in that order, found shapes {shapes}")
            expected = case["x"] @ case["kernel"] + case["bias"]
            if activation == "relu":
                expected = np.maximum(expected, 0)
            same_array(f"{name} at inference: activation(x @ W + b)",
                       part("inference", f"{name}(x, training=False)"), expected, atol=1e-5)
            same_array(f"{name} with no training flag", part("no_flag", f"{name}(x)"), expected, atol=1e-5)
            # One-hot inputs and a kernel of ones: each output is one mask entry / (1 - rate).
            found = _array_like(f"{name} in training", part("training", f"{name}(x, training=True)"), (4000, units))
            dropped = found == 0
            if not np.any(dropped.any(axis=1) & (~dropped).any(axis=1)):
                raise Failure(f"{name} in training: every example keeps or drops all the weights of an input "
                              "together; that is dropout on the inputs -- DropConnect drops each weight on its own")
            same_input = found[::n_inputs]  # rows that all saw input e_0
            if np.all(same_input == same_input[0]):
                raise Failure(f"{name}: every example of the batch got the same mask; DropConnect (Wan et al. 2013) "
                              "draws a mask per example, shape (batch, inputs, units)")
            _close_to(f"{name} in training: fraction of dropped weights", float(dropped.mean()), rate,
                      ZERO_FRACTION_TOLERANCE)
            same_array(f"{name} in training: kept weights W / (1 - rate)", found[~dropped],
                       np.full(int((~dropped).sum()), 1 / (1 - rate)), atol=1e-5)
            twins = [_array_like(f"{name}, seed=7 (in training)", twin, (4000, units))
                     for twin in part("twins", f"two layers {name}, seed=7")]
            if len(twins) != 2 or not np.array_equal(*twins):
                raise Failure(f"{name}, seed=7: two layers with the same seed dropped different weights; create a "
                              "keras.random.SeedGenerator(seed) in __init__ and pass it to keras.random")
        name = "DropConnectDense(30, 0.3)"
        expectation = _part(outputs, outputs, "expectation", name)

        def part(key, what):
            return _part(outputs, expectation, key, what)

        shapes = [tuple(shape) for shape in part("shapes", f"{name}.build((None, 20))")]
        if shapes != [(20, 30), (30,)]:
            raise Failure(f"{name} built on 20 inputs: expected weights [kernel (20, 30), bias (30,)] in that order, "
                          f"found shapes {shapes}")
        found = _array_like(f"{name} in training (inside tf.function)",
                            part("outputs", f"{name} in training (inside tf.function)"), (4000, 30))
        row, kernel = inputs["expectation"]["row"], inputs["expectation"]["kernel"]
        same_array(f"{name} in training (inside tf.function): mean over 4000 draws of one input vs x @ W",
                   found.mean(axis=0), row[0] @ kernel, atol=0.15, rtol=0)
        gradients = part("gradients", f"the gradient of {name} in training")
        if not isinstance(gradients, list) or len(gradients) != 2 or any(gradient is None for gradient in gradients):
            raise Failure("DropConnectDense in training: no gradient reaches the kernel or the bias")
        config = _part(outputs, outputs, "config", "DropConnectDense.from_config(layer.get_config())")
        if config.get("units") != 5 or config.get("rate") != 0.2:
            raise Failure("DropConnectDense.from_config(layer.get_config()) lost units or rate; put units, rate, "
                          "activation and seed into get_config()")
        _no_error(outputs)


# ------------------------------------------------------------------ 3. augmentation


class class_preserving(Exercise):
    """CLASS_PRESERVING: which transforms keep a digit's (or a garment's) class."""

    def inputs():
        return {}

    def call(inputs, CLASS_PRESERVING):
        return CLASS_PRESERVING

    def judge(outputs, inputs):
        if not isinstance(outputs, dict):
            raise Failure(f"CLASS_PRESERVING should be a dict, found {type(outputs).__name__}")
        wrong = [name for name, value in reference.CLASS_PRESERVING.items() if outputs.get(name) is not value]
        if wrong:
            raise Failure(f"CLASS_PRESERVING: {len(wrong)} of {len(reference.CLASS_PRESERVING)} answers are wrong "
                          f"or missing: {wrong}")


class augmentation(Exercise):
    """build_augmentation's pipeline: its layers and settings, identity at inference, random in training."""

    def inputs():
        return {"batch": np.random.default_rng(1000).random((16, 28, 28, 1), dtype=np.float32)}

    def call(inputs, build_augmentation):
        pipeline = build_augmentation()
        batch = inputs["batch"]
        inference = np.asarray(pipeline(batch, training=False))  # also builds it, so that it saves quietly
        return {"pipeline": pipeline, "inference": inference,
                "training": [np.asarray(pipeline(batch, training=True)) for _ in range(2)]}

    def judge(outputs, inputs):
        pipeline = field(outputs, "pipeline", "the answer")
        if not hasattr(pipeline, "layers"):
            raise Failure(f"build_augmentation should return a keras.Sequential, found {type(pipeline).__name__}")
        found = _as_lists(pipeline_settings(pipeline))
        expected = _as_lists(pipeline_settings(reference.build_augmentation()))
        if any(kind == "RandomFlip" for kind, _ in found):
            raise Failure("the pipeline flips images: a mirrored 2, 3, 4, 5 or 7 is no digit, and a 6 turned "
                          "upside down is a 9")
        if found != expected:
            raise Failure(f"augmentation pipeline: expected {expected}, found {found}")
        batch = inputs["batch"]
        same_array("augmentation(x, training=False)", field(outputs, "inference"), batch, atol=0, rtol=0)
        first, second = (_array_like("augmentation(x, training=True)", images, batch.shape)
                         for images in field(outputs, "training"))
        if np.allclose(first, batch) or np.allclose(first, second):
            raise Failure("augmentation(x, training=True) should transform the images, differently on every call")


# ------------------------------------------------------------------ 4. overfitting


class mlp(Exercise):
    """build_mlp under every combination of flags the grader tries, against the reference MLP."""

    def inputs():
        regularised = {"dropout": True, "dropconnect": True, "augmentation": True}
        return {"flag_sets": [{}, {"dropout": True}, {"dropconnect": True}, {"augmentation": True},
                              {"batch_norm": True}, regularised, dict(regularised, batch_norm=True)],
                "batch": np.random.default_rng(1000).random((8, 28, 28, 1), dtype=np.float32)}

    def call(inputs, build_mlp):
        return [model_trace(build_mlp(**flags), inputs["batch"]) for flags in inputs["flag_sets"]]

    def judge(outputs, inputs):
        if not isinstance(outputs, list) or len(outputs) != len(inputs["flag_sets"]):
            raise Failure("the trace of build_mlp is incomplete")
        for flags, trace in zip(inputs["flag_sets"], outputs):
            label = f"build_mlp({', '.join(f'{key}=True' for key in flags)})"
            expected = reference.build_mlp(**flags)
            input_shape = field(trace, "input_shape", label)
            if input_shape is None or tuple(input_shape) != tuple(expected.inputs[0].shape):
                raise Failure(f"{label}: model input: expected shape {tuple(expected.inputs[0].shape)}, found "
                              f"{input_shape if input_shape is None else tuple(input_shape)}; start it with "
                              "keras.Input(shape=(28, 28, 1))")
            problem = first_difference(layer_specs(field(trace, "layers", label), label), summarize(expected))
            if problem:
                raise Failure(f"{label}: {problem}")
            fill_weights(expected)
            reference_outputs = np.asarray(expected(inputs["batch"], training=False))
            found = _array_like(f"{label}: its outputs", field(trace, "outputs", label), reference_outputs.shape)
            difference = float(np.max(np.abs(found - reference_outputs)))
            if not difference <= 1e-5:
                raise Failure(f"{label}: with the same weights as the reference your model computes something else: "
                              f"outputs differ by up to {difference:.3g} on a fixed batch in inference mode (check "
                              "the layers' order and what your layers do when training=False)")
            if flags.get("augmentation"):
                nested = trace.get("pipeline")
                if nested is None or _as_lists(nested) != _as_lists(pipeline_settings(reference.build_augmentation())):
                    raise Failure(f"{label}: its first layer should be the pipeline of build_augmentation()")


class gap_function(Exercise):
    """accuracy_gap on the grader's classifier, images and labels (75 % right on train, 33 % on validation)."""

    def inputs():
        generator = np.random.default_rng(1062)
        weights = [(generator.normal(size=(784, 32)) * math.sqrt(2 / 784)).astype("float32"),
                   generator.normal(size=32).astype("float32") * 0.1,
                   (generator.normal(size=(32, 10)) * math.sqrt(2 / 32)).astype("float32"),
                   generator.normal(size=10).astype("float32") * 0.1]
        images = generator.random((600, 28, 28, 1), dtype=np.float32)
        hidden = np.maximum(images.reshape(600, -1).astype(np.float64) @ weights[0] + weights[1], 0)
        logits = hidden @ weights[2] + weights[3]
        ordered = np.sort(logits, axis=1)
        clear = np.flatnonzero(ordered[:, -1] - ordered[:, -2] > 0.02)[:210]  # no near-ties: float32 agrees
        predicted = logits.argmax(axis=1)[clear]
        x_train, x_val = images[clear[:120]], images[clear[120:]]
        y_train = np.where(np.arange(120) % 4 == 0, (predicted[:120] + 1) % 10, predicted[:120])  # 75 % right
        y_val = np.where(np.arange(90) % 3 == 0, predicted[120:], (predicted[120:] + 3) % 10)  # 33 % right
        return {"weights": weights, "x_train": x_train, "y_train": y_train, "x_val": x_val, "y_val": y_val}

    def call(inputs, accuracy_gap):
        return accuracy_gap(gap_model(inputs["weights"]), inputs["x_train"], inputs["y_train"], inputs["x_val"],
                            inputs["y_val"])

    def judge(outputs, inputs):
        expected = reference.accuracy_gap(gap_model(inputs["weights"]), inputs["x_train"], inputs["y_train"],
                                          inputs["x_val"], inputs["y_val"])
        if not isinstance(outputs, dict) or sorted(outputs) != sorted(expected):
            raise Failure(f"accuracy_gap should return a dict with the keys {sorted(expected)}, found {outputs!r}")
        for key, value in expected.items():
            same_array(f"accuracy_gap(...)[{key!r}] (inference mode, on the grader's model and data)", outputs[key],
                       value)


class gap_reduction(Exercise):
    """The trained plain and regularised MLPs' accuracy gaps and validation accuracies, re-measured on the grader's
    own copy of the data."""

    def inputs():
        return {"subset": 300, "validation": 700}

    def call(inputs, plain_model, regularised_model):
        dataset = LOADERS["mnist"](budget=budget_from_env(), verbose=False)
        subset, validation = inputs["subset"], inputs["validation"]
        x_small = lab_images(dataset.x_train[:subset])
        x_val = lab_images(dataset.x_train[subset:subset + validation])
        return {"plain_model": plain_model,
                "regularised_layers": plain_summary(regularised_model),
                "regularised_train": class_probabilities(regularised_model, x_small),
                "regularised_val": class_probabilities(regularised_model, x_val),
                "image_sums": [x_small.reshape(len(x_small), -1).sum(axis=1), x_val.reshape(len(x_val), -1).sum(axis=1)]}

    def judge(outputs, inputs):
        plain_model = field(outputs, "plain_model", "the answer")
        if not hasattr(plain_model, "layers"):
            raise Failure(f"plain_model should be a trained keras model, found {type(plain_model).__name__}")
        for name, found, expected in (
                ("plain_model", summarize(plain_model), reference.build_mlp()),
                ("regularised_model", layer_specs(field(outputs, "regularised_layers"), "regularised_model"),
                 reference.build_mlp(**reference.REGULARISED))):
            problem = first_difference(found, summarize(expected), check_shapes=False, check_params=False)
            if problem:
                raise Failure(f"{name}: {problem}")
        dataset = _dataset()
        x_small, y_small, x_val, y_val = reference.experiment_data(dataset)
        for images, sums in zip((x_small, x_val), field(outputs, "image_sums")):
            if np.shape(sums) != (len(images),) or not np.allclose(sums, images.reshape(len(images), -1).sum(axis=1),
                                                                     atol=1e-2):
                raise Failure("regularised_model was not given the grader's images: was the data loader changed?")
        plain = reference.accuracy_gap(plain_model, x_small, y_small, x_val, y_val)
        train_scores = _array_like("regularised_model on the training subset", field(outputs, "regularised_train"),
                                   (len(y_small), 10))
        val_scores = _array_like("regularised_model on the held-out images", field(outputs, "regularised_val"),
                                 (len(y_val), 10))
        train_accuracy = float(np.mean(train_scores.argmax(axis=1) == y_small))
        val_accuracy = float(np.mean(val_scores.argmax(axis=1) == y_val))
        regularised = {"train_accuracy": train_accuracy, "val_accuracy": val_accuracy,
                       "gap": train_accuracy - val_accuracy}
        for name, numbers in (("plain", plain), ("regularised", regularised)):
            print(f"{name}: train accuracy = {numbers['train_accuracy']:.4f} on the first {reference.SUBSET} training "
                  f"images, validation accuracy = {numbers['val_accuracy']:.4f} on the next {len(y_val)} training "
                  f"images, gap {numbers['gap']:.4f}")
        gain = regularised["val_accuracy"] - plain["val_accuracy"]
        threshold_report(LAB_ID, "validation_gain", gain, dataset,
                         about="(regularised minus plain validation accuracy: a smaller gap must not come from "
                               "learning less)")
        reduction = plain["gap"] - regularised["gap"]
        return threshold_report(LAB_ID, "gap_reduction", reduction, dataset, about=f"on {dataset.description}")


# ------------------------------------------------------------------ 5. vanishing gradients


class deep_network(Exercise):
    """build_deep_network for sigmoid, ReLU and a shallower tanh network, against the reference."""

    def inputs():
        return {"arguments": [["sigmoid"], ["relu"], ["tanh", 4, 16]],
                "batch": np.random.default_rng(1063).random((8, 784), dtype=np.float32)}

    def call(inputs, build_deep_network):
        return [build_deep_network(*arguments) for arguments in inputs["arguments"]]

    def judge(outputs, inputs):
        if not isinstance(outputs, list) or len(outputs) != len(inputs["arguments"]):
            raise Failure("the networks of build_deep_network are missing")
        for arguments, model in zip(inputs["arguments"], outputs):
            label = f"build_deep_network({', '.join(repr(argument) for argument in arguments)})"
            try:
                same_model(model, reference.build_deep_network(*arguments), batch=inputs["batch"])
            except AssertionError as error:
                raise Failure(f"{label}: {error}") from None


class gradient_norms(Exercise):
    """layer_gradient_norms on the grader's networks and batch, against the reference's GradientTape."""

    def inputs():
        generator = np.random.default_rng(1064)
        return {"x": generator.random((64, 784), dtype=np.float32), "y": generator.integers(0, 10, 64),
                "networks": [["sigmoid", 10, 64, 1], ["relu", 10, 64, 2], ["tanh", 5, 32, 3]]}

    def call(inputs, layer_gradient_norms):
        return [np.asarray(layer_gradient_norms(seeded_deep_network(*network), inputs["x"], inputs["y"]))
                for network in inputs["networks"]]

    def judge(outputs, inputs):
        if not isinstance(outputs, list) or len(outputs) != len(inputs["networks"]):
            raise Failure("the norms of layer_gradient_norms are missing")
        for (activation, depth, width, seed), found in zip(inputs["networks"], outputs):
            model = seeded_deep_network(activation, depth, width, seed)
            same_array(f"layer_gradient_norms of a {depth}-layer {activation} network ({width} units)", found,
                       reference.layer_gradient_norms(model, inputs["x"], inputs["y"]), atol=0, rtol=1e-4)


class gradient_ratio(Exercise):
    """Orders of magnitude between the sigmoid and ReLU networks' first/last gradient-norm ratios."""

    def inputs():
        return {"batch": [256, 512], "seed": 5}  # not the notebook's batch (the first 256) nor its seed (0)

    def call(inputs, build_deep_network, layer_gradient_norms):
        dataset = LOADERS["mnist"](budget=budget_from_env(), verbose=False)
        first, last = inputs["batch"]
        x = (dataset.x_train[first:last].reshape(last - first, -1) / 255.0).astype("float32")
        y = dataset.y_train[first:last].astype("int64")
        trace = {"networks": {}, "norms": {}}
        for activation in ("sigmoid", "relu"):
            set_determinism(inputs["seed"])
            network = build_deep_network(activation)
            trace["networks"][activation] = network
            trace["norms"][activation] = np.asarray(layer_gradient_norms(network, x, y), dtype=np.float64)
        return trace

    def judge(outputs, inputs):
        dataset = _dataset()
        x, y = reference.gradient_batch(dataset)
        ratios = {}
        for activation in ("sigmoid", "relu"):
            network = field(field(outputs, "networks", "the trace"), activation, "the networks")
            if not hasattr(network, "layers"):
                raise Failure(f"build_deep_network({activation!r}) should return a keras model, "
                              f"found {type(network).__name__}")
            measured = reference.layer_gradient_norms(network, x, y)
            ratios[activation] = reference.first_to_last(measured)
            found = np.asarray(field(field(outputs, "norms", "the trace"), activation, "the norms"), dtype=np.float64)
            name = f"layer_gradient_norms(build_deep_network({activation!r}), the grader's batch of 256 images)"
            if found.ndim != 1 or len(found) < 2 or not np.isfinite(found).all() or found[-1] == 0:
                raise Failure(f"{name}: expected one finite norm per Dense layer, found {found}")
            if not math.isclose(found[0] / found[-1], ratios[activation], rel_tol=1e-2):
                raise Failure(f"{name} gives a first/last ratio of {found[0] / found[-1]:.4g}; the grader measures "
                              f"{ratios[activation]:.4g} on the same network and batch")
        print(f"first/last gradient-norm ratio: sigmoid {ratios['sigmoid']:.3g}, ReLU {ratios['relu']:.3g}")
        orders = float(np.log10(ratios["relu"] / ratios["sigmoid"]))
        return threshold_report(LAB_ID, "gradient_orders", orders, dataset,
                                about="(log10 of ReLU's ratio / sigmoid's)")


# ------------------------------------------------------------ 6. initialisation: Glorot against He


class initial_std(Exercise):
    """initial_std on other schemes and fans than the notebook's, and a ValueError for an unknown scheme."""

    def inputs():
        return {"cases": [["glorot_uniform", 300, 100], ["glorot_normal", 64, 64], ["he_uniform", 128, 32],
                          ["he_normal", 27, 16]],
                "unknown": "orthogonal"}

    def call(inputs, initial_std):
        values = []
        for case in inputs["cases"]:
            try:
                values.append(float(initial_std(*case)))
            except Exception as error:  # the student's code may raise anything; report it
                values.append(error_line(error))
        return {"values": values, "unknown": raised(lambda: initial_std(inputs["unknown"], 64, 64))}

    def judge(outputs, inputs):
        values = field(outputs, "values", "the trace")
        for (scheme, fan_in, fan_out), found in zip(inputs["cases"], values):
            name = f"initial_std({scheme!r}, {fan_in}, {fan_out})"
            if isinstance(found, str):
                raise Failure(f"{name} raised {found}")
            same_array(name, found, reference.initial_std(scheme, fan_in, fan_out), atol=0, rtol=1e-4)
        found = field(outputs, "unknown", "the trace")
        _require_raised(f"initial_std({inputs['unknown']!r}, 64, 64), an unknown scheme", found)


class activation_stds(Exercise):
    """activation_stds on the grader's batch and networks (He and Glorot kernels), against the reference."""

    def inputs():
        generator = np.random.default_rng(1066)
        return {"x": generator.random((96, 784), dtype=np.float32),
                "networks": [["relu", 10, 64, 4, "he_normal"], ["relu", 6, 48, 5, "glorot_uniform"],
                             ["tanh", 5, 16, 6, "glorot_uniform"]]}

    def call(inputs, activation_stds):
        return [np.asarray(activation_stds(seeded_deep_network(*network), inputs["x"]))
                for network in inputs["networks"]]

    def judge(outputs, inputs):
        if not isinstance(outputs, list) or len(outputs) != len(inputs["networks"]):
            raise Failure("the standard deviations of activation_stds are missing")
        for (activation, depth, width, seed, scheme), found in zip(inputs["networks"], outputs):
            model = seeded_deep_network(activation, depth, width, seed, scheme)
            same_array(f"activation_stds of a {depth}-layer {activation} network ({width} units, {scheme} kernels)",
                       found, reference.activation_stds(model, inputs["x"]), atol=0, rtol=1e-3)
