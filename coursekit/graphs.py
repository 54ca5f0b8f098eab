"""Lab 14's kit: drawing graphs, the training loop of a node classifier, and visible checks.

Nothing here is an answer: the normalised adjacency, message passing, the graph-convolution
layer and the models are the student's to write. The training loop below is the recipe the
grader calibrated its thresholds with, so the notebook's numbers and the grader's agree.

    fit_node_classifier(model, graph, adjacency_hat)   # Adam, full graph, best validation loss kept
    draw_graph(graph.adjacency, values=graph.labels)   # a picture of the graph, nodes coloured
"""

import numpy as np

from coursekit.checks import CheckFailed, check_array
from coursekit.model_diff import describe_model, first_difference, summarize


# ------------------------------------------------------------------ pictures


def layout(adjacency, seed: int = 14):
    """Node positions {node: (x, y)} of a spring layout, the same every time."""
    import networkx

    graph = networkx.from_numpy_array(np.asarray(adjacency))
    return networkx.spring_layout(graph, seed=seed)


def draw_graph(adjacency, values=None, title: str = "", axis=None, positions=None, cmap: str = "coolwarm",
               labels: bool = True):
    """Draw a graph with its nodes coloured by ``values`` (n,) (none: all alike).

    Returns:
        the matplotlib Axes.
    """
    import matplotlib.pyplot as plt
    import networkx

    graph = networkx.from_numpy_array(np.asarray(adjacency))
    if axis is None:
        _, axis = plt.subplots(figsize=(5, 4))
    positions = positions or layout(adjacency)
    colouring = {"node_color": "#9ecae1"} if values is None else {
        "node_color": np.asarray(values, dtype=float), "cmap": cmap}  # a cmap without values warns
    networkx.draw_networkx_edges(graph, positions, ax=axis, alpha=0.4)
    networkx.draw_networkx_nodes(graph, positions, ax=axis, node_size=160, edgecolors="black", linewidths=0.5,
                                 **colouring)
    if labels:
        networkx.draw_networkx_labels(graph, positions, ax=axis, font_size=6)
    axis.set_title(title, fontsize=9)
    axis.axis("off")
    return axis


def message_passing_figure(adjacency, signals, titles):
    """One drawing per step of message passing: ``signals`` is a list of (n,) arrays."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(signals), figsize=(3.2 * len(signals), 3.2))
    positions = layout(adjacency)
    for axis, signal, title in zip(np.atleast_1d(axes), signals, titles):
        draw_graph(adjacency, signal, title, axis=axis, positions=positions, cmap="viridis", labels=False)
    figure.tight_layout()
    return figure


def graph_gallery(adjacency, labels, class_names, per_class: int = 3):
    """A few generated graphs of each class, one class per row."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(len(class_names), per_class, figsize=(2.6 * per_class, 2.4 * len(class_names)))
    for label, name in enumerate(class_names):
        for column, index in enumerate(np.flatnonzero(np.asarray(labels) == label)[:per_class]):
            draw_graph(adjacency[index], title=name if column == 0 else "", axis=axes[label, column], labels=False)
    figure.tight_layout()
    return figure


# ------------------------------------------------------------------ training


def fit_node_classifier(model, graph, adjacency_hat, epochs: int = 200, learning_rate: float = 0.01,
                        seed: int = 0) -> dict:
    """Train a node classifier on the whole graph at once (one step per epoch), as Kipf & Welling.

    The loss is sparse categorical cross-entropy on the training nodes only; after every step
    the loss on the validation nodes is measured, and the weights with the lowest one are kept
    (early stopping on a split of the labelled nodes; the held-out nodes are never looked at).
    A GradientTape loop rather than ``model.fit``: one full-graph step is a millisecond, and
    ``fit``'s per-epoch overhead would be a hundred times that.

    Args:
        model: maps [features (n, f), adjacency_hat (n, n)] to class probabilities (n, classes).
        graph: a ``coursekit.graph_data.NodeGraph``.
        adjacency_hat: float32 (n, n), the normalised adjacency the model is given.

    Returns:
        {"loss": [...], "val_loss": [...], "best_epoch": int} (epochs counted from 1).
    """
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    inputs = [tf.constant(graph.features, tf.float32), tf.constant(adjacency_hat, tf.float32)]
    train, val = tf.constant(graph.train_index), tf.constant(graph.val_index)
    y_train, y_val = tf.constant(graph.labels[graph.train_index]), tf.constant(graph.labels[graph.val_index])
    optimizer = keras.optimizers.Adam(learning_rate)
    loss_function = keras.losses.SparseCategoricalCrossentropy()

    @tf.function
    def full_graph_step():
        with tf.GradientTape() as tape:
            loss = loss_function(y_train, tf.gather(model(inputs, training=True), train))
        gradients = tape.gradient(loss, model.trainable_weights)
        optimizer.apply_gradients(zip(gradients, model.trainable_weights))
        return loss, loss_function(y_val, tf.gather(model(inputs, training=False), val))

    history = {"loss": [], "val_loss": [], "best_epoch": 0}
    best, best_weights = np.inf, model.get_weights()
    for epoch in range(1, epochs + 1):
        loss, val_loss = (float(value) for value in full_graph_step())
        history["loss"].append(loss)
        history["val_loss"].append(val_loss)
        if val_loss < best:
            best, best_weights, history["best_epoch"] = val_loss, model.get_weights(), epoch
    model.set_weights(best_weights)
    return history


def node_predictions(model, graph, adjacency_hat) -> np.ndarray:
    """int64 (n,): the class the model gives every node (inference mode)."""
    return np.asarray(model([graph.features, adjacency_hat], training=False)).argmax(axis=-1)


# ------------------------------------------------------------------ visible checks


def _fail(message: str):
    raise CheckFailed(message)


def check_graph_model(model, expected_layers: list, input_shapes: list) -> None:
    """Check a model whose inputs are [node features, normalised adjacency] against the task's
    ``spec(...)`` list (``inputs=`` names what feeds each layer; -1 is a model input).

    Args:
        input_shapes: the two inputs' shapes without the batch axis.
    """
    if model is None or not hasattr(model, "layers"):
        _fail(f"expected a keras.Model, found {type(model).__name__}")
    inputs = getattr(model, "inputs", None) or []
    found_shapes = [tuple(tensor.shape[1:]) for tensor in inputs]
    expected_shapes = [tuple(shape) for shape in input_shapes]
    if found_shapes != expected_shapes:
        _fail(f"model inputs: expected [features, adjacency] shaped {expected_shapes} (without the batch axis), "
              f"found {found_shapes}")
    problem = first_difference(summarize(model), expected_layers)
    if problem:
        _fail(problem + "\nYour model, as the check sees it:\n" + describe_model(model))
    print(f"OK model: {len(expected_layers)} layers connected as specified, {model.count_params()} parameters")


def check_graph_convolution(layer_class, adjacency_hat, activation_functions: dict) -> None:
    """Check a graph-convolution layer class against H' = activation(Â H W + b), computed here
    with NumPy from the layer's own weights, on one graph (n, f) and on a batch (b, n, f); that a
    gradient reaches the node features; and that ``from_config(get_config())`` rebuilds it.

    Args:
        adjacency_hat: float32 (n, n), a normalised adjacency.
        activation_functions: {name: NumPy function} for the activations to try.
    """
    import contextlib
    import io

    import tensorflow as tf

    rng = np.random.default_rng(1414)
    n = len(adjacency_hat)
    features = rng.normal(size=(n, 4)).astype("float32")
    batch_adjacency = np.stack([adjacency_hat, adjacency_hat[::-1, ::-1]])
    batch_features = rng.normal(size=(2, n, 4)).astype("float32")
    tried = 0
    for name, function in activation_functions.items():
        for use_bias in (True, False):
            label = f"{layer_class.__name__}(3, activation={name!r}, use_bias={use_bias})"
            layer = layer_class(3, activation=name, use_bias=use_bias)
            layer([features, adjacency_hat])
            shapes = [tuple(np.shape(weight)) for weight in layer.get_weights()]
            expected_shapes = [(4, 3), (3,)] if use_bias else [(4, 3)]
            if shapes != expected_shapes:
                _fail(f"{label} on features (n, 4): expected weights shaped {expected_shapes} (kernel, then bias), "
                      f"found {shapes}")
            weights = [rng.normal(size=shape).astype("float32") for shape in shapes]
            layer.set_weights(weights)
            bias = weights[1] if use_bias else 0.0
            with contextlib.redirect_stdout(io.StringIO()):  # one OK line at the end, not twelve
                check_array(f"{label} on one graph", layer([features, adjacency_hat]),
                            function(adjacency_hat @ features @ weights[0] + bias), atol=1e-5)
                check_array(f"{label} on a batch of two graphs", layer([batch_features, batch_adjacency]),
                            function(batch_adjacency @ batch_features @ weights[0] + bias), atol=1e-5)
            watched = tf.constant(features)
            with tf.GradientTape() as tape:
                tape.watch(watched)
                total = tf.reduce_sum(layer([watched, adjacency_hat]) ** 2)
            if tape.gradient(total, watched) is None:
                _fail(f"{label}: no gradient reaches the node features; compute with keras.ops, not NumPy")
            tried += 1
    original = layer_class(6, activation="tanh", use_bias=False)
    copy = layer_class.from_config(original.get_config())
    original([features, adjacency_hat])
    copy([features, adjacency_hat])
    if [np.shape(weight) for weight in copy.get_weights()] != [(4, 6)]:
        _fail("from_config(get_config()) of a layer with 6 units and use_bias=False: expected one weight shaped "
              f"(4, 6), found {[np.shape(weight) for weight in copy.get_weights()]}; does get_config return "
              "units and use_bias?")
    copy.set_weights(original.get_weights())
    with contextlib.redirect_stdout(io.StringIO()):
        check_array("from_config(get_config()) of a tanh layer computes the same", copy([features, adjacency_hat]),
                    original([features, adjacency_hat]), atol=1e-6)
    print(f"OK {layer_class.__name__}: {tried} settings on one graph and on a batch, gradients, get_config")
