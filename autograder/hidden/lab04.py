"""Hidden checks for lab 04 (convolution and backprop from scratch).

Every check uses inputs the notebook never shows and compares with Keras layers, with
tf.GradientTape, and with the NumPy reference in autograder/references/lab04.py.
"""

import keras
import numpy as np
import scipy.signal
import tensorflow as tf

from autograder import metrics
from autograder.hidden.common import require_arrays, rng
from autograder.labs import reference as _lab_reference

reference = _lab_reference("04-backprop-from-scratch")
from coursekit.data import LOADERS
from coursekit.lab import budget_from_env


def _float32(generator, *shape):
    return generator.normal(size=shape).astype(np.float32)


def _built(keras_layer, input_shape, weights=None):
    keras_layer.build((None, *input_shape))
    if weights is not None:
        keras_layer.set_weights(weights)
    return keras_layer


def _tape(keras_layer, x, upstream):
    """[dz/dx, dz/dw...] for z = sum(keras_layer(x) * upstream)."""
    variable = tf.Variable(np.asarray(x, np.float32))
    with tf.GradientTape() as tape:
        z = tf.reduce_sum(keras_layer(variable) * np.asarray(upstream, np.float32))
    return [np.asarray(value) for value in tape.gradient(z, [variable, *keras_layer.trainable_weights])]


def _call(name, function, *arguments, **keywords):
    """Call the student's function; turn a crash into a clear failure."""
    try:
        return function(*arguments, **keywords)
    except NotImplementedError:
        raise
    except Exception as error:  # the student's code may raise anything
        raise AssertionError(f"hidden check, {name}: raised {type(error).__name__}: {error}") from error


# ------------------------------------------------------------------ forward passes

def check_cross_correlate(cross_correlate):
    generator = rng(40)
    for height, width, kernel_shape in [(7, 9, (3, 5)), (5, 5, (1, 3)), (8, 6, (5, 1)), (4, 4, (5, 5))]:
        x, w = generator.normal(size=(height, width)), generator.normal(size=kernel_shape)
        name = f"cross_correlate(x {x.shape}, w {w.shape})"
        found = _call(name, cross_correlate, x, w)
        require_arrays(name, found, scipy.signal.correlate2d(x, w, mode="same"))
        require_arrays(name, found, reference.cross_correlate(x, w))


def check_generalized_convolution(generalized_convolution):
    generator = rng(41)
    for u_shape, kernel_shape in [((5, 6, 2), (3, 3, 2, 4)), ((4, 4, 1), (5, 5, 1, 2)), ((6, 5, 3), (1, 1, 3, 2))]:
        u, kernel = generator.normal(size=u_shape), generator.normal(size=kernel_shape)
        name = f"generalized_convolution(u {u_shape}, kernel {kernel_shape})"
        found = _call(name, generalized_convolution, u, kernel)
        conv = _built(keras.layers.Conv2D(kernel_shape[3], kernel_shape[0], padding="same", use_bias=False), u_shape,
                      [kernel.astype(np.float32)])
        require_arrays(name + " vs keras Conv2D('same')", found, np.asarray(conv(u[None].astype(np.float32))[0]), atol=1e-4)
        require_arrays(name, found, reference.generalized_convolution(u, kernel))


def check_output_size_and_padding(output_size_and_padding):
    for size in (5, 7, 8, 13, 28):
        for kernel_size in (1, 2, 3, 4, 5):
            for stride in (1, 2, 3):
                for padding in ("same", "valid"):
                    if kernel_size > size:
                        continue
                    expected = reference.output_size_and_padding(size, kernel_size, stride, padding)
                    found = _call("output_size_and_padding", output_size_and_padding, size, kernel_size, stride, padding)
                    if tuple(int(v) for v in found) != expected:
                        raise AssertionError(f"hidden check, output_size_and_padding({size}, {kernel_size}, {stride}, "
                                             f"{padding!r}): expected {expected}, found {tuple(found)}")
    try:
        output_size_and_padding(8, 3, 1, "full")
    except ValueError:
        return
    raise AssertionError("hidden check, output_size_and_padding(8, 3, 1, 'full'): expected a ValueError "
                         "(only 'same' and 'valid' exist in Keras)")


_CONV_CASES = [  # (input shape without batch, kernel (h, w), stride, padding)
    ((8, 7, 2), (3, 3), 1, "same"),
    ((9, 9, 3), (2, 2), 2, "same"),
    ((10, 7, 2), (4, 3), 3, "same"),
    ((9, 8, 1), (5, 5), 2, "valid"),
    ((7, 9, 3), (3, 2), 1, "valid"),
]


def check_im2col(im2col):
    generator = rng(42)
    for shape, size, stride, padding in _CONV_CASES:
        x = _float32(generator, 2, *shape)
        name = f"im2col(x {x.shape}, {size}, stride={stride}, {padding!r})"
        found = _call(name, im2col, x, size, stride, padding)
        expected = tf.image.extract_patches(x, [1, *size, 1], [1, stride, stride, 1], [1, 1, 1, 1], padding.upper())
        require_arrays(name + " vs tf.image.extract_patches", found, np.asarray(expected))


def check_conv2d_forward(conv2d_forward):
    generator = rng(43)
    for shape, size, stride, padding in _CONV_CASES:
        filters = 3
        x = _float32(generator, 2, *shape)
        kernel, bias = _float32(generator, *size, shape[2], filters), _float32(generator, filters)
        conv = _built(keras.layers.Conv2D(filters, size, strides=stride, padding=padding), shape, [kernel, bias])
        name = f"conv2d_forward(x {x.shape}, kernel {kernel.shape}, stride={stride}, {padding!r}) vs keras Conv2D"
        require_arrays(name, _call(name, conv2d_forward, x, kernel, bias, stride, padding), np.asarray(conv(x)), atol=1e-4)


def check_pool_forward(pool_forward):
    generator = rng(44)
    for shape, size in [((1, 6, 6, 2), 2), ((2, 7, 9, 3), 3), ((2, 5, 8, 1), 4), ((1, 4, 4, 2), 1)]:
        x = _float32(generator, *shape)
        for mode, keras_class in (("max", keras.layers.MaxPooling2D), ("average", keras.layers.AveragePooling2D)):
            name = f"pool_forward(x {shape}, {size}, {mode!r}) vs keras {keras_class.__name__}({size})"
            require_arrays(name, _call(name, pool_forward, x, size, mode), np.asarray(keras_class(size)(x)), atol=1e-5)


def check_dense_forward(dense_forward):
    generator = rng(45)
    for n, d_in, d_out in [(3, 7, 2), (1, 4, 5)]:
        x, w, b = _float32(generator, n, d_in), _float32(generator, d_in, d_out), _float32(generator, d_out)
        dense = _built(keras.layers.Dense(d_out), (d_in,), [w, b])
        name = f"dense_forward(x ({n}, {d_in}), w ({d_in}, {d_out})) vs keras Dense"
        require_arrays(name, _call(name, dense_forward, x, w, b), np.asarray(dense(x)), atol=1e-5)


# ------------------------------------------------------------------ layers and backward passes

def _check_layer(name, layer, keras_layer, x, generator, atol=1e-4):
    y = _call(f"{name}.forward", layer.forward, x)
    expected_y = np.asarray(keras_layer(x))
    require_arrays(f"{name}.forward vs keras {type(keras_layer).__name__}", y, expected_y, atol=atol)
    upstream = _float32(generator, *expected_y.shape)
    expected = _tape(keras_layer, x, upstream)
    require_arrays(f"{name}.backward: dz/dx vs GradientTape", _call(f"{name}.backward", layer.backward, upstream),
                   expected[0], atol=atol)
    for weight, value in zip(("kernel", "bias"), expected[1:]):
        require_arrays(f"{name}.grads[{weight!r}] vs GradientTape", layer.grads.get(weight), value, atol=atol)


def check_dense_layer(DenseLayer):
    generator = rng(46)
    for n, d_in, d_out in [(5, 8, 3), (1, 3, 6)]:
        layer = DenseLayer(d_in, d_out, generator)
        layer.params["bias"] = _float32(generator, d_out)
        dense = _built(keras.layers.Dense(d_out), (d_in,), [layer.params["kernel"], layer.params["bias"]])
        _check_layer(f"DenseLayer({d_in}, {d_out})", layer, dense, _float32(generator, n, d_in), generator, atol=1e-5)


def check_relu_layer(ReLULayer):
    generator = rng(47)
    for shape in [(3, 5), (2, 4, 3, 2)]:
        _check_layer(f"ReLULayer on {shape}", ReLULayer(), keras.layers.ReLU(), _float32(generator, *shape), generator)
    x = np.array([[-1.0, 0.0, 2.0]], np.float32)
    layer = ReLULayer()
    layer.forward(x)
    require_arrays("ReLULayer.backward at x = [-1, 0, 2] (derivative 0 at 0)", layer.backward(np.ones_like(x)), [[0.0, 0.0, 1.0]])


def check_conv_layer(ConvLayer, col2im):
    generator = rng(48)
    for shape, size, stride, padding, filters in [((8, 7, 2), 3, 1, "same", 3), ((9, 9, 3), 2, 2, "same", 2),
                                                  ((10, 7, 2), 4, 3, "same", 4), ((9, 8, 1), 5, 2, "valid", 2),
                                                  ((7, 9, 3), 3, 1, "valid", 5)]:
        layer = ConvLayer(shape[2], filters, size, generator, stride=stride, padding=padding)
        layer.params["bias"] = _float32(generator, filters)
        conv = _built(keras.layers.Conv2D(filters, size, strides=stride, padding=padding), shape,
                      [layer.params["kernel"], layer.params["bias"]])
        _check_layer(f"ConvLayer({filters}, {size}×{size}, stride={stride}, {padding!r}) on {(2, *shape)}",
                     layer, conv, _float32(generator, 2, *shape), generator)
    for shape, size, stride, padding in _CONV_CASES:  # rectangular kernels too
        input_shape = (2, *shape)
        patches = reference.im2col(np.zeros(input_shape), size, stride, padding)
        gradient = generator.normal(size=patches.shape)
        name = f"col2im(patch gradient {gradient.shape}, {input_shape}, {size}, {stride}, {padding!r})"
        require_arrays(name, _call(name, col2im, gradient, input_shape, size, stride, padding),
                       reference.col2im(gradient, input_shape, size, stride, padding))


def check_pool_layers(MaxPoolLayer, AveragePoolLayer):
    generator = rng(49)
    for shape, size in [((1, 6, 6, 2), 2), ((2, 7, 9, 3), 3), ((2, 5, 8, 1), 4)]:
        x = _float32(generator, *shape)
        _check_layer(f"MaxPoolLayer({size}) on {shape}", MaxPoolLayer(size), keras.layers.MaxPooling2D(size), x, generator, atol=1e-6)
        _check_layer(f"AveragePoolLayer({size}) on {shape}", AveragePoolLayer(size), keras.layers.AveragePooling2D(size), x,
                     generator, atol=1e-6)
    tied = np.zeros((1, 4, 4, 1), np.float32)  # every window ties: TensorFlow routes to the first entry
    _check_layer("MaxPoolLayer(2) on an all-zero input (ties)", MaxPoolLayer(2), keras.layers.MaxPooling2D(2), tied, generator)


def check_loss(SoftmaxCrossEntropy):
    generator = rng(50)
    for n, k, scale in [(7, 10, 3.0), (2, 4, 50.0), (1, 10, 0.1)]:
        logits = (generator.normal(size=(n, k)) * scale).astype(np.float32)
        labels = generator.integers(0, k, n)
        variable = tf.Variable(logits)
        with tf.GradientTape() as tape:
            value = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(labels, variable, from_logits=True))
        loss = SoftmaxCrossEntropy()
        name = f"SoftmaxCrossEntropy on logits ({n}, {k}) of scale {scale}"
        require_arrays(f"{name}: forward vs keras", _call(name, loss.forward, logits, labels), float(value), atol=1e-4)
        require_arrays(f"{name}: backward vs GradientTape", _call(name, loss.backward), np.asarray(tape.gradient(value, variable)),
                       atol=1e-6)


# ------------------------------------------------------------------ the gradient check

def check_numerical_gradient(numerical_gradient, relative_errors):
    generator = rng(51)
    x = generator.normal(size=(2, 3, 2))
    kept = x.copy()
    found = _call("numerical_gradient", numerical_gradient, lambda v: float(np.sum(np.exp(v) * v)), x)
    require_arrays("numerical_gradient of sum(exp(x) x) (exact: exp(x)(1 + x))", found, np.exp(kept) * (1 + kept), atol=1e-6)
    require_arrays("numerical_gradient must restore x", x, kept, atol=0, rtol=0)
    matrix = generator.normal(size=(3, 3))
    require_arrays("numerical_gradient of a function reading the array in place",
                   _call("numerical_gradient", numerical_gradient, lambda _: float(np.sum(matrix @ matrix)), matrix),
                   np.ones((3, 3)) @ matrix.T + matrix.T @ np.ones((3, 3)), atol=1e-6)
    coarse = _call("numerical_gradient", numerical_gradient, lambda v: float(np.sum(v ** 3)), np.array([1.0, 2.0]), epsilon=0.1)
    require_arrays("numerical_gradient(sum(x**3), [1, 2], epsilon=0.1) (central: 3x² + ε²)", coarse, [3.01, 12.01], atol=1e-9)
    analytic, numeric = generator.normal(size=(4, 5)), generator.normal(size=(4, 5))
    numeric[0, :2] = analytic[0, :2]
    analytic[1, :2] = numeric[1, :2] = 0.0
    require_arrays("relative_errors", _call("relative_errors", relative_errors, analytic, numeric),
                   reference.relative_errors(analytic, numeric))


def _numeric_errors(layer, x, generator):
    """The reference's central differences against the student's backward, in float64."""
    for name in layer.params:
        layer.params[name] = np.asarray(layer.params[name], np.float64)
    x = np.asarray(x, np.float64)
    upstream = generator.normal(size=np.shape(layer.forward(x)))

    def z(_):
        return float(np.sum(layer.forward(x) * upstream))

    layer.forward(x)
    errors = {"dz/dx": reference.relative_errors(layer.backward(upstream), reference.numerical_gradient(z, x))}
    for name in layer.params:
        analytic = np.array(layer.grads[name], np.float64)
        errors[f"dz/d{name}"] = reference.relative_errors(analytic, reference.numerical_gradient(z, layer.params[name]))
    return errors


def check_gradients_numerically(DenseLayer, ReLULayer, ConvLayer, MaxPoolLayer, AveragePoolLayer, SoftmaxCrossEntropy):
    generator = rng(52)
    cases = {
        "DenseLayer(4, 6)": (DenseLayer(4, 6, generator), (3, 4)),
        "ReLULayer": (ReLULayer(), (2, 3, 5)),
        "ConvLayer(3, 3×3, stride 2, 'same')": (ConvLayer(2, 3, 3, generator, stride=2, padding="same"), (2, 7, 6, 2)),
        "ConvLayer(2, 2×2, stride 1, 'same')": (ConvLayer(1, 2, 2, generator, stride=1, padding="same"), (1, 5, 5, 1)),
        "ConvLayer(2, 3×3, stride 2, 'valid')": (ConvLayer(3, 2, 3, generator, stride=2, padding="valid"), (1, 7, 8, 3)),
        "MaxPoolLayer(3)": (MaxPoolLayer(3), (2, 7, 6, 2)),
        "AveragePoolLayer(2)": (AveragePoolLayer(2), (1, 5, 7, 3)),
    }
    for name, (layer, shape) in cases.items():
        layer.params.update({key: generator.normal(size=np.shape(value)) for key, value in layer.params.items()})
        for key, errors in _numeric_errors(layer, generator.normal(size=shape), generator).items():
            worst = float(np.max(errors))
            if not worst <= 1e-6:
                raise AssertionError(f"hidden check, numerical gradient check of {name}: {key} has relative error "
                                     f"{worst:.2g} (at most 1e-6 expected)")
    loss = SoftmaxCrossEntropy()
    logits = generator.normal(size=(3, 5))
    labels = np.array([4, 0, 2])
    loss.forward(logits, labels)
    analytic = np.asarray(loss.backward(), np.float64)
    numeric = reference.numerical_gradient(lambda v: loss.forward(v, labels), logits)
    worst = float(np.max(reference.relative_errors(analytic, numeric)))
    if not worst <= 1e-6:
        raise AssertionError(f"hidden check, numerical gradient check of SoftmaxCrossEntropy: relative error {worst:.2g}")
    print("OK hidden gradient check: every layer agrees with central differences")


# ------------------------------------------------------------------ the network

def check_network(Network, train_step, ConvLayer, ReLULayer, MaxPoolLayer, FlattenLayer, DenseLayer, SoftmaxCrossEntropy):
    generator = rng(53)
    conv = ConvLayer(2, 3, 3, generator, stride=1, padding="same")
    conv.params["bias"] = _float32(generator, 3) * 0.1
    dense = DenseLayer(3 * 3 * 3, 4, generator)
    dense.params["bias"] = _float32(generator, 4) * 0.1
    network = Network([conv, ReLULayer(), MaxPoolLayer(2), FlattenLayer(), dense])
    x = _float32(generator, 5, 6, 7, 2)
    labels = generator.integers(0, 4, 5)
    twin = [_built(keras.layers.Conv2D(3, 3, padding="same"), (6, 7, 2), [conv.params["kernel"], conv.params["bias"]]),
            keras.layers.ReLU(), keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
            _built(keras.layers.Dense(4), (27,), [dense.params["kernel"], dense.params["bias"]])]
    with tf.GradientTape(persistent=True) as tape:
        outputs = [tf.constant(x)]
        tape.watch(outputs[0])
        for keras_layer in twin:
            outputs.append(keras_layer(outputs[-1]))
        value = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(labels, outputs[-1], from_logits=True))
    require_arrays("Network.forward vs the Keras twin", _call("Network.forward", network.forward, x),
                   np.asarray(outputs[-1]), atol=1e-4)
    loss = SoftmaxCrossEntropy()
    loss.forward(network.forward(x), labels)
    dz_dx = _call("Network.backward", network.backward, loss.backward())
    require_arrays("Network.backward returns dL/dx of the input", dz_dx, np.asarray(tape.gradient(value, outputs[0])), atol=1e-5)
    deltas = list(getattr(network, "deltas", []) or [])
    if len(deltas) != 5:
        raise AssertionError(f"hidden check, Network.deltas: expected 5 deltas (one per layer), found {len(deltas)}")
    for k in range(5):
        require_arrays(f"Network.deltas[{k}] vs GradientTape", deltas[k], np.asarray(tape.gradient(value, outputs[k + 1])), atol=1e-5)
    kernels = [np.asarray(tape.gradient(value, twin[k].kernel)) for k in (0, 4)]
    before = [conv.params["kernel"].copy(), dense.params["kernel"].copy()]
    step = _call("train_step", train_step, network, loss, x, labels, 0.3)
    require_arrays("train_step's returned loss", step, float(value), atol=1e-5)
    for name, layer, old, gradient in zip(("conv", "dense"), (conv, dense), before, kernels):
        require_arrays(f"{name} kernel after train_step(tau=0.3) = before - 0.3 * dL/dkernel", layer.params["kernel"],
                       old - 0.3 * gradient, atol=1e-5)
    del tape


def check_accuracy(network):
    """Score the trained network's weights with the reference forward pass on the grader's data."""
    layers = list(getattr(network, "layers", []) or [])
    expected = {0: {"kernel": (5, 5, 1, 8), "bias": (8,)}, 4: {"kernel": (1568, 10), "bias": (10,)}}
    if len(layers) != 5:
        raise AssertionError(f"hidden check: `network` must be the build_network() network with 5 layers, found {len(layers)}")
    params = []
    for index, shapes in expected.items():
        for name, shape in shapes.items():
            value = getattr(layers[index], "params", {}).get(name)
            if value is None or np.shape(value) != shape:
                raise AssertionError(f"hidden check: layers[{index}].params[{name!r}] should have shape {shape}, "
                                     f"found {None if value is None else np.shape(value)}")
            params.append(value)
    budget = budget_from_env()
    dataset = LOADERS[reference.DATASET](budget=budget, verbose=False)
    value = reference.accuracy_with(params, dataset.x_test, dataset.y_test)
    metrics.require_score(reference.LAB_ID, reference.METRIC, value, dataset, budget.name)
    # Return nothing: nbgrader would take a number left as the cell's output for a partial score.
