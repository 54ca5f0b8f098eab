# %% [markdown]
# # Lab 07 — Recurrent networks
#
# A recurrent network reads a sequence one step at a time and carries a state from step to step:
#
# $$h_t = \sigma_h(U x_t + W h_{t-1} + b), \qquad y_t = \sigma_y(V h_t),$$
#
# with the same $U, W, b$ at every step. Its loss is a sum over steps, $L = \sum_t L_t(U, V, W)$, and
# its gradient flows back through time (BPTT):
#
# $$\frac{\partial L_t}{\partial W} = \frac{\partial L_t}{\partial y_t}\frac{\partial y_t}{\partial h_t}
#   \sum_{k \le t}\Big(\prod_{i=k+1}^{t}\frac{\partial h_i}{\partial h_{i-1}}\Big)\frac{\partial h_k}{\partial W}.$$
#
# The product of Jacobians is why plain RNNs forget: when its factors are small the gradient from
# far back vanishes; when they are large it explodes. LSTM (Hochreiter & Schmidhuber 1997) and GRU
# (Cho et al. 2014) add gates that let the state pass through nearly unchanged.
#
# In this lab you write the SimpleRNN, LSTM and GRU cells in NumPy and show that they equal Keras's
# layers with the same weights; add peepholes to the LSTM (Gers & Schmidhuber 2000); measure how the
# gradient fades with distance; then train a text classifier and a forecaster.
#
# Fill in every `# YOUR CODE HERE` and run the check under it. Hidden checks with other inputs
# decide the points. The text data: online (`COURSE_DATA=keras`) the IMDB reviews (positive or
# negative?) through Keras's download cache; offline (`COURSE_DATA=offline`) 200 movie-review
# sentences and 200 news sentences that ship inside gensim (review or news?).
# The forecaster uses the Mauna Loa CO2 series that ships inside statsmodels, in both modes.

# %%
import coursekit  # first: it starts TensorFlow without its harmless start-up log lines
import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from sklearn.metrics import confusion_matrix, f1_score

from coursekit import plots, recurrent, setup_lab
from coursekit.checks import (check_array, check_at_least, check_at_most, check_grader_threshold,
                              check_value)
from coursekit.series_data import load_co2
from coursekit.text_data import load_sentences

lab = setup_lab("07-recurrent-networks")

# %% [markdown]
# ## 1. A SimpleRNN in NumPy
#
# Keras stores a recurrent layer's weights as `[kernel, recurrent_kernel, bias]`, multiplying from
# the right: for `keras.layers.SimpleRNN(u)` on inputs with `d` features, `kernel` is `(d, u)`,
# `recurrent_kernel` `(u, u)`, `bias` `(u,)`, and
#
# $$h_t = \tanh(x_t\,\mathrm{kernel} + h_{t-1}\,\mathrm{recurrent\_kernel} + \mathrm{bias}),\qquad h_0 = 0.$$
#
# Write `simple_rnn_forward(x, kernel, recurrent_kernel, bias)`: `x` is `(batch, T, d)`; return every
# hidden state, `(batch, T, u)` (what `return_sequences=True` gives).

# %% kind="solution"
def simple_rnn_forward(x, kernel, recurrent_kernel, bias):
    ### BEGIN SOLUTION
    h = np.zeros((x.shape[0], recurrent_kernel.shape[0]))
    states = []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ kernel + h @ recurrent_kernel + bias)
        states.append(h)
    return np.stack(states, axis=1)
    ### END SOLUTION


# %% kind="test" id="simple_rnn" points=2
x_check = np.random.default_rng(1).normal(size=(2, 5, 3)).astype("float32")
weights_check = recurrent.random_cell_weights("SimpleRNN", features=3, units=4, seed=1)
check_array("simple_rnn_forward vs keras.layers.SimpleRNN (same weights)",
            simple_rnn_forward(x_check, *weights_check), recurrent.keras_hidden_states("SimpleRNN", weights_check, x_check),
            atol=1e-5)

# %% [markdown]
# ## 2. LSTM
#
# With $z_t = x_t\,\mathrm{kernel} + h_{t-1}\,\mathrm{recurrent\_kernel} + \mathrm{bias}$ (shape `(batch, 4u)`)
# cut into four blocks of `u` columns **in Keras's order i, f, c, o**:
#
# $$i_t = \sigma(z^i_t),\; f_t = \sigma(z^f_t),\; \tilde C_t = \tanh(z^c_t),\; o_t = \sigma(z^o_t),\qquad
#   C_t = f_t \odot C_{t-1} + i_t \odot \tilde C_t,\qquad h_t = o_t \odot \tanh(C_t).$$
#
# This is the lecture's $f_t = \sigma(W_f\cdot[h_{t-1}, x_t] + b_f)$ etc.: stacking `kernel` over
# `recurrent_kernel` gives the matrix that multiplies $[x_t, h_{t-1}]$. Write
# `lstm_forward(x, kernel, recurrent_kernel, bias)` returning `(h, c)`: the hidden and the cell state
# at every step, both `(batch, T, u)`; $h_0 = C_0 = 0$.

# %% kind="solution"
def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def lstm_forward(x, kernel, recurrent_kernel, bias):
    ### BEGIN SOLUTION
    units = recurrent_kernel.shape[0]
    h = np.zeros((x.shape[0], units))
    c = np.zeros_like(h)
    hs, cs = [], []
    for t in range(x.shape[1]):
        z = x[:, t] @ kernel + h @ recurrent_kernel + bias
        i, f, g, o = np.split(z, 4, axis=1)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        hs.append(h)
        cs.append(c)
    return np.stack(hs, axis=1), np.stack(cs, axis=1)
    ### END SOLUTION


# %% kind="test" id="lstm" points=2
weights_check = recurrent.random_cell_weights("LSTM", features=3, units=4, seed=2)
h_check, c_check = lstm_forward(x_check, *weights_check)
keras_h, keras_c = recurrent.keras_lstm_states(weights_check, x_check)
check_array("lstm_forward h vs keras.layers.LSTM", h_check, keras_h, atol=1e-5)
check_array("lstm_forward last cell state c[:, -1] vs Keras's", np.asarray(c_check)[:, -1], keras_c, atol=1e-5)

# %% [markdown]
# ## 3. GRU, and Keras's conventions
#
# The lecture (Cho et al. 2014) writes
# $z_t = \sigma(W_z\cdot[h_{t-1}, x_t])$, $r_t = \sigma(W_r\cdot[h_{t-1}, x_t])$,
# $\tilde h_t = \tanh(W\cdot[r_t \odot h_{t-1}, x_t])$, $h_t = (1 - z_t)\odot h_{t-1} + z_t \odot \tilde h_t$.
# `keras.layers.GRU` differs in two ways, and your cell must follow Keras:
#
# 1. **The role of z is swapped**: $h_t = z_t \odot h_{t-1} + (1 - z_t)\odot \tilde h_t$ — Keras's
#    $z$ is the share of the *old* state kept (Cho's $1 - z$).
# 2. **`reset_after=True`** (the default, cuDNN's form): the reset gate multiplies the recurrent
#    product *after* it is taken, and there are two biases, `bias` of shape `(2, 3u)`: row 0 is added to
#    the input part, row 1 to the recurrent part:
#
# $$z_t = \sigma(x_t K_z + b_z + h_{t-1} R_z + b'_z),\quad r_t = \sigma(x_t K_r + b_r + h_{t-1} R_r + b'_r),\quad
#   \tilde h_t = \tanh\big(x_t K_h + b_h + r_t \odot (h_{t-1} R_h + b'_h)\big).$$
#
# `kernel` `(d, 3u)` and `recurrent_kernel` `(u, 3u)` hold the blocks in the order **z, r, h**.
# Write `gru_forward(x, kernel, recurrent_kernel, bias)` returning every hidden state `(batch, T, u)`.

# %% kind="solution"
def gru_forward(x, kernel, recurrent_kernel, bias):
    ### BEGIN SOLUTION
    units = recurrent_kernel.shape[0]
    input_bias, recurrent_bias = bias
    h = np.zeros((x.shape[0], units))
    states = []
    for t in range(x.shape[1]):
        from_input = x[:, t] @ kernel + input_bias
        from_state = h @ recurrent_kernel + recurrent_bias
        z = sigmoid(from_input[:, :units] + from_state[:, :units])
        r = sigmoid(from_input[:, units:2 * units] + from_state[:, units:2 * units])
        candidate = np.tanh(from_input[:, 2 * units:] + r * from_state[:, 2 * units:])
        h = z * h + (1 - z) * candidate
        states.append(h)
    return np.stack(states, axis=1)
    ### END SOLUTION


# %% kind="test" id="gru" points=3
weights_check = recurrent.random_cell_weights("GRU", features=3, units=4, seed=3)
check_value("GRU bias shape (row 0: input part, row 1: recurrent part)", weights_check[2].shape, (2, 12))
check_array("gru_forward vs keras.layers.GRU (reset_after=True)", gru_forward(x_check, *weights_check),
            recurrent.keras_hidden_states("GRU", weights_check, x_check), atol=1e-5)

# %% [markdown]
# ## 4. Peephole LSTM
#
# Gers & Schmidhuber (2000) let the gates look at the cell state: the input and forget gates see
# $C_{t-1}$, the output gate sees the new $C_t$, each through a vector of weights (an element-wise,
# "diagonal" connection):
#
# $$i_t = \sigma(z^i_t + p_i \odot C_{t-1}),\quad f_t = \sigma(z^f_t + p_f \odot C_{t-1}),\quad
#   C_t = f_t \odot C_{t-1} + i_t \odot \tanh(z^c_t),\quad o_t = \sigma(z^o_t + p_o \odot C_t),\quad h_t = o_t \odot \tanh(C_t),$$
#
# with $z_t$ as in the LSTM. Write `peephole_lstm_forward(x, kernel, recurrent_kernel, peephole, bias)`,
# `peephole` of shape `(3, u)` holding the rows $p_i, p_f, p_o$; return `(h, c)` as `lstm_forward` does.
# With `peephole = 0` it must be Keras's LSTM; the check also follows one unit through two steps by hand.

# %% kind="solution"
def peephole_lstm_forward(x, kernel, recurrent_kernel, peephole, bias):
    ### BEGIN SOLUTION
    units = recurrent_kernel.shape[0]
    p_i, p_f, p_o = peephole
    h = np.zeros((x.shape[0], units))
    c = np.zeros_like(h)
    hs, cs = [], []
    for t in range(x.shape[1]):
        z = x[:, t] @ kernel + h @ recurrent_kernel + bias
        z_i, z_f, z_c, z_o = np.split(z, 4, axis=1)
        i = sigmoid(z_i + p_i * c)
        f = sigmoid(z_f + p_f * c)
        c = f * c + i * np.tanh(z_c)
        o = sigmoid(z_o + p_o * c)
        h = o * np.tanh(c)
        hs.append(h)
        cs.append(c)
    return np.stack(hs, axis=1), np.stack(cs, axis=1)
    ### END SOLUTION


# %% kind="test" id="peephole" points=2
weights_check = recurrent.random_cell_weights("LSTM", features=3, units=4, seed=4)
no_peepholes = np.zeros((3, 4), dtype="float32")
h_check, _ = peephole_lstm_forward(x_check, weights_check[0], weights_check[1], no_peepholes, weights_check[2])
check_array("peephole_lstm_forward with peephole = 0 vs keras.layers.LSTM", h_check,
            recurrent.keras_lstm_states(weights_check, x_check)[0], atol=1e-5)
# One unit, one feature, two steps, by hand: kernel [a_i, a_f, a_c, a_o], recurrent [w_i, w_f, w_c, w_o].
a, w, b, p = np.array([0.5, -0.3, 0.8, 0.2]), np.array([0.4, 0.6, -0.5, 0.3]), np.array([0.1, 1.0, 0.0, -0.2]), \
    np.array([0.7, -0.4, 0.9])
x_two = np.array([[[1.0], [-2.0]]])
h_hand, c_hand = 0.0, 0.0
for x_t in (1.0, -2.0):
    i_t = sigmoid(a[0] * x_t + w[0] * h_hand + b[0] + p[0] * c_hand)
    f_t = sigmoid(a[1] * x_t + w[1] * h_hand + b[1] + p[1] * c_hand)
    c_hand = f_t * c_hand + i_t * np.tanh(a[2] * x_t + w[2] * h_hand + b[2])
    o_t = sigmoid(a[3] * x_t + w[3] * h_hand + b[3] + p[2] * c_hand)
    h_hand = o_t * np.tanh(c_hand)
h_two, c_two = peephole_lstm_forward(x_two, a[None, :], w[None, :], p[:, None], b)
check_array("one unit, two steps: last cell state", np.asarray(c_two)[0, -1, 0], c_hand)
check_array("one unit, two steps: last hidden state", np.asarray(h_two)[0, -1, 0], h_hand)

# %% [markdown]
# ## 5. Backpropagation through time: does the gradient vanish?
#
# How much does the last output still depend on an input $k$ steps back? Write
# `gradient_by_distance(layer, x)`: `layer` is a Keras recurrent layer that returns its last output
# $h_T$ (`(batch, u)`), `x` is `(batch, T, d)`. With `tf.GradientTape`, take the gradient of
# $\sum_j h_{T,j}$ (summed over the batch too: the samples do not interact) with respect to `x`; for each
# sample and step the norm over the `d` features; the mean over the batch. Return a `(T,)` array
# ordered by **distance**: element `k` belongs to the input $x_{T-1-k}$ (0 is the last input).
# The check compares it with central differences.

# %% kind="solution"
def gradient_by_distance(layer, x):
    ### BEGIN SOLUTION
    x = tf.convert_to_tensor(np.asarray(x, dtype="float32"))
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(layer(x))
    gradient = tape.gradient(total, x).numpy()
    return np.linalg.norm(gradient, axis=2).mean(axis=0)[::-1]
    ### END SOLUTION


# %% kind="test" id="bptt" points=2
small_rnn = recurrent.keras_recurrent_layer("SimpleRNN", recurrent.random_cell_weights("SimpleRNN", 2, 3, seed=5))
x_small = np.random.default_rng(5).normal(size=(2, 6, 2)).astype("float32")
norms_small = gradient_by_distance(small_rnn, x_small)
check_value("shape", np.shape(norms_small), (6,))
check_array("gradient_by_distance vs central differences (SimpleRNN)", norms_small,
            recurrent.numerical_gradient_by_distance(small_rnn, x_small), rtol=2e-2, atol=1e-3)

# %% [markdown]
# Now the experiment: 64 random sequences of 60 steps, layers of 32 units with Keras's default
# initialisation (Glorot kernels, orthogonal recurrent kernels), and for the LSTM also a forget-gate
# bias of 3 (the gate starts near $\sigma(3) \approx 0.95$: "remember by default").

# %%
steps = lab.budget.cap(60, smoke=40)
x_long = np.random.default_rng(0).normal(size=(64, steps, 8)).astype("float32")
keras.utils.set_random_seed(lab.seed)
forget_bias_3 = keras.initializers.Constant(np.concatenate([np.zeros(32), 3 * np.ones(32), np.zeros(64)]))
experiment = {
    "SimpleRNN": keras.layers.SimpleRNN(32),
    "LSTM": keras.layers.LSTM(32),
    "LSTM, forget bias 3": keras.layers.LSTM(32, bias_initializer=forget_bias_3, unit_forget_bias=False),
    "GRU": keras.layers.GRU(32),
}
norms = {name: gradient_by_distance(layer, x_long) for name, layer in experiment.items()}
relative = {name: values / values[0] for name, values in norms.items()}
recurrent.plot_gradient_norms(relative, title="Gradient of the last output by distance (relative to distance 0)")
plt.show()
far = steps - 10
for name, values in relative.items():
    print(f"{name:>20}: relative norm at distance {far} = {values[far]:.2e}, "
          f"decay per step {recurrent.decay_per_step(values, 5, far):.3f}")

# %% [markdown]
# On a log scale a geometric decay is a straight line. The SimpleRNN's line falls fastest: each step
# multiplies the gradient by $W^\top \operatorname{diag}(1 - h^2)$, and the $\tanh$ derivative is below
# one. The LSTM's cell path multiplies by the forget gate instead, so it decays more slowly, and with a
# forget gate near one it barely decays at all. The check below states the claim in numbers.

# %%
check_at_most(f"SimpleRNN: relative gradient norm at distance {far}", relative["SimpleRNN"][far], 1e-3,
              hint="a plain RNN should forget: is the gradient taken of the last output?")
check_at_least("LSTM with forget bias 3 over SimpleRNN, decay per step",
               recurrent.decay_per_step(relative["LSTM, forget bias 3"], 5, far)
               - recurrent.decay_per_step(relative["SimpleRNN"], 5, far), 0.1)

# %% [markdown]
# ## 6. Classifying text: a bidirectional LSTM
#
# The data has token ids: 0 is padding, 1 an unknown word, 2, 3, ... the words by decreasing
# frequency in the training texts; each text is cut or padded (in front) to the same length.
# What was loaded is printed first.
#
# - Online: the IMDB movie reviews, each labelled **negative or positive** (sentiment).
# - Offline: **review or news?** 200 movie-review sentences (Pang & Lee's sentence polarity data)
#   against 200 news sentences (ABC news stories, gensim's `lee_background.cor`), both shipped in
#   gensim's test data, split 160 / 40 per class. It is not a sentiment task: 200 sentiment
#   sentences are far too few to learn sentiment from (a network trained on them scored 0.46–0.65
#   macro-F1 on held-out sentences, not far from chance). Telling an opinion from a news report is
#   learnable from this little, in the manner of Pang & Lee's subjectivity data (Kim 2014's SUBJ);
#   lab 08's sentence CNN learns the same offline task.

# %%
data = load_sentences()
for row in range(3):
    print(f"[{data.class_names[data.y_train[row]]}] {data.decode(data.x_train[row])}")
lengths = np.sum(data.x_train != 0, axis=1)
plt.figure(figsize=(5, 2.5))
plt.hist(lengths, bins=30)
plt.xlabel("tokens before padding")
plt.title(data.description[:70])
plt.show()

# %% [markdown]
# Write `build_text_classifier(vocabulary_size, length)`: a `keras.Sequential` with
# `keras.Input(shape=(length,), dtype="int32")`, then `Embedding(vocabulary_size, 32, mask_zero=True)`
# (so that the LSTMs skip the padding), `Bidirectional(LSTM(16))` (one LSTM reads forwards, one
# backwards, their last states concatenated), `Dropout(0.5)` and `Dense(2, activation="softmax")`.

# %% kind="solution"
def build_text_classifier(vocabulary_size, length):
    ### BEGIN SOLUTION
    return keras.Sequential([
        keras.Input(shape=(length,), dtype="int32"),
        keras.layers.Embedding(vocabulary_size, 32, mask_zero=True),
        keras.layers.Bidirectional(keras.layers.LSTM(16)),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(2, activation="softmax"),
    ])
    ### END SOLUTION


# %% kind="test" id="text_classifier" points=2
classifier_check = build_text_classifier(50, 9)
check_value("input shape", tuple(classifier_check.inputs[0].shape), (None, 9))
check_value("layers", [type(layer).__name__ for layer in classifier_check.layers],
            ["Embedding", "Bidirectional", "Dropout", "Dense"])
check_value("Dropout rate", classifier_check.layers[2].rate, 0.5)
check_value("Dense units and activation", (classifier_check.layers[3].units,
                                           classifier_check.layers[3].activation.__name__), (2, "softmax"))
check_value("Embedding output shape", tuple(classifier_check.layers[0].output.shape), (None, 9, 32))
check_value("Embedding mask_zero", classifier_check.layers[0].mask_zero, True)
check_value("Bidirectional wraps", type(classifier_check.layers[1].forward_layer).__name__, "LSTM")
check_value("Bidirectional output shape (2 x 16 units)", tuple(classifier_check.layers[1].output.shape), (None, 32))
check_value("parameters", classifier_check.count_params(), 50 * 32 + 2 * 4 * 16 * (32 + 16 + 1) + 33 * 2)

# %% [markdown]
# Training: the validation split is carved from the training texts (the first 20 %); the test texts
# are used once, below. Online, the full budget trains on the first 10 000 reviews for at most 3 epochs
# to stay within the lab's five minutes; offline, at most 10 epochs over the 256 remaining sentences.
# A network this size learns 256 sentences by heart within a few epochs, after which the validation
# loss climbs: training stops once it has not improved for 2 epochs and keeps the weights of the best
# epoch (`EarlyStopping(restore_best_weights=True)`), which the learning curves below show.

# %%
n_train = min(len(data.y_train), 10_000) if data.key == "imdb" else len(data.y_train)
n_validation = int(round(0.2 * n_train))
keras.utils.set_random_seed(lab.seed)  # start from the same state as the grader's calibration runs
text_model = build_text_classifier(len(data.vocabulary), data.length)
text_model.compile(optimizer=keras.optimizers.Adam(5e-3), loss="sparse_categorical_crossentropy",
                   metrics=["accuracy"])
history = text_model.fit(
    data.x_train[n_validation:n_train], data.y_train[n_validation:n_train],
    validation_data=(data.x_train[:n_validation], data.y_train[:n_validation]),
    epochs=lab.budget.epochs(3 if data.key == "imdb" else 10), batch_size=64 if data.key == "imdb" else 16,
    callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)],
    verbose=2)
plots.learning_curves(history, title=f"BiLSTM text classifier: {data.key}")
plt.show()


# %%
def predict_classes(model, x, batch_size=256):
    return np.concatenate([np.asarray(model(x[start:start + batch_size], training=False)).argmax(axis=1)
                           for start in range(0, len(x), batch_size)])


predicted = predict_classes(text_model, data.x_test)
test_macro_f1 = f1_score(data.y_test, predicted, average="macro", labels=[0, 1], zero_division=0)
fit_macro_f1 = f1_score(data.y_train[:2000], predict_classes(text_model, data.x_train[:2000]), average="macro",
                        labels=[0, 1], zero_division=0)
print(f"macro-F1 {test_macro_f1:.4f} on the {len(data.y_test)} test texts; "
      f"{fit_macro_f1:.4f} on the training texts")
plots.confusion_matrix(confusion_matrix(data.y_test, predicted, labels=[0, 1]), data.class_names,
                       title=f"BiLSTM on the test texts ({data.key})")
plt.show()
wrong = np.flatnonzero(predicted != data.y_test)[:3]
for row in wrong:
    print(f"true {data.class_names[data.y_test[row]]}, predicted {data.class_names[predicted[row]]}: "
          f"{data.decode(data.x_test[row])[:200]}")

# %% [markdown]
# The grader scores your `text_model` itself, on its own copy of the data: the macro-F1 on the
# test texts and, to tell a trained network from an untrained one, the macro-F1 on (up to 2 000 of)
# the training texts, each against the threshold calibrated for this data and budget.

# %% kind="test" id="text_f1" points=4
check_grader_threshold(lab, "fit_macro_f1", fit_macro_f1, data, label="macro-F1 on the training texts",
                       hint="is text_model the trained model?")
check_grader_threshold(lab, "macro_f1", test_macro_f1, data, label="macro-F1 on the test texts")

# %% [markdown]
# ## 7. Forecasting CO2
#
# The monthly mean CO2 at Mauna Loa (statsmodels ships the weekly series, 1958–2001; both data modes
# use this same copy). The last 96 months (1994–2001) are held out; the 48 months before them are
# the validation period. It rises every year and swings with the seasons, so the month-to-month
# *change* is the thing to forecast: the forecast of next month is this month's value plus the
# predicted change.
#
# Write `make_windows(values, window)`: the changes $\Delta_k = v_{k+1} - v_k$ of a series of $n$ values,
# cut into windows: `x[k]` holds $\Delta_k \ldots \Delta_{k+window-1}$, shape `(window, 1)`, and `y[k]` the
# next change $\Delta_{k+window}$; return `(x, y)`, float32, with `n - 1 - window` windows.

# %%
series = load_co2()
recurrent.plot_series(series.months, series.values, series.test_start, series.description[:80])
plt.show()


# %% kind="solution"
def make_windows(values, window):
    ### BEGIN SOLUTION
    changes = np.diff(np.asarray(values, dtype=np.float64))
    x = np.stack([changes[k:k + window] for k in range(len(changes) - window)])[..., None]
    return x.astype("float32"), changes[window:].astype("float32")
    ### END SOLUTION


# %% kind="test" id="windows" points=1
x_toy, y_toy = make_windows(np.array([1.0, 2.0, 4.0, 7.0, 11.0, 16.0]), 3)
check_array("x for [1, 2, 4, 7, 11, 16], window 3", x_toy, [[[1], [2], [3]], [[2], [3], [4]]])
check_array("y", y_toy, [4, 5])

# %% [markdown]
# Write `build_forecaster(window)`: any network of Keras's own layers that maps windows
# `(batch, window, 1)` to the next change `(batch, 1)`, with a recurrent layer in it (a `GRU(16)`
# followed by `Dense(1)` works). It is trained below on the windows whose forecast month is before the
# validation period, with early stopping on the validation period.

# %% kind="solution"
def build_forecaster(window):
    ### BEGIN SOLUTION
    return keras.Sequential([keras.Input(shape=(window, 1)), keras.layers.GRU(16), keras.layers.Dense(1)])
    ### END SOLUTION


# %%
WINDOW = 24
x_all, y_all = make_windows(series.values, WINDOW)
target_month = np.arange(len(y_all)) + WINDOW + 1  # the index of the month each window forecasts
fit_part = target_month < series.test_start - 48
validation_part = (target_month >= series.test_start - 48) & (target_month < series.test_start)
test_part = target_month >= series.test_start
keras.utils.set_random_seed(lab.seed)
forecaster = build_forecaster(WINDOW)
forecaster.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
forecast_history = forecaster.fit(
    x_all[fit_part], y_all[fit_part], validation_data=(x_all[validation_part], y_all[validation_part]),
    epochs=lab.budget.epochs(60), batch_size=32, verbose=0,
    callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=10, restore_best_weights=True)])
plots.learning_curves(forecast_history, metrics=("loss",), title="Forecaster (mean squared error of the change)")
plt.show()

# %% [markdown]
# The baselines: the **naive** forecast repeats the last value (a change of 0); the **seasonal naive**
# one repeats the value of 12 months before. The skill is $1 - \mathrm{MAE}_{model} / \mathrm{MAE}_{best\ baseline}$:
# 0 means no better than the better baseline, 1 perfect. The grader recomputes it on its own copy of
# the held-out months and requires the calibrated threshold (it is above 0.5 at the full budget: the
# forecaster must halve the better baseline's error).

# %%
months_ahead = target_month[test_part]
truth = series.values[months_ahead]
last_value = series.values[months_ahead - 1]
model_forecast = last_value + np.asarray(forecaster(x_all[test_part], training=False)).reshape(-1)
seasonal_forecast = series.values[months_ahead - 12]
errors = {name: float(np.mean(np.abs(forecast - truth)))
          for name, forecast in (("forecaster", model_forecast), ("naive", last_value),
                                 ("seasonal naive", seasonal_forecast))}
skill = 1 - errors["forecaster"] / min(errors["naive"], errors["seasonal naive"])
print(", ".join(f"{name} MAE {value:.3f} ppm" for name, value in errors.items()) + f"; skill {skill:.3f}")
recurrent.plot_forecast(series.months[months_ahead], truth,
                        {"forecaster": model_forecast, "naive (last value)": last_value,
                         "seasonal naive (12 months before)": seasonal_forecast})
plt.show()

# %% kind="test" id="forecast_skill" points=4
check_grader_threshold(lab, "forecast_skill", skill, series, label="forecast skill over the better baseline")
