"""Lab 14 (graph networks): the reference against independent formulas and Keras, typical wrong
answers caught by the hidden checks (through the probe's save-and-read-back) and by the visible
checks, with their messages, and thresholds that fail the shortcuts they guard."""

import json

import keras
import numpy as np
import pytest
from keras import ops
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from autograder import labs
from autograder.batch.artifacts import load_outputs
from autograder.exercise import Failure
from coursekit.checks import CheckFailed
from coursekit.graph_data import load_karate_club, load_motif_graphs
from coursekit.graphs import check_graph_convolution, check_graph_model
from coursekit.lab import BUDGETS
from coursekit.model_diff import spec
from coursekit.probe import save_outputs
from solution_text import REPO

LAB = "14-graph-networks"
reference = labs.module(LAB, "reference")
exercises = labs.module(LAB, "exercises")
THRESHOLDS = json.loads((REPO / "solutions" / LAB / "thresholds.json").read_text())["metrics"]


def judged(tmp_path, exercise, **names):
    """Run ``exercise`` as the batch grader does: call, save as plain data, read back, judge.
    Returns the Failure's message, or None when the answer passes."""
    inputs = exercise.inputs()
    save_outputs(exercise.call(inputs, **names), str(tmp_path), exercise.__name__)
    try:
        exercise.judge(load_outputs(tmp_path, exercise.__name__), exercise.inputs())
    except Failure as failure:
        return str(failure)
    return None


# ------------------------------------------------------------------ the reference


def test_normalized_adjacency_equals_the_formula_entry_by_entry():
    adjacency = exercises.random_graph(9, 0.4, 3, isolated=(2,))
    expected = np.zeros((9, 9))
    degree = adjacency.sum(axis=1) + 1
    for i in range(9):
        for j in range(9):
            expected[i, j] = (adjacency[i, j] + (i == j)) / np.sqrt(degree[i] * degree[j])
    np.testing.assert_allclose(reference.normalize_adjacency(adjacency), expected, atol=1e-12)
    assert reference.normalize_adjacency(adjacency)[2, 2] == 1.0  # an isolated node keeps itself
    assert np.isclose(np.linalg.eigvalsh(reference.normalize_adjacency(adjacency)).max(), 1.0)


@pytest.mark.parametrize("use_bias", [True, False])
def test_graph_convolution_with_identity_adjacency_is_keras_dense(use_bias):
    features = np.random.default_rng(1).standard_normal((6, 4)).astype("float32")
    layer = reference.GraphConvolution(3, activation="relu", use_bias=use_bias)
    dense = keras.layers.Dense(3, activation="relu", use_bias=use_bias)
    layer([features, np.eye(6, dtype="float32")])
    dense(features)
    dense.set_weights(layer.get_weights())
    np.testing.assert_allclose(np.asarray(layer([features, np.eye(6, dtype="float32")])), np.asarray(dense(features)),
                               atol=1e-6)


def test_reference_answers_pass_their_own_hidden_checks(tmp_path):
    answers = {"normalize": {"normalize_adjacency": reference.normalize_adjacency},
               "propagate": {"propagate": reference.propagate},
               "graph_conv": {"GraphConvolution": reference.GraphConvolution},
               "node_model": {"build_node_classifier": reference.build_node_classifier},
               "graph_model": {"build_graph_classifier": reference.build_graph_classifier}}
    for grade_id, names in answers.items():
        assert judged(tmp_path, getattr(exercises, grade_id), **names) is None, grade_id


def test_reference_layer_passes_the_visible_check(capsys):
    ring_hat = ((np.eye(5) + np.roll(np.eye(5), 1, 0) + np.roll(np.eye(5), -1, 0)) / 3).astype("float32")
    check_graph_convolution(reference.GraphConvolution, ring_hat, ACTIVATIONS)
    assert "OK GraphConvolution: 6 settings" in capsys.readouterr().out


ACTIVATIONS = {None: lambda x: x, "relu": lambda x: np.maximum(x, 0), "tanh": np.tanh}


# ------------------------------------------------------------------ wrong answers, hidden checks


def row_normalized(adjacency):
    with_loops = np.asarray(adjacency) + np.eye(len(adjacency))
    return with_loops / with_loops.sum(axis=1, keepdims=True)


def without_self_loops(adjacency):
    adjacency = np.asarray(adjacency, dtype=np.float64)
    scale = 1.0 / np.sqrt(adjacency.sum(axis=1))
    return adjacency * scale[:, None] * scale[None, :]


@pytest.mark.parametrize("wrong, message", [
    (row_normalized, "normalize_adjacency(a random 10-node graph with an isolated node): at index (0, 9) expected 0.353553, found 0.5"),
    (without_self_loops, "is nan (not finite)"),
])
def test_wrong_normalization_is_caught(tmp_path, wrong, message):
    with np.errstate(divide="ignore", invalid="ignore"):
        found = judged(tmp_path, exercises.normalize, normalize_adjacency=wrong)
    assert found is not None and message in found, found


def test_propagate_without_the_starting_state_is_caught(tmp_path):
    def propagate(adjacency_hat, features, steps):
        states = [features]
        for _ in range(steps):
            states.append(adjacency_hat @ states[-1])
        return np.stack(states[1:]) if steps else np.stack(states)

    found = judged(tmp_path, exercises.propagate, propagate=propagate)
    assert "propagate(adjacency_hat, features (12, 3), steps=4): expected shape (5, 12, 3), found (4, 12, 3)" in found


class BiasFirst(reference.GraphConvolution):
    def build(self, input_shape):
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias") if self.use_bias else None
        self.kernel = self.add_weight(shape=(input_shape[0][-1], self.units), name="kernel")


class IgnoresTheGraph(reference.GraphConvolution):
    def call(self, inputs):
        outputs = ops.matmul(inputs[0], self.kernel)
        return self.activation(outputs + self.bias if self.use_bias else outputs)


class ActivationBeforeBias(reference.GraphConvolution):
    def call(self, inputs):
        outputs = self.activation(ops.matmul(inputs[1], ops.matmul(inputs[0], self.kernel)))
        return outputs + self.bias if self.use_bias else outputs


class ForgetsUseBiasInConfig(reference.GraphConvolution):
    def get_config(self):
        config = super().get_config()
        del config["use_bias"]
        return config


@pytest.mark.parametrize("layer, message", [
    (BiasFirst, "GraphConvolution(5, activation=None, use_bias=True) on features (7, 4): expected weights shaped "
                "[(4, 5), (5,)] (kernel, then bias), found [(5,), (4, 5)]"),
    (IgnoresTheGraph, "GraphConvolution(5, activation=None, use_bias=True) on one graph (7 nodes): at index (0, 0)"),
    (ActivationBeforeBias, "GraphConvolution(3, activation='relu', use_bias=True) on one graph (7 nodes): at index"),
    (ForgetsUseBiasInConfig, "get_config()): weight shapes: expected ((4, 6),), found ((4, 6), (6,))"),
])
def test_wrong_layers_are_caught_by_the_hidden_check(tmp_path, layer, message):
    layer.__name__ = "GraphConvolution"
    found = judged(tmp_path, exercises.graph_conv, GraphConvolution=layer)
    assert found is not None and message in found, found


@pytest.mark.parametrize("layer, message", [
    (BiasFirst, "expected weights shaped [(4, 3), (3,)] (kernel, then bias), found [(3,), (4, 3)]"),
    (IgnoresTheGraph, "on one graph: at index"),
    (ActivationBeforeBias, "GraphConvolution(3, activation='relu', use_bias=True) on one graph: at index"),
    (ForgetsUseBiasInConfig, "expected one weight shaped (4, 6), found [(4, 6), (6,)]; does get_config return"),
])
def test_wrong_layers_are_caught_by_the_visible_check(layer, message):
    layer.__name__ = "GraphConvolution"
    ring_hat = ((np.eye(5) + np.roll(np.eye(5), 1, 0) + np.roll(np.eye(5), -1, 0)) / 3).astype("float32")
    with pytest.raises(CheckFailed) as failure:
        check_graph_convolution(layer, ring_hat, ACTIVATIONS)
    assert message in str(failure.value), str(failure.value)


def node_classifier_dropout_last(n_nodes, n_features, n_classes, hidden=16, dropout=0.5):
    features, adjacency_hat = keras.Input(shape=(n_features,)), keras.Input(shape=(n_nodes,))
    h = reference.GraphConvolution(hidden, activation="relu")([features, adjacency_hat])
    h = reference.GraphConvolution(n_classes, activation="softmax")([h, adjacency_hat])
    return keras.Model([features, adjacency_hat], keras.layers.Dropout(dropout)(h))


def node_classifier_fixed_dropout(n_nodes, n_features, n_classes, hidden=16, dropout=0.5):
    return reference.build_node_classifier(n_nodes, n_features, n_classes, hidden=hidden)


def graph_classifier_mean_readout(n_nodes, n_features, n_classes, hidden=32):
    features, adjacency_hat = keras.Input(shape=(n_nodes, n_features)), keras.Input(shape=(n_nodes, n_nodes))
    h = reference.GraphConvolution(hidden, activation="relu")([features, adjacency_hat])
    h = reference.GraphConvolution(hidden, activation="relu")([h, adjacency_hat])
    h = keras.layers.GlobalAveragePooling1D()(h)
    return keras.Model([features, adjacency_hat], keras.layers.Dense(n_classes, activation="softmax")(h))


@pytest.mark.parametrize("grade_id, names, message", [
    ("node_model", {"build_node_classifier": node_classifier_dropout_last},
     "build_node_classifier(9, 5, 3, hidden=4, dropout=0.25): the reference has Dropout(rate=0.25) fed by "
     "GraphConvolution(4, activation=relu); your Dropout(rate=0.25) is fed by GraphConvolution(3, activation=softmax) "
     "instead"),
    ("node_model", {"build_node_classifier": node_classifier_fixed_dropout},
     "build_node_classifier(9, 5, 3, hidden=4, dropout=0.25): the reference has Dropout(rate=0.25)"),
    ("graph_model", {"build_graph_classifier": graph_classifier_mean_readout},
     "build_graph_classifier(10, 4, 3, hidden=6): the reference has GlobalMaxPooling1D(strides=None) fed by "
     "GraphConvolution(6, activation=relu); at that place your model has GlobalAveragePooling1D(strides=None)"),
])
def test_wrong_models_are_caught(tmp_path, grade_id, names, message):
    found = judged(tmp_path, getattr(exercises, grade_id), **names)
    assert found is not None and message in found, found


def test_wrong_readout_is_caught_by_the_visible_check():
    expected = [spec("GraphConvolution", inputs=(-1, -1), units=32, activation="relu", use_bias=True),
                spec("GraphConvolution", inputs=(0, -1), units=32, activation="relu", use_bias=True),
                spec("GlobalMaxPooling1D", inputs=(1,), strides=None),
                spec("Dense", inputs=(2,), units=3, activation="softmax", use_bias=True)]
    check_graph_model(reference.build_graph_classifier(24, 6, 3), expected, [(24, 6), (24, 24)])
    with pytest.raises(CheckFailed, match="at that place your model has GlobalAveragePooling1D"):
        check_graph_model(graph_classifier_mean_readout(24, 6, 3), expected, [(24, 6), (24, 24)])
    with pytest.raises(CheckFailed, match=r"model inputs: expected \[features, adjacency\] shaped"):
        check_graph_model(reference.build_graph_classifier(20, 6, 3), expected, [(24, 6), (24, 24)])


# ------------------------------------------------------------------ thresholds and shortcuts


@pytest.mark.parametrize("budget", ["smoke", "full"])
def test_untrained_node_classifier_fails_the_threshold(budget):
    club = load_karate_club(mode="offline", verbose=False)
    adjacency_hat = reference.normalize_adjacency(club.adjacency).astype("float32")
    threshold = THRESHOLDS["node_f1"][f"karate_club/{budget}"]["threshold"]
    for seed in range(5):
        keras.utils.set_random_seed(seed)
        model = reference.build_node_classifier(34, 34, 2)
        predicted = np.asarray(model([club.features, adjacency_hat], training=False)).argmax(axis=1)
        assert reference.macro_f1(club.y_test, predicted[club.test_index], 2) < threshold, seed


@pytest.mark.parametrize("budget", ["smoke", "full"])
def test_untrained_graph_classifier_and_edge_counting_fail_the_threshold(budget):
    graphs = load_motif_graphs(mode="offline", budget=BUDGETS[budget], verbose=False)
    threshold = THRESHOLDS["graph_f1"][f"motif_graphs/{budget}"]["threshold"]
    keras.utils.set_random_seed(0)
    untrained = reference.build_graph_classifier(24, 6, 3)
    assert reference.macro_f1(graphs.y_test, reference.graph_predictions(untrained, graphs), 3) < threshold
    # the best a classifier can do that sees only how many edges and which degrees a graph has
    summary = lambda adjacency: np.stack([adjacency.sum(axis=(1, 2)) / 2,  # noqa: E731
                                          *(np.sum(adjacency.sum(axis=2) == d, axis=1) for d in range(1, 6))], axis=1)
    counting = LogisticRegression(max_iter=2000).fit(summary(graphs.adjacency_train), graphs.y_train)
    score = f1_score(graphs.y_test, counting.predict(summary(graphs.adjacency_test)), average="macro")
    assert score < threshold, score


def test_every_threshold_entry_beats_chance_by_far():
    for metric, chance in (("node_f1", 0.5), ("graph_f1", 1 / 3)):
        for key, entry in THRESHOLDS[metric].items():
            assert entry["threshold"] > chance + 0.25 and not entry["provisional"], (metric, key)
