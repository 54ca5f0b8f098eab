"""Lab 14's graded exercises, one declaration per nbgrader grade_id (see autograder/exercise.py).

The student's ``GraphConvolution`` and the models built of it never leave the student's
kernel (a model with a custom layer cannot be loaded safely by the grader): ``call`` runs
them on the grader's graphs under fixed weights and returns their traces (weight shapes,
outputs, a gradient, the layers in words), and ``judge`` compares those with the reference
layer and models under the same weights. The trained models' predictions on the grader's
graphs come back as arrays; the grader scores them against its own copy of the labels.
Hidden graphs are made with NumPy here (no networkx in ``inputs``/``call``).
"""

import numpy as np
import tensorflow as tf
from sklearn.metrics import confusion_matrix, f1_score

from coursekit.graph_data import load_karate_club, load_motif_graphs
from coursekit.model_diff import first_difference, summarize

from autograder.exercise import Exercise, Failure, probe_helper
from autograder.judges import as_tuples, field, grader_data, layer_specs, same_array, same_value, threshold_report

from . import LAB_ID, reference


# ------------------------------------------------------------ student side (probe helpers)


@probe_helper
def random_graph(n_nodes, probability, seed, isolated=()):
    """float32 (n, n) 0/1 symmetric adjacency of a random graph, zero diagonal; the nodes in
    ``isolated`` have no edge."""
    rng = np.random.default_rng(seed)
    upper = np.triu((rng.random((n_nodes, n_nodes)) < probability).astype("float32"), k=1)
    adjacency = upper + upper.T
    for node in isolated:
        adjacency[node, :] = 0.0
        adjacency[:, node] = 0.0
    return adjacency


@probe_helper
def normalized(adjacency):
    """The grader's own Â (the probe's inputs must not depend on the student's answer)."""
    with_loops = np.asarray(adjacency, dtype="float64") + np.eye(np.shape(adjacency)[-1])
    scale = 1.0 / np.sqrt(with_loops.sum(axis=-1))
    return (with_loops * scale[..., :, None] * scale[..., None, :]).astype("float32")


@probe_helper
def error_line(error):
    """One line for an exception the student's code raised part-way through a trace."""
    return f"{type(error).__name__}: {error}"[:300]


@probe_helper
def weight_shapes(layer_or_model):
    return [list(np.shape(weight)) for weight in layer_or_model.get_weights()]


@probe_helper
def fixed_weights(shapes, seed):
    """float32 arrays of the given shapes, the same every time: N(0, 0.5²) values."""
    rng = np.random.default_rng(seed)
    return [(0.5 * rng.standard_normal(tuple(shape))).astype("float32") for shape in shapes]


@probe_helper
def plain_summary(model):
    """``coursekit.model_diff.summarize`` as plain data: one dict per layer."""
    return [{"kind": spec.kind, "settings": [[key, value] for key, value in spec.settings],
             "output_shape": None if spec.output_shape is None else list(spec.output_shape),
             "params": spec.params, "inputs": list(spec.inputs)}
            for spec in summarize(model)]


@probe_helper
def model_trace(model, model_inputs, seed):
    """A model as plain data: its inputs' shapes, its layers in words, its weights' shapes,
    and its inference-mode outputs on ``model_inputs`` under ``fixed_weights(..., seed)``."""
    trace = {"input_shapes": [list(tensor.shape[1:]) for tensor in model.inputs],
             "layers": plain_summary(model), "weight_shapes": weight_shapes(model)}
    model.set_weights(fixed_weights(trace["weight_shapes"], seed))
    trace["outputs"] = np.asarray(model(model_inputs, training=False))
    return trace


@probe_helper
def layer_inputs():
    """One 7-node graph (features (7, 4), Â (7, 7)) and a batch of three (3, 7, 4), (3, 7, 7)."""
    rng = np.random.default_rng(1401)
    graphs = [random_graph(7, 0.4, 1402 + index, isolated=(6,) if index == 1 else ()) for index in range(3)]
    batch = np.stack([normalized(graph) for graph in graphs])
    features = rng.standard_normal((3, 7, 4)).astype("float32")
    return {"features": features[0], "adjacency": batch[0], "batch_features": features, "batch_adjacency": batch,
            "cases": [[5, None, True], [3, "relu", True], [2, "tanh", False]]}


# ------------------------------------------------------------------ grader side


def _part(outputs, record, key, what):
    """``record[key]`` of a trace; if it is missing because the student's code raised part-way
    through (``outputs["error"]``), a Failure that says so."""
    if isinstance(record, dict) and key in record:
        return field(record, key, what)
    error = outputs.get("error") if isinstance(outputs, dict) else None
    if error:
        raise Failure(f"{what}: your code raised {error} on the grader's inputs")
    raise Failure(f"{what}: the trace lacks {key!r}")


def _same_model_trace(label, found, expected):
    """Compare a student model's trace with the reference model's: inputs, layers, outputs."""
    if not isinstance(found, dict):
        raise Failure(f"{label}: expected a keras.Model, found {found!r}")
    if isinstance(found.get("error"), str):
        raise Failure(f"{label}: your code raised {found['error']} on the grader's inputs")
    same_value(f"{label}: input shapes [features, adjacency]", as_tuples(field(found, "input_shapes", label)),
               as_tuples(expected["input_shapes"]))
    problem = first_difference(layer_specs(field(found, "layers", label), label),
                               layer_specs(expected["layers"], "the reference"))
    if problem:
        raise Failure(f"{label}: {problem}")
    same_value(f"{label}: weight shapes, in order", as_tuples(field(found, "weight_shapes", label)),
               as_tuples(expected["weight_shapes"]))
    same_array(f"{label}: outputs under the same weights as the reference model", field(found, "outputs", label),
               expected["outputs"], atol=1e-5, rtol=1e-4)


def _scores_report(metric, dataset, y_true, probabilities, what):
    """Macro-F1 and the confusion matrix of predicted class probabilities, against the threshold."""
    n_classes = len(dataset.class_names)
    array = np.asarray(probabilities, dtype=np.float64) if not isinstance(probabilities, dict) else None
    if array is None or array.ndim != 2 or array.shape != (len(y_true), n_classes) or not np.isfinite(array).all():
        shape = None if array is None else array.shape
        raise Failure(f"{what}: expected finite class probabilities shaped {(len(y_true), n_classes)}, found {shape}")
    predicted = array.argmax(axis=1)
    labels = np.arange(n_classes)
    value = float(f1_score(y_true, predicted, labels=labels, average="macro", zero_division=0))
    matrix = confusion_matrix(y_true, predicted, labels=labels)
    extra = {"class_names": [str(name) for name in dataset.class_names], "confusion_matrix": matrix.tolist()}
    print("confusion matrix (rows true, columns predicted):")
    print(matrix)
    try:
        report = threshold_report(LAB_ID, metric, value, dataset, about=f"on {dataset.description} ({what})")
    except Failure as failure:
        failure.report.update(extra)
        raise
    return {**report, **extra}


# ------------------------------------------------------------------ 1. Â


class normalize(Exercise):
    """normalize_adjacency on the grader's graphs: random, with an isolated node, and a star."""

    def inputs():
        star = np.zeros((9, 9), dtype="float32")
        star[0, 1:] = star[1:, 0] = 1.0
        return {"graphs": [random_graph(10, 0.3, 1410, isolated=(4,)), random_graph(25, 0.5, 1411), star]}

    def call(inputs, normalize_adjacency):
        return [np.asarray(normalize_adjacency(graph)) for graph in inputs["graphs"]]

    def judge(outputs, inputs):
        if not isinstance(outputs, list) or len(outputs) != len(inputs["graphs"]):
            raise Failure("normalize_adjacency should return one array per graph")
        names = ("a random 10-node graph with an isolated node", "a random 25-node graph", "a star of 9 nodes")
        for name, graph, found in zip(names, inputs["graphs"], outputs):
            same_array(f"normalize_adjacency({name})", found, reference.normalize_adjacency(graph))


# ------------------------------------------------------------------ 2. message passing


class propagate(Exercise):
    """propagate on the grader's graph and signals: H, ÂH, ..., Â^k H."""

    def inputs():
        rng = np.random.default_rng(1420)
        return {"adjacency": normalized(random_graph(12, 0.3, 1421)),
                "features": rng.standard_normal((12, 3)).astype("float32"), "steps": [4, 0]}

    def call(inputs, propagate):
        return [np.asarray(propagate(inputs["adjacency"], inputs["features"], steps)) for steps in inputs["steps"]]

    def judge(outputs, inputs):
        if not isinstance(outputs, list) or len(outputs) != len(inputs["steps"]):
            raise Failure("propagate should return one array per call")
        for steps, found in zip(inputs["steps"], outputs):
            same_array(f"propagate(adjacency_hat, features (12, 3), steps={steps})", found,
                       reference.propagate(inputs["adjacency"], inputs["features"], steps), atol=1e-5)


# ------------------------------------------------------------------ 3. the layer


class graph_conv(Exercise):
    """GraphConvolution under the grader's weights: one graph, a batch, a gradient, its config."""

    def inputs():
        return layer_inputs()

    def call(inputs, GraphConvolution):
        trace = {"cases": []}
        pair = [inputs["features"], inputs["adjacency"]]
        try:
            for index, (units, activation, use_bias) in enumerate(inputs["cases"]):
                record = {}
                trace["cases"].append(record)
                layer = GraphConvolution(units, activation=activation, use_bias=use_bias)
                layer(pair)
                record["weight_shapes"] = weight_shapes(layer)
                layer.set_weights(fixed_weights(record["weight_shapes"], 1430 + index))
                record["one"] = np.asarray(layer(pair))
                record["batch"] = np.asarray(layer([inputs["batch_features"], inputs["batch_adjacency"]]))
                features = tf.constant(inputs["features"])
                with tf.GradientTape() as tape:
                    tape.watch(features)
                    total = tf.reduce_sum(layer([features, inputs["adjacency"]]) ** 2)
                gradient = tape.gradient(total, features)
                record["gradient"] = None if gradient is None else np.asarray(gradient)
            copy = GraphConvolution.from_config(GraphConvolution(6, activation="tanh", use_bias=False).get_config())
            copy(pair)
            trace["config_shapes"] = weight_shapes(copy)
            copy.set_weights(fixed_weights(trace["config_shapes"], 1439))
            trace["config_outputs"] = np.asarray(copy(pair))
        except Exception as error:  # what the trace holds so far is still judged, in order
            trace["error"] = error_line(error)
        return trace

    def judge(outputs, inputs):
        records = field(outputs, "cases", "the trace")
        for index, (units, activation, use_bias) in enumerate(inputs["cases"]):
            name = f"GraphConvolution({units}, activation={activation!r}, use_bias={use_bias})"
            record = records[index] if index < len(records) else {}
            shapes = [4, units], [units]
            expected_shapes = [list(shapes[0]), list(shapes[1])] if use_bias else [list(shapes[0])]
            found_shapes = _part(outputs, record, "weight_shapes", f"{name}'s weights")
            if as_tuples(found_shapes) != as_tuples(expected_shapes):
                raise Failure(f"{name} on features (7, 4): expected weights shaped "
                              f"{[tuple(shape) for shape in expected_shapes]} (kernel, then bias), "
                              f"found {[tuple(shape) for shape in found_shapes]}")
            weights = fixed_weights(expected_shapes, 1430 + index)
            bias = weights[1] if use_bias else None
            same_array(f"{name} on one graph (7 nodes)", _part(outputs, record, "one", f"{name} on one graph"),
                       reference.graph_convolution(inputs["features"], inputs["adjacency"], weights[0], bias,
                                                   activation), atol=1e-5)
            same_array(f"{name} on a batch of 3 graphs", _part(outputs, record, "batch", f"{name} on a batch"),
                       reference.graph_convolution(inputs["batch_features"], inputs["batch_adjacency"], weights[0],
                                                   bias, activation), atol=1e-5)
            gradient = _part(outputs, record, "gradient", f"{name}'s gradient")
            if gradient is None:
                raise Failure(f"{name}: no gradient reaches the node features; compute with keras.ops, not NumPy")
            layer = reference.GraphConvolution(units, activation=activation, use_bias=use_bias)
            layer([inputs["features"], inputs["adjacency"]])
            layer.set_weights(weights)
            features = tf.constant(inputs["features"])
            with tf.GradientTape() as tape:
                tape.watch(features)
                total = tf.reduce_sum(layer([features, inputs["adjacency"]]) ** 2)
            same_array(f"{name}: gradient of sum(H'²) w.r.t. the node features", gradient,
                       np.asarray(tape.gradient(total, features)), atol=1e-4, rtol=1e-4)
        name = "GraphConvolution.from_config(GraphConvolution(6, activation='tanh', use_bias=False).get_config())"
        same_value(f"{name}: weight shapes", as_tuples(_part(outputs, outputs, "config_shapes", name)), ((4, 6),))
        weights = fixed_weights([[4, 6]], 1439)
        same_array(f"{name} on one graph (keeps units, activation and use_bias)",
                   _part(outputs, outputs, "config_outputs", name),
                   reference.graph_convolution(inputs["features"], inputs["adjacency"], weights[0], None, "tanh"),
                   atol=1e-5)
        if isinstance(outputs, dict) and outputs.get("error"):
            raise Failure(f"your code raised {outputs['error']} on the grader's inputs")


# ------------------------------------------------------------------ 4. node classification


@probe_helper
def node_model_cases():
    """[[n_nodes, n_features, n_classes, keyword arguments], ...] and one graph for each."""
    rng = np.random.default_rng(1440)
    cases = [[9, 5, 3, {"hidden": 4, "dropout": 0.25}], [12, 12, 2, {}]]
    graphs = [[rng.standard_normal((n, f)).astype("float32"), normalized(random_graph(n, 0.35, 1441 + n))]
              for n, f, _, _ in cases]
    return {"cases": cases, "graphs": graphs}


class node_model(Exercise):
    """build_node_classifier for two graphs against the reference model, under the same weights."""

    def inputs():
        return node_model_cases()

    def call(inputs, build_node_classifier):
        traces = []
        for (n, f, classes, keywords), graph in zip(inputs["cases"], inputs["graphs"]):
            try:
                traces.append(model_trace(build_node_classifier(n, f, classes, **keywords), graph, 1442))
            except Exception as error:  # judged as what it raised
                traces.append({"error": error_line(error)})
        return traces

    def judge(outputs, inputs):
        if not isinstance(outputs, list) or len(outputs) != len(inputs["cases"]):
            raise Failure("the models of build_node_classifier are missing")
        for (n, f, classes, keywords), graph, found in zip(inputs["cases"], inputs["graphs"], outputs):
            arguments = ", ".join([str(n), str(f), str(classes)] + [f"{k}={v}" for k, v in keywords.items()])
            expected = model_trace(reference.build_node_classifier(n, f, classes, **keywords), graph, 1442)
            _same_model_trace(f"build_node_classifier({arguments})", found, expected)


class node_f1(Exercise):
    """The trained node classifier's macro-F1 on the karate club's held-out members."""

    def inputs():
        return {}

    def call(inputs, node_model, normalize_adjacency):
        graph = load_karate_club(verbose=False)
        adjacency_hat = np.asarray(normalize_adjacency(graph.adjacency), dtype="float32")
        return {"probabilities": np.asarray(node_model([graph.features, adjacency_hat], training=False))}

    def judge(outputs, inputs):
        graph = grader_data(reference)
        probabilities = field(outputs, "probabilities", "the node classifier's predictions")
        if np.shape(probabilities) != (graph.n_nodes, len(graph.class_names)):
            raise Failure(f"node_model should give class probabilities shaped {(graph.n_nodes, len(graph.class_names))} "
                          f"for the whole club, found {np.shape(probabilities)}")
        return _scores_report("node_f1", graph, graph.y_test, np.asarray(probabilities)[graph.test_index],
                              f"{len(graph.test_index)} held-out members")


# ------------------------------------------------------------------ 5. graph classification


@probe_helper
def graph_model_cases():
    rng = np.random.default_rng(1450)
    cases = [[10, 4, 3, {"hidden": 6}], [24, 6, 3, {}]]
    graphs = [[rng.standard_normal((2, n, f)).astype("float32"),
               np.stack([normalized(random_graph(n, 0.3, 1451 + n + k)) for k in range(2)])]
              for n, f, _, _ in cases]
    return {"cases": cases, "graphs": graphs}


class graph_model(Exercise):
    """build_graph_classifier for two graph sizes against the reference model, under the same weights."""

    def inputs():
        return graph_model_cases()

    def call(inputs, build_graph_classifier):
        traces = []
        for (n, f, classes, keywords), graph in zip(inputs["cases"], inputs["graphs"]):
            try:
                traces.append(model_trace(build_graph_classifier(n, f, classes, **keywords), graph, 1452))
            except Exception as error:  # judged as what it raised
                traces.append({"error": error_line(error)})
        return traces

    def judge(outputs, inputs):
        if not isinstance(outputs, list) or len(outputs) != len(inputs["cases"]):
            raise Failure("the models of build_graph_classifier are missing")
        for (n, f, classes, keywords), graph, found in zip(inputs["cases"], inputs["graphs"], outputs):
            arguments = ", ".join([str(n), str(f), str(classes)] + [f"{k}={v}" for k, v in keywords.items()])
            expected = model_trace(reference.build_graph_classifier(n, f, classes, **keywords), graph, 1452)
            _same_model_trace(f"build_graph_classifier({arguments})", found, expected)


class graph_f1(Exercise):
    """The trained graph classifier's macro-F1 on the grader's held-out generated graphs."""

    def inputs():
        return {}

    def call(inputs, graph_model, normalize_adjacency):
        graphs = load_motif_graphs(verbose=False)
        adjacency_hat = np.stack([np.asarray(normalize_adjacency(a), dtype="float32") for a in graphs.adjacency_test])
        batches = range(0, len(adjacency_hat), 100)
        return {"probabilities": np.concatenate([
            np.asarray(graph_model([graphs.features_test[start:start + 100], adjacency_hat[start:start + 100]],
                                   training=False)) for start in batches])}

    def judge(outputs, inputs):
        graphs = grader_data(reference, reference.METRIC_DATASETS["graph_f1"])
        probabilities = field(outputs, "probabilities", "the graph classifier's predictions")
        return _scores_report("graph_f1", graphs, graphs.y_test, probabilities,
                              f"{len(graphs.y_test)} held-out graphs")
