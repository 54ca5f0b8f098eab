"""Hidden checks for lab 06 (regularisation)."""

import keras
import numpy as np
import tensorflow as tf

from autograder import metrics
from autograder.hidden.common import image_batch, require_arrays, require_model, rng
from autograder.reference_checks import compare_with_reference
from autograder.labs import reference as _lab_reference

reference = _lab_reference("06-regularisation")
from coursekit.data import LOADERS
from coursekit.lab import budget_from_env
from coursekit.model_diff import first_difference, summarize

# Statistical tolerances: with 200 000 Bernoulli draws the fraction of zeros has a standard
# deviation of at most 0.0011, the mean of inverted-dropout outputs (relative to the input's)
# at most 0.004; the tolerances are several standard deviations wide.
ZERO_FRACTION_TOLERANCE = 0.01
MEAN_TOLERANCE = 0.03


def _fail(message):
    raise AssertionError(f"hidden check, {message}")


def _raises_value_error(name, build):
    try:
        build()
    except ValueError:
        return
    except Exception as error:  # noqa: BLE001 - report what was raised instead
        _fail(f"{name} should raise ValueError, raised {type(error).__name__}: {error}")
    _fail(f"{name} should raise ValueError (keras-io style argument check), raised nothing")


def _numpy(tensor):
    return np.asarray(tensor, dtype=np.float64)


def _close_to(name, found, expected, tolerance):
    if not abs(found - expected) <= tolerance:
        _fail(f"{name}: expected {expected:.4f} (within {tolerance}), found {found:.4f}")


def _dropout_inputs():
    return (0.5 + rng(60).random((500, 8, 50))).astype("float32")  # 200 000 positive values


def check_dropout(CustomDropout):
    for bad in (1.0, -0.1, 1.5):
        _raises_value_error(f"CustomDropout(rate={bad})", lambda: CustomDropout(bad))
    _raises_value_error("CustomDropout(0.5, scale_at='never')", lambda: CustomDropout(0.5, scale_at="never"))
    x = _dropout_inputs()
    for rate in (0.1, 0.7):
        layer = CustomDropout(rate, seed=11)
        require_arrays(f"CustomDropout({rate})(x, training=False)", layer(x, training=False), x, atol=0, rtol=0)
        require_arrays(f"CustomDropout({rate})(x) with no training flag", layer(x), x, atol=0, rtol=0)
        found = _numpy(layer(x, training=True))
        expected = _numpy(keras.layers.Dropout(rate, seed=11)(x, training=True))
        dropped = found == 0
        _close_to(f"CustomDropout({rate}) in training: fraction of zeros (Keras's Dropout: "
                  f"{np.mean(expected == 0):.4f})", float(dropped.mean()), rate, ZERO_FRACTION_TOLERANCE)
        require_arrays(f"CustomDropout({rate}) in training: kept values x / (1 - rate)",
                       found[~dropped], x[~dropped] / (1 - rate), atol=1e-6, rtol=1e-5)
        _close_to(f"CustomDropout({rate}) in training: mean output / mean input (Keras's Dropout: "
                  f"{expected.mean() / x.mean():.4f})", float(found.mean() / x.mean()), 1.0, MEAN_TOLERANCE)
        again = _numpy(layer(x, training=True))
        if np.array_equal(again, found):
            _fail(f"CustomDropout({rate}): two calls in training mode dropped the same units; draw a new "
                  "mask on every call (keras.random.uniform(..., seed=self.seed_generator))")
        twins = [_numpy(CustomDropout(rate, seed=11)(x, training=True)) for _ in range(2)]
        if not np.array_equal(*twins):
            _fail(f"CustomDropout({rate}, seed=11): two layers with the same seed dropped different units; "
                  "create a keras.random.SeedGenerator(seed) in __init__ and pass it to keras.random")
        graph_layer = CustomDropout(rate, seed=5)
        graph = _numpy(tf.function(lambda batch: graph_layer(batch, training=True))(x))
        _close_to(f"CustomDropout({rate}) inside tf.function: fraction of zeros", float(np.mean(graph == 0)),
                  rate, ZERO_FRACTION_TOLERANCE)
    require_arrays("CustomDropout(0.0) in training (nothing to drop)", CustomDropout(0.0)(x, training=True), x,
                   atol=0, rtol=0)
    ones = tf.ones((400, 50))
    layer = CustomDropout(0.4, seed=2)
    with tf.GradientTape() as tape:
        tape.watch(ones)
        outputs = layer(ones, training=True)
        total = tf.reduce_sum(outputs)
    require_arrays("gradient of sum(CustomDropout(0.4)(ones)) w.r.t. its input (mask / (1 - rate))",
                   tape.gradient(total, ones), outputs, atol=1e-6)
    config = CustomDropout(0.25, seed=3).get_config()
    copy = CustomDropout.from_config(config)
    if getattr(copy, "rate", None) != 0.25:
        _fail("CustomDropout.from_config(layer.get_config()) lost the rate; put rate, scale_at and "
              "seed into get_config()")


def check_dropout_original(CustomDropout):
    x = _dropout_inputs()
    for rate in (0.2, 0.6):
        layer = CustomDropout(rate, scale_at="test", seed=21)
        require_arrays(f"CustomDropout({rate}, scale_at='test') at inference: x * (1 - rate)",
                       layer(x, training=False), x * (1 - rate), atol=1e-6, rtol=1e-5)
        found = _numpy(layer(x, training=True))
        dropped = found == 0
        _close_to(f"CustomDropout({rate}, scale_at='test') in training: fraction of zeros",
                  float(dropped.mean()), rate, ZERO_FRACTION_TOLERANCE)
        require_arrays(f"CustomDropout({rate}, scale_at='test') in training: kept values (unscaled)",
                       found[~dropped], x[~dropped], atol=0, rtol=0)
        _close_to(f"CustomDropout({rate}, scale_at='test'): mean training output / mean inference output",
                  float(found.mean() / (x.mean() * (1 - rate))), 1.0, MEAN_TOLERANCE)


def _dropconnect_layer(DropConnectDense, units, rate, n_inputs, activation=None, seed=7):
    layer = DropConnectDense(units, rate, activation=activation, seed=seed)
    layer.build((None, n_inputs))
    weights = layer.get_weights()
    shapes = [tuple(np.shape(w)) for w in weights]
    if shapes != [(n_inputs, units), (units,)]:
        _fail(f"DropConnectDense({units}) built on {n_inputs} inputs: expected weights [kernel "
              f"{(n_inputs, units)}, bias {(units,)}] in that order, found shapes {shapes}")
    return layer


def check_dropconnect(DropConnectDense):
    for bad in (1.0, -0.2):
        _raises_value_error(f"DropConnectDense(8, rate={bad})", lambda: DropConnectDense(8, bad))
    generator = rng(61)
    for units, rate, n_inputs, activation in ((30, 0.25, 20, None), (12, 0.6, 9, "relu")):
        name = f"DropConnectDense({units}, {rate}, activation={activation})"
        layer = _dropconnect_layer(DropConnectDense, units, rate, n_inputs, activation)
        kernel = generator.normal(size=(n_inputs, units)).astype("float32")
        bias = generator.normal(size=units).astype("float32")
        layer.set_weights([kernel, bias])
        x = generator.normal(size=(64, n_inputs)).astype("float32")
        expected = x @ kernel + bias
        if activation == "relu":
            expected = np.maximum(expected, 0)
        require_arrays(f"{name} at inference: activation(x @ W + b)", layer(x, training=False), expected,
                       atol=1e-5)
        require_arrays(f"{name} with no training flag", layer(x), expected, atol=1e-5)
        # One-hot inputs and a kernel of ones: each output is one mask entry / (1 - rate).
        layer.set_weights([np.ones_like(kernel), np.zeros_like(bias)])
        one_hot = np.tile(np.eye(n_inputs, dtype="float32"), (4000 // n_inputs + 1, 1))[:4000]
        found = _numpy(layer(one_hot, training=True))  # relu changes nothing: all values are >= 0
        dropped = found == 0
        if not np.any(dropped.any(axis=1) & (~dropped).any(axis=1)):
            _fail(f"{name} in training: every example keeps or drops all the weights of an input together; "
                  "that is dropout on the inputs -- DropConnect drops each weight on its own")
        same_input = found[::n_inputs]  # rows that all saw input e_0
        if np.all(same_input == same_input[0]):
            _fail(f"{name}: every example of the batch got the same mask; DropConnect (Wan et al. 2013) "
                  "draws a mask per example, shape (batch, inputs, units)")
        _close_to(f"{name} in training: fraction of dropped weights", float(dropped.mean()), rate,
                  ZERO_FRACTION_TOLERANCE)
        require_arrays(f"{name} in training: kept weights W / (1 - rate)", found[~dropped],
                       np.full(int((~dropped).sum()), 1 / (1 - rate)), atol=1e-5)
        twins = [_dropconnect_layer(DropConnectDense, units, rate, n_inputs, activation) for _ in range(2)]
        for twin in twins:
            twin.set_weights(layer.get_weights())
        if not np.array_equal(*(_numpy(twin(one_hot, training=True)) for twin in twins)):
            _fail(f"{name}, seed=7: two layers with the same seed dropped different weights; create a "
                  "keras.random.SeedGenerator(seed) in __init__ and pass it to keras.random")
    # Expectation over many examples that see the same input.
    layer = _dropconnect_layer(DropConnectDense, 30, 0.3, 20, None, seed=9)
    kernel = generator.normal(size=(20, 30)).astype("float32")
    layer.set_weights([kernel, np.zeros(30, "float32")])
    row = generator.random((1, 20)).astype("float32")
    repeated = np.repeat(row, 4000, axis=0)
    mean_output = _numpy(tf.function(lambda batch: layer(batch, training=True))(repeated)).mean(axis=0)
    require_arrays("DropConnectDense(30, 0.3) in training (inside tf.function): mean over 4000 draws of "
                   "one input vs x @ W", mean_output, row[0] @ kernel, atol=0.15, rtol=0)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(repeated[:8], training=True))
    gradient = tape.gradient(loss, layer.trainable_weights)
    if any(g is None for g in gradient):
        _fail("DropConnectDense in training: no gradient reaches the kernel or the bias")
    config = DropConnectDense(5, 0.2, activation="relu", seed=1).get_config()
    copy = DropConnectDense.from_config(config)
    if getattr(copy, "units", None) != 5 or getattr(copy, "rate", None) != 0.2:
        _fail("DropConnectDense.from_config(layer.get_config()) lost units or rate; put units, rate, "
              "activation and seed into get_config()")


def check_class_preserving(answers):
    if not isinstance(answers, dict):
        _fail(f"CLASS_PRESERVING should be a dict, found {type(answers).__name__}")
    wrong = [name for name, value in reference.CLASS_PRESERVING.items() if answers.get(name) is not value]
    if wrong:
        _fail(f"CLASS_PRESERVING: {len(wrong)} of {len(reference.CLASS_PRESERVING)} answers are wrong "
              f"or missing: {wrong}")


AUGMENTATION_SETTINGS = ("factor", "height_factor", "width_factor", "fill_mode", "interpolation")


def _pipeline_settings(model):
    return [(type(layer).__name__, {key: layer.get_config().get(key) for key in AUGMENTATION_SETTINGS})
            for layer in model.layers]


def check_augmentation(build_augmentation):
    pipeline = build_augmentation()
    found, expected = _pipeline_settings(pipeline), _pipeline_settings(reference.build_augmentation())
    if any(kind == "RandomFlip" for kind, _ in found):
        _fail("the pipeline flips images: a mirrored 2, 3, 4, 5 or 7 is no digit, and a 6 turned upside "
              "down is a 9")
    if found != expected:
        _fail(f"augmentation pipeline: expected {expected}, found {found}")
    batch = image_batch(16)
    require_arrays("augmentation(x, training=False)", pipeline(batch, training=False), batch, atol=0, rtol=0)
    first = _numpy(pipeline(batch, training=True))
    if first.shape != batch.shape:
        _fail(f"augmentation(x, training=True): expected shape {batch.shape}, found {first.shape}")
    if np.allclose(first, batch) or np.allclose(first, _numpy(pipeline(batch, training=True))):
        _fail("augmentation(x, training=True) should transform the images, differently on every call")


_FLAG_SETS = ({}, {"dropout": True}, {"dropconnect": True}, {"augmentation": True}, {"batch_norm": True},
              reference.REGULARISED, dict(reference.REGULARISED, batch_norm=True))


def _nested_pipeline(model):
    for layer in model.layers:
        if hasattr(layer, "layers"):
            return layer
    return None


def check_mlp(build_mlp):
    for flags in _FLAG_SETS:
        student = build_mlp(**flags)
        label = f"build_mlp({', '.join(f'{k}=True' for k in flags)})"
        try:
            require_model(lambda: student, lambda: reference.build_mlp(**flags))
        except AssertionError as error:
            raise AssertionError(f"hidden check, {label}: {error}") from error
        if flags.get("augmentation"):
            pipeline = _nested_pipeline(student)
            if pipeline is None or _pipeline_settings(pipeline) != _pipeline_settings(reference.build_augmentation()):
                _fail(f"{label}: its first layer should be the pipeline of build_augmentation()")


def check_accuracy_gap(accuracy_gap):
    keras.utils.set_random_seed(62)
    model = reference.build_mlp()
    generator = rng(62)
    x_train, x_val = generator.random((120, 28, 28, 1), dtype=np.float32), generator.random((90, 28, 28, 1),
                                                                                              dtype=np.float32)
    predicted_train = np.asarray(model(x_train, training=False)).argmax(-1)
    predicted_val = np.asarray(model(x_val, training=False)).argmax(-1)
    y_train = np.where(np.arange(120) % 4 == 0, (predicted_train + 1) % 10, predicted_train)  # 75 % right
    y_val = np.where(np.arange(90) % 3 == 0, predicted_val, (predicted_val + 3) % 10)  # 33 % right
    found = accuracy_gap(model, x_train, y_train, x_val, y_val)
    expected = reference.accuracy_gap(model, x_train, y_train, x_val, y_val)
    if not isinstance(found, dict) or sorted(found) != sorted(expected):
        _fail(f"accuracy_gap should return a dict with the keys {sorted(expected)}, found {found!r}")
    for key, value in expected.items():
        require_arrays(f"accuracy_gap(...)[{key!r}]", found[key], value)


def _same_kinds(name, model, expected_model):
    problem = first_difference(summarize(model), summarize(expected_model), check_shapes=False,
                               check_params=False)
    if problem:
        _fail(f"{name}: {problem}")


def check_gap_reduction(plain_model, regularised_model):
    """Re-measure both trained models on the grader's own copy of the data."""
    _same_kinds("plain_model", plain_model, reference.build_mlp())
    _same_kinds("regularised_model", regularised_model, reference.build_mlp(**reference.REGULARISED))
    budget = budget_from_env()
    dataset = LOADERS[reference.DATASET](budget=budget, verbose=False)
    reduction, plain, regularised = reference.gap_reduction_of(plain_model, regularised_model, dataset)
    for name, numbers in (("plain", plain), ("regularised", regularised)):
        print(f"{name}: train accuracy = {numbers['train_accuracy']:.4f} on the first {reference.SUBSET} training "
              f"images, validation accuracy = {numbers['val_accuracy']:.4f} on {len(dataset.y_test)} held-out "
              f"images, gap {numbers['gap']:.4f}")
    metrics.require_score(reference.LAB_ID, "gap_reduction", reduction, dataset, budget.name,
                          about=f" on {dataset.description}")


def check_deep_network(build_deep_network):
    batch = rng(63).random((8, 784), dtype=np.float32)
    for args in (("sigmoid",), ("relu",), ("tanh", 4, 16)):
        try:
            compare_with_reference(build_deep_network(*args), reference.build_deep_network(*args), batch)
        except AssertionError as error:
            raise AssertionError(f"hidden check, build_deep_network{args}: {error}") from error


def check_gradient_norms(layer_gradient_norms):
    generator = rng(64)
    x = generator.random((64, 784), dtype=np.float32)
    y = generator.integers(0, 10, 64)
    for seed, args in ((1, ("sigmoid",)), (2, ("relu",)), (3, ("tanh", 5, 32))):
        keras.utils.set_random_seed(seed)
        model = reference.build_deep_network(*args)
        require_arrays(f"layer_gradient_norms of build_deep_network{args}", layer_gradient_norms(model, x, y),
                       reference.layer_gradient_norms(model, x, y), atol=0, rtol=1e-4)


def check_gradient_orders(build_deep_network, layer_gradient_norms):
    """Recompute the sigmoid/ReLU ratio with the student's functions on the grader's batch."""
    budget = budget_from_env()
    dataset = LOADERS[reference.DATASET](budget=budget, verbose=False)
    orders, ratios = reference.gradient_orders_of(build_deep_network, layer_gradient_norms, dataset, seed=0)
    print(f"first/last gradient-norm ratio: sigmoid {ratios['sigmoid']:.3g}, ReLU {ratios['relu']:.3g}")
    metrics.require_score(reference.LAB_ID, "gradient_orders", orders, dataset, budget.name,
                          about=" (log10 of ReLU's ratio / sigmoid's)")
