"""Reference for lab 14 (graph networks): Â, message passing, the graph-convolution layer
(Kipf & Welling 2017), a node classifier and a graph classifier with a max-pooling readout."""

import keras
import numpy as np
from keras import ops
from sklearn.metrics import f1_score

from coursekit.graphs import fit_node_classifier, node_predictions

LAB_ID = "14-graph-networks"
DATASET = "karate_club"
METRIC = "node_f1"
METRIC_DATASETS = {"graph_f1": "motif_graphs"}

NODE_EPOCHS, NODE_SMOKE_EPOCHS, NODE_HIDDEN, NODE_DROPOUT, NODE_LEARNING_RATE = 200, 100, 16, 0.5, 0.01
GRAPH_EPOCHS, GRAPH_SMOKE_EPOCHS, GRAPH_HIDDEN, GRAPH_BATCH, GRAPH_VALIDATION = 30, 12, 32, 32, 0.2


def normalize_adjacency(adjacency):
    """Â = D̃^{-1/2} (A + I) D̃^{-1/2} for (n, n) or a batch (..., n, n)."""
    adjacency = np.asarray(adjacency, dtype=np.float64)
    with_loops = adjacency + np.eye(adjacency.shape[-1])
    scale = 1.0 / np.sqrt(with_loops.sum(axis=-1))
    return with_loops * scale[..., :, None] * scale[..., None, :]


def propagate(adjacency_hat, features, steps):
    """[H, ÂH, Â²H, ..., Â^steps H] stacked: (steps + 1, n, f)."""
    states = [np.asarray(features, dtype=np.float64)]
    for _ in range(steps):
        states.append(np.asarray(adjacency_hat, dtype=np.float64) @ states[-1])
    return np.stack(states)


class GraphConvolution(keras.layers.Layer):
    """H' = activation(Â H W + b) on inputs [H (..., n, f), Â (..., n, n)]."""

    def __init__(self, units, activation=None, use_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.activation = keras.activations.get(activation)
        self.use_bias = use_bias

    def build(self, input_shape):
        features_shape, _ = input_shape
        self.kernel = self.add_weight(shape=(features_shape[-1], self.units), initializer="glorot_uniform",
                                      name="kernel")
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias") if self.use_bias else None

    def call(self, inputs):
        features, adjacency_hat = inputs
        outputs = ops.matmul(adjacency_hat, ops.matmul(features, self.kernel))
        if self.use_bias:
            outputs = outputs + self.bias
        return self.activation(outputs)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": keras.activations.serialize(self.activation), "use_bias": self.use_bias}


def graph_convolution(features, adjacency_hat, kernel, bias, activation):
    """The layer's formula in NumPy: activation(Â H W + b)."""
    outputs = np.asarray(adjacency_hat, np.float64) @ np.asarray(features, np.float64) @ np.asarray(kernel, np.float64)
    if bias is not None:
        outputs = outputs + np.asarray(bias, np.float64)
    return ACTIVATIONS[activation](outputs)


ACTIVATIONS = {None: lambda x: x, "linear": lambda x: x, "relu": lambda x: np.maximum(x, 0), "tanh": np.tanh}


def build_node_classifier(n_nodes, n_features, n_classes, hidden=NODE_HIDDEN, dropout=NODE_DROPOUT):
    features = keras.Input(shape=(n_features,))
    adjacency_hat = keras.Input(shape=(n_nodes,))
    h = GraphConvolution(hidden, activation="relu")([features, adjacency_hat])
    h = keras.layers.Dropout(dropout)(h)
    outputs = GraphConvolution(n_classes, activation="softmax")([h, adjacency_hat])
    return keras.Model([features, adjacency_hat], outputs)


def build_graph_classifier(n_nodes, n_features, n_classes, hidden=GRAPH_HIDDEN):
    features = keras.Input(shape=(n_nodes, n_features))
    adjacency_hat = keras.Input(shape=(n_nodes, n_nodes))
    h = GraphConvolution(hidden, activation="relu")([features, adjacency_hat])
    h = GraphConvolution(hidden, activation="relu")([h, adjacency_hat])
    h = keras.layers.GlobalMaxPooling1D()(h)
    outputs = keras.layers.Dense(n_classes, activation="softmax")(h)
    return keras.Model([features, adjacency_hat], outputs)


# ------------------------------------------------------------------ training and scores


def train_node_classifier(graph, budget, seed):
    keras.utils.set_random_seed(seed)
    model = build_node_classifier(graph.n_nodes, graph.features.shape[1], len(graph.class_names))
    adjacency_hat = normalize_adjacency(graph.adjacency).astype("float32")
    fit_node_classifier(model, graph, adjacency_hat, epochs=budget.cap(NODE_EPOCHS, smoke=NODE_SMOKE_EPOCHS),
                        learning_rate=NODE_LEARNING_RATE, seed=seed)
    return model


def node_f1(graph, budget, seed) -> float:
    model = train_node_classifier(graph, budget, seed)
    predicted = node_predictions(model, graph, normalize_adjacency(graph.adjacency).astype("float32"))
    return macro_f1(graph.y_test, predicted[graph.test_index], len(graph.class_names))


def train_graph_classifier(graphs, budget, seed):
    keras.utils.set_random_seed(seed)
    n_nodes, n_features = graphs.features_train.shape[1:]
    model = build_graph_classifier(n_nodes, n_features, len(graphs.class_names))
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    n_val = int(len(graphs.y_train) * GRAPH_VALIDATION)
    adjacency_hat = normalize_adjacency(graphs.adjacency_train).astype("float32")
    x_fit = [graphs.features_train[n_val:], adjacency_hat[n_val:]]
    x_val = [graphs.features_train[:n_val], adjacency_hat[:n_val]]
    model.fit(x_fit, graphs.y_train[n_val:], validation_data=(x_val, graphs.y_train[:n_val]),
              epochs=budget.cap(GRAPH_EPOCHS, smoke=GRAPH_SMOKE_EPOCHS), batch_size=GRAPH_BATCH, verbose=0,
              callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=8, restore_best_weights=True)])
    return model


def graph_predictions(model, graphs) -> np.ndarray:
    adjacency_hat = normalize_adjacency(graphs.adjacency_test).astype("float32")
    return np.asarray(model([graphs.features_test, adjacency_hat], training=False)).argmax(axis=-1)


def graph_f1(graphs, budget, seed) -> float:
    model = train_graph_classifier(graphs, budget, seed)
    return macro_f1(graphs.y_test, graph_predictions(model, graphs), len(graphs.class_names))


def macro_f1(y_true, y_pred, n_classes) -> float:
    return float(f1_score(y_true, y_pred, labels=np.arange(n_classes), average="macro", zero_division=0))


SCORES = {"node_f1": node_f1, "graph_f1": graph_f1}
