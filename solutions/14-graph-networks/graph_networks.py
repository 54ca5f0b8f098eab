# %% [markdown]
# # Lab 14 — Graph networks
#
# Lecture 001 (Vorontsov) ends with convolutional networks **generalised to data whose structure
# is a graph**: a convolution runs over each vertex's neighbourhood instead of a pixel's, pooling
# aggregates the vectors of a neighbourhood, and such a network *learns to find and classify
# subgraphs* (survey: Wu et al., "A comprehensive survey on graph neural networks", 2019).
# The graph-convolution layer of this lab is Kipf & Welling's (ICLR 2017):
#
# $$H' = \sigma(\hat A H W), \qquad \hat A = \tilde D^{-1/2} (A + I) \tilde D^{-1/2}, \qquad
# \tilde D_{ii} = \textstyle\sum_j (A + I)_{ij}.$$
#
# $A$ is the graph's adjacency matrix ($n \times n$), $H$ holds one feature row per node
# ($n \times f$), $W$ is the layer's weight matrix ($f \times f'$). Multiplying by $\hat A$ replaces
# each node's row by a weighted average of its own and its neighbours' rows: one step of
# **message passing**.
#
# In this lab you will:
#
# 1. compute $\hat A$;
# 2. pass messages over Zachary's karate club and watch a signal spread;
# 3. write the graph-convolution layer as a Keras layer;
# 4. build a two-layer graph network and classify the club's members by the faction they
#    joined, from six labelled members and the friendships alone;
# 5. build a graph classifier with a pooling readout that finds which motif (a path, a
#    5-cycle or a "house") was planted in a random graph.
#
# Fill in every `# YOUR CODE HERE` and delete its `raise NotImplementedError()`. Then run the
# check under it. It prints `OK ...` or says what is wrong. Hidden checks with other graphs
# decide the points. The karate club ships inside `networkx` and the motif graphs are generated
# from fixed seeds, so this lab needs no download: `COURSE_DATA` changes only section 4's optional
# part, which trains on the Cora citation graph when `COURSE_DATA=keras` (the default, with
# internet). `COURSE_BUDGET=smoke` trains for fewer steps on fewer graphs.

# %%
import coursekit  # first: it starts TensorFlow without its harmless start-up log lines
import keras
import matplotlib.pyplot as plt
import numpy as np
from keras import ops
from sklearn.metrics import confusion_matrix, f1_score

from coursekit import plots, setup_lab
from coursekit.checks import check_array, check_grader_threshold, check_value
from coursekit.graph_data import load_cora, load_karate_club, load_motif_graphs
from coursekit.graphs import (check_graph_convolution, check_graph_model, draw_graph, fit_node_classifier,
                              graph_gallery, message_passing_figure, node_predictions)
from coursekit.model_diff import spec

lab = setup_lab("14-graph-networks")
karate = load_karate_club()

# %% [markdown]
# ## The karate club
#
# Zachary (1977) watched a university karate club for three years. A conflict between the
# instructor ("Mr. Hi", node 0) and the club's officer (node 33) split it in two. The graph links
# members who met outside the club; the class of each member is the faction he or she joined.
# `karate.adjacency` is float32 `(34, 34)`, 0/1, symmetric, with a zero diagonal; `karate.labels`
# int `(34,)`; `karate.train_index`, `val_index`, `test_index` split the members: six labelled for
# training (the two leaders and two more of each faction), six for validation, 22 held out.

# %%
axis = draw_graph(karate.adjacency, karate.labels, "Karate club: the two factions (blue: Mr. Hi, red: Officer)")
plt.show()
print("degrees:", karate.adjacency.sum(axis=1).astype(int))

# %% [markdown]
# ## 1. The normalised adjacency
#
# Write `normalize_adjacency(adjacency)`: for a float `(n, n)` adjacency matrix return
# $\hat A = \tilde D^{-1/2}(A + I)\tilde D^{-1/2}$ as a float `(n, n)` array. Adding $I$ gives every
# node a self-loop, so a node keeps part of its own features, and no degree is zero (an isolated
# node gets $\hat A_{ii} = 1$). The scaling makes $\hat A_{ij} = (A+I)_{ij} / \sqrt{\tilde d_i \tilde d_j}$:
# symmetric, with largest eigenvalue 1, so that stacking layers neither blows up nor shrinks
# the features. Use NumPy; no loop over nodes is needed.

# %% kind="solution"
def normalize_adjacency(adjacency):
    ### BEGIN SOLUTION
    with_loops = np.asarray(adjacency, dtype=np.float64) + np.eye(len(adjacency))
    scale = 1.0 / np.sqrt(with_loops.sum(axis=1))
    return with_loops * scale[:, None] * scale[None, :]
    ### END SOLUTION


# %% kind="test" id="normalize" points=2
path_and_isolated = np.array([[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 0]], dtype="float32")
r = 1 / np.sqrt(6)  # nodes 0 and 1: degrees 2 and 3 with their self-loops
check_array("normalize_adjacency(path 0-1-2 and an isolated node 3)", normalize_adjacency(path_and_isolated),
            [[1 / 2, r, 0, 0], [r, 1 / 3, r, 0], [0, r, 1 / 2, 0], [0, 0, 0, 1]])
karate_check = np.asarray(normalize_adjacency(karate.adjacency), dtype="float32")
check_array("normalize_adjacency(karate) is symmetric", karate_check, karate_check.T)
check_array("largest eigenvalue of Â (karate)", np.linalg.eigvalsh(karate_check).max(), 1.0, atol=1e-5)

# %%
karate_hat = np.asarray(normalize_adjacency(karate.adjacency), dtype="float32")  # used from here on

# %% [markdown]
# ## 2. Message passing
#
# Write `propagate(adjacency_hat, features, steps)`: starting from `features` $H$ `(n, f)`, apply
# $\hat A$ `steps` times and return every state, $[H, \hat A H, \hat A^2 H, \dots, \hat A^{steps} H]$,
# stacked into one array `(steps + 1, n, f)`. After $k$ steps a node's value mixes the values of
# every node at most $k$ edges away: a graph convolution with $W = I$ and no activation, repeated.
#
# Below, the signal is $+1$ on Mr. Hi, $-1$ on the officer and 0 elsewhere. Watch it spread: after
# three steps its sign already guesses most members' faction, from the friendships alone.

# %% kind="solution"
def propagate(adjacency_hat, features, steps):
    ### BEGIN SOLUTION
    states = [np.asarray(features, dtype=np.float64)]
    for _ in range(steps):
        states.append(np.asarray(adjacency_hat, dtype=np.float64) @ states[-1])
    return np.stack(states)
    ### END SOLUTION


# %% kind="test" id="propagate" points=1
signal = np.zeros((34, 1), dtype="float32")
signal[0], signal[33] = 1.0, -1.0
states = propagate(karate_hat, signal, 3)
check_value("propagate(karate_hat, signal (34, 1), 3).shape", np.shape(states), (4, 34, 1))
check_array("state 0: the signal itself", states[0], signal)
check_array("state 1: Â @ signal", states[1], karate_hat @ signal, atol=1e-5)
check_array("state 3: Â @ state 2", states[3], karate_hat @ states[2], atol=1e-5)
message_passing_figure(karate.adjacency, [state[:, 0] for state in states],
                       [f"{k} step{'s' if k != 1 else ''} of message passing" for k in range(4)])
plt.show()
guess = np.where(states[3][:, 0] > 0, 0, 1)
print(f"the sign after 3 steps matches the faction of {np.mean(guess == karate.labels):.0%} of the members")

# %% [markdown]
# ## 3. The graph-convolution layer
#
# Write `GraphConvolution(units, activation=None, use_bias=True)`, a `keras.layers.Layer` that
# computes $H' = \sigma(\hat A H W + b)$ (Kipf & Welling add the bias $b$; `use_bias=False` leaves
# it out, giving the lecture's $\sigma(\hat A H W)$).
#
# * It is called on a list `[features, adjacency_hat]`: features `(n, f)` and $\hat A$ `(n, n)`
#   for one graph, or `(batch, n, f)` and `(batch, n, n)` for a batch of graphs of the same size.
#   It returns `(n, units)` or `(batch, n, units)`.
# * `build(input_shape)` receives both shapes; create the weights with `self.add_weight`, in
#   this order: `kernel` `(f, units)` (Glorot-uniform), then `bias` `(units,)` (zeros) when
#   `use_bias`.
# * `call` uses `keras.ops` (`ops.matmul` multiplies the last two axes and broadcasts the rest),
#   so that gradients flow; `keras.activations.get(activation)` turns a name into a function.
# * `get_config()` returns the base config plus `units`, `activation`
#   (`keras.activations.serialize`) and `use_bias`, so that `from_config` rebuilds the layer.

# %% kind="solution"
class GraphConvolution(keras.layers.Layer):
    ### BEGIN SOLUTION
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
    ### END SOLUTION


# %% kind="test" id="graph_conv" points=3
ring = np.eye(5) + np.roll(np.eye(5), 1, axis=0) + np.roll(np.eye(5), -1, axis=0)
ring_hat = (ring / 3).astype("float32")  # Â of a 5-cycle: every node has degree 2, 3 with its self-loop
check_graph_convolution(GraphConvolution, ring_hat, {None: lambda x: x, "relu": lambda x: np.maximum(x, 0),
                                                     "tanh": np.tanh})

# %% [markdown]
# ## 4. Classifying the members of the club
#
# Write `build_node_classifier(n_nodes, n_features, n_classes, hidden=16, dropout=0.5)`, Kipf &
# Welling's two-layer network, in functional mode. The whole graph is one batch: each node is a
# row, so the inputs are `features = keras.Input(shape=(n_features,))` and
# `adjacency_hat = keras.Input(shape=(n_nodes,))` (one row of $\hat A$ per node); then
#
# `GraphConvolution(hidden, relu)` on `[features, adjacency_hat]` → `Dropout(dropout)` →
# `GraphConvolution(n_classes, softmax)` on `[that, adjacency_hat]`,
#
# and `keras.Model([features, adjacency_hat], outputs)`. Every member is its own feature (the
# identity matrix): the network knows nothing but who is friends with whom.

# %% kind="solution"
def build_node_classifier(n_nodes, n_features, n_classes, hidden=16, dropout=0.5):
    ### BEGIN SOLUTION
    features = keras.Input(shape=(n_features,))
    adjacency_hat = keras.Input(shape=(n_nodes,))
    h = GraphConvolution(hidden, activation="relu")([features, adjacency_hat])
    h = keras.layers.Dropout(dropout)(h)
    outputs = GraphConvolution(n_classes, activation="softmax")([h, adjacency_hat])
    return keras.Model([features, adjacency_hat], outputs)
    ### END SOLUTION


# %% kind="test" id="node_model" points=2
NODE_CLASSIFIER = [
    spec("GraphConvolution", inputs=(-1, -1), units=16, activation="relu", use_bias=True),
    spec("Dropout", inputs=(0,), rate=0.5),
    spec("GraphConvolution", inputs=(1, -1), units=2, activation="softmax", use_bias=True),
]
check_graph_model(build_node_classifier(34, 34, 2), NODE_CLASSIFIER, input_shapes=[(34,), (34,)])
probabilities = np.asarray(build_node_classifier(34, 34, 2)([karate.features, karate_hat], training=False))
check_value("output shape on the karate club", probabilities.shape, (34, 2))
check_array("every row of probabilities sums to 1", probabilities.sum(axis=1), np.ones(34), atol=1e-5)

# %% [markdown]
# Train it as Kipf & Welling did: Adam (learning rate 0.01), the cross-entropy of the six
# labelled members only, one step per epoch on the whole graph; after each step the loss on the
# six validation members is measured and the weights with the lowest one are kept
# (`coursekit.graphs.fit_node_classifier`, a `GradientTape` loop: one full-graph step takes a
# millisecond, `model.fit`'s per-epoch overhead a hundred times more). The 22 held-out members
# are used once, for the score.

# %%
keras.utils.set_random_seed(lab.seed)  # start from the same state as the grader's calibration runs
node_model = build_node_classifier(karate.n_nodes, karate.features.shape[1], len(karate.class_names))
history = fit_node_classifier(node_model, karate, karate_hat, epochs=lab.budget.cap(200, smoke=100),
                              learning_rate=0.01, seed=lab.seed)
plots.learning_curves(history, metrics=("loss",), title=f"Karate club (best validation loss at step "
                                                        f"{history['best_epoch']})")
plt.show()
predicted = node_predictions(node_model, karate, karate_hat)

# %% [markdown]
# The grader recomputes macro-F1 itself, from `node_model`'s predictions on its own copy of the
# club, over the 22 held-out members, and requires the calibrated threshold.

# %% kind="test" id="node_f1" points=3
node_f1 = f1_score(karate.y_test, predicted[karate.test_index], average="macro")
node_matrix = confusion_matrix(karate.y_test, predicted[karate.test_index], labels=[0, 1])
plots.confusion_matrix(node_matrix, karate.class_names, title="Karate club, held-out members")
plt.show()
wrong = np.flatnonzero(predicted != karate.labels)
draw_graph(karate.adjacency, predicted, f"Predicted factions; wrong: {wrong.tolist()}")
plt.show()
check_grader_threshold(lab, "node_f1", node_f1, karate, hint="is node_model trained? chance is about 0.5")

# %% [markdown]
# On a graph this small and this clustered, the leaders' signal of section 2, passed three steps
# with no learning at all, already guesses most factions (label propagation is a strong baseline
# here). The network earns its keep where features matter: on Cora below, and in section 5.
#
# ### Optional: the Cora citation graph (with internet)
#
# The same network on a real benchmark: Cora, 2 708 machine-learning papers linked by 5 429
# citations, each described by which of 1 433 words it uses, in 7 topics. Kipf & Welling report
# 81.5 % test accuracy with 20 labelled papers per topic. The file comes through Keras's
# download-and-cache (`~/.keras/datasets/cora.tgz`, checked, retried). It is not graded, and
# with `COURSE_DATA=offline` it is skipped: no package ships Cora.

# %%
if lab.data_mode == "keras":
    cora = load_cora()
    cora_hat = np.asarray(normalize_adjacency(cora.adjacency), dtype="float32")
    keras.utils.set_random_seed(lab.seed)
    cora_model = build_node_classifier(cora.n_nodes, cora.features.shape[1], len(cora.class_names))
    fit_node_classifier(cora_model, cora, cora_hat, epochs=lab.budget.cap(200, smoke=20), seed=lab.seed)
    cora_predicted = node_predictions(cora_model, cora, cora_hat)[cora.test_index]
    print(f"Cora: macro-F1 {f1_score(cora.y_test, cora_predicted, average='macro'):.3f}, accuracy "
          f"{np.mean(cora_predicted == cora.y_test):.3f} on {len(cora.test_index)} held-out papers")
    plots.confusion_matrix(confusion_matrix(cora.y_test, cora_predicted), cora.class_names, title="Cora")
    plt.show()
else:
    print("COURSE_DATA=offline: the Cora part is skipped (it needs a download).")

# %% [markdown]
# ## 5. Finding and classifying subgraphs
#
# Each generated graph has 24 nodes: a random tree with 0 to 3 extra edges, plus five nodes
# joined to it by one edge that form a **path** (no motif), a **5-cycle** or a **house** (a square
# with a triangular roof). The node features are one-hot degrees (0, 1, 2, 3, 4, 5 or more). Edge
# counts overlap between the classes, so counting edges is not enough: the network must find the
# subgraph. A graph-level answer needs a **readout** that pools the node vectors into one vector,
# whatever the node order: here the maximum over nodes, which fires when *some* node sees the motif.
#
# Write `build_graph_classifier(n_nodes, n_features, n_classes, hidden=32)`: inputs
# `keras.Input(shape=(n_nodes, n_features))` and `keras.Input(shape=(n_nodes, n_nodes))` (a batch
# of graphs), then `GraphConvolution(hidden, relu)` → `GraphConvolution(hidden, relu)` (each on
# `[previous, adjacency_hat]`) → `GlobalMaxPooling1D()` → `Dense(n_classes, softmax)`.

# %%
graphs = load_motif_graphs()
graph_gallery(graphs.adjacency_train, graphs.y_train, graphs.class_names)
plt.show()
edges = graphs.adjacency_train.sum(axis=(1, 2)) / 2
for label, name in enumerate(graphs.class_names):
    print(f"{name:>16}: {edges[graphs.y_train == label].min():.0f} to {edges[graphs.y_train == label].max():.0f} edges")

# %% kind="solution"
def build_graph_classifier(n_nodes, n_features, n_classes, hidden=32):
    ### BEGIN SOLUTION
    features = keras.Input(shape=(n_nodes, n_features))
    adjacency_hat = keras.Input(shape=(n_nodes, n_nodes))
    h = GraphConvolution(hidden, activation="relu")([features, adjacency_hat])
    h = GraphConvolution(hidden, activation="relu")([h, adjacency_hat])
    h = keras.layers.GlobalMaxPooling1D()(h)
    outputs = keras.layers.Dense(n_classes, activation="softmax")(h)
    return keras.Model([features, adjacency_hat], outputs)
    ### END SOLUTION


# %% kind="test" id="graph_model" points=2
GRAPH_CLASSIFIER = [
    spec("GraphConvolution", inputs=(-1, -1), units=32, activation="relu", use_bias=True),
    spec("GraphConvolution", inputs=(0, -1), units=32, activation="relu", use_bias=True),
    spec("GlobalMaxPooling1D", inputs=(1,), strides=None),  # model_diff lists a pooling layer's strides
    spec("Dense", inputs=(2,), units=3, activation="softmax", use_bias=True),
]
check_graph_model(build_graph_classifier(24, 6, 3), GRAPH_CLASSIFIER, input_shapes=[(24, 6), (24, 24)])

# %% [markdown]
# Train it with `model.fit`, on graphs normalised with your `normalize_adjacency`; the first 20 %
# of the training graphs are held back for validation and early stopping.

# %%
def normalize_all(adjacency):
    return np.stack([np.asarray(normalize_adjacency(a), dtype="float32") for a in adjacency])


train_hat, test_hat = normalize_all(graphs.adjacency_train), normalize_all(graphs.adjacency_test)
n_val = len(graphs.y_train) // 5
keras.utils.set_random_seed(lab.seed)
graph_model = build_graph_classifier(24, graphs.features_train.shape[2], len(graphs.class_names))
graph_model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                    metrics=["accuracy"])
graph_history = graph_model.fit(
    [graphs.features_train[n_val:], train_hat[n_val:]], graphs.y_train[n_val:],
    validation_data=([graphs.features_train[:n_val], train_hat[:n_val]], graphs.y_train[:n_val]),
    epochs=lab.budget.cap(30, smoke=12), batch_size=32, verbose=2,
    callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=8, restore_best_weights=True)])
plots.learning_curves(graph_history)
plt.show()
graph_predicted = np.asarray(graph_model([graphs.features_test, test_hat], training=False)).argmax(axis=1)

# %% [markdown]
# The grader runs `graph_model` on its own copy of the held-out graphs and requires the
# calibrated macro-F1 threshold.

# %% kind="test" id="graph_f1" points=3
graph_f1 = f1_score(graphs.y_test, graph_predicted, average="macro")
plots.confusion_matrix(confusion_matrix(graphs.y_test, graph_predicted), graphs.class_names,
                       title="Motif graphs, held out")
plt.show()
check_grader_threshold(lab, "graph_f1", graph_f1, graphs, hint="is graph_model trained? chance is about 0.33")

# %% [markdown]
# ## What to take away
#
# * $\hat A H$ is a neighbourhood average: one step of message passing; $k$ layers see $k$ hops.
# * A graph convolution shares one $W$ across all nodes, as a CNN's kernel is shared across pixels,
#   and does not care how the nodes are numbered.
# * A node classifier needs no readout; a graph classifier pools the node vectors (max, mean or
#   sum), and with max pooling it detects a subgraph wherever it sits.
