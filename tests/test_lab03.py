"""Lab 03 (CNN architectures).

- Typical wrong answers fail the notebook's own visible checks with a useful message
  (the student notebook's cells are executed in-process, as in test_visible_checks.py).
- The hidden checks (``exercises.py``, through ``autograder.check``) catch typical wrong
  answers; the Inception judges accept the branches in any order, and still catch wrong
  modules; without the reordering, copying the reference's weights would not do.
- The push tiers lie above every score of the unchanged Inception network, which earns neither.
- coursekit's graph specs (``spec(..., inputs=...)``, ``model_from_specs``,
  ``check_model_graph``).
"""


import keras
import numpy as np
import pytest

from autograder import labs, thresholds
from autograder.check import check
from autograder.exercise import Failure
from autograder.reference_checks import ModelMismatch, compare_with_reference
from coursekit.checks import CheckFailed, check_model_graph
from coursekit.lab import BUDGETS
from coursekit.model_diff import model_from_specs, spec
from lab_cells import cells, run_check

LAB = "03-cnn-architectures"
L = keras.layers
reference = labs.reference(LAB)
exercises = labs.module(LAB, "exercises")


@pytest.fixture(scope="module")
def lab03():
    source = cells(LAB)
    namespace = {}
    exec(source["cell-01"], namespace)  # imports, setup_lab and the data
    for helper in ("def block_model(", "def inception_specs("):  # locked cells the checks use
        (text,) = [text for text in source.values() if text.startswith(helper)]
        exec(text, namespace)
    return source, namespace


def run_passes(lab, test_id, answer):
    source, base = lab
    namespace = dict(base)
    exec(answer, namespace)
    exec(source[test_id], namespace)


CONV = 'L = keras.layers\ndef c(f, k, x): return L.Conv2D(f, k, padding="same", activation="relu")(x)\n'
MODULE = CONV + """
def inception_module(inputs, filters=64):
    one = c(filters, 1, inputs)
    three = c(filters, 3, c(filters, 1, inputs))
    five = c(filters, 5, c(filters, 1, inputs))
    pool = c(filters, 1, L.MaxPooling2D(3, strides=1, padding="same")(inputs))
    return L.Concatenate()([one, three, five, pool])
"""
REORDERED = CONV + """
def inception_module(inputs, filters=64):
    pool = c(filters, 1, L.MaxPooling2D(3, strides=1, padding="same")(inputs))
    five = c(filters, 5, c(filters, 1, inputs))
    one = c(filters, 1, inputs)
    three = c(filters, 3, c(filters, 1, inputs))
    return L.Concatenate()([five, pool, one, three])
"""
RESIDUAL = """
L = keras.layers
def residual_block(inputs):
    x = L.Conv2D(inputs.shape[-1], 3, padding="same", use_bias=False)(inputs)
    x = L.BatchNormalization(momentum=0.9)(x)
    x = L.Activation("relu")(x)
    x = L.Conv2D(inputs.shape[-1], 3, padding="same", use_bias=False)(x)
    x = L.BatchNormalization(momentum=0.9)(x)
    return L.Activation("relu")(L.Add()([x, inputs]))
"""
BATCH_NORM = """
def batch_norm(x, gamma, beta, moving_mean, moving_variance, training, momentum=0.99, epsilon=1e-3):
    if training:
        mean, variance = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2), ddof=DDOF)
        moving_mean = momentum * moving_mean + (1 - momentum) * mean
        moving_variance = momentum * moving_variance + (1 - momentum) * variance
    else:
        mean, variance = MODE
    return gamma * (x - mean) / np.sqrt(variance + epsilon) + beta, moving_mean, moving_variance
"""
LENET = """
def build_lenet():
    L = keras.layers
    return keras.Sequential([keras.Input(shape=SHAPE), L.Conv2D(6, 5, padding=PADDING, activation="tanh"), POOL(2),
        L.Conv2D(16, 5, activation="tanh"), L.AveragePooling2D(2), L.Flatten(), L.Dense(120, activation="tanh"),
        L.Dense(84, activation="tanh"), L.Dense(10, activation="softmax")])
"""
TRANSPOSED = """
def conv_output_size(n, k, s=1, p=0, d=1): return (n + 2 * p - d * (k - 1) - 1) // s + 1
def transposed_output_size(n, k, s=1, p=0): return s * (n - 1) + k - 2 * p
def transposed_conv2d(image, kernel, stride):
    out = np.zeros((stride * (image.shape[0] - 1) + len(kernel), stride * (image.shape[1] - 1) + len(kernel)))
    for i in range(image.shape[0]):
        for j in range(image.shape[1]):
            out[stride * i:stride * i + len(kernel), stride * j:stride * j + len(kernel)] += image[i, j] * kernel[::-1, ::-1]
    return out
"""


REDUCED = CONV + """
def inception_module(inputs, filters=64, reduce_filters=None):
    reduce = filters if reduce_filters is None else reduce_filters
    five = c(filters, 5, c(reduce, 1, inputs))
    one = c(filters, 1, inputs)
    three = c(filters, 3, c(reduce, 1, inputs))
    pool = c(filters, 1, L.MaxPooling2D(3, strides=1, padding="same")(inputs))
    return L.Concatenate()([one, three, five, pool])
"""
COUNT = """
def conv_multiply_adds(model):
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            total += SIZE * layer.kernel_size[0] * layer.kernel_size[1] * layer.input.shape[-1] * layer.filters
    return total
"""


@pytest.mark.parametrize("test_id, wrong, expected", [
    ("output_size", "def conv_output_size(n, k, s=1, p=0, d=1): return (n + 2 * p - k) // s + 1",
     "conv_output_size(7, 3, d=2)  (a 3×3 kernel dilated by 2 spans 5 pixels): expected 3, found 5"),
    ("output_size", "def conv_output_size(n, k, s=1, p=0, d=1): return (n + 2 * p - d * (k - 1) - 1) / s + 1",
     "conv_output_size(n=5, k=1, s=3, p=0, d=1), as Keras computes it: expected 2, found 2.33"),
    ("dilated", "def dilate_kernel(kernel, d):\n    out = np.zeros((d * len(kernel), d * len(kernel)) + kernel.shape[2:])\n"
                "    out[::d, ::d] = kernel\n    return out",
     "dilate_kernel(taps 1..9, 2)[:, :, 0, 0]: expected shape (5, 5), found (6, 6)"),
    ("transposed", "def transposed_output_size(n, k, s=1, p=0): return s * n + k - 2 * p",
     "transposed_output_size(2, 3, s=2)  (the lecture's 2×2 -> 5×5): expected 5, found 7"),
    ("transposed", TRANSPOSED, "transposed_conv2d(2×2 image, 3×3 kernel, stride 2) vs keras.ops.conv_transpose: "
                               "at index (0, 0) expected 0, found 8"),
    ("parameter_counts", "def conv2d_parameter_count(k, c, f): return k * k * c * f + f\n"
                         "def separable_conv2d_parameter_count(k, c, f, depth_multiplier=1): return k * k * c + c * f\n"
                         "def dense_parameter_count(n, m): return n * m + m",
     "separable_conv2d_parameter_count(3, 4, 10): expected 86, found 76"),
    ("lenet", LENET.replace("SHAPE", "(32, 32, 1)").replace("PADDING", '"valid"').replace("POOL", "L.MaxPooling2D"),
     "layer 2: expected AveragePooling2D(pool_size=2×2), found MaxPooling2D(pool_size=2×2)"),
    ("lenet", LENET.replace("SHAPE", "(28, 28, 1)").replace("PADDING", '"same"').replace("POOL", "L.AveragePooling2D"),
     "model input: expected shape (batch, 32, 32, 1), found (None, 28, 28, 1)"),
    ("locally_connected", "class LocallyConnected2D(keras.layers.Conv2D):\n    pass",
     "kernel shape: expected (5, 4, 3, 3, 3, 4), found (3, 3, 3, 4)"),
    ("global_pooling", "def global_average_pooling(x): return x.mean(axis=(0, 1))\ndef global_max_pooling(x): return x.max(axis=(1, 2))",
     "global_average_pooling: expected shape (3, 6), found (4, 6)"),
    ("batch_norm", BATCH_NORM.replace("DDOF", "1").replace("MODE", "moving_mean, moving_variance"),
     "training mode: y: at index (0, 0, 0, 0) expected"),
    ("batch_norm", BATCH_NORM.replace("DDOF", "0").replace("MODE", "x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))"),
     "inference mode: y: at index (0, 0, 0, 0) expected"),
    ("residual", RESIDUAL.replace('return L.Activation("relu")(L.Add()([x, inputs]))', "return L.Add()([x, inputs])"),
     "the reference has Activation(activation=relu) fed by Add(); your model has no such layer"),
    ("residual", RESIDUAL.replace('L.Activation("relu")(x)', "L.ReLU()(x)"),
     "the reference has Activation(activation=relu) fed by BatchNormalization(epsilon=0.001, momentum=0.9); "
     "at that place your model has ReLU()"),
    ("residual", RESIDUAL.replace("momentum=0.9", "momentum=0.99"),
     "the reference has BatchNormalization(epsilon=0.001, momentum=0.9) fed by Conv2D(16, 3×3, padding=same, "
     "use_bias=False); at that place your model has BatchNormalization(epsilon=0.001, momentum=0.99)"),
    ("inception_module", MODULE.replace("MaxPooling2D(3, strides=1, ", "MaxPooling2D(3, "),
     "building the module on a 14×14×32 input failed"),
    ("inception_module", MODULE.replace('padding="same")(inputs)', 'padding="valid")(inputs)'),
     "building the module on a 14×14×32 input failed"),
    ("inception_module", MODULE.replace("c(filters, 5, c(filters, 1, inputs))", "c(filters, 5, inputs)"),
     "the reference has Conv2D(64, 1×1, padding=same, activation=relu) fed by the model input; "
     "at that place your model has Conv2D(64, 5×5, padding=same, activation=relu)"),
    ("inception_module", MODULE.replace("L.Concatenate()", "L.Add()"),
     "the reference has Concatenate() fed by Conv2D(64, 1×1, padding=same, activation=relu), Conv2D(64, 3×3, "
     "padding=same, activation=relu), Conv2D(64, 5×5, padding=same, activation=relu), Conv2D(64, 1×1, "
     "padding=same, activation=relu); at that place your model has Add()"),
    ("inception_network", MODULE + "def build_inception_network():\n    inputs = keras.Input((28, 28, 1))\n"
     "    x = L.MaxPooling2D(2)(c(32, 3, inputs))\n    x = L.MaxPooling2D(2)(inception_module(x, 32))\n"
     "    x = L.Dropout(0.5)(L.GlobalAveragePooling2D()(x))\n    return keras.Model(inputs, L.Dense(10, activation='softmax')(x))",
     "the reference has Flatten() fed by MaxPooling2D(pool_size=2×2); at that place your model has GlobalAveragePooling2D"),
    # the lecture's module without the new argument
    ("inception_reduce", MODULE, "inception_module(inputs, 64, reduce_filters=16) failed"),
    # reduce_filters given to the 1x1 branch instead of the reduce convolutions
    ("inception_reduce", REDUCED.replace("one = c(filters, 1, inputs)", "one = c(reduce, 1, inputs)")
     .replace("c(reduce, 1, inputs))", "c(filters, 1, inputs))"),
     "the reference has Conv2D(16, 1×1, padding=same, activation=relu) fed by the model input; at that place your "
     "model has Conv2D(64, 1×1, padding=same, activation=relu)"),
    # the input's height and width instead of the output's
    ("multiply_adds", COUNT.replace("SIZE", "layer.input.shape[1] * layer.input.shape[2]"),
     "conv_multiply_adds of a 3×3 'valid' convolution on 10×12×3 (8 filters): expected 17280, found 25920"),
    # a float count
    ("multiply_adds", COUNT.replace("SIZE", "float(layer.output.shape[1] * layer.output.shape[2])"),
     "type of the count: expected 'int', found 'float'"),
])
def test_wrong_answers_fail_the_visible_checks(lab03, test_id, wrong, expected):
    message = run_check(lab03, test_id, wrong)
    assert expected in message, message


def test_the_visible_module_check_accepts_any_branch_order(lab03):
    run_passes(lab03, "inception_module", REORDERED)


def test_the_visible_reduce_check_accepts_any_branch_order_and_the_hidden_check_agrees(lab03):
    run_passes(lab03, "inception_reduce", REDUCED)
    run_passes(lab03, "multiply_adds", COUNT.replace("SIZE", "layer.output.shape[1] * layer.output.shape[2]"))
    check(LAB, "inception_reduce", {"inception_module": _namespace(REDUCED)["inception_module"]})
    check(LAB, "inception_module", {"inception_module": _namespace(REDUCED)["inception_module"]})
    with pytest.raises(Failure, match="raised TypeError"):
        check(LAB, "inception_reduce", {"inception_module": _namespace(MODULE)["inception_module"]})
    counted = _namespace(COUNT.replace("SIZE", "layer.output.shape[1] * layer.output.shape[2]"))
    check(LAB, "multiply_adds", {"conv_multiply_adds": counted["conv_multiply_adds"]})
    with pytest.raises(Failure, match="expected 84,546, found"):
        inputs_sized = _namespace(COUNT.replace("SIZE", "layer.input.shape[1] * layer.input.shape[2]"))
        check(LAB, "multiply_adds", {"conv_multiply_adds": inputs_sized["conv_multiply_adds"]})


# ------------------------------------------------------------------ hidden checks (exercises.py)


def _namespace(code):
    namespace = {"keras": keras, "np": np}
    exec(code, namespace)
    return namespace


def _network(module):
    inputs = keras.Input((28, 28, 1))
    x = L.MaxPooling2D(2)(L.Conv2D(32, 3, padding="same", activation="relu")(inputs))
    x = L.Flatten()(L.MaxPooling2D(2)(module(x, 32)))
    return keras.Model(inputs, L.Dense(10, activation="softmax")(L.Dropout(0.5)(x)))


def test_hidden_module_check_accepts_any_branch_order():
    reordered = _namespace(REORDERED)["inception_module"]
    check(LAB, "inception_module", {"inception_module": reordered})
    assert exercises.branch_order(_network(reordered)) == ("5x5", "pool", "1x1", "3x3")
    check(LAB, "inception_network", {"build_inception_network": lambda: _network(reordered)})


def test_copying_weights_across_branch_orders_alone_would_fail():
    """Why the judge rebuilds the reference in the student's order: channels permute."""
    inputs = keras.Input((6, 6, 4))
    student = keras.Model(inputs, _namespace(REORDERED)["inception_module"](inputs, 3))
    expected = exercises.block_model(reference.inception_module, (6, 6, 4), 3)
    exercises.randomize(expected, np.random.default_rng(0))
    with pytest.raises(ModelMismatch, match="outputs differ"):
        compare_with_reference(student, expected, np.random.default_rng(1).random((2, 6, 6, 4), dtype=np.float32))


@pytest.mark.parametrize("change, expected", [
    (('c(filters, 3, c(filters, 1, inputs))', 'L.Conv2D(filters, 3, padding="same")(c(filters, 1, inputs))'),
     "Conv2D(8, 3×3, padding=same)"),
    (("L.MaxPooling2D(3, ", "L.AveragePooling2D(3, "), "AveragePooling2D"),
    (("L.Concatenate()", "L.Concatenate(axis=1)"), "Concatenate(axis=1)"),
])
def test_hidden_module_check_catches_wrong_modules(change, expected):
    wrong = _namespace(REORDERED.replace(*change))["inception_module"]
    with pytest.raises(Failure) as failure:
        check(LAB, "inception_module", {"inception_module": wrong})
    assert expected in str(failure.value), str(failure.value)


def _disguised_module():
    """Same graph and settings as the module, another function: a layer named Conv2D that adds 1."""
    class Conv2D(L.Conv2D):  # named like Keras's layer, computes something else
        def call(self, inputs):
            return super().call(inputs) + 1.0

    namespace = {"keras": keras, "np": np, "Conv2D": Conv2D}
    exec(REORDERED.replace("one = c(filters, 1, inputs)",
                           'one = Conv2D(filters, 1, padding="same", activation="relu")(inputs)'), namespace)
    return namespace["inception_module"]


def test_hidden_module_judge_catches_a_wrong_function_with_the_right_graph():
    """Handed the model itself (no save and reload), the judge compares outputs under the same weights."""
    exercise = exercises.inception_module
    inputs = exercise.inputs()
    outputs = exercise.call(inputs, _disguised_module())
    with pytest.raises(AssertionError, match="outputs differ"):
        exercise.judge(outputs, inputs)


def test_hidden_module_check_refuses_a_custom_layer():
    """Through the graders, a module with a layer of the student's own never reaches the judge."""
    with pytest.raises(Failure, match="only Keras's built-in layers can be graded"):
        check(LAB, "inception_module", {"inception_module": _disguised_module()})


def test_hidden_residual_check_accepts_either_add_order():
    check(LAB, "residual", {"residual_block": _namespace(RESIDUAL)["residual_block"]})


PROJECTION = """
L = keras.layers
def residual_projection_block(inputs, filters, stride):
    shortcut = L.BatchNormalization(momentum=0.9)(L.Conv2D(filters, 1, strides=stride, padding=SHORTCUT_PADDING,
                                                          use_bias=False)(inputs))
    x = L.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(inputs)
    x = L.Activation("relu")(L.BatchNormalization(momentum=0.9)(x))
    x = L.BatchNormalization(momentum=0.9)(L.Conv2D(filters, 3, padding="same", use_bias=False)(x))
    return L.Activation("relu")(L.Add()([x, SHORTCUT]))
"""


def _projection(padding='"valid"', shortcut="shortcut"):
    return PROJECTION.replace("SHORTCUT_PADDING", padding).replace("SHORTCUT", shortcut)


def test_projection_written_shortcut_first_with_same_padding_passes_both_checks(lab03):
    """Equivalent forms: shortcut built first, Add's inputs swapped, padding='same' on the 1×1."""
    answer = _projection('"same"')
    run_passes(lab03, "residual_projection", answer)
    check(LAB, "residual_projection", {"residual_projection_block": _namespace(answer)["residual_projection_block"]})


def test_reference_projection_and_separable_network_pass_the_hidden_checks():
    check(LAB, "residual_projection", {"residual_projection_block": reference.residual_projection_block})
    check(LAB, "separable_network", {"build_separable_network": reference.build_separable_network})


@pytest.mark.parametrize("wrong, expected", [
    (_projection().replace("strides=stride, padding=\"same\"", "padding=\"same\""),
     "building the block on a 7×7×16 input with 32 filters and stride 2 failed"),
    (_projection().replace("L.Conv2D(filters, 3, padding=\"same\"", "L.Conv2D(filters, 3, strides=stride, padding=\"same\""),
     "building the block on a 7×7×16 input with 32 filters and stride 2 failed"),
    (_projection().replace("L.BatchNormalization(momentum=0.9)(L.Conv2D(filters, 1", "(L.Conv2D(filters, 1"),
     "BatchNormalization"),
])
def test_wrong_projections_fail_the_visible_check(lab03, wrong, expected):
    message = run_check(lab03, "residual_projection", wrong)
    assert expected in message, message


def test_identity_shortcut_where_the_shape_changes_fails_the_hidden_check():
    wrong = _namespace(_projection(shortcut="inputs"))["residual_projection_block"]
    with pytest.raises(Failure) as failure:
        check(LAB, "residual_projection", {"residual_projection_block": wrong})
    assert "residual_projection_block on an input of shape (8, 8, 4), filters=6, stride=2" in str(failure.value)


def test_standard_twin_fails_the_separable_checks(lab03):
    twin = ("def build_separable_network():\n    return reference_twin()\n")
    message = run_check(lab03, "separable_network", "from autograder.labs import reference as _r\n"
                        "reference_twin = lambda: _r('03-cnn-architectures').build_separable_network(keras.layers.Conv2D)\n"
                        + twin)
    assert "expected SeparableConv2D(64, 3×3, padding=same, activation=relu), found Conv2D(64" in message, message
    with pytest.raises(Failure, match="SeparableConv2D"):
        check(LAB, "separable_network",
              {"build_separable_network": lambda: reference.build_separable_network(keras.layers.Conv2D)})


@pytest.mark.parametrize("grade_id, names, expected", [
    ("output_size", {"conv_output_size": lambda n, k, s=1, p=0, d=1: (n + 2 * p - k) // s + 1},
     "conv_output_size(n=1, k=3, s=1, p=3, d=2): expected 3, found 5"),
    ("output_size", {"conv_output_size": lambda n, k, s=1, p=0, d=1: None}, "did the function forget to `return`"),
    ("dilated", {"dilate_kernel": lambda kernel, d: kernel}, "dilate_kernel(kernel (2, 2, 1, 3), 3): expected shape"),
    ("transposed", _namespace(TRANSPOSED), "transposed_conv2d(image (3, 4), kernel 2×2, stride 3): at index"),
    ("parameter_counts", {"conv2d_parameter_count": lambda k, c, f: k * k * c * f + f,
                          "separable_conv2d_parameter_count": lambda k, c, f, depth_multiplier=1: k * k * c + c * f + f,
                          "dense_parameter_count": lambda n, m: n * m + m},
     "separable_conv2d_parameter_count(5, 2, 9, depth_multiplier=3): expected"),
    ("lenet", {"build_lenet": 3}, "expected a function that builds the model, found int"),
    ("locally_connected", _namespace("class LocallyConnected2D(keras.layers.Conv2D):\n    pass"),
     "LocallyConnected2D(5, 2) on (3, 9, 8, 2): expected self.kernel of shape (8, 7, 2, 2, 2, 5), found (2, 2, 2, 5)"),
    ("global_pooling", {"global_average_pooling": lambda x: x.mean(axis=(1, 2)),
                        "global_max_pooling": lambda x: x.max(axis=(0, 1))},
     "global_max_pooling on (1, 3, 3, 1): expected shape (1, 1), found (3, 1)"),
    ("batch_norm", _namespace(BATCH_NORM.replace("(0, 1, 2)", "tuple(range(x.ndim - 1))").replace("DDOF", "1")
                              .replace("MODE", "moving_mean, moving_variance")),
     "batch_norm on (16, 5) (training mode, momentum 0.8, epsilon 0.01): y"),
    ("batch_norm", {"batch_norm": lambda *arguments, **keywords: [arguments[0], arguments[3], arguments[4]]},
     "batch_norm should return a tuple"),
    ("residual", _namespace(RESIDUAL.replace('return L.Activation("relu")(L.Add()([x, inputs]))',
                                             "return L.Add()([x, inputs])")),
     "your model has no such layer"),
    ("inception_module", _namespace(MODULE.replace("MaxPooling2D(3, strides=1, ", "MaxPooling2D(3, ")),
     "building the block on an input of shape (9, 9, 5) failed"),
    ("lab02_network", {"build_lab02_network": lambda: reference.build_lenet()},
     "model input: expected shape (None, 28, 28, 1), found (None, 32, 32, 1)"),
])
def test_hidden_checks_catch_wrong_answers(grade_id, names, expected):
    with pytest.raises(Failure) as failure:
        check(LAB, grade_id, names)
    assert expected in str(failure.value), str(failure.value)


def test_push_tiers_refuse_an_untrained_model():
    with pytest.raises(Failure, match="is below the tier 1 threshold"):
        check(LAB, "push_tier1", {"push_model": reference.build_strong_network()})


# ------------------------------------------------------------------ thresholds


@pytest.mark.parametrize("budget", ["smoke", "full"])
def test_push_tiers_lie_above_every_unchanged_inception_score(budget):
    """Tier 1 lies above the best score of the unchanged Inception network over the five
    calibration seeds (the grader's seed among them); tier 2 (the stronger reference) lies above
    tier 1, and the stronger reference passes tier 1 at every seed."""
    inception = thresholds.lookup(LAB, "macro_f1", "mnist5k_offline", budget)
    tier1 = thresholds.lookup(LAB, "macro_f1_beyond_inception", "mnist5k_offline", budget)
    tier2 = thresholds.lookup(LAB, "macro_f1_strong", "mnist5k_offline", budget)
    assert tier1["scores"] == inception["scores"]  # the same network, seeds and data
    assert tier1["threshold"] > max(inception["scores"].values())
    assert tier2["threshold"] >= tier1["threshold"]
    assert min(tier2["scores"].values()) > tier1["threshold"]


def test_the_unchanged_inception_network_earns_no_push_tier():
    """The shortcut the tiers guard: the notebook's own Inception network, trained as the
    notebook trains it, handed in as the push network (grader's data: offline, smoke)."""
    from autograder.judges import grader_data

    model = reference.train(grader_data(reference), BUDGETS["smoke"], 0)
    for tier in (1, 2):
        with pytest.raises(Failure, match=f"is below the tier {tier} threshold"):
            check(LAB, f"push_tier{tier}", {"push_model": model})


# ------------------------------------------------------------------ graph specs (coursekit)


def _module_specs(filters=4):
    def conv(size, feed):
        return spec("Conv2D", filters=filters, kernel_size=size, padding="same", activation="relu", inputs=(feed,))
    return [conv(1, -1), conv(1, -1), conv(3, 1), conv(1, -1), conv(5, 3),
            spec("MaxPooling2D", pool_size=3, strides=1, padding="same", inputs=(-1,)), conv(1, 5),
            spec("Concatenate", axis=-1, inputs=(0, 2, 4, 6))]


def test_model_from_specs_builds_the_graph():
    model = model_from_specs(_module_specs(), (8, 8, 3))
    assert tuple(model.output.shape) == (None, 8, 8, 16)
    assert model.count_params() == 4 * 4 * 4 + (9 * 4 + 1) * 4 + (25 * 4 + 1) * 4
    chain = model_from_specs([spec("Conv2D", filters=2, kernel_size=3), spec("Flatten")], (5, 5, 1))
    assert tuple(chain.output.shape) == (None, 18)


def test_model_from_specs_refuses_bad_specs():
    with pytest.raises(ValueError, match="fed by a later layer"):
        model_from_specs([spec("Flatten", inputs=(1,)), spec("Flatten")], (4, 4, 1))
    with pytest.raises(ValueError, match="keras.layers has no layer 'Conv9D'"):
        model_from_specs([spec("Conv9D")], (4, 4, 1))


def test_check_model_graph_ignores_branch_order_and_names_differences():
    reordered = _namespace(REORDERED)["inception_module"]
    inputs = keras.Input((8, 8, 3))
    check_model_graph(keras.Model(inputs, reordered(inputs, 4)), _module_specs(), (8, 8, 3))
    with pytest.raises(CheckFailed, match=r"expected shape \(batch, 8, 8, 3\), found \(None, 9, 9, 3\)"):
        inputs = keras.Input((9, 9, 3))
        check_model_graph(keras.Model(inputs, reordered(inputs, 4)), _module_specs(), (8, 8, 3))
    with pytest.raises(CheckFailed, match="Conv2D\\(4, 5×5, padding=same, activation=relu\\)"):
        wrong = _namespace(REORDERED.replace("c(filters, 5, c(", "c(filters, 3, c("))["inception_module"]
        inputs = keras.Input((8, 8, 3))
        check_model_graph(keras.Model(inputs, wrong(inputs, 4)), _module_specs(), (8, 8, 3))


def test_the_alexnet_cell_counts_the_published_total():
    """The locked AlexNet cell, run with correct counts: 60 965 224 parameters, ~96 % dense."""
    import matplotlib.pyplot as plt

    (text,) = [text for text in cells(LAB).values() if text.startswith("def grouped(")]
    namespace = {"np": np, "plt": plt, "build_lenet": reference.build_lenet,
                 "conv2d_parameter_count": reference.conv2d_parameter_count,
                 "dense_parameter_count": reference.dense_parameter_count}
    exec(text, namespace)
    plt.close("all")
    assert namespace["total"] == 60_965_224 and 0.96 < namespace["dense_share"] < 0.97
