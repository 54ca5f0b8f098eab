"""Reference for lab 05 (optimisers): NumPy update rules that reproduce keras.optimizers."""

import keras
import numpy as np

from coursekit.optimisers import NumpyOptimiser

LAB_ID = "05-optimisers"
DATASET = "fashion_mnist"
METRIC = "accuracy"
EPOCHS = 5
BATCH_SIZE = 32


# ------------------------------------------------------------------ step-size schedules

def piecewise_constant(t, initial, steps_per_drop):
    return initial * 0.1 ** (np.floor_divide(t, steps_per_drop))


def harmonic(t, n, scale=0.001):
    return scale / (np.floor_divide(t, n) + 10)


def keras_piecewise_constant(initial, steps_per_drop, n_drops):
    # Keras uses values[i] while step <= boundaries[i]: the rate drops after step k*N - 1.
    boundaries = [k * steps_per_drop - 1 for k in range(1, n_drops + 1)]
    values = [initial * 0.1 ** k for k in range(n_drops + 1)]
    return keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)


def keras_harmonic(n, scale=0.001):
    # scale / (floor(t/N) + 10) = (scale/10) / (1 + 0.1 floor(t/N))
    return keras.optimizers.schedules.InverseTimeDecay(scale / 10, decay_steps=n, decay_rate=0.1, staircase=True)


# ------------------------------------------------------------------ update rules

class _Rule(NumpyOptimiser):
    """Hyperparameters from ``DEFAULTS`` (Keras's), overridable by position or name."""

    DEFAULTS = {"learning_rate": 0.01}

    def __init__(self, *args, **kwargs):
        settings = dict(self.DEFAULTS)
        settings.update(zip(self.DEFAULTS, args))
        settings.update(kwargs)
        NumpyOptimiser.__init__(self, settings.pop("learning_rate"))
        for key, value in settings.items():
            setattr(self, key, value)


class SGD(_Rule):
    def update_step(self, g, w, rate):
        return w - rate * g


class Momentum(_Rule):
    DEFAULTS = {"learning_rate": 0.01, "momentum": 0.9}

    def build(self, w):
        self.velocity = 0.0 * w

    def update_step(self, g, w, rate):
        self.velocity = self.momentum * self.velocity - rate * g
        return w + self.velocity


class Nesterov(Momentum):
    def update_step(self, g, w, rate):
        self.velocity = self.momentum * self.velocity - rate * g
        return w + self.momentum * self.velocity - rate * g


def nesterov_lookahead_trajectory(gradient_fn, start, learning_rate, momentum, steps):
    """The lecture's form: gradient at w + mu v. Returns (w path, v path), each (steps+1, d)."""
    w = np.array(start, dtype=np.float64)
    v = np.zeros_like(w)
    ws, vs = [w], [v]
    for _ in range(steps):
        v = momentum * v - learning_rate * gradient_fn(w + momentum * v)
        w = w + v
        ws.append(w)
        vs.append(v)
    return np.stack(ws), np.stack(vs)


class Adagrad(_Rule):
    DEFAULTS = {"learning_rate": 0.001, "initial_accumulator_value": 0.1, "epsilon": 1e-7}

    def build(self, w):
        self.accumulator = np.full(np.shape(w), float(self.initial_accumulator_value))

    def update_step(self, g, w, rate):
        self.accumulator = self.accumulator + g ** 2
        return w - rate * g / np.sqrt(self.accumulator + self.epsilon)


class RMSprop(_Rule):
    DEFAULTS = {"learning_rate": 0.001, "rho": 0.9, "epsilon": 1e-7, "centered": False}

    def build(self, w):
        self.velocity = 0.0 * w
        self.average_gradient = 0.0 * w

    def update_step(self, g, w, rate):
        self.velocity = self.rho * self.velocity + (1 - self.rho) * g ** 2
        second_moment = self.velocity
        if self.centered:
            self.average_gradient = self.rho * self.average_gradient + (1 - self.rho) * g
            second_moment = second_moment - self.average_gradient ** 2
        return w - rate * g / np.sqrt(second_moment + self.epsilon)


class Adadelta(_Rule):
    DEFAULTS = {"learning_rate": 0.001, "rho": 0.95, "epsilon": 1e-7}

    def build(self, w):
        self.accumulated_gradient = 0.0 * w
        self.accumulated_delta = 0.0 * w

    def update_step(self, g, w, rate):
        rho, eps = self.rho, self.epsilon
        self.accumulated_gradient = rho * self.accumulated_gradient + (1 - rho) * g ** 2
        step = -np.sqrt(self.accumulated_delta + eps) / np.sqrt(self.accumulated_gradient + eps) * g
        self.accumulated_delta = rho * self.accumulated_delta + (1 - rho) * step ** 2
        return w + rate * step


class Adam(_Rule):
    DEFAULTS = {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}

    def build(self, w):
        self.m = 0.0 * w
        self.v = 0.0 * w

    def update_step(self, g, w, rate):
        t = self.iterations + 1
        self.m = self.beta_1 * self.m + (1 - self.beta_1) * g
        self.v = self.beta_2 * self.v + (1 - self.beta_2) * g ** 2
        corrected_rate = rate * np.sqrt(1 - self.beta_2 ** t) / (1 - self.beta_1 ** t)
        return w - corrected_rate * self.m / (np.sqrt(self.v) + self.epsilon)


# ------------------------------------------------------------------ test functions

def beale(x, y):
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y ** 2) ** 2 + (2.625 - x + x * y ** 3) ** 2


def beale_gradient(w):
    x, y = w[0], w[1]
    a, b, c = 1.5 - x + x * y, 2.25 - x + x * y ** 2, 2.625 - x + x * y ** 3
    return np.array([2 * a * (y - 1) + 2 * b * (y ** 2 - 1) + 2 * c * (y ** 3 - 1),
                     2 * a * x + 2 * b * 2 * x * y + 2 * c * 3 * x * y ** 2])


def saddle(x, y):
    return x ** 2 - y ** 2


def saddle_gradient(w):
    return np.array([2 * w[0], -2 * w[1]])


# ------------------------------------------------------------------ mini-batches

def minibatches(n_samples, batch_size, generator):
    order = generator.permutation(n_samples)
    return [order[start:start + batch_size] for start in range(0, n_samples, batch_size)]


def least_squares_gradient(w, x, y):
    return x.T @ (x @ w - y) / len(y)


def escape_step(path, threshold=1.0):
    hits = np.flatnonzero(np.abs(np.asarray(path)[:, 1]) >= threshold)
    return int(hits[0]) if hits.size else None


def steps_to_reach(path, target, tolerance):
    distance = np.sqrt(np.sum((np.asarray(path) - np.asarray(target)) ** 2, axis=1))
    hits = np.flatnonzero(distance < tolerance)
    return int(hits[0]) if hits.size else None


def _settings(table):
    return {name: (lambda cls=cls, args=args: cls(*args)) for name, (cls, args) in table.items()}


BEALE_SETTINGS = _settings({
    "SGD": (SGD, [0.01]), "Momentum": (Momentum, [0.001, 0.9]), "Nesterov": (Nesterov, [0.001, 0.9]),
    "Adagrad": (Adagrad, [0.3]), "RMSprop": (RMSprop, [0.01]), "Adadelta": (Adadelta, [1.0]), "Adam": (Adam, [0.03]),
})
SADDLE_SETTINGS = _settings({
    "SGD": (SGD, [0.01]), "Momentum": (Momentum, [0.01, 0.9]), "Nesterov": (Nesterov, [0.01, 0.9]),
    "Adagrad": (Adagrad, [0.1]), "RMSprop": (RMSprop, [0.01]), "Adadelta": (Adadelta, [1.0]), "Adam": (Adam, [0.01]),
})
SADDLE_ESCAPES = ["Adadelta", "Adagrad", "Adam", "Momentum", "Nesterov", "RMSprop"]


# ------------------------------------------------------------------ the training run

OPTIMISER_NAMES = ["SGD", "SGD piecewise", "SGD harmonic", "Momentum", "Nesterov",
                   "Adagrad", "RMSprop", "Adadelta", "Adam"]
MAX_TRAIN = 6000


def make_keras_optimisers(steps_per_epoch):
    k = keras.optimizers
    made = [
        k.SGD(0.1),
        k.SGD(keras_piecewise_constant(0.1, 2 * steps_per_epoch, 2)),
        k.SGD(keras_harmonic(steps_per_epoch, 1.0)),
        k.SGD(0.01, momentum=0.9),
        k.SGD(0.01, momentum=0.9, nesterov=True),
        k.Adagrad(0.01),
        k.RMSprop(),
        k.Adadelta(1.0),
        k.Adam(),
    ]
    return dict(zip(OPTIMISER_NAMES, made))


def build_classifier():
    layers = keras.layers
    return keras.Sequential([keras.Input(shape=(28, 28, 1)), layers.Flatten(),
                             layers.Dense(128, activation="relu"), layers.Dense(10, activation="softmax")])


def train(dataset, budget, seed, name="Adam"):
    """The lab's training run for one optimiser (Adam by default); returns the model."""
    from coursekit.lab import set_determinism

    images = np.asarray(dataset.x_train[:MAX_TRAIN], dtype="float32") / 255.0
    n_fit = int(len(images) * 0.9)  # as the notebook: the last tenth is the validation split
    images, labels = images[:n_fit], dataset.y_train[:n_fit]
    optimizer = make_keras_optimisers(-(-len(labels) // BATCH_SIZE))[name]
    set_determinism(seed)  # as the notebook: reseed right before building each model
    model = build_classifier()
    model.compile(optimizer=optimizer,
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(images[..., None], labels, batch_size=BATCH_SIZE, epochs=budget.epochs(EPOCHS), verbose=0)
    return model
