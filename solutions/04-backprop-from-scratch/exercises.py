"""Lab 04's graded exercises, one declaration per nbgrader grade_id (see autograder/exercise.py).

Every exercise runs the student's functions and layers on inputs the notebook never shows
and compares what they return with Keras layers loaded with the same weights, with
tf.GradientTape, with SciPy, and with the NumPy reference (``reference.py``). A layer or a
network is never sent back itself: ``call`` builds it with the grader's weights, runs it
forward and backward, and returns that trace (outputs, gradients, weights after a step).
"""

import numpy as np
import keras
import scipy.signal
import tensorflow as tf

from autograder.exercise import Exercise, Failure, probe_helper
from autograder.judges import field, same_array, same_value, threshold_report
from coursekit.data import LOADERS
from coursekit.lab import budget_from_env

from . import LAB_ID, reference


# ------------------------------------------------------------------ the student side: inputs and traces

@probe_helper
def float32_normal(generator, *shape):
    """Standard normal float32 values of the given shape."""
    return generator.normal(size=shape).astype(np.float32)


@probe_helper
def snapshot(value):
    """A copy of an array that the student's object could change later; anything else as it is."""
    return np.array(value) if isinstance(value, np.ndarray) else value


@probe_helper
def output_length(size, kernel_size, stride, padding):
    """The output size along one axis, as Keras computes it ('same' or 'valid')."""
    return -(-size // stride) if padding == "same" else (size - kernel_size) // stride + 1


@probe_helper
def convolution_cases():
    """(input shape without the batch axis, kernel (height, width), stride, padding)."""
    return [((8, 7, 2), (3, 3), 1, "same"),
            ((9, 9, 3), (2, 2), 2, "same"),
            ((10, 7, 2), (4, 3), 3, "same"),
            ((9, 8, 1), (5, 5), 2, "valid"),
            ((7, 9, 3), (3, 2), 1, "valid")]


@probe_helper
def layer_trace(layer, x, upstream, weight_names=()):
    """What a layer does on x: forward(x), backward(upstream) and its grads, copied as they are."""
    forward = snapshot(layer.forward(x))
    backward = snapshot(layer.backward(upstream))
    grads = getattr(layer, "grads", None)
    grads = grads if isinstance(grads, dict) else {}
    return {"forward": forward, "backward": backward,
            "grads": {name: snapshot(grads.get(name)) for name in weight_names}}


@probe_helper
def with_params(layer, params):
    """The student's layer holding copies of the grader's weights."""
    for name, value in params.items():
        layer.params[name] = np.array(value)
    return layer


# ------------------------------------------------------------------ the grader side: Keras and the tape

def keras_layer_with(keras_layer, input_shape, weights=None):
    """A Keras layer built for inputs shaped ``input_shape`` (no batch axis), holding ``weights``."""
    keras_layer.build((None, *input_shape))
    if weights is not None:
        keras_layer.set_weights([np.asarray(weight, np.float32) for weight in weights])
    return keras_layer


def tape_gradients(keras_layer, x, upstream):
    """[dz/dx, dz/dw...] for z = sum(keras_layer(x) * upstream), from tf.GradientTape."""
    variable = tf.Variable(np.asarray(x, np.float32))
    with tf.GradientTape() as tape:
        z = tf.reduce_sum(keras_layer(variable) * np.asarray(upstream, np.float32))
    return [np.asarray(value) for value in tape.gradient(z, [variable, *keras_layer.trainable_weights])]


def judge_layer_trace(name, trace, keras_layer, x, upstream, weight_names=(), atol=1e-4):
    """The trace of a student layer against the Keras layer holding the same weights."""
    same_array(f"{name}.forward vs keras {type(keras_layer).__name__}", field(trace, "forward", name),
               np.asarray(keras_layer(np.asarray(x, np.float32))), atol=atol)
    expected = tape_gradients(keras_layer, x, upstream)
    same_array(f"{name}.backward: dz/dx vs GradientTape", field(trace, "backward", name), expected[0], atol=atol)
    grads = field(trace, "grads", name)
    for weight, value in zip(weight_names, expected[1:]):
        found = grads.get(weight)
        if found is None:
            raise Failure(f"{name}.backward did not store grads[{weight!r}] (dz/d{weight})")
        same_array(f"{name}.grads[{weight!r}] vs GradientTape", found, value, atol=atol)


def answers(outputs, count, what):
    """``outputs`` as a list of ``count`` answers, or a Failure that says what came back."""
    if not isinstance(outputs, list) or len(outputs) != count:
        raise Failure(f"{what}: expected {count} answers, found {type(outputs).__name__}")
    return outputs


# ------------------------------------------------------------------ forward passes

class correlate(Exercise):
    """cross_correlate on images and odd kernels, square and rectangular, the notebook never shows."""

    def inputs():
        generator = np.random.default_rng(1040)
        return {"cases": [(generator.normal(size=(height, width)), generator.normal(size=kernel_shape))
                          for height, width, kernel_shape in
                          [(7, 9, (3, 5)), (5, 5, (1, 3)), (8, 6, (5, 1)), (4, 4, (5, 5))]]}

    def call(inputs, cross_correlate):
        return [cross_correlate(np.array(x), np.array(w)) for x, w in inputs["cases"]]

    def judge(outputs, inputs):
        for (x, w), found in zip(inputs["cases"], answers(outputs, len(inputs["cases"]), "cross_correlate")):
            name = f"cross_correlate(x {x.shape}, w {w.shape})"
            same_array(f"{name} vs scipy.signal.correlate2d(mode='same')", found,
                       scipy.signal.correlate2d(x, w, mode="same"))
            same_array(name, found, reference.cross_correlate(x, w))


class generalized(Exercise):
    """generalized_convolution with 1 to 3 input channels and 1×1 to 5×5 kernels."""

    def inputs():
        generator = np.random.default_rng(1041)
        return {"cases": [(generator.normal(size=u_shape), generator.normal(size=kernel_shape))
                          for u_shape, kernel_shape in [((5, 6, 2), (3, 3, 2, 4)), ((4, 4, 1), (5, 5, 1, 2)),
                                                        ((6, 5, 3), (1, 1, 3, 2))]]}

    def call(inputs, generalized_convolution):
        return [generalized_convolution(np.array(u), np.array(kernel)) for u, kernel in inputs["cases"]]

    def judge(outputs, inputs):
        for (u, kernel), found in zip(inputs["cases"], answers(outputs, len(inputs["cases"]), "generalized_convolution")):
            name = f"generalized_convolution(u {u.shape}, kernel {kernel.shape})"
            conv = keras_layer_with(keras.layers.Conv2D(kernel.shape[3], kernel.shape[0], padding="same", use_bias=False),
                                    u.shape, [kernel])
            same_array(f"{name} vs keras Conv2D('same')", found, np.asarray(conv(u[None].astype(np.float32))[0]),
                       atol=1e-4)
            same_array(name, found, reference.generalized_convolution(u, kernel))


class padding(Exercise):
    """output_size_and_padding for every size, kernel, stride and padding of a grid; a ValueError for 'full'."""

    def inputs():
        return {"cases": [(size, kernel_size, stride, mode)
                          for size in (5, 7, 8, 13, 28) for kernel_size in (1, 2, 3, 4, 5) for stride in (1, 2, 3)
                          for mode in ("same", "valid") if kernel_size <= size]}

    def call(inputs, output_size_and_padding):
        found = [output_size_and_padding(*case) for case in inputs["cases"]]
        try:
            full = output_size_and_padding(8, 3, 1, "full")
            unknown_padding = f"returned {full!r}"
        except ValueError:
            unknown_padding = "ValueError"
        except Exception as error:  # the wrong exception: say which
            unknown_padding = f"raised {type(error).__name__}"
        return {"found": found, "unknown_padding": unknown_padding}

    def judge(outputs, inputs):
        found = answers(field(outputs, "found", "the answers"), len(inputs["cases"]), "output_size_and_padding")
        for case, answer in zip(inputs["cases"], found):
            name = f"output_size_and_padding({', '.join(map(repr, case))})"
            try:
                answer = tuple(int(value) for value in answer)
            except (TypeError, ValueError):
                raise Failure(f"{name}: expected a tuple (n_out, zeros_before, zeros_after), found {answer!r}") from None
            same_value(name, answer, reference.output_size_and_padding(*case))
        unknown = field(outputs, "unknown_padding", "the answers")
        if unknown != "ValueError":
            raise Failure(f"output_size_and_padding(8, 3, 1, 'full') {unknown}; expected a ValueError "
                          "(only 'same' and 'valid' exist in Keras)")


class im2col(Exercise):
    """im2col on batches with odd and even, square and rectangular kernels, strides 1 to 3."""

    def inputs():
        generator = np.random.default_rng(1042)
        return {"cases": [(float32_normal(generator, 2, *shape), size, stride, mode)
                          for shape, size, stride, mode in convolution_cases()]}

    def call(inputs, im2col):
        return [im2col(np.array(x), size, stride, mode) for x, size, stride, mode in inputs["cases"]]

    def judge(outputs, inputs):
        for (x, size, stride, mode), found in zip(inputs["cases"], answers(outputs, len(inputs["cases"]), "im2col")):
            expected = tf.image.extract_patches(x, [1, *size, 1], [1, stride, stride, 1], [1, 1, 1, 1], mode.upper())
            same_array(f"im2col(x {x.shape}, {size}, stride={stride}, {mode!r}) vs tf.image.extract_patches",
                       found, np.asarray(expected))


class conv_forward(Exercise):
    """conv2d_forward against keras Conv2D with the same kernel and bias."""

    def inputs():
        generator = np.random.default_rng(1043)
        cases = []
        for shape, size, stride, mode in convolution_cases():
            x = float32_normal(generator, 2, *shape)
            kernel, bias = float32_normal(generator, *size, shape[2], 3), float32_normal(generator, 3)
            cases.append((x, kernel, bias, stride, mode))
        return {"cases": cases}

    def call(inputs, conv2d_forward):
        return [conv2d_forward(np.array(x), np.array(kernel), np.array(bias), stride, mode)
                for x, kernel, bias, stride, mode in inputs["cases"]]

    def judge(outputs, inputs):
        for (x, kernel, bias, stride, mode), found in zip(inputs["cases"],
                                                          answers(outputs, len(inputs["cases"]), "conv2d_forward")):
            conv = keras_layer_with(keras.layers.Conv2D(kernel.shape[3], kernel.shape[:2], strides=stride, padding=mode),
                                    x.shape[1:], [kernel, bias])
            same_array(f"conv2d_forward(x {x.shape}, kernel {kernel.shape}, stride={stride}, {mode!r}) vs keras Conv2D",
                       found, np.asarray(conv(x)), atol=1e-4)


class pool_forward(Exercise):
    """pool_forward, max and average, with sizes that leave rows and columns over."""

    def inputs():
        generator = np.random.default_rng(1044)
        return {"cases": [(float32_normal(generator, *shape), size)
                          for shape, size in [((1, 6, 6, 2), 2), ((2, 7, 9, 3), 3), ((2, 5, 8, 1), 4), ((1, 4, 4, 2), 1)]]}

    def call(inputs, pool_forward):
        return [{mode: pool_forward(np.array(x), size, mode) for mode in ("max", "average")} for x, size in inputs["cases"]]

    def judge(outputs, inputs):
        for (x, size), found in zip(inputs["cases"], answers(outputs, len(inputs["cases"]), "pool_forward")):
            for mode, keras_class in (("max", keras.layers.MaxPooling2D), ("average", keras.layers.AveragePooling2D)):
                name = f"pool_forward(x {x.shape}, {size}, {mode!r}) vs keras {keras_class.__name__}({size})"
                same_array(name, field(found, mode, "pool_forward's answers"), np.asarray(keras_class(size)(x)), atol=1e-5)


class dense_forward(Exercise):
    """dense_forward against keras Dense with the same kernel and bias."""

    def inputs():
        generator = np.random.default_rng(1045)
        return {"cases": [(float32_normal(generator, n, d_in), float32_normal(generator, d_in, d_out),
                           float32_normal(generator, d_out)) for n, d_in, d_out in [(3, 7, 2), (1, 4, 5)]]}

    def call(inputs, dense_forward):
        return [dense_forward(np.array(x), np.array(w), np.array(b)) for x, w, b in inputs["cases"]]

    def judge(outputs, inputs):
        for (x, w, b), found in zip(inputs["cases"], answers(outputs, len(inputs["cases"]), "dense_forward")):
            dense = keras_layer_with(keras.layers.Dense(w.shape[1]), (w.shape[0],), [w, b])
            same_array(f"dense_forward(x {x.shape}, w {w.shape}) vs keras Dense", found, np.asarray(dense(x)), atol=1e-5)


# ------------------------------------------------------------------ layers and backward passes

class dense_layer(Exercise):
    """DenseLayer forward, backward and weight gradients against keras Dense and tf.GradientTape."""

    def inputs():
        generator = np.random.default_rng(1046)
        cases = []
        for n, d_in, d_out in [(5, 8, 3), (1, 3, 6)]:
            params = {"kernel": float32_normal(generator, d_in, d_out) * np.float32(0.5),
                      "bias": float32_normal(generator, d_out)}
            cases.append((params, float32_normal(generator, n, d_in), float32_normal(generator, n, d_out)))
        return {"cases": cases}

    def call(inputs, DenseLayer):
        traces = []
        for params, x, upstream in inputs["cases"]:
            d_in, d_out = params["kernel"].shape
            layer = with_params(DenseLayer(d_in, d_out, np.random.default_rng(0)), params)
            traces.append(layer_trace(layer, np.array(x), np.array(upstream), ("kernel", "bias")))
        return traces

    def judge(outputs, inputs):
        for (params, x, upstream), trace in zip(inputs["cases"], answers(outputs, len(inputs["cases"]), "DenseLayer")):
            d_in, d_out = params["kernel"].shape
            dense = keras_layer_with(keras.layers.Dense(d_out), (d_in,), [params["kernel"], params["bias"]])
            judge_layer_trace(f"DenseLayer({d_in}, {d_out}) on x {x.shape}", trace, dense, x, upstream,
                              ("kernel", "bias"), atol=1e-5)


class relu_layer(Exercise):
    """ReLULayer on a matrix and an image batch, and its derivative at exactly 0."""

    def inputs():
        generator = np.random.default_rng(1047)
        cases = []
        for shape in [(3, 5), (2, 4, 3, 2)]:
            cases.append((float32_normal(generator, *shape), float32_normal(generator, *shape)))
        return {"cases": cases, "at_zero": np.array([[-1.0, 0.0, 2.0]], np.float32)}

    def call(inputs, ReLULayer):
        traces = [layer_trace(ReLULayer(), np.array(x), np.array(upstream)) for x, upstream in inputs["cases"]]
        layer = ReLULayer()
        layer.forward(np.array(inputs["at_zero"]))
        return {"traces": traces, "at_zero": snapshot(layer.backward(np.ones_like(inputs["at_zero"])))}

    def judge(outputs, inputs):
        traces = answers(field(outputs, "traces", "ReLULayer's traces"), len(inputs["cases"]), "ReLULayer")
        for (x, upstream), trace in zip(inputs["cases"], traces):
            judge_layer_trace(f"ReLULayer on {x.shape}", trace, keras.layers.ReLU(), x, upstream)
        same_array("ReLULayer.backward(ones) at x = [-1, 0, 2] (the derivative at 0 is 0)",
                   field(outputs, "at_zero", "ReLULayer's traces"), [[0.0, 0.0, 1.0]])


class conv_layer(Exercise):
    """ConvLayer forward and backward against keras Conv2D and tf.GradientTape; col2im against im2col's adjoint."""

    def inputs():
        generator = np.random.default_rng(1048)
        layers = []
        for shape, size, stride, mode, filters in [((8, 7, 2), 3, 1, "same", 3), ((9, 9, 3), 2, 2, "same", 2),
                                                   ((10, 7, 2), 4, 3, "same", 4), ((9, 8, 1), 5, 2, "valid", 2),
                                                   ((7, 9, 3), 3, 1, "valid", 5)]:
            params = {"kernel": float32_normal(generator, size, size, shape[2], filters) * np.float32(0.5),
                      "bias": float32_normal(generator, filters)}
            out_h, out_w = (output_length(length, size, stride, mode) for length in shape[:2])
            layers.append({"params": params, "stride": stride, "padding": mode, "x": float32_normal(generator, 2, *shape),
                           "upstream": float32_normal(generator, 2, out_h, out_w, filters)})
        patches = []
        for shape, size, stride, mode in convolution_cases():  # rectangular kernels too
            out_h, out_w = (output_length(length, kernel, stride, mode) for length, kernel in zip(shape[:2], size))
            patches.append(((2, *shape), size, stride, mode,
                            generator.normal(size=(2, out_h, out_w, size[0] * size[1] * shape[2]))))
        return {"layers": layers, "patches": patches}

    def call(inputs, ConvLayer, col2im):
        traces = []
        for case in inputs["layers"]:
            size, _, channels, filters = case["params"]["kernel"].shape
            layer = ConvLayer(channels, filters, size, np.random.default_rng(0), stride=case["stride"],
                              padding=case["padding"])
            traces.append(layer_trace(with_params(layer, case["params"]), np.array(case["x"]), np.array(case["upstream"]),
                                      ("kernel", "bias")))
        gradients = [col2im(np.array(gradient), input_shape, size, stride, mode)
                     for input_shape, size, stride, mode, gradient in inputs["patches"]]
        return {"layers": traces, "col2im": gradients}

    def judge(outputs, inputs):
        traces = answers(field(outputs, "layers", "ConvLayer's traces"), len(inputs["layers"]), "ConvLayer")
        for case, trace in zip(inputs["layers"], traces):
            kernel, x = case["params"]["kernel"], case["x"]
            size, _, _, filters = kernel.shape
            conv = keras_layer_with(keras.layers.Conv2D(filters, size, strides=case["stride"], padding=case["padding"]),
                                    x.shape[1:], [kernel, case["params"]["bias"]])
            name = f"ConvLayer({filters}, {size}×{size}, stride={case['stride']}, {case['padding']!r}) on {x.shape}"
            judge_layer_trace(name, trace, conv, x, case["upstream"], ("kernel", "bias"))
        found = answers(field(outputs, "col2im", "the answers"), len(inputs["patches"]), "col2im")
        for (input_shape, size, stride, mode, gradient), answer in zip(inputs["patches"], found):
            same_array(f"col2im(patch gradient {gradient.shape}, {input_shape}, {size}, {stride}, {mode!r})", answer,
                       reference.col2im(gradient, input_shape, size, stride, mode))


class pool_layers(Exercise):
    """MaxPoolLayer and AveragePoolLayer against Keras and tf.GradientTape, ties included."""

    def inputs():
        generator = np.random.default_rng(1049)
        cases = []
        for shape, size in [((1, 6, 6, 2), 2), ((2, 7, 9, 3), 3), ((2, 5, 8, 1), 4)]:
            pooled = (shape[0], shape[1] // size, shape[2] // size, shape[3])
            cases.append((float32_normal(generator, *shape), size, float32_normal(generator, *pooled),
                          float32_normal(generator, *pooled)))
        tied = np.zeros((1, 4, 4, 1), np.float32)  # every window ties: TensorFlow routes to the first entry
        return {"cases": cases, "tied": (tied, float32_normal(generator, 1, 2, 2, 1))}

    def call(inputs, MaxPoolLayer, AveragePoolLayer):
        traces = [{"max": layer_trace(MaxPoolLayer(size), np.array(x), np.array(max_upstream)),
                   "average": layer_trace(AveragePoolLayer(size), np.array(x), np.array(average_upstream))}
                  for x, size, max_upstream, average_upstream in inputs["cases"]]
        tied, upstream = inputs["tied"]
        return {"traces": traces, "tied": layer_trace(MaxPoolLayer(2), np.array(tied), np.array(upstream))}

    def judge(outputs, inputs):
        traces = answers(field(outputs, "traces", "the pooling traces"), len(inputs["cases"]), "the pooling layers")
        for (x, size, max_upstream, average_upstream), trace in zip(inputs["cases"], traces):
            judge_layer_trace(f"MaxPoolLayer({size}) on {x.shape}", field(trace, "max", "the pooling traces"),
                              keras.layers.MaxPooling2D(size), x, max_upstream, atol=1e-6)
            judge_layer_trace(f"AveragePoolLayer({size}) on {x.shape}", field(trace, "average", "the pooling traces"),
                              keras.layers.AveragePooling2D(size), x, average_upstream, atol=1e-6)
        tied, upstream = inputs["tied"]
        judge_layer_trace("MaxPoolLayer(2) on an all-zero input (ties: the first maximum gets the gradient)",
                          field(outputs, "tied", "the pooling traces"), keras.layers.MaxPooling2D(2), tied, upstream)


class loss(Exercise):
    """SoftmaxCrossEntropy on small, large and tiny logits against Keras and tf.GradientTape."""

    def inputs():
        generator = np.random.default_rng(1050)
        cases = []
        for n, classes, scale in [(7, 10, 3.0), (2, 4, 50.0), (1, 10, 0.1)]:
            logits = (generator.normal(size=(n, classes)) * scale).astype(np.float32)
            cases.append((logits, generator.integers(0, classes, n), scale))
        return {"cases": cases}

    def call(inputs, SoftmaxCrossEntropy):
        traces = []
        for logits, labels, _ in inputs["cases"]:
            criterion = SoftmaxCrossEntropy()
            value = snapshot(criterion.forward(np.array(logits), np.array(labels)))
            traces.append({"value": value, "gradient": snapshot(criterion.backward())})
        return traces

    def judge(outputs, inputs):
        for (logits, labels, scale), trace in zip(inputs["cases"],
                                                  answers(outputs, len(inputs["cases"]), "SoftmaxCrossEntropy")):
            watched_logits = tf.Variable(logits)
            with tf.GradientTape() as tape:
                value = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(labels, watched_logits,
                                                                                   from_logits=True))
            name = f"SoftmaxCrossEntropy on logits {logits.shape} of scale {scale}"
            same_array(f"{name}: forward vs keras sparse_categorical_crossentropy(from_logits=True)",
                       field(trace, "value", name), float(value), atol=1e-4)
            same_array(f"{name}: backward vs GradientTape", field(trace, "gradient", name),
                       np.asarray(tape.gradient(value, watched_logits)), atol=1e-6)


# ------------------------------------------------------------------ the gradient check

class numerical_gradient(Exercise):
    """numerical_gradient (central, in place, restored, with its epsilon) and relative_errors."""

    def inputs():
        generator = np.random.default_rng(1051)
        x, matrix = generator.normal(size=(2, 3, 2)), generator.normal(size=(3, 3))
        analytic, numeric = generator.normal(size=(4, 5)), generator.normal(size=(4, 5))
        numeric[0, :2] = analytic[0, :2]  # exact agreement: error 0
        analytic[1, :2] = numeric[1, :2] = 0.0  # both zero: the 1e-8 floor
        return {"x": x, "matrix": matrix, "analytic": analytic, "numeric": numeric}

    def call(inputs, numerical_gradient, relative_errors):
        x, matrix = np.array(inputs["x"]), np.array(inputs["matrix"])
        exp_gradient = snapshot(numerical_gradient(lambda values: float(np.sum(np.exp(values) * values)), x))
        in_place = snapshot(numerical_gradient(lambda _: float(np.sum(matrix @ matrix)), matrix))
        coarse = snapshot(numerical_gradient(lambda values: float(np.sum(values ** 3)), np.array([1.0, 2.0]), epsilon=0.1))
        errors = snapshot(relative_errors(np.array(inputs["analytic"]), np.array(inputs["numeric"])))
        return {"exp_gradient": exp_gradient, "x_after": snapshot(x), "in_place": in_place, "coarse": coarse,
                "relative_errors": errors}

    def judge(outputs, inputs):
        x, matrix = inputs["x"], inputs["matrix"]
        same_array("numerical_gradient of sum(exp(x) x) (exact: exp(x)(1 + x))",
                   field(outputs, "exp_gradient"), np.exp(x) * (1 + x), atol=1e-6)
        same_array("x after numerical_gradient (it must be restored)", field(outputs, "x_after"), x, atol=0, rtol=0)
        same_array("numerical_gradient of a function that reads the array itself (perturb x in place)",
                   field(outputs, "in_place"), np.ones((3, 3)) @ matrix.T + matrix.T @ np.ones((3, 3)), atol=1e-6)
        same_array("numerical_gradient(sum(x**3), [1, 2], epsilon=0.1) (central: 3x² + ε²)",
                   field(outputs, "coarse"), [3.01, 12.01], atol=1e-9)
        same_array("relative_errors", field(outputs, "relative_errors"),
                   reference.relative_errors(inputs["analytic"], inputs["numeric"]))


@probe_helper
def gradient_cases():
    """(label, class name, constructor arguments before rng or None without one, keywords, input shape)."""
    return [("DenseLayer(4, 6)", "DenseLayer", (4, 6), {}, (3, 4)),
            ("ReLULayer", "ReLULayer", None, {}, (2, 3, 5)),
            ("ConvLayer(3, 3×3, stride 2, 'same')", "ConvLayer", (2, 3, 3), {"stride": 2, "padding": "same"}, (2, 7, 6, 2)),
            ("ConvLayer(2, 2×2, stride 1, 'same')", "ConvLayer", (1, 2, 2), {"stride": 1, "padding": "same"}, (1, 5, 5, 1)),
            ("ConvLayer(2, 3×3, stride 2, 'valid')", "ConvLayer", (3, 2, 3), {"stride": 2, "padding": "valid"}, (1, 7, 8, 3)),
            ("MaxPoolLayer(3)", "MaxPoolLayer", (3,), {}, (2, 7, 6, 2)),
            ("AveragePoolLayer(2)", "AveragePoolLayer", (2,), {}, (1, 5, 7, 3))]


def reference_layer(class_name, arguments, keywords):
    """The reference's layer for one gradient case (its weights are replaced by the case's)."""
    if class_name == "DenseLayer":
        return reference.Dense(*arguments)
    if class_name == "ConvLayer":
        return reference.Conv(*arguments, stride=keywords["stride"], padding=keywords["padding"])
    if class_name == "MaxPoolLayer":
        return reference.MaxPool(*arguments)
    if class_name == "AveragePoolLayer":
        return reference.AveragePool(*arguments)
    return reference.Relu()


def worst_relative_error(label, key, analytic, numeric):
    """Fail unless the student's analytic gradient agrees with central differences (1e-6)."""
    if analytic is None:
        raise Failure(f"numerical gradient check of {label}: backward did not give {key}")
    try:
        errors = reference.relative_errors(analytic, numeric)
    except (TypeError, ValueError) as error:
        raise Failure(f"numerical gradient check of {label}: {key} is not an array of numbers ({error})") from None
    if np.shape(errors) != np.shape(numeric):
        raise Failure(f"numerical gradient check of {label}: {key} has shape {np.shape(analytic)}, "
                      f"expected {np.shape(numeric)}")
    worst = float(np.max(errors))
    if not worst <= 1e-6:
        raise Failure(f"numerical gradient check of {label}: {key} has relative error {worst:.2g} "
                      "(at most 1e-6 expected); backward disagrees with central differences")


class gradient_check(Exercise):
    """Every layer and the loss, in float64 with random weights, against central differences."""

    def inputs():
        generator = np.random.default_rng(1052)
        cases = []
        for label, class_name, arguments, keywords, shape in gradient_cases():
            params = {}
            if class_name == "DenseLayer":
                params = {"kernel": generator.normal(size=arguments), "bias": generator.normal(size=arguments[1])}
            elif class_name == "ConvLayer":
                channels, filters, size = arguments
                params = {"kernel": generator.normal(size=(size, size, channels, filters)),
                          "bias": generator.normal(size=filters)}
            x = generator.normal(size=shape)
            cases.append({"label": label, "params": params, "x": x})
        logits = generator.normal(size=(3, 5))
        return {"cases": cases, "logits": logits, "labels": np.array([4, 0, 2])}

    def call(inputs, DenseLayer, ReLULayer, ConvLayer, MaxPoolLayer, AveragePoolLayer, SoftmaxCrossEntropy):
        classes = {"DenseLayer": DenseLayer, "ReLULayer": ReLULayer, "ConvLayer": ConvLayer,
                   "MaxPoolLayer": MaxPoolLayer, "AveragePoolLayer": AveragePoolLayer}
        traces = []
        for (label, class_name, arguments, keywords, _), case in zip(gradient_cases(), inputs["cases"]):
            if arguments is None:
                layer = classes[class_name]()
            elif class_name in ("DenseLayer", "ConvLayer"):
                layer = classes[class_name](*arguments, np.random.default_rng(0), **keywords)
            else:
                layer = classes[class_name](*arguments)
            with_params(layer, case["params"])
            x = np.array(case["x"])
            upstream = np.random.default_rng(7).normal(size=np.shape(layer.forward(x)))
            traces.append(layer_trace(layer, x, upstream, tuple(case["params"])))
        criterion = SoftmaxCrossEntropy()
        value = snapshot(criterion.forward(np.array(inputs["logits"]), np.array(inputs["labels"])))
        return {"layers": traces, "loss": {"value": value, "gradient": snapshot(criterion.backward())}}

    def judge(outputs, inputs):
        traces = answers(field(outputs, "layers", "the gradient check"), len(inputs["cases"]), "the gradient check")
        for (label, class_name, arguments, keywords, _), case, trace in zip(gradient_cases(), inputs["cases"], traces):
            layer = reference_layer(class_name, arguments, keywords)
            layer.params.update({name: np.array(value) for name, value in case["params"].items()})
            x = np.array(case["x"])
            expected = layer.forward(x)
            same_array(f"numerical gradient check of {label}: forward in float64", field(trace, "forward", label),
                       expected, atol=1e-8)
            upstream = np.random.default_rng(7).normal(size=expected.shape)

            def z(_):
                return float(np.sum(layer.forward(x) * upstream))

            worst_relative_error(label, "dz/dx", field(trace, "backward", label), reference.numerical_gradient(z, x))
            grads = field(trace, "grads", label)
            for name in case["params"]:
                worst_relative_error(label, f"dz/d{name}", grads.get(name),
                                     reference.numerical_gradient(z, layer.params[name]))
        criterion, labels = reference.SoftmaxCE(), inputs["labels"]
        logits = np.array(inputs["logits"])
        trace = field(outputs, "loss", "the gradient check")
        same_array("numerical gradient check of SoftmaxCrossEntropy: forward in float64",
                   field(trace, "value", "SoftmaxCrossEntropy"), criterion.forward(logits, labels), atol=1e-8)
        worst_relative_error("SoftmaxCrossEntropy", "dL/dlogits", field(trace, "gradient", "SoftmaxCrossEntropy"),
                             reference.numerical_gradient(lambda values: criterion.forward(values, labels), logits))
        print("OK gradient check: every layer and the loss agree with central differences")


# ------------------------------------------------------------------ the network

class network(Exercise):
    """Network forward, backward and deltas, and one train_step, against a Keras twin and tf.GradientTape."""

    def inputs():
        generator = np.random.default_rng(1053)
        return {"conv": {"kernel": float32_normal(generator, 3, 3, 2, 3) * np.float32(0.4),
                         "bias": float32_normal(generator, 3) * np.float32(0.1)},
                "dense": {"kernel": float32_normal(generator, 27, 4) * np.float32(0.3),
                          "bias": float32_normal(generator, 4) * np.float32(0.1)},
                "x": float32_normal(generator, 5, 6, 7, 2), "labels": generator.integers(0, 4, 5), "tau": 0.3}

    def call(inputs, Network, train_step, ConvLayer, ReLULayer, MaxPoolLayer, FlattenLayer, DenseLayer,
             SoftmaxCrossEntropy):
        conv = with_params(ConvLayer(2, 3, 3, np.random.default_rng(0), stride=1, padding="same"), inputs["conv"])
        dense = with_params(DenseLayer(27, 4, np.random.default_rng(0)), inputs["dense"])
        chain = Network([conv, ReLULayer(), MaxPoolLayer(2), FlattenLayer(), dense])
        x, labels = np.array(inputs["x"]), np.array(inputs["labels"])
        logits = snapshot(chain.forward(x))
        criterion = SoftmaxCrossEntropy()
        criterion.forward(chain.forward(x), labels)
        dl_dx = snapshot(chain.backward(criterion.backward()))
        deltas = [snapshot(delta) for delta in list(getattr(chain, "deltas", None) or [])]
        step_loss = snapshot(train_step(chain, criterion, x, labels, inputs["tau"]))
        return {"logits": logits, "dL_dx": dl_dx, "deltas": deltas, "step_loss": step_loss,
                "conv_kernel_after": snapshot(conv.params["kernel"]), "dense_kernel_after": snapshot(dense.params["kernel"])}

    def judge(outputs, inputs):
        conv, dense, x, labels, tau = inputs["conv"], inputs["dense"], inputs["x"], inputs["labels"], inputs["tau"]
        twin = [keras_layer_with(keras.layers.Conv2D(3, 3, padding="same"), (6, 7, 2), [conv["kernel"], conv["bias"]]),
                keras.layers.ReLU(), keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
                keras_layer_with(keras.layers.Dense(4), (27,), [dense["kernel"], dense["bias"]])]
        with tf.GradientTape(persistent=True) as tape:
            activations = [tf.constant(x)]
            tape.watch(activations[0])
            for keras_layer in twin:
                activations.append(keras_layer(activations[-1]))
            value = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(labels, activations[-1], from_logits=True))
        same_array("Network.forward vs the Keras twin", field(outputs, "logits", "the network's trace"),
                   np.asarray(activations[-1]), atol=1e-4)
        same_array("Network.backward returns dL/dx of the network's input", field(outputs, "dL_dx", "the network's trace"),
                   np.asarray(tape.gradient(value, activations[0])), atol=1e-5)
        deltas = field(outputs, "deltas", "the network's trace")
        if len(deltas) != len(twin):
            raise Failure(f"Network.deltas: expected {len(twin)} deltas (one per layer), found {len(deltas)}")
        for k, delta in enumerate(deltas):
            same_array(f"Network.deltas[{k}], the dL/dy given to layers[{k}], vs GradientTape", delta,
                       np.asarray(tape.gradient(value, activations[k + 1])), atol=1e-5)
        same_array("train_step's returned loss", field(outputs, "step_loss", "the network's trace"), float(value), atol=1e-5)
        for name, index, before in (("conv", 0, conv["kernel"]), ("dense", 4, dense["kernel"])):
            gradient = np.asarray(tape.gradient(value, twin[index].kernel))
            same_array(f"{name} kernel after train_step(tau={tau}) = before - {tau} * dL/dkernel",
                       field(outputs, f"{name}_kernel_after", "the network's trace"), before - tau * gradient, atol=1e-5)
        del tape


class accuracy(Exercise):
    """The trained network's weights, scored by the grader on its own copy of the test digits."""

    def inputs():
        return {}

    def call(inputs, network):
        layers = list(getattr(network, "layers", None) or [])
        return {"layer_count": len(layers),
                "params": [{name: snapshot(value) for name, value in (getattr(layer, "params", None) or {}).items()}
                           for layer in layers]}

    def judge(outputs, inputs):
        count = field(outputs, "layer_count", "the network")
        if count != 5:
            raise Failure(f"`network` must be the build_network() network with 5 layers, found {count}")
        layers = field(outputs, "params", "the network")
        params = []
        for index, shapes in {0: {"kernel": (5, 5, 1, 8), "bias": (8,)}, 4: {"kernel": (1568, 10), "bias": (10,)}}.items():
            for name, shape in shapes.items():
                value = layers[index].get(name) if isinstance(layers[index], dict) else None
                if value is None or np.shape(value) != shape:
                    raise Failure(f"network.layers[{index}].params[{name!r}] should have shape {shape}, "
                                  f"found {None if value is None else np.shape(value)}")
                params.append(value)
        budget = budget_from_env()
        dataset = LOADERS[reference.DATASET](budget=budget, verbose=False)
        score = reference.accuracy_with(params, dataset.x_test, dataset.y_test)
        return threshold_report(LAB_ID, reference.METRIC, score, dataset)
