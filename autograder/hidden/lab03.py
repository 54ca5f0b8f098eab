"""Hidden checks for lab 03 (CNN architectures).

The Inception module may concatenate its branches in any order. The graph comparison
already ignores the order of a Concatenate's inputs, but copying the reference's weights
into a module whose branches come in another order would permute its output channels.
So the checks read the student's branch order from the graph and compare against the
reference module built in that same order: same graph, same layer order, same outputs.
"""

import itertools

import keras
import numpy as np

from autograder import metrics
from autograder.hidden.common import require_arrays, require_model, require_threshold, rng
from autograder.reference_checks import check_structure, compare_with_reference
from autograder.labs import reference as _lab_reference

reference = _lab_reference("03-cnn-architectures")
from coursekit.data import LOADERS
from coursekit.lab import budget_from_env
from coursekit.model_diff import summarize

TIER_METRICS = {1: "macro_f1", 2: "macro_f1_strong"}


def _fail(message):
    raise AssertionError(f"hidden check, {message}")


def _require_int(name, found, expected):
    if found is None:
        _fail(f"{name}: got None -- did the function forget to `return`?")
    if not float(found) == float(expected):
        _fail(f"{name}: expected {expected}, found {found}")


# ------------------------------------------------------------------ arithmetic


def check_conv_output_size(conv_output_size):
    cases = list(itertools.product((1, 4, 11, 32, 227), (1, 3, 4, 7, 11), (1, 2, 4), (0, 1, 3), (1, 2, 4)))
    cases = [case for case in cases if case[4] * (case[1] - 1) + 1 <= case[0] + 2 * case[3]]
    for n, k, s, p, d in cases:
        _require_int(f"conv_output_size(n={n}, k={k}, s={s}, p={p}, d={d})", conv_output_size(n, k, s, p, d),
                     reference.conv_output_size(n, k, s, p, d))
    _require_int("conv_output_size(227, 11, s=4)  (AlexNet's conv1)", conv_output_size(227, 11, s=4), 55)
    _require_int("conv_output_size(10, 3) with default s, p, d", conv_output_size(10, 3), 8)


def check_dilate_kernel(dilate_kernel):
    generator = rng(30)
    for k, c_in, c_out, d in ((2, 1, 3, 3), (3, 2, 2, 4), (1, 1, 1, 5), (4, 3, 1, 1)):
        kernel = generator.normal(size=(k, k, c_in, c_out)).astype("float32")
        found = dilate_kernel(kernel, d)
        require_arrays(f"dilate_kernel(kernel {kernel.shape}, {d})", found, reference.dilate_kernel(kernel, d))
    images = generator.random((2, 13, 11, 2), dtype=np.float32)
    kernel = generator.normal(size=(2, 2, 2, 3)).astype("float32")
    require_arrays("a convolution with dilate_kernel(kernel, 3) vs dilation_rate=3",
                   keras.ops.conv(images, dilate_kernel(kernel, 3)), keras.ops.conv(images, kernel, dilation_rate=3),
                   atol=1e-4)


def check_transposed(transposed_output_size, transposed_conv2d):
    for n, k, s, p in itertools.product((1, 3, 6, 14), (1, 2, 5), (1, 2, 4), (0, 1)):
        if reference.transposed_output_size(n, k, s, p) > 0:
            _require_int(f"transposed_output_size(n={n}, k={k}, s={s}, p={p})", transposed_output_size(n, k, s, p),
                         reference.transposed_output_size(n, k, s, p))
    generator = rng(31)
    for shape, k, stride in (((3, 4), 2, 3), ((1, 1), 3, 2), ((4, 2), 4, 1), ((2, 3), 3, 2)):
        image, kernel = generator.normal(size=shape), generator.normal(size=(k, k))
        found = transposed_conv2d(image, kernel, stride)
        require_arrays(f"transposed_conv2d(image {shape}, kernel {k}×{k}, stride {stride})", found,
                       reference.transposed_conv2d(image, kernel, stride))
        keras_output = keras.ops.conv_transpose(image[None, :, :, None].astype("float32"),
                                                kernel[:, :, None, None].astype("float32"),
                                                strides=stride, padding="valid", output_padding=0)
        require_arrays("transposed_conv2d vs keras.ops.conv_transpose", found, np.asarray(keras_output)[0, :, :, 0],
                       atol=1e-4)


def check_parameter_counts(conv2d_parameter_count, separable_conv2d_parameter_count, dense_parameter_count):
    for k, c, f, m in ((1, 3, 7, 1), (5, 2, 9, 3), (7, 16, 4, 2), (11, 3, 96, 1)):
        shape = (2 * k + 1, 2 * k + 1, c)
        conv = keras.Sequential([keras.Input(shape), keras.layers.Conv2D(f, k)])
        _require_int(f"conv2d_parameter_count({k}, {c}, {f})", conv2d_parameter_count(k, c, f), conv.count_params())
        separable = keras.Sequential([keras.Input(shape), keras.layers.SeparableConv2D(f, k, depth_multiplier=m)])
        _require_int(f"separable_conv2d_parameter_count({k}, {c}, {f}, depth_multiplier={m})",
                     separable_conv2d_parameter_count(k, c, f, m), separable.count_params())
    for n_in, n_out in ((1, 1), (400, 120), (9216, 4096), (7, 3)):
        _require_int(f"dense_parameter_count({n_in}, {n_out})", dense_parameter_count(n_in, n_out),
                     reference.dense_parameter_count(n_in, n_out))


def check_lenet(build_lenet):
    if not callable(build_lenet):
        _fail("build_lenet should be a function that builds the model")
    batch = rng(32).random((4, 32, 32, 1), dtype=np.float32)
    compare_with_reference(build_lenet(), reference.build_lenet(), batch)


# ------------------------------------------------------------------ layers


def check_locally_connected(layer_class):
    generator = rng(33)
    for shape, filters, k in (((3, 9, 8, 2), 5, 2), ((2, 6, 6, 1), 2, 4), ((1, 5, 7, 4), 3, 1)):
        images = generator.random(shape, dtype=np.float32)
        layer = layer_class(filters, k)
        expected_layer = reference.LocallyConnected2D(filters, k)
        expected = expected_layer(images)
        found = layer(images)
        for name in ("kernel", "bias"):
            mine, theirs = getattr(layer, name, None), getattr(expected_layer, name)
            if mine is None or tuple(mine.shape) != tuple(theirs.shape):
                _fail(f"LocallyConnected2D({filters}, {k}) on {shape}: expected self.{name} of shape "
                      f"{tuple(theirs.shape)}, found {None if mine is None else tuple(mine.shape)}")
        if tuple(found.shape) != tuple(expected.shape):
            _fail(f"LocallyConnected2D({filters}, {k}) on {shape}: expected output shape "
                  f"{tuple(expected.shape)}, found {tuple(found.shape)}")
        _require_int(f"LocallyConnected2D({filters}, {k}) on {shape}: count_params()", layer.count_params(),
                     expected_layer.count_params())
        kernel = generator.normal(size=tuple(expected_layer.kernel.shape)).astype("float32")
        bias = generator.normal(size=tuple(expected_layer.bias.shape)).astype("float32")
        for target in (layer, expected_layer):
            target.kernel.assign(kernel)
            target.bias.assign(bias)
        require_arrays(f"LocallyConnected2D({filters}, {k}) output on {shape}", layer(images), expected_layer(images),
                       atol=1e-4)
    inputs = keras.Input(shape=(6, 5, 2))
    model = keras.Model(inputs, layer_class(3, 3)(inputs))
    if tuple(model.output.shape) != (None, 4, 3, 3):
        _fail(f"LocallyConnected2D(3, 3) in a functional model on (None, 6, 5, 2): expected output shape "
              f"(None, 4, 3, 3), found {tuple(model.output.shape)}")


def check_global_pooling(global_average_pooling, global_max_pooling):
    generator = rng(34)
    for shape in ((1, 3, 3, 1), (4, 2, 7, 5), (2, 1, 1, 3)):
        features = generator.normal(size=shape)
        require_arrays(f"global_average_pooling on {shape}", global_average_pooling(features),
                       reference.global_average_pooling(features))
        require_arrays(f"global_max_pooling on {shape}", global_max_pooling(features),
                       reference.global_max_pooling(features))


def check_batch_norm(batch_norm):
    generator = rng(35)
    for shape, momentum, epsilon in (((16, 5), 0.8, 1e-2), ((4, 3, 3, 6), 0.5, 1e-3), ((3, 2, 5, 2), 0.99, 1e-5)):
        channels = shape[-1]
        x = (generator.normal(size=shape) * generator.uniform(0.5, 3, channels) + generator.normal(size=channels))
        gamma, beta = generator.normal(size=channels), generator.normal(size=channels)
        mean, variance = generator.normal(size=channels), generator.uniform(0.2, 3, channels)
        for training in (True, False):
            found = batch_norm(x, gamma, beta, mean, variance, training, momentum=momentum, epsilon=epsilon)
            expected = reference.batch_norm(x, gamma, beta, mean, variance, training, momentum, epsilon)
            if not isinstance(found, tuple) or len(found) != 3:
                _fail("batch_norm should return a tuple (y, new_moving_mean, new_moving_variance)")
            mode = "training" if training else "inference"
            for name, mine, theirs in zip(("y", "new moving mean", "new moving variance"), found, expected):
                require_arrays(f"batch_norm on {shape} ({mode} mode, momentum {momentum}, epsilon {epsilon}): {name}",
                               mine, theirs, atol=1e-5)
        layer = keras.layers.BatchNormalization(momentum=momentum, epsilon=epsilon)
        layer.build(shape)
        layer.set_weights([gamma, beta, mean, variance])
        found = batch_norm(x, gamma, beta, mean, variance, True, momentum=momentum, epsilon=epsilon)
        require_arrays(f"batch_norm on {shape} vs keras.layers.BatchNormalization (training mode)", found[0],
                       layer(x.astype("float32"), training=True), atol=1e-4)


# ------------------------------------------------------------------ blocks and networks


def _block_model(block, input_shape, *arguments):
    inputs = keras.Input(shape=input_shape)
    try:
        outputs = block(inputs, *arguments)
    except ValueError as error:
        _fail(f"building the block on an input of shape {input_shape} failed: {error}")
    if outputs is None:
        _fail("the function returned None instead of the block's output tensor")
    return keras.Model(inputs, outputs)


def _randomize(model, generator):
    """Random weights everywhere (positive variances), so that every path matters."""
    for variable in model.weights:
        shape = tuple(variable.shape)
        if "variance" in variable.path:
            value = generator.uniform(0.5, 2.0, shape)
        else:
            value = generator.normal(0, 0.3, shape)
        variable.assign(value.astype(variable.dtype))


def check_residual_block(residual_block):
    generator = rng(36)
    for shape in ((5, 5, 6), (4, 3, 2)):
        student = _block_model(residual_block, shape)
        expected = _block_model(reference.residual_block, shape)
        _randomize(expected, generator)
        batch = generator.normal(size=(3, *shape)).astype("float32")
        compare_with_reference(student, expected, batch)
        require_arrays(f"residual block on {shape}, training mode (batch statistics)",
                       student(batch, training=True), expected(batch, training=True), atol=1e-4)


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


def check_inception_module(inception_module):
    generator = rng(37)
    for shape, filters in (((9, 9, 5), 8), ((6, 7, 12), 3)):
        student = _block_model(inception_module, shape, filters)
        check_structure(student, _block_model(reference.inception_module, shape, filters))  # any branch order
        order = branch_order(student)
        expected = _block_model(lambda inputs, f: reference.inception_module(inputs, f, order), shape, filters)
        _randomize(expected, generator)
        compare_with_reference(student, expected, generator.random((3, *shape), dtype=np.float32))


def check_lab02_network(build_lab02_network):
    require_model(build_lab02_network, reference.build_lab02_network)


def check_inception_network(build_inception_network):
    if not callable(build_inception_network):
        _fail("build_inception_network should be a function that builds the model")
    student = build_inception_network()
    if student is None or not hasattr(student, "layers"):
        _fail(f"build_inception_network should return a keras.Model, found {type(student).__name__}")
    check_structure(student, reference.build_inception_network())
    expected = reference.build_inception_network(branch_order(student))
    _randomize(expected, rng(38))
    compare_with_reference(student, expected, rng(38).random((4, 28, 28, 1), dtype=np.float32))


# ------------------------------------------------------------------ quality


def check_inception_f1(model):
    require_threshold(reference.LAB_ID, reference.METRIC, model, reference.DATASET)


def check_push_tier(model, tier):
    """Tier 1: the Inception reference's threshold; tier 2: the stronger reference's."""
    if model is None or not callable(model):
        _fail(f"push_model should be a trained keras.Model, found {type(model).__name__}")
    budget = budget_from_env()
    dataset = LOADERS[reference.DATASET](budget=budget, verbose=False)
    value = metrics.score("macro_f1", dataset.y_test, metrics.predict_labels(model, dataset.x_test))
    metrics.require_score(reference.LAB_ID, TIER_METRICS[tier], value, dataset, budget.name, label="macro_f1",
                          threshold_name=f"the tier {tier} threshold")
