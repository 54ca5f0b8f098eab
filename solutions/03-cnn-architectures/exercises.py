"""Lab 03's graded exercises, one declaration per nbgrader grade_id (see autograder/exercise.py).

The Inception module may concatenate its branches in any order. The graph comparison
already ignores the order of a Concatenate's inputs, but copying the reference's weights
into a module whose branches come in another order would permute its output channels.
So the judges read the student's branch order from the graph (``branch_order``) and
compare against the reference module built in that same order: same graph, same layer
order, same outputs.

Custom layers never leave the student's kernel: ``LocallyConnected2D`` is judged by its
trace (weight shapes, output shapes, parameter counts, outputs under fixed weights), and
every block is returned as a Keras model of Keras's own layers.
"""

import itertools

import keras
import numpy as np

from autograder.batch.artifacts import Unsupported
from autograder.exercise import Exercise, Failure, probe_helper
from autograder.judges import classifier_report, fixed_images, grader_data, same_array, same_model
from autograder.reference_checks import check_structure, compare_with_reference
from coursekit.model_diff import summarize

from . import LAB_ID, reference

PUSH_TIER_METRICS = {1: "macro_f1_beyond_inception", 2: "macro_f1_strong"}


# ------------------------------------------------------------------ student side (probe helpers)


@probe_helper
def built(builder):
    """``builder()`` when it is a function, else a line saying what it is instead."""
    if not callable(builder):
        return f"expected a function that builds the model, found {type(builder).__name__}"
    return builder()


@probe_helper
def block_model(block, input_shape, *arguments):
    """A keras.Model around ``block(inputs, *arguments)``, or a line saying why there is none."""
    tensor = keras.Input(shape=input_shape)
    try:
        output = block(tensor, *arguments)
    except ValueError as error:
        return f"building the block on an input of shape {tuple(input_shape)} failed: {error}"
    if output is None:
        return "the function returned None instead of the block's output tensor"
    return keras.Model(tensor, output)


@probe_helper
def weight_shape(layer, name):
    """The shape of ``layer.<name>`` as a list of ints, or None if the layer has no such attribute."""
    weight = getattr(layer, name, None)
    if weight is None or not hasattr(weight, "shape"):
        return None
    return [int(size) for size in weight.shape]


# ------------------------------------------------------------------ grader side


def same_number(name, found, expected):
    """An integer answer: equal as numbers (2 and 2.0 pass, 2.33 does not)."""
    if found is None:
        raise Failure(f"{name}: got None -- did the function forget to `return`?")
    try:
        equal = float(found) == float(expected)
    except (TypeError, ValueError):
        equal = False
    if not equal:
        raise Failure(f"{name}: expected {expected}, found {found}")


def student_model(found, what):
    """The model the student's code built, or a Failure that says what came instead."""
    if isinstance(found, str):
        raise Failure(f"{what}: {found}")
    if found is None or isinstance(found, Unsupported) or not hasattr(found, "layers"):
        kind = repr(found) if isinstance(found, Unsupported) else type(found).__name__
        raise Failure(f"{what} should give a keras.Model, found {kind}")
    return found


def randomize(model, generator):
    """Random weights everywhere (positive variances), so that every path matters."""
    for variable in model.weights:
        shape = tuple(variable.shape)
        if "variance" in variable.path:
            value = generator.uniform(0.5, 2.0, shape)
        else:
            value = generator.normal(0, 0.3, shape)
        variable.assign(value.astype(variable.dtype))


def branch_order(model) -> tuple:
    """The names (reference.BRANCHES) of the branches a model's Concatenate takes, in its order.

    Only called once the graph matches the reference, so every branch ends in a Conv2D.
    """
    summary = summarize(model)
    (merge,) = [layer for layer in summary if layer.kind == "Concatenate"]
    one_by_one = [index for index in merge.inputs if summary[index].settings_dict["kernel_size"] == (1, 1)]
    first, second = one_by_one
    first_feeder, second_feeder = summary[first].inputs[0], summary[second].inputs[0]
    # The pooling branch's 1x1 convolution is fed by the pooling, itself fed by the module's input.
    pool_branch = first if first_feeder >= 0 and second_feeder in summary[first_feeder].inputs else second
    names = []
    for index in merge.inputs:
        size = summary[index].settings_dict["kernel_size"]
        if size == (1, 1):
            names.append("pool" if index == pool_branch else "1x1")
        else:
            names.append({(3, 3): "3x3", (5, 5): "5x5"}[size])
    return tuple(names)


def push_report(model, tier: int) -> dict:
    """The push model's macro-F1 on the grader's held-out data against the tier's threshold.

    Tier 1: above the unchanged Inception network's best calibrated seed; tier 2: the
    stronger reference's threshold.
    """
    model = student_model(model, "push_model (trained by the push cell)")
    dataset = grader_data(reference)
    return classifier_report(LAB_ID, "macro_f1", model, dataset, threshold_metric=PUSH_TIER_METRICS[tier],
                             threshold_name=f"the tier {tier} threshold")


# ------------------------------------------------------------------ arithmetic


class output_size(Exercise):
    """conv_output_size on every combination of size, kernel, stride, padding and dilation."""

    def inputs():
        cases = itertools.product((1, 4, 11, 32, 227), (1, 3, 4, 7, 11), (1, 2, 4), (0, 1, 3), (1, 2, 4))
        # only the cases where the (dilated) kernel fits into the padded input
        return {"cases": [case for case in cases if case[4] * (case[1] - 1) + 1 <= case[0] + 2 * case[3]]}

    def call(inputs, conv_output_size):
        return {"cases": [conv_output_size(n, k, s, p, d) for n, k, s, p, d in inputs["cases"]],
                "alexnet_conv1": conv_output_size(227, 11, s=4),
                "defaults": conv_output_size(10, 3)}

    def judge(outputs, inputs):
        found = outputs["cases"]
        if not isinstance(found, list) or len(found) != len(inputs["cases"]):
            raise Failure("conv_output_size: the grader could not read back one answer per case")
        for (n, k, s, p, d), value in zip(inputs["cases"], found):
            same_number(f"conv_output_size(n={n}, k={k}, s={s}, p={p}, d={d})", value,
                        reference.conv_output_size(n, k, s, p, d))
        same_number("conv_output_size(227, 11, s=4)  (AlexNet's conv1)", outputs["alexnet_conv1"], 55)
        same_number("conv_output_size(10, 3) with default s, p, d", outputs["defaults"], 8)


class dilated(Exercise):
    """dilate_kernel on kernels of several sizes, channels and dilations."""

    def inputs():
        generator = np.random.default_rng(1030)
        cases = [(generator.normal(size=(k, k, c_in, c_out)).astype("float32"), d)
                 for k, c_in, c_out, d in ((2, 1, 3, 3), (3, 2, 2, 4), (1, 1, 1, 5), (4, 3, 1, 1))]
        images = generator.random((2, 13, 11, 2), dtype=np.float32)
        kernel = generator.normal(size=(2, 2, 2, 3)).astype("float32")
        return {"cases": cases, "images": images, "kernel": kernel}

    def call(inputs, dilate_kernel):
        return {"cases": [dilate_kernel(kernel, d) for kernel, d in inputs["cases"]],
                "dilated_by_3": dilate_kernel(inputs["kernel"], 3)}

    def judge(outputs, inputs):
        for (kernel, d), found in zip(inputs["cases"], outputs["cases"]):
            same_array(f"dilate_kernel(kernel {kernel.shape}, {d})", found, reference.dilate_kernel(kernel, d))
        kernel = inputs["kernel"]
        same_array("dilate_kernel(kernel (2, 2, 2, 3), 3)", outputs["dilated_by_3"], reference.dilate_kernel(kernel, 3))
        images = inputs["images"]
        same_array("a convolution with dilate_kernel(kernel, 3) vs dilation_rate=3",
                   keras.ops.conv(images, np.asarray(outputs["dilated_by_3"], dtype="float32")),
                   keras.ops.conv(images, kernel, dilation_rate=3), atol=1e-4)


class transposed(Exercise):
    """transposed_output_size and transposed_conv2d on the grader's sizes, images and kernels."""

    def inputs():
        sizes = [(n, k, s, p) for n, k, s, p in itertools.product((1, 3, 6, 14), (1, 2, 5), (1, 2, 4), (0, 1))
                 if s * (n - 1) + k - 2 * p > 0]  # only the cases with a non-empty output
        generator = np.random.default_rng(1031)
        images = []
        for shape, k, stride in (((3, 4), 2, 3), ((1, 1), 3, 2), ((4, 2), 4, 1), ((2, 3), 3, 2)):
            images.append((generator.normal(size=shape), generator.normal(size=(k, k)), stride))
        return {"sizes": sizes, "images": images}

    def call(inputs, transposed_output_size, transposed_conv2d):
        return {"sizes": [transposed_output_size(n, k, s, p) for n, k, s, p in inputs["sizes"]],
                "outputs": [transposed_conv2d(image, kernel, stride) for image, kernel, stride in inputs["images"]]}

    def judge(outputs, inputs):
        for (n, k, s, p), found in zip(inputs["sizes"], outputs["sizes"]):
            same_number(f"transposed_output_size(n={n}, k={k}, s={s}, p={p})", found,
                        reference.transposed_output_size(n, k, s, p))
        for (image, kernel, stride), found in zip(inputs["images"], outputs["outputs"]):
            k = kernel.shape[0]
            same_array(f"transposed_conv2d(image {image.shape}, kernel {k}×{k}, stride {stride})", found,
                       reference.transposed_conv2d(image, kernel, stride))
            keras_output = keras.ops.conv_transpose(image[None, :, :, None].astype("float32"),
                                                    kernel[:, :, None, None].astype("float32"),
                                                    strides=stride, padding="valid", output_padding=0)
            same_array("transposed_conv2d vs keras.ops.conv_transpose", found, np.asarray(keras_output)[0, :, :, 0],
                       atol=1e-4)


class parameter_counts(Exercise):
    """The three parameter counts against Keras's count_params() on other layer sizes."""

    def inputs():
        return {"convolutions": [(1, 3, 7, 1), (5, 2, 9, 3), (7, 16, 4, 2), (11, 3, 96, 1)],
                "dense": [(1, 1), (400, 120), (9216, 4096), (7, 3)]}

    def call(inputs, conv2d_parameter_count, separable_conv2d_parameter_count, dense_parameter_count):
        return {"conv2d": [conv2d_parameter_count(k, c, f) for k, c, f, m in inputs["convolutions"]],
                "separable": [separable_conv2d_parameter_count(k, c, f, m) for k, c, f, m in inputs["convolutions"]],
                "dense": [dense_parameter_count(n_in, n_out) for n_in, n_out in inputs["dense"]]}

    def judge(outputs, inputs):
        for (k, c, f, m), conv, separable in zip(inputs["convolutions"], outputs["conv2d"], outputs["separable"]):
            shape = (2 * k + 1, 2 * k + 1, c)
            keras_conv = keras.Sequential([keras.Input(shape), keras.layers.Conv2D(f, k)])
            same_number(f"conv2d_parameter_count({k}, {c}, {f})", conv, keras_conv.count_params())
            keras_separable = keras.Sequential([keras.Input(shape), keras.layers.SeparableConv2D(f, k, depth_multiplier=m)])
            same_number(f"separable_conv2d_parameter_count({k}, {c}, {f}, depth_multiplier={m})", separable,
                        keras_separable.count_params())
        for (n_in, n_out), found in zip(inputs["dense"], outputs["dense"]):
            same_number(f"dense_parameter_count({n_in}, {n_out})", found, reference.dense_parameter_count(n_in, n_out))


class lenet(Exercise):
    """build_lenet's model against the reference LeNet-5."""

    def inputs():
        return {}

    def call(inputs, build_lenet):
        return built(build_lenet)

    def judge(outputs, inputs):
        model = student_model(outputs, "build_lenet")
        batch = np.random.default_rng(1032).random((4, 32, 32, 1), dtype=np.float32)
        same_model(model, reference.build_lenet(), batch)


# ------------------------------------------------------------------ layers


class locally_connected(Exercise):
    """LocallyConnected2D's weights, shapes and outputs under the grader's weights."""

    def inputs():
        generator = np.random.default_rng(1033)
        cases = []
        for shape, filters, k in (((3, 9, 8, 2), 5, 2), ((2, 6, 6, 1), 2, 4), ((1, 5, 7, 4), 3, 1)):
            out_height, out_width = shape[1] - k + 1, shape[2] - k + 1
            cases.append({
                "images": generator.random(shape, dtype=np.float32), "filters": filters, "kernel_size": k,
                "kernel": generator.normal(size=(out_height, out_width, k, k, shape[3], filters)).astype("float32"),
                "bias": generator.normal(size=(out_height, out_width, filters)).astype("float32")})
        return {"cases": cases, "functional_input": (6, 5, 2)}

    def call(inputs, LocallyConnected2D):
        traces = []
        for case in inputs["cases"]:
            layer = LocallyConnected2D(case["filters"], case["kernel_size"])
            first_output = layer(case["images"])
            trace = {"kernel_shape": weight_shape(layer, "kernel"), "bias_shape": weight_shape(layer, "bias"),
                     "output_shape": [int(size) for size in first_output.shape],
                     "count_params": int(layer.count_params()), "output": None}
            if trace["kernel_shape"] == list(case["kernel"].shape) and trace["bias_shape"] == list(case["bias"].shape):
                layer.kernel.assign(case["kernel"])
                layer.bias.assign(case["bias"])
                trace["output"] = np.asarray(layer(case["images"]))
            traces.append(trace)
        tensor = keras.Input(shape=inputs["functional_input"])
        functional = LocallyConnected2D(3, 3)(tensor)
        return {"cases": traces, "functional_output_shape": [None if size is None else int(size)
                                                             for size in functional.shape]}

    def judge(outputs, inputs):
        for case, trace in zip(inputs["cases"], outputs["cases"]):
            filters, k, images = case["filters"], case["kernel_size"], case["images"]
            what = f"LocallyConnected2D({filters}, {k}) on {images.shape}"
            expected_layer = reference.LocallyConnected2D(filters, k)
            expected = expected_layer(images)
            for name in ("kernel", "bias"):
                theirs = tuple(getattr(expected_layer, name).shape)
                mine = trace[f"{name}_shape"]
                if mine is None or tuple(mine) != theirs:
                    raise Failure(f"{what}: expected self.{name} of shape {theirs}, "
                                  f"found {None if mine is None else tuple(mine)}")
            if tuple(trace["output_shape"]) != tuple(expected.shape):
                raise Failure(f"{what}: expected output shape {tuple(expected.shape)}, "
                              f"found {tuple(trace['output_shape'])}")
            same_number(f"{what}: count_params()", trace["count_params"], expected_layer.count_params())
            expected_layer.kernel.assign(case["kernel"])
            expected_layer.bias.assign(case["bias"])
            same_array(f"{what}: output under the grader's kernel and bias", trace["output"], expected_layer(images),
                       atol=1e-4)
        found = tuple(outputs["functional_output_shape"])
        if found != (None, 4, 3, 3):
            raise Failure(f"LocallyConnected2D(3, 3) in a functional model on (None, 6, 5, 2): expected output "
                          f"shape (None, 4, 3, 3), found {found}")


class global_pooling(Exercise):
    """global_average_pooling and global_max_pooling on feature maps of several shapes."""

    def inputs():
        generator = np.random.default_rng(1034)
        return {"features": [generator.normal(size=shape) for shape in ((1, 3, 3, 1), (4, 2, 7, 5), (2, 1, 1, 3))]}

    def call(inputs, global_average_pooling, global_max_pooling):
        return {"average": [global_average_pooling(features) for features in inputs["features"]],
                "max": [global_max_pooling(features) for features in inputs["features"]]}

    def judge(outputs, inputs):
        for features, average, maximum in zip(inputs["features"], outputs["average"], outputs["max"]):
            same_array(f"global_average_pooling on {features.shape}", average,
                       reference.global_average_pooling(features))
            same_array(f"global_max_pooling on {features.shape}", maximum, reference.global_max_pooling(features))


class batch_norm(Exercise):
    """batch_norm in training and inference mode, with other momentums and epsilons."""

    def inputs():
        generator = np.random.default_rng(1035)
        cases = []
        for shape, momentum, epsilon in (((16, 5), 0.8, 1e-2), ((4, 3, 3, 6), 0.5, 1e-3), ((3, 2, 5, 2), 0.99, 1e-5)):
            channels = shape[-1]
            x = generator.normal(size=shape) * generator.uniform(0.5, 3, channels) + generator.normal(size=channels)
            gamma, beta = generator.normal(size=channels), generator.normal(size=channels)
            mean, variance = generator.normal(size=channels), generator.uniform(0.2, 3, channels)
            cases.append({"x": x, "gamma": gamma, "beta": beta, "moving_mean": mean, "moving_variance": variance,
                          "momentum": momentum, "epsilon": epsilon})
        return {"cases": cases}

    def call(inputs, batch_norm):
        results = []
        for case in inputs["cases"]:
            for training in (True, False):
                found = batch_norm(case["x"], case["gamma"], case["beta"], case["moving_mean"], case["moving_variance"],
                                   training, momentum=case["momentum"], epsilon=case["epsilon"])
                results.append({"type": type(found).__name__,
                                "parts": list(found) if isinstance(found, (tuple, list)) else found})
        return results

    def judge(outputs, inputs):
        results = iter(outputs)
        for case in inputs["cases"]:
            shape, momentum, epsilon = case["x"].shape, case["momentum"], case["epsilon"]
            arguments = [case[name] for name in ("x", "gamma", "beta", "moving_mean", "moving_variance")]
            training_y = None
            for training in (True, False):
                found = next(results)
                if found["type"] != "tuple" or not isinstance(found["parts"], list) or len(found["parts"]) != 3:
                    raise Failure("batch_norm should return a tuple (y, new_moving_mean, new_moving_variance), "
                                  f"found a {found['type']}")
                expected = reference.batch_norm(*arguments, training, momentum, epsilon)
                mode = "training" if training else "inference"
                for name, mine, theirs in zip(("y", "new moving mean", "new moving variance"), found["parts"], expected):
                    same_array(f"batch_norm on {shape} ({mode} mode, momentum {momentum}, epsilon {epsilon}): {name}",
                               mine, theirs, atol=1e-5)
                if training:
                    training_y = found["parts"][0]
            layer = keras.layers.BatchNormalization(momentum=momentum, epsilon=epsilon)
            layer.build(shape)
            layer.set_weights(arguments[1:])
            same_array(f"batch_norm on {shape} vs keras.layers.BatchNormalization (training mode)", training_y,
                       layer(case["x"].astype("float32"), training=True), atol=1e-4)


# ------------------------------------------------------------------ blocks and networks


class residual(Exercise):
    """residual_block on inputs of other sizes, with random weights, in both modes."""

    def inputs():
        return {"shapes": [(5, 5, 6), (4, 3, 2)]}

    def call(inputs, residual_block):
        return [block_model(residual_block, shape) for shape in inputs["shapes"]]

    def judge(outputs, inputs):
        generator = np.random.default_rng(1036)
        for shape, found in zip(inputs["shapes"], outputs):
            student = student_model(found, f"residual_block on an input of shape {shape}")
            expected = block_model(reference.residual_block, shape)
            randomize(expected, generator)
            batch = generator.normal(size=(3, *shape)).astype("float32")
            compare_with_reference(student, expected, batch)
            same_array(f"residual block on {shape}, training mode (batch statistics)",
                       student(batch, training=True), expected(batch, training=True), atol=1e-4)


class residual_projection(Exercise):
    """residual_projection_block on other inputs, filter counts and strides, random weights,
    in both modes."""

    def inputs():
        return {"cases": [((8, 8, 4), 6, 2), ((5, 7, 3), 5, 1), ((7, 7, 2), 4, 2)]}

    def call(inputs, residual_projection_block):
        return [block_model(residual_projection_block, shape, filters, stride)
                for shape, filters, stride in inputs["cases"]]

    def judge(outputs, inputs):
        generator = np.random.default_rng(1040)
        for (shape, filters, stride), found in zip(inputs["cases"], outputs):
            what = f"residual_projection_block on an input of shape {shape}, filters={filters}, stride={stride}"
            student = student_model(found, what)
            expected = block_model(reference.residual_projection_block, shape, filters, stride)
            randomize(expected, generator)
            batch = generator.normal(size=(3, *shape)).astype("float32")
            try:
                compare_with_reference(student, expected, batch)
            except AssertionError as mismatch:
                raise Failure(f"{what}: {mismatch}") from None
            same_array(f"{what}, training mode (batch statistics)", student(batch, training=True),
                       expected(batch, training=True), atol=1e-4)


class inception_module(Exercise):
    """inception_module on other inputs and filter counts, branches in any order, random weights."""

    def inputs():
        return {"cases": [((9, 9, 5), 8), ((6, 7, 12), 3)]}

    def call(inputs, inception_module):
        return [block_model(inception_module, shape, filters) for shape, filters in inputs["cases"]]

    def judge(outputs, inputs):
        generator = np.random.default_rng(1037)
        for (shape, filters), found in zip(inputs["cases"], outputs):
            student = student_model(found, f"inception_module on an input of shape {shape}, filters={filters}")
            check_structure(student, block_model(reference.inception_module, shape, filters))  # any branch order
            order = branch_order(student)
            expected = block_model(lambda tensor, count: reference.inception_module(tensor, count, order),
                                   shape, filters)
            randomize(expected, generator)
            compare_with_reference(student, expected, generator.random((3, *shape), dtype=np.float32))


class inception_reduce(Exercise):
    """inception_module with reduce_filters smaller than filters, other inputs, any branch order, random weights."""

    def inputs():
        return {"cases": [((9, 9, 24), 8, 3), ((6, 7, 40), 12, 5)]}

    def call(inputs, inception_module):
        models = []
        for shape, filters, reduce_filters in inputs["cases"]:
            try:
                models.append(block_model(lambda tensor: inception_module(tensor, filters, reduce_filters=reduce_filters),
                                          shape))
            except TypeError as error:  # most likely no reduce_filters argument
                models.append(f"inception_module(inputs, {filters}, reduce_filters={reduce_filters}) raised "
                              f"TypeError: {error}"[:300])
        return models

    def judge(outputs, inputs):
        generator = np.random.default_rng(1038)
        for (shape, filters, reduce_filters), found in zip(inputs["cases"], outputs):
            student = student_model(found, f"inception_module on an input of shape {shape}, filters={filters}, "
                                           f"reduce_filters={reduce_filters}")
            check_structure(student, block_model(
                lambda tensor: reference.inception_module(tensor, filters, reduce_filters=reduce_filters), shape))
            order = branch_order(student)
            expected = block_model(
                lambda tensor: reference.inception_module(tensor, filters, order, reduce_filters=reduce_filters), shape)
            randomize(expected, generator)
            compare_with_reference(student, expected, generator.random((3, *shape), dtype=np.float32))


@probe_helper
def cost_models():
    """The grader's models for conv_multiply_adds: strides, 'valid' and 'same' padding, non-square
    kernels, layers that are not Conv2D, and a branching module."""
    inputs = keras.Input(shape=(19, 23, 5))
    x = keras.layers.Conv2D(6, (5, 3), strides=(2, 1))(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Conv2D(7, 1, padding="same", activation="relu")(x)
    x = keras.layers.AveragePooling2D(2)(x)
    x = keras.layers.Conv2D(3, 3, strides=2, padding="same")(x)
    chain = keras.Model(inputs, keras.layers.Dense(4)(keras.layers.Flatten()(x)))
    inputs = keras.Input(shape=(8, 8, 16))
    left = keras.layers.Conv2D(12, 1, padding="same")(inputs)
    right = keras.layers.Conv2D(4, 3, padding="same")(keras.layers.Conv2D(2, 1)(inputs))
    branches = keras.Model(inputs, keras.layers.Concatenate()([left, right]))
    return [chain, branches]


class multiply_adds(Exercise):
    """conv_multiply_adds on the grader's models, against the reference count."""

    def inputs():
        return {}

    def call(inputs, conv_multiply_adds):
        counts = []
        for model in cost_models():
            try:
                counts.append(conv_multiply_adds(model))
            except Exception as error:  # the student's code may raise anything; report it
                counts.append(f"{type(error).__name__}: {error}"[:300])
        return counts

    def judge(outputs, inputs):
        names = ["a chain of strided, 'valid' and 'same' convolutions with batch norm, pooling and a Dense layer",
                 "two branches of 1x1 and 3x3 convolutions"]
        if not isinstance(outputs, list) or len(outputs) != len(names):
            raise Failure("the counts of conv_multiply_adds are missing")
        for name, model, found in zip(names, cost_models(), outputs):
            if isinstance(found, str):
                raise Failure(f"conv_multiply_adds on {name} raised {found}")
            expected = reference.conv_multiply_adds(model)
            if not isinstance(found, (int, np.integer)) or int(found) != expected:
                raise Failure(f"conv_multiply_adds on {name}: expected {expected:,}, found {found!r}")


class lab02_network(Exercise):
    """build_lab02_network's model against lab 02's reference network."""

    def inputs():
        return {}

    def call(inputs, build_lab02_network):
        return built(build_lab02_network)

    def judge(outputs, inputs):
        same_model(student_model(outputs, "build_lab02_network"), reference.build_lab02_network())


class inception_network(Exercise):
    """build_inception_network's model, branches in any order, under random weights."""

    def inputs():
        return {}

    def call(inputs, build_inception_network):
        return built(build_inception_network)

    def judge(outputs, inputs):
        student = student_model(outputs, "build_inception_network")
        check_structure(student, reference.build_inception_network())
        expected = reference.build_inception_network(branch_order(student))
        randomize(expected, np.random.default_rng(1038))
        compare_with_reference(student, expected, fixed_images(4, seed=1039))


class separable_network(Exercise):
    """build_separable_network's model against the reference, under random weights."""

    def inputs():
        return {}

    def call(inputs, build_separable_network):
        return built(build_separable_network)

    def judge(outputs, inputs):
        student = student_model(outputs, "build_separable_network")
        expected = reference.build_separable_network()
        randomize(expected, np.random.default_rng(1041))
        compare_with_reference(student, expected, fixed_images(4, seed=1042))


# ------------------------------------------------------------------ quality


class inception_f1(Exercise):
    """The trained Inception network's macro-F1 on the grader's own copy of the held-out data."""

    def inputs():
        return {}

    def call(inputs, inception_model):
        return inception_model

    def judge(outputs, inputs):
        model = student_model(outputs, "inception_model (trained in the notebook)")
        dataset = grader_data(reference)
        return classifier_report(LAB_ID, reference.METRIC, model, dataset)


class push_tier1(Exercise):
    """Your push network's macro-F1 above the unchanged Inception network's best seed."""

    def inputs():
        return {}

    def call(inputs, push_model):
        return push_model

    def judge(outputs, inputs):
        return push_report(outputs, 1)


class push_tier2(Exercise):
    """Your push network's macro-F1 against the stronger reference's threshold."""

    def inputs():
        return {}

    def call(inputs, push_model):
        return push_model

    def judge(outputs, inputs):
        return push_report(outputs, 2)
