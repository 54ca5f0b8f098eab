"""Lab 06 (regularisation): typical wrong answers fail the notebook's own visible checks.

The set-up cell of the student notebook runs first, then the reference answers of every
exercise (from the source notebook), then one wrong answer in place of an exercise, then
that exercise's visible test cell, taken from the student notebook.
"""

import json

import numpy as np
import pytest

from lab_cells import run_check
from solution_text import REPO

LAB = "06-regularisation"


def _cells(folder):
    (notebook,) = (REPO / folder / LAB).glob("*.ipynb")
    return json.loads(notebook.read_text())["cells"]


@pytest.fixture(scope="module")
def lab06():
    student = {cell["metadata"]["nbgrader"]["grade_id"]: "".join(cell["source"]) for cell in _cells("labs")}
    namespace = {}
    exec(student["cell-01"], namespace)  # imports, setup_lab, the data
    for cell in _cells("solutions"):
        source = "".join(cell["source"])
        if cell["metadata"]["nbgrader"]["solution"] or source.startswith(("TRANSFORMS =", "def check_pipeline")):
            exec(source, namespace)
    return student, namespace


def test_reference_answers_pass_every_visible_check(lab06):
    source, base = lab06
    for test_id in ("dropout", "dropout_original", "dropconnect", "class_preserving", "augmentation", "mlp",
                    "gap_function", "deep_network", "gradient_norms", "initial_std", "activation_stds"):
        exec(source[test_id], dict(base))


DROPOUT = '''
class CustomDropout(CustomDropout):
    def call(self, inputs, training=None):
{body}
'''


@pytest.mark.parametrize("test_id, body, expected", [
    ("dropout", "        return ops.where(keras.random.uniform(ops.shape(inputs), seed=self.seed_generator) >= self.rate, "
                "inputs, 0.0) if training else inputs",
     "rate 0.2: the values kept (all equal to 1 / (1 - rate)): at index (0,) expected 1.25, found 1"),
    ("dropout", "        keep = keras.random.uniform(ops.shape(inputs), seed=self.seed_generator) < self.rate\n"
                "        return ops.where(keep, inputs / (1 - self.rate), 0.0) if training else inputs",
     "rate 0.2: fraction of zeros vs Keras's Dropout: at index () expected 0.19983, found 0.7992"),
    ("dropout", "        keep = keras.random.uniform(ops.shape(inputs), seed=self.seed_generator) >= self.rate\n"
                "        return ops.where(keep, inputs / (1 - self.rate), 0.0)",
     "CustomDropout(0.2)(x, training=False): at index"),
    ("dropout", "        keep = keras.random.uniform(ops.shape(inputs), seed=1) >= self.rate\n"
                "        return ops.where(keep, inputs / (1 - self.rate), 0.0) if training else inputs",
     "rate 0.2: a second call draws a new mask: expected True, found False"),
    ("dropout_original", "        keep = keras.random.uniform(ops.shape(inputs), seed=self.seed_generator) >= self.rate\n"
                         "        return ops.where(keep, inputs / (1 - self.rate), 0.0) if training else inputs * (1 - self.rate)",
     "scale_at='test', training: kept values are not scaled: at index"),
    ("dropout_original", "        keep = keras.random.uniform(ops.shape(inputs), seed=self.seed_generator) >= self.rate\n"
                         "        return ops.where(keep, inputs, 0.0) if training else inputs",
     "scale_at='test', inference: x * (1 - rate): at index (0, 0) expected 0.3, found 0.5"),
])
def test_wrong_dropout(lab06, test_id, body, expected):
    message = run_check(lab06, test_id, DROPOUT.format(body=body))
    assert expected in message, message


def test_dropout_without_argument_check(lab06):
    wrong = ("class CustomDropout(CustomDropout):\n    def __init__(self, rate, scale_at='train', seed=None, **kwargs):\n"
             "        keras.layers.Layer.__init__(self, **kwargs)\n"
             "        self.rate, self.scale_at, self.seed = rate, scale_at, seed\n"
             "        self.seed_generator = keras.random.SeedGenerator(seed)\n")
    message = run_check(lab06, "dropout", wrong)
    assert "CustomDropout(1.0) raises: expected 'ValueError', found 'nothing'" in message


DROPCONNECT = '''
class DropConnectDense(DropConnectDense):
    def call(self, inputs, training=None):
        if not training:
            return self.activation(ops.matmul(inputs, self.kernel) + self.bias)
{body}
'''


@pytest.mark.parametrize("body, expected", [
    ("        keep = keras.random.uniform(ops.shape(self.kernel), seed=self.seed_generator) >= self.rate\n"
     "        kernel = ops.where(keep, self.kernel / (1 - self.rate), 0.0)\n"
     "        return self.activation(ops.matmul(inputs, kernel) + self.bias)",
     "training: examples with the same input get different masks: expected True, found False"),
    ("        shape = (ops.shape(inputs)[0], ops.shape(self.kernel)[0], self.units)\n"
     "        keep = keras.random.uniform(shape, seed=self.seed_generator) >= self.rate\n"
     "        kernels = ops.where(keep, self.kernel, 0.0)\n"
     "        return self.activation(ops.einsum('bi,bij->bj', inputs, kernels) + self.bias)",
     "training: kept weights W / (1 - rate): at index (0,) expected 1.33333, found 1"),
    ("        keep = keras.random.uniform(ops.shape(inputs), seed=self.seed_generator) >= self.rate\n"
     "        dropped = ops.where(keep, inputs / (1 - self.rate), 0.0)\n"
     "        return self.activation(ops.matmul(dropped, self.kernel) + self.bias)",
     "training: the weights of one input are dropped one by one, not all at once (that is dropout): expected True, found False"),
])
def test_wrong_dropconnect(lab06, body, expected):
    message = run_check(lab06, "dropconnect", DROPCONNECT.format(body=body))
    assert expected in message, message


@pytest.mark.parametrize("test_id, wrong, expected", [
    ("class_preserving", "CLASS_PRESERVING = {'horizontal flip': False, 'vertical flip': False}",
     "CLASS_PRESERVING: no answer for ['horizontal flip of a Fashion-MNIST image', 'rotation by 180 degrees'"),
    ("class_preserving", "CLASS_PRESERVING = {name: 'yes' for name in TRANSFORMS}",
     "CLASS_PRESERVING: answer True or False (a bool) for ['horizontal flip'"),
    ("augmentation", "def build_augmentation():\n    return keras.Sequential([keras.layers.RandomFlip('horizontal'), "
                     "keras.layers.RandomRotation(0.03), keras.layers.RandomZoom(0.1)])",
     "the pipeline's layers: expected ['RandomRotation', 'RandomTranslation', 'RandomZoom'], found ['RandomFlip', "),
    ("augmentation", "def build_augmentation():\n    return keras.Sequential([keras.layers.RandomRotation(0.5, fill_mode='constant'), "
                     "keras.layers.RandomTranslation(0.1, 0.1, fill_mode='constant'), keras.layers.RandomZoom(0.1, fill_mode='constant')])",
     "layer 1 (RandomRotation) factor: expected (-0.03, 0.03), found (-0.5, 0.5)"),
    ("augmentation", "def build_augmentation():\n    return keras.Sequential([keras.layers.RandomRotation(0.03), "
                     "keras.layers.RandomTranslation(0.1, 0.1), keras.layers.RandomZoom(0.1)])",
     "layer 1 (RandomRotation) fill_mode: expected 'constant', found 'reflect'"),
])
def test_wrong_augmentation(lab06, test_id, wrong, expected):
    message = run_check(lab06, test_id, wrong)
    assert expected in message, message


def test_mlp_with_dropout_before_batch_norm(lab06):
    wrong = ("def build_mlp(dropout=False, dropconnect=False, augmentation=False, batch_norm=False):\n"
             "    L = keras.layers\n"
             "    stack = [keras.Input((28, 28, 1))] + ([build_augmentation()] if augmentation else []) + [L.Flatten()]\n"
             "    for dense in (L.Dense(256, activation='relu'), DropConnectDense(256, 0.3, activation='relu') if dropconnect\n"
             "                  else L.Dense(256, activation='relu')):\n"
             "        stack += [dense] + ([CustomDropout(0.3)] if dropout else []) + ([L.BatchNormalization()] if batch_norm else [])\n"
             "    return keras.Sequential(stack + [L.Dense(10, activation='softmax')])\n")
    message = run_check(lab06, "mlp", wrong)
    assert "layer 4: expected BatchNormalization(), found CustomDropout(rate=0.3)" in message, message


@pytest.mark.parametrize("wrong, expected", [
    ("def accuracy_gap(model, xt, yt, xv, yv):\n"
     "    acc = lambda x, y: float(np.mean(np.argmax(np.asarray(model(x, training=True)), -1) == y))\n"
     "    return {'train_accuracy': acc(xt, yt), 'val_accuracy': acc(xv, yv), 'gap': acc(xt, yt) - acc(xv, yv)}",
     "train_accuracy on labels = the model's own inference-mode predictions: at index () expected 1, found"),
    ("def accuracy_gap(model, xt, yt, xv, yv):\n"
     "    acc = lambda x, y: float(np.mean(np.argmax(np.asarray(model(x, training=False)), -1) == y))\n"
     "    return {'train_accuracy': acc(xt, yt), 'val_accuracy': acc(xv, yv), 'gap': acc(xv, yv) - acc(xt, yt)}",
     "gap: at index () expected"),
])
def test_wrong_accuracy_gap(lab06, wrong, expected):
    message = run_check(lab06, "gap_function", wrong)
    assert expected in message, message


NORMS = '''
def layer_gradient_norms(model, x, y):
    variables = {variables}
    with tf.GradientTape() as tape:
        loss = tf.{reduce}(keras.losses.sparse_categorical_crossentropy(y, model(x, training=True)))
    return np.array([float(tf.norm(g)) for g in tape.gradient(loss, variables)])
'''


@pytest.mark.parametrize("variables, reduce, expected", [
    ("[l.kernel for l in model.layers]", "reduce_sum",
     "norm of the last layer's kernel gradient vs a^(L-1)T delta^(L): at index () expected"),
    ("model.trainable_weights", "reduce_mean", "shape of the norms: expected (5,), found (10,)"),
])
def test_wrong_gradient_norms(lab06, variables, reduce, expected):
    message = run_check(lab06, "gradient_norms", NORMS.format(variables=variables, reduce=reduce))
    assert expected in message, message


def test_deep_network_with_one_layer_too_many(lab06):
    wrong = ("def build_deep_network(activation, depth=10, width=64):\n"
             "    hidden = [keras.layers.Dense(width, activation=activation) for _ in range(depth)]\n"
             "    return keras.Sequential([keras.Input((784,)), *hidden, keras.layers.Dense(10, activation='softmax')])\n")
    message = run_check(lab06, "deep_network", wrong)
    assert "layer 4: expected Dense(10, activation=softmax), found Dense(32, activation=sigmoid)" in message, message


INITIAL_STD = """
def initial_std(scheme, fan_in, fan_out):
    {body}
"""
ACTIVATION_STDS = """
def activation_stds(model, x):
    stds = []
    for layer in model.layers{layers}:
        x = np.asarray(layer(x))
        stds.append(float(np.std(x{axis})))
    return np.array(stds)
"""


@pytest.mark.parametrize("test_id, wrong, expected", [
    # the uniform law's limit a instead of its standard deviation a / sqrt(3)
    ("initial_std", INITIAL_STD.format(body="return float(np.sqrt(6 / (fan_in + fan_out)))"),
     "initial_std('glorot_uniform', 784, 64) vs the std of a kernel Keras drew: at index () expected 0.04"),
    # He's variance 1 / fan_in (LeCun's) instead of 2 / fan_in
    ("initial_std", INITIAL_STD.format(
        body="return float(np.sqrt(2 / (fan_in + fan_out)) if scheme.startswith('glorot') else np.sqrt(1 / fan_in))"),
     "initial_std('he_normal', 784, 64) vs the std of a kernel Keras drew"),
    # any unknown scheme falls through to He
    ("initial_std", INITIAL_STD.format(
        body="return float(np.sqrt(2 / (fan_in + fan_out)) if scheme.startswith('glorot') else np.sqrt(2 / fan_in))"),
     "initial_std('lecun_normal', 64, 64), not one of the four schemes, raises: expected 'ValueError', found 'nothing'"),
    # the std of each unit, averaged: not the std of the whole array
    ("activation_stds", ACTIVATION_STDS.format(layers="[:-1]", axis=", axis=0).mean("),
     "activation_stds, hidden layer 1: std of a^(1) over the whole batch: at index () expected"),
    # the output layer measured too
    ("activation_stds", ACTIVATION_STDS.format(layers="", axis=""),
     "shape of activation_stds for 4 Dense layers (3 hidden): expected (3,), found (4,)"),
])
def test_wrong_initialisation_answers(lab06, test_id, wrong, expected):
    message = run_check(lab06, test_id, wrong)
    assert expected in message, message


# ------------------------------------------------------------------ hidden checks

from autograder.check import check  # noqa: E402
from autograder.exercise import Failure  # noqa: E402
from autograder.labs import reference as _lab_reference  # noqa: E402
reference = _lab_reference("06-regularisation")


def test_hidden_checks_accept_the_reference_layers():
    check(LAB, "dropout", {"CustomDropout": reference.CustomDropout})
    check(LAB, "dropout_original", {"CustomDropout": reference.CustomDropout})
    check(LAB, "dropconnect", {"DropConnectDense": reference.DropConnectDense})
    check(LAB, "class_preserving", {"CLASS_PRESERVING": dict(reference.CLASS_PRESERVING)})


class _SameMaskForTheBatch(reference.DropConnectDense):
    def call(self, inputs, training=None):
        import keras
        from keras import ops
        if not training:
            return super().call(inputs, training)
        keep = keras.random.uniform(ops.shape(self.kernel), seed=self.seed_generator) >= self.rate
        return self.activation(ops.matmul(inputs, ops.where(keep, self.kernel / (1 - self.rate), 0.0)) + self.bias)


class _DropoutOnTheInputs(reference.DropConnectDense):
    def call(self, inputs, training=None):
        import keras
        from keras import ops
        if training:
            keep = keras.random.uniform(ops.shape(inputs), seed=self.seed_generator) >= self.rate
            inputs = ops.where(keep, inputs / (1 - self.rate), 0.0)
        return self.activation(ops.matmul(inputs, self.kernel) + self.bias)


class _GlobalSeed(reference.CustomDropout):
    def call(self, inputs, training=None):
        import keras
        from keras import ops
        if not training:
            return inputs
        keep = keras.random.uniform(ops.shape(inputs)) >= self.rate
        return ops.where(keep, inputs / (1 - self.rate), 0.0)


@pytest.mark.parametrize("grade_id, name, wrong, expected", [
    ("dropconnect", "DropConnectDense", _SameMaskForTheBatch, "every example of the batch got the same mask"),
    ("dropconnect", "DropConnectDense", _DropoutOnTheInputs, "that is dropout on the inputs"),
    ("dropout", "CustomDropout", _GlobalSeed, "two layers with the same seed dropped different units"),
])
def test_hidden_checks_reject_wrong_layers(grade_id, name, wrong, expected):
    with pytest.raises(Failure) as failure:
        check(LAB, grade_id, {name: wrong})
    assert expected in str(failure.value)


def test_hidden_class_preserving_names_the_wrong_answers():
    answers = dict(reference.CLASS_PRESERVING, **{"horizontal flip": True})
    with pytest.raises(Failure, match=r"1 of 7 answers are wrong or missing: \['horizontal flip'\]"):
        check(LAB, "class_preserving", {"CLASS_PRESERVING": answers})


def test_class_preserving_visible_check_knows_the_reference_answers_and_refuses_a_wrong_one():
    from autograder import labs

    import re

    from coursekit.checks import CheckFailed, answers_digest, check_answers

    reference = labs.reference("06-regularisation")
    script = (labs.folder("06-regularisation") / "regularisation.py").read_text()
    digest = re.search(r'digest="([0-9a-f]{64})"', script).group(1)
    assert answers_digest(reference.CLASS_PRESERVING) == digest
    check_answers("CLASS_PRESERVING", dict(reference.CLASS_PRESERVING), list(reference.CLASS_PRESERVING), digest)
    wrong = dict(reference.CLASS_PRESERVING, **{"rotation by 180 degrees": True})
    with pytest.raises(CheckFailed, match="at least one answer is wrong"):
        check_answers("CLASS_PRESERVING", wrong, list(reference.CLASS_PRESERVING), digest)
    with pytest.raises(CheckFailed, match=r"answer True or False \(a bool\) for \['vertical flip'\]"):
        check_answers("CLASS_PRESERVING", dict(reference.CLASS_PRESERVING, **{"vertical flip": "no"}),
                      list(reference.CLASS_PRESERVING), digest)


@pytest.mark.parametrize("key", ["mnist5k_offline/smoke", "mnist5k_offline/full", "mnist/smoke", "mnist/full"])
def test_gap_thresholds_fail_an_unchanged_network_and_an_underfitting_one(key, monkeypatch):
    """An unchanged network (the plain one twice: reduction 0) fails the gap, whatever the data
    and budget; a regularised network that learns less (validation 10 points lower) fails the
    validation gain even when its gap shrank."""
    import types

    from autograder.exercise import Failure
    from autograder.judges import threshold_report

    data_key, budget = key.split("/")
    monkeypatch.setenv("COURSE_BUDGET", budget)
    dataset = types.SimpleNamespace(key=data_key, description="toy", y_test=[0])
    with pytest.raises(Failure, match="gap_reduction = 0.0000 .* is below"):
        threshold_report("06-regularisation", "gap_reduction", 0.0, dataset, about="(unchanged)")
    if budget == "full":  # at smoke (10 epochs) even the reference's regularised network is still behind
        with pytest.raises(Failure, match="validation_gain = -0.1000 .* is below"):
            threshold_report("06-regularisation", "validation_gain", -0.10, dataset, about="(underfitting)")


def test_hidden_initialisation_checks_accept_the_reference_and_name_a_wrong_answer():
    check(LAB, "initial_std", {"initial_std": reference.initial_std})
    check(LAB, "activation_stds", {"activation_stds": reference.activation_stds})

    def lecun_for_he(scheme, fan_in, fan_out):
        return reference.initial_std(scheme, fan_in, fan_out) / (2 ** 0.5 if scheme.startswith("he") else 1)

    with pytest.raises(Failure, match=r"initial_std\('he_uniform', 128, 32\): at index \(\) expected 0.125"):
        check(LAB, "initial_std", {"initial_std": lecun_for_he})

    def no_error(scheme, fan_in, fan_out):
        return 1.0 if scheme == "orthogonal" else reference.initial_std(scheme, fan_in, fan_out)

    with pytest.raises(Failure, match="an unknown scheme should raise ValueError"):
        check(LAB, "initial_std", {"initial_std": no_error})

    def with_output_layer(model, x):
        return np.append(reference.activation_stds(model, x), 0.1)

    with pytest.raises(Failure, match="activation_stds of a 10-layer relu network"):
        check(LAB, "activation_stds", {"activation_stds": with_output_layer})
