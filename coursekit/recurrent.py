"""Helpers for lab 07's visible checks and plots: Keras's recurrent layers loaded with given
weights, a numerical gradient to check BPTT against, decay rates, and the plots.

Nothing here answers an exercise: the checks compare the student's NumPy cells with Keras's
own layers, and the student's GradientTape gradients with central differences.
"""

import numpy as np

WEIGHT_BLOCKS = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}


def random_cell_weights(kind: str, features: int, units: int, seed: int = 0) -> list:
    """Random float32 weights in Keras's layout for ``keras.layers.<kind>`` (SimpleRNN, LSTM, GRU):
    [kernel (features, k*units), recurrent_kernel (units, k*units), bias (k*units,) or, for the
    GRU, (2, 3*units)], k = 1, 4, 3."""
    rng = np.random.default_rng(seed)
    blocks = WEIGHT_BLOCKS[kind]
    bias_shape = (2, 3 * units) if kind == "GRU" else (blocks * units,)
    return [rng.normal(0, 0.5, (features, blocks * units)).astype("float32"),
            rng.normal(0, 0.5, (units, blocks * units)).astype("float32"),
            rng.normal(0, 0.3, bias_shape).astype("float32")]


def keras_recurrent_layer(kind: str, weights, return_sequences: bool = False, **options):
    """A built ``keras.layers.<kind>`` holding ``weights`` (Keras's layout)."""
    import keras

    units = np.shape(weights[1])[0]
    layer = getattr(keras.layers, kind)(units, return_sequences=return_sequences, **options)
    layer.build((None, None, np.shape(weights[0])[0]))
    layer.set_weights([np.asarray(weight, dtype="float32") for weight in weights])
    return layer


def keras_hidden_states(kind: str, weights, x) -> np.ndarray:
    """Keras's hidden state at every step: float64 (batch, T, units)."""
    layer = keras_recurrent_layer(kind, weights, return_sequences=True)
    return np.asarray(layer(np.asarray(x, dtype="float32")), dtype=np.float64)


def keras_lstm_states(weights, x) -> tuple:
    """Keras's LSTM: (h at every step (batch, T, units), the last cell state (batch, units))."""
    layer = keras_recurrent_layer("LSTM", weights, return_sequences=True, return_state=True)
    sequence, _, cell = layer(np.asarray(x, dtype="float32"))
    return np.asarray(sequence, dtype=np.float64), np.asarray(cell, dtype=np.float64)


def numerical_gradient_by_distance(layer, x, epsilon: float = 1e-2) -> np.ndarray:
    """Central differences of sum(layer(x)) with respect to each input, in float64 sums:
    the same quantity as the lab's gradient_by_distance, to a few digits. (T,), distance order."""
    x = np.asarray(x, dtype=np.float32)
    flat = x.reshape(-1)
    slopes = np.empty(flat.size)
    for position in range(flat.size):
        step = np.zeros_like(flat)
        step[position] = epsilon
        total_up = float(np.sum(np.asarray(layer((flat + step).reshape(x.shape)), dtype=np.float64)))
        total_down = float(np.sum(np.asarray(layer((flat - step).reshape(x.shape)), dtype=np.float64)))
        slopes[position] = (total_up - total_down) / (2 * epsilon)
    gradient = slopes.reshape(x.shape)
    return np.linalg.norm(gradient, axis=2).mean(axis=0)[::-1]


def decay_per_step(norms, start: int, stop: int) -> float:
    """The geometric factor by which the norms shrink per step of distance between ``start`` and
    ``stop`` (exp of the least-squares slope of log(norm) against distance)."""
    distances = np.arange(start, stop)
    slope = np.polyfit(distances, np.log(np.asarray(norms, dtype=np.float64)[start:stop]), 1)[0]
    return float(np.exp(slope))


def plot_gradient_norms(curves: dict, title: str = "BPTT: gradient norm by distance"):
    """``{name: norms (T,)}`` against distance 0 .. T-1, on a log scale."""
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6.5, 3.6))
    for name, norms in curves.items():
        axis.semilogy(np.arange(len(norms)), norms, label=name)
    axis.set_xlabel("distance k = T - 1 - t (steps back from the last input)")
    axis.set_ylabel("mean ‖∂ Σ h_T / ∂x_t‖")
    axis.set_title(title)
    axis.legend()
    figure.tight_layout()
    return figure


def plot_series(months, values, test_start: int, title: str):
    """The whole series, with the held-out period shaded."""
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(8, 3))
    axis.plot(months.astype("datetime64[D]"), values, lw=1)
    axis.axvspan(months[test_start].astype("datetime64[D]"), months[-1].astype("datetime64[D]"),
                 color="orange", alpha=0.15, label="held out")
    axis.set_ylabel("ppm")
    axis.set_title(title)
    axis.legend()
    figure.tight_layout()
    return figure


def plot_forecast(months, truth, forecasts: dict, title: str = "One-month-ahead forecasts on held-out months"):
    """Truth and several forecasts (``{name: values}``) over the same months, and their errors."""
    import matplotlib.pyplot as plt

    days = np.asarray(months).astype("datetime64[D]")
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(8, 5), sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    top.plot(days, truth, "k-", lw=2, label="truth")
    for name, values in forecasts.items():
        top.plot(days, values, lw=1, label=name)
        bottom.plot(days, np.asarray(values) - np.asarray(truth), lw=1, label=name)
    bottom.axhline(0, color="k", lw=0.5)
    top.set_ylabel("ppm")
    bottom.set_ylabel("error, ppm")
    top.set_title(title)
    top.legend(fontsize=8)
    figure.tight_layout()
    return figure
