"""Lab 12 (domain adaptation): typical wrong answers caught, by the visible and the hidden checks;
the thresholds fail the shortcuts they guard; the reference layer equals the formula."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from autograder import thresholds
from autograder.check import check
from autograder.exercise import Failure
from autograder.labs import reference as _lab_reference
from lab_cells import run_check
from solution_text import REPO

LAB = "12-domain-adaptation"
reference = _lab_reference(LAB)


# ------------------------------------------------------------------ the reference itself


def test_reference_reversal_is_identity_forward_and_minus_lambda_backward():
    x = tf.constant(np.random.default_rng(0).normal(size=(3, 4)), dtype="float32")
    layer = reference.GradientReversal(0.4)
    with tf.GradientTape() as tape:
        tape.watch(x)
        output = layer(x)
        total = tf.reduce_sum(3.0 * output)
    np.testing.assert_array_equal(output, x)
    np.testing.assert_allclose(tape.gradient(total, x), -1.2 * np.ones((3, 4)), rtol=1e-6)
    assert layer.trainable_weights == [] and float(layer.lambda_) == pytest.approx(0.4)


def test_reference_schedule_is_ganins():
    assert reference.lambda_schedule(0.0) == 0.0
    assert reference.lambda_schedule(1.0) == pytest.approx(0.9999092)
    assert reference.lambda_schedule(0.5, gamma=2.0) == pytest.approx(2 / (1 + np.exp(-1.0)) - 1)


# ------------------------------------------------------------------ the hidden checks


def _hidden_fails(grade_id, names, expected):
    with pytest.raises(Failure) as failure:
        check(LAB, grade_id, names)
    assert expected in str(failure.value), str(failure.value)


class NotReversed(reference.GradientReversal):
    def call(self, inputs):
        return tf.identity(inputs)


class FrozenLambda(keras.layers.Layer):
    """lambda used as the Python float it was created with: frozen into a tf.function's graph."""

    def __init__(self, lambda_=1.0, **kwargs):
        super().__init__(**kwargs)
        self.lambda_ = self.add_weight(name="lambda", shape=(), trainable=False,
                                       initializer=keras.initializers.Constant(lambda_))
        self.value = float(lambda_)

    def call(self, inputs):
        return ops.stop_gradient(inputs * (1.0 + self.value)) - self.value * inputs


class TrainableLambda(keras.layers.Layer):
    def __init__(self, lambda_=1.0, **kwargs):
        super().__init__(**kwargs)
        self.lambda_ = self.add_weight(name="lambda", shape=(), initializer=keras.initializers.Constant(lambda_))

    def call(self, inputs):
        return ops.stop_gradient(inputs * (1.0 + self.lambda_)) - self.lambda_ * inputs


@pytest.mark.parametrize("layer, expected", [
    (NotReversed, "the gradient passes unchanged (+w); it must be reversed"),
    (FrozenLambda, "inside tf.function with lambda_ assigned 0.7: -0.7 * w (a Python float would be frozen"),
    (TrainableLambda, "has 1 trainable weight(s); lambda must not be trained"),
])
def test_hidden_reversal_rejects_wrong_layers(layer, expected):
    _hidden_fails("reversal", {"GradientReversal": layer}, expected)


def _dann_reversal_after_domain_classifier(feature_extractor, label_predictor, domain_classifier, reversal):
    images = keras.Input(shape=(28, 28, 3))
    features = feature_extractor(images)
    return keras.Model(images, [label_predictor(features), reversal(domain_classifier(features))])


def _dann_without_reversal(feature_extractor, label_predictor, domain_classifier, reversal):
    images = keras.Input(shape=(28, 28, 3))
    features = feature_extractor(images)
    return keras.Model(images, [label_predictor(features), domain_classifier(features)])


def _dann_outputs_swapped(feature_extractor, label_predictor, domain_classifier, reversal):
    images = keras.Input(shape=(28, 28, 3))
    features = feature_extractor(images)
    return keras.Model(images, [domain_classifier(reversal(features)), label_predictor(features)])


@pytest.mark.parametrize("build, expected", [
    (_dann_reversal_after_domain_classifier, "is reversed: the reversal layer must sit between G_f and G_d"),
    (_dann_without_reversal, "is not reversed: G_d must see the features through the reversal layer"),
    (_dann_outputs_swapped, "first output: class probabilities G_y(G_f(x)): expected shape (10, 10), found (10, 1)"),
])
def test_hidden_dann_model_rejects_wrong_wiring(build, expected):
    _hidden_fails("dann_model", {"build_dann": build}, expected)


def _step(domain_labels="source 0", reduce="mean", target_in_class_loss=False):
    def train_step(model, optimizer, x_source, y_source, x_target):
        images = ops.concatenate([x_source, x_target], axis=0)
        n = ops.shape(x_source)[0]
        zeros, ones = ops.zeros((n, 1)), ops.ones((ops.shape(x_target)[0], 1))
        domains = ops.concatenate([zeros, ones] if domain_labels == "source 0" else [ones, zeros], axis=0)
        with tf.GradientTape() as tape:
            class_probabilities, domain_probabilities = model(images, training=True)
            labels = ops.concatenate([y_source, y_source]) if target_in_class_loss else y_source
            scores = class_probabilities if target_in_class_loss else class_probabilities[:n]
            class_loss = getattr(ops, reduce)(keras.losses.sparse_categorical_crossentropy(labels, scores))
            domain_loss = getattr(ops, reduce)(keras.losses.binary_crossentropy(domains, domain_probabilities))
            loss = class_loss + domain_loss
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return {"class_loss": class_loss, "domain_loss": domain_loss}
    return train_step


@pytest.mark.parametrize("step, expected", [
    (_step(domain_labels="source 1"), "step 1: domain_loss (mean binary cross-entropy of all images, source 0, "
                                      "target 1): at index () expected"),
    (_step(reduce="sum"), "step 1: class_loss (mean cross-entropy of the source images): at index () expected"),
    (_step(target_in_class_loss=True), "step 1: class_loss (mean cross-entropy of the source images)"),
])
def test_hidden_train_step_rejects_wrong_losses(step, expected):
    _hidden_fails("train_step", {"train_step": step}, expected)


def test_hidden_train_step_in_numpy_fails_inside_tf_function():
    def numpy_step(model, optimizer, x_source, y_source, x_target):
        result = reference.train_step(model, optimizer, x_source, y_source, x_target)
        return {name: np.asarray(value) for name, value in result.items()}  # NumPy: no graph mode
    _hidden_fails("train_step", {"train_step": numpy_step}, "your code raised")


def test_hidden_networks_name_the_wrong_layer():
    def wide_feature_extractor():
        return keras.Sequential([keras.Input((28, 28, 3)), keras.layers.Conv2D(32, 5, activation="relu"),
                                 keras.layers.MaxPooling2D(2), keras.layers.Conv2D(64, 5, activation="relu"),
                                 keras.layers.MaxPooling2D(2), keras.layers.Flatten()])
    names = {"build_feature_extractor": wide_feature_extractor, "build_label_predictor": reference.build_label_predictor,
             "build_domain_classifier": reference.build_domain_classifier}
    _hidden_fails("networks", names, "build_feature_extractor(): ")


def test_hidden_embedding_without_the_sign_rule():
    from sklearn.decomposition import PCA

    def pca_without_sign_rule(source, target):
        return PCA(n_components=2).fit_transform(np.concatenate([source, target]))
    _hidden_fails("embedding", {"pca_2d": pca_without_sign_rule}, "is every column's largest-magnitude entry positive?")


def test_hidden_checks_accept_the_reference_and_the_stop_gradient_form():
    class StopGradientReversal(keras.layers.Layer):
        def __init__(self, lambda_=1.0, **kwargs):
            super().__init__(**kwargs)
            self.lambda_ = self.add_weight(name="lambda", shape=(), trainable=False,
                                           initializer=keras.initializers.Constant(lambda_))

        def call(self, inputs):
            return ops.stop_gradient((1.0 + self.lambda_) * inputs) - self.lambda_ * inputs

    for layer in (reference.GradientReversal, StopGradientReversal):
        check(LAB, "reversal", {"GradientReversal": layer})
    check(LAB, "schedule", {"lambda_schedule": reference.lambda_schedule})
    check(LAB, "dann_model", {"build_dann": reference.build_dann})
    check(LAB, "train_step", {"train_step": reference.train_step})


# ------------------------------------------------------------------ the visible checks


def _cells(folder):
    (notebook,) = (REPO / folder / LAB).glob("*.ipynb")
    return json.loads(notebook.read_text())["cells"]


@pytest.fixture(scope="module")
def lab12():
    student = {cell["metadata"]["nbgrader"]["grade_id"]: "".join(cell["source"]) for cell in _cells("labs")}
    namespace = {}
    exec(student["cell-01"], namespace)  # imports, setup_lab, the data
    for cell in _cells("solutions"):
        if cell["metadata"]["nbgrader"]["solution"]:
            exec("".join(cell["source"]), namespace)
    return student, namespace


@pytest.mark.parametrize("test_id, wrong, expected", [
    ("schedule", "def lambda_schedule(progress, gamma=10.0):\n    return 2.0 / (1.0 + math.exp(-10.0 * progress)) - 1.0",
     "lambda_schedule(1, gamma=5): at index () expected 0.986614, found 0.999909"),
    ("schedule", "def lambda_schedule(progress, gamma=10.0):\n    return 1.0 / (1.0 + math.exp(-gamma * progress))",
     "lambda_schedule(0): at index () expected 0, found 0.5"),
    ("reversal", "class GradientReversal(GradientReversal):\n    def call(self, inputs):\n        return tf.identity(inputs)",
     "gradient of sum(w * R(x)) with lambda 0.5: -0.5 w: at index (0, 0) expected"),
    ("networks", "def build_label_predictor():\n    return keras.Sequential([keras.Input((768,)), "
                 "keras.layers.Dense(100, activation='relu'), keras.layers.Dense(10)])",
     "layer 2: expected Dense(10, activation=softmax), found Dense(10)"),
    ("dann_model", "def build_dann(f, y, d, r):\n    i = keras.Input((28, 28, 3))\n"
                   "    return keras.Model(i, [y(f(i)), d(f(i))])",
     "gradient of L_d w.r.t. G_f's first kernel: -lambda times the plain one: at index"),
    ("embedding", "def pca_2d(s, t):\n    return PCA(n_components=2).fit_transform(np.concatenate([s, t]))",
     "pca_2d on random features"),
])
def test_visible_checks_catch_typical_mistakes(lab12, test_id, wrong, expected):
    message = run_check(lab12, test_id, wrong)
    assert expected in message, message


def test_visible_train_step_catches_summed_losses(lab12):
    wrong = ("_reference_step = train_step\n"
             "def train_step(model, optimizer, x_source, y_source, x_target):\n"
             "    losses = _reference_step(model, optimizer, x_source, y_source, x_target)\n"
             "    return {'class_loss': losses['class_loss'] * 8, 'domain_loss': losses['domain_loss'] * 16}\n")
    message = run_check(lab12, "train_step", wrong)
    assert "class_loss: at index () expected" in message, message


# ------------------------------------------------------------------ the thresholds


def test_every_threshold_entry_is_there():
    table = thresholds.load_table(LAB)["metrics"]
    for metric, key, budget in thresholds.required_entries(LAB):
        assert f"{key}/{budget}" in table[metric], (metric, key, budget)


def test_full_budget_gain_threshold_fails_an_unchanged_network():
    """DANN's classifier submitted as trained without adaptation (or the same model twice) gains 0."""
    table = thresholds.load_table(LAB)["metrics"]["dann_gain"]
    assert table["mnist_m_offline/full"]["threshold"] > 0
    assert table["mnist_m/full"]["threshold"] > 0


def test_untrained_classifier_fails_the_target_threshold():
    from autograder import metrics
    from coursekit.data import load_data
    from coursekit.lab import BUDGETS, set_determinism

    table = thresholds.load_table(LAB)["metrics"]["target_macro_f1"]
    for budget in ("smoke", "full"):
        dataset = load_data("mnist_m", mode="offline", budget=BUDGETS[budget], verbose=False)
        set_determinism(0)
        untrained = keras.Sequential([reference.build_feature_extractor(), reference.build_label_predictor()])
        predictions = metrics.test_predictions(untrained, dataset)
        score = metrics.score("macro_f1", dataset.y_test, predictions)
        assert score < table[f"mnist_m_offline/{budget}"]["threshold"], (budget, score)
