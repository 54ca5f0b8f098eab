"""Lab 05 (optimisers): the reference reproduces keras.optimizers, typical wrong answers
fail the notebook's visible checks with a useful message, the hidden checks (the
declarations in solutions/05-optimisers/exercises.py) accept other correct formulations
and reject wrong ones, and the kit's optimiser frame and contour plot
work."""

import json

import keras
import matplotlib
import numpy as np
import pytest

from autograder.check import check
from autograder.exercise import Failure
from autograder.labs import exercises as exercises_of
from autograder.labs import module as _lab_module
from autograder.labs import reference as _lab_reference

LAB = "05-optimisers"
reference = _lab_reference(LAB)
exercises = _lab_module(LAB, "exercises")
from coursekit import plots
from coursekit.checks import CheckFailed
from coursekit.optimisers import NumpyOptimiser, keras_trajectory, numpy_trajectory, schedule_values
from solution_text import REPO

matplotlib.use("Agg")


# ------------------------------------------------------------------ the reference is Keras

KERAS_PAIRS = [
    (reference.SGD, keras.optimizers.SGD, {"learning_rate": 0.2}),
    (reference.Momentum, keras.optimizers.SGD, {"learning_rate": 0.02, "momentum": 0.99}),
    (reference.Nesterov, keras.optimizers.SGD, {"learning_rate": 0.05, "momentum": 0.5, "nesterov": True}),
    (reference.Adagrad, keras.optimizers.Adagrad, {"learning_rate": 0.2, "initial_accumulator_value": 1.0, "epsilon": 0.5}),
    (reference.Adagrad, keras.optimizers.Adagrad, {}),
    (reference.RMSprop, keras.optimizers.RMSprop, {"learning_rate": 0.003, "rho": 0.7, "epsilon": 0.3}),
    (reference.RMSprop, keras.optimizers.RMSprop, {"learning_rate": 0.002, "rho": 0.8, "epsilon": 0.01, "centered": True}),
    (reference.Adadelta, keras.optimizers.Adadelta, {"learning_rate": 1.0}),
    (reference.Adadelta, keras.optimizers.Adadelta, {"learning_rate": 0.3, "rho": 0.5, "epsilon": 1e-2}),
    (reference.Adam, keras.optimizers.Adam, {}),
    (reference.Adam, keras.optimizers.Adam, {"learning_rate": 0.005, "beta_1": 0.5, "beta_2": 0.9, "epsilon": 0.5}),
]


@pytest.mark.parametrize("numpy_class, keras_class, kwargs", KERAS_PAIRS,
                         ids=lambda value: getattr(value, "__name__", None) if isinstance(value, type) else None)
def test_reference_reproduces_keras_on_the_hidden_problem(numpy_class, keras_class, kwargs):
    gradient_fn, start = exercises.quadratic_5d()
    numpy_kwargs = {key: value for key, value in kwargs.items() if key != "nesterov"}
    found = numpy_trajectory(numpy_class(**numpy_kwargs), gradient_fn, start, 250)
    expected = keras_trajectory(keras_class(**kwargs), gradient_fn, start, 250)
    np.testing.assert_allclose(found, expected, **exercises.PATH_TOLERANCE)


def test_reference_schedules_are_keras_schedules():
    steps = np.arange(500)
    np.testing.assert_allclose(schedule_values(reference.keras_piecewise_constant(0.5, 37, 3), 500),
                               reference.piecewise_constant(np.minimum(steps, 111), 0.5, 37), rtol=1e-6)
    np.testing.assert_allclose(schedule_values(reference.keras_harmonic(13, 2.0), 500),
                               reference.harmonic(steps, 13, 2.0), rtol=1e-6)


def test_reference_keras_optimisers_describe_the_table():
    made = reference.make_keras_optimisers(10)
    assert list(made) == reference.OPTIMISER_NAMES
    assert exercises.describe_optimizer(made["SGD piecewise"], [0, 19, 20, 40])["rates"] == \
        pytest.approx([0.1, 0.1, 0.01, 0.001])


# ------------------------------------------------------------------ visible checks

@pytest.fixture(scope="module")
def lab05():
    (notebook,) = (REPO / "labs" / "05-optimisers").glob("*.ipynb")
    cells = json.loads(notebook.read_text())["cells"]
    source = {cell["metadata"]["nbgrader"]["grade_id"]: "".join(cell["source"]) for cell in cells}
    namespace = {}
    exec(source["cell-01"], namespace)  # imports, setup_lab
    exec(next(text for text in source.values() if "def check_path" in text), namespace)
    return source, namespace


def run_check(lab, test_id, wrong_answer, extra=None):
    source, base = lab
    namespace = dict(base, **(extra or {}))
    exec(REFERENCE_DEFINITIONS, namespace)  # right answers for everything else
    exec(wrong_answer, namespace)
    with pytest.raises(CheckFailed) as failure:
        exec(source[test_id], namespace)
    return str(failure.value)


REFERENCE_DEFINITIONS = """
from autograder.labs import reference as _load_reference
_reference = _load_reference("05-optimisers")
piecewise_constant, harmonic = _reference.piecewise_constant, _reference.harmonic
keras_piecewise_constant, keras_harmonic = _reference.keras_piecewise_constant, _reference.keras_harmonic
minibatches, least_squares_gradient = _reference.minibatches, _reference.least_squares_gradient
beale, beale_gradient = _reference.beale, _reference.beale_gradient
saddle, saddle_gradient = _reference.saddle, _reference.saddle_gradient
steps_to_reach, escape_step = _reference.steps_to_reach, _reference.escape_step
"""

ADAGRAD = """
class Adagrad(NumpyOptimiser):
    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7):
        super().__init__(learning_rate)
        self.initial_accumulator_value, self.epsilon = initial_accumulator_value, epsilon
    def build(self, w):
        self.accumulator = np.full_like(w, INITIAL)
    def update_step(self, gradient, w, learning_rate):
        self.accumulator = self.accumulator + gradient ** 2
        return w - STEP
"""
RMSPROP = """
class RMSprop(NumpyOptimiser):
    def __init__(self, learning_rate=0.001, rho=0.9, epsilon=1e-7, centered=False):
        super().__init__(learning_rate)
        self.rho, self.epsilon, self.centered = rho, epsilon, centered
    def build(self, w):
        self.velocity, self.average_gradient = np.zeros_like(w), np.zeros_like(w)
    def update_step(self, gradient, w, learning_rate):
        old = self.velocity
        self.velocity = self.rho * self.velocity + (1 - self.rho) * gradient ** 2
        return w - learning_rate * gradient / np.sqrt(VELOCITY + self.epsilon)
"""
ADADELTA = """
class Adadelta(NumpyOptimiser):
    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7):
        super().__init__(learning_rate)
        self.rho, self.epsilon = rho, epsilon
    def build(self, w):
        self.accumulated_gradient, self.accumulated_delta = np.zeros_like(w), np.zeros_like(w)
    def update_step(self, gradient, w, learning_rate):
        rho, eps = self.rho, self.epsilon
        self.accumulated_gradient = rho * self.accumulated_gradient + (1 - rho) * gradient ** 2
        delta = -np.sqrt(self.accumulated_delta + eps) / np.sqrt(self.accumulated_gradient + eps) * gradient
        self.accumulated_delta = rho * self.accumulated_delta + (1 - rho) * delta ** 2
        return w + SCALE * delta
"""
ADAM = """
class Adam(NumpyOptimiser):
    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        super().__init__(learning_rate)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
    def build(self, w):
        self.m, self.v = np.zeros_like(w), np.zeros_like(w)
    def update_step(self, gradient, w, learning_rate):
        t = self.iterations + 1
        self.m = self.beta_1 * self.m + (1 - self.beta_1) * gradient
        self.v = self.beta_2 * self.v + (1 - self.beta_2) * gradient ** 2
        m_hat, v_hat = self.m / (1 - self.beta_1 ** t), self.v / (1 - self.beta_2 ** t)
        return w - STEP
"""
MOMENTUM = """
class Momentum(NumpyOptimiser):
    def __init__(self, learning_rate=0.01, momentum=0.9):
        super().__init__(learning_rate)
        self.momentum = momentum
    def build(self, w):
        self.velocity = np.zeros_like(w)
    def update_step(self, gradient, w, learning_rate):
        self.velocity = self.momentum * self.velocity + gradient   # PyTorch's buffer
        return w - learning_rate * self.velocity
"""
NESTEROV_AS_MOMENTUM = MOMENTUM.replace("class Momentum", "class Nesterov")


@pytest.mark.parametrize("test_id, wrong, expected", [
    ("adagrad", ADAGRAD.replace("INITIAL", "0.0").replace("STEP", "learning_rate * gradient / np.sqrt(self.accumulator + self.epsilon)"),
     "Adagrad() vs Keras, path (step, coordinate) over 100 steps: at index (1, 0) expected"),
    ("adagrad", ADAGRAD.replace("INITIAL", "self.initial_accumulator_value").replace(
        "STEP", "learning_rate * gradient / (np.sqrt(self.accumulator) + self.epsilon)"),
     "Adagrad(0.1, epsilon=1.0) vs Keras, path (step, coordinate) over 100 steps: at index (1, 0) expected"),
    ("rmsprop", RMSPROP.replace("VELOCITY", "old"), "RMSprop() vs Keras, path (step, coordinate) over 100 steps: at index (1, 0) expected"),
    ("adadelta", ADADELTA.replace("SCALE", "1.0"), "Adadelta() vs Keras, path (step, coordinate) over 100 steps: at index (1, 0) expected"),
    ("adam", ADAM.replace("STEP", "learning_rate * m_hat / (np.sqrt(v_hat) + self.epsilon)"),
     "Adam(0.01, beta_1=0.8, beta_2=0.99, epsilon=1.0) vs Keras, path (step, coordinate) over 100 steps: at index (1, 0)"),
    ("adam", ADAM.replace("STEP", "learning_rate * self.m / (np.sqrt(self.v) + self.epsilon)"),
     "Adam() vs Keras, path (step, coordinate) over 100 steps: at index (1, 0) expected 0.000999992, found 0.00316227"),
    # PyTorch's convention: the same path at a constant rate, a different one once the rate drops
    ("momentum", MOMENTUM, "Momentum(piecewise_constant, 0.05 ÷10 every 30 steps, momentum=0.8) -- Keras's convention, "
                           "not PyTorch's vs Keras, path (step, coordinate) over 100 steps: at index (31, 0) expected"),
    ("nesterov", NESTEROV_AS_MOMENTUM, "Nesterov() vs Keras, path (step, coordinate) over 100 steps: at index (1, 0) expected"),
    ("schedules", "def keras_piecewise_constant(initial, steps_per_drop, n_drops):\n"
                  "    return keras.optimizers.schedules.PiecewiseConstantDecay([steps_per_drop * k for k in range(1, n_drops + 1)],"
                  " [initial * 0.1 ** k for k in range(n_drops + 1)])",
     "keras_piecewise_constant(0.1, 100, 2) vs your piecewise_constant, t = 0..299: at index (100,) expected 0.01, found 0.1"),
    ("schedules", "def keras_harmonic(n, scale=0.001):\n"
                  "    return keras.optimizers.schedules.InverseTimeDecay(scale / 10, n, 0.1)",
     "keras_harmonic(50) vs your harmonic, t = 0..299: at index (1,) expected 0.0001, found 9.98004e-05"),
    ("minibatches", "def minibatches(n, b, generator):\n    return [np.arange(n)[s:s + b] for s in range(0, n, b)]",
     "minibatches(10, 4, default_rng(0)), joined: at index (0,) expected"),
    ("minibatches", "def least_squares_gradient(w, x, y):\n    return x.T @ (x @ w - y)",
     "least_squares_gradient: at index (0,) expected"),
    ("test_functions", "def beale_gradient(w):\n    return -_reference.beale_gradient(w)", "beale_gradient([1.0, 1.0]): at index (1,) expected 27.75, found -27.75"),
    ("beale_paths", "def steps_to_reach(path, target, tolerance):\n    return _reference.steps_to_reach(path, target, tolerance) + 1",
     "steps_to_reach on a toy path: expected 2, found 3"),
    ("saddle", "def escape_step(path, threshold=1.0):\n    hits = np.flatnonzero(path[:, 1] >= threshold)\n"
               "    return int(hits[0]) if len(hits) else None",
     "escape_step on a toy path: expected 2, found 3"),
])
def test_wrong_answers_fail_with_a_useful_message(lab05, test_id, wrong, expected):
    message = run_check(lab05, test_id, wrong)
    assert expected in message, message


def test_a_slow_optimiser_fails_the_beale_check(lab05):
    extra = {"beale_paths": {"Adam": numpy_trajectory(reference.Adam(0.001), reference.beale_gradient, (1.0, 1.0), 2000)},
             "BEALE_START": (1.0, 1.0), "BEALE_MINIMUM": (3.0, 0.5), "BEALE_STEPS": 2000, "BEALE_TOLERANCE": 0.05}
    message = run_check(lab05, "beale_paths", "", extra)
    assert "Adam: steps to get within 0.05 of (3, 0.5) from (1.0, 1.0) is None, expected at most 2000" in message


def test_keras_default_adadelta_is_caught(lab05):
    wrong = ("def make_keras_optimisers(steps_per_epoch):\n"
             "    made = _reference.make_keras_optimisers(steps_per_epoch)\n"
             "    made['Adadelta'] = keras.optimizers.Adadelta()\n    return made\n")
    message = run_check(lab05, "keras_optimisers", wrong)
    assert "Adadelta learning rate: at index () expected 1, found 0.001" in message


# ------------------------------------------------------------------ hidden checks

KERAS_STYLE = """
class Adam(NumpyOptimiser):  # transcribed from keras/src/optimizers/adam.py
    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        super().__init__(learning_rate)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
    def build(self, w):
        self.m, self.v = np.zeros_like(w), np.zeros_like(w)
    def update_step(self, gradient, w, learning_rate):
        local_step = self.iterations + 1
        alpha = learning_rate * np.sqrt(1 - np.power(self.beta_2, local_step)) / (1 - np.power(self.beta_1, local_step))
        self.m += (gradient - self.m) * (1 - self.beta_1)
        self.v += (np.square(gradient) - self.v) * (1 - self.beta_2)
        return w - self.m * alpha / (np.sqrt(self.v) + self.epsilon)

class RMSprop(NumpyOptimiser):  # transcribed from keras/src/optimizers/rmsprop.py
    def __init__(self, learning_rate=0.001, rho=0.9, epsilon=1e-7, centered=False):
        super().__init__(learning_rate)
        self.rho, self.epsilon, self.centered = rho, epsilon, centered
    def build(self, w):
        self.velocity, self.average_gradient = np.zeros_like(w), np.zeros_like(w)
    def update_step(self, gradient, w, learning_rate):
        self.velocity = self.rho * self.velocity + (1 - self.rho) * np.square(gradient)
        if self.centered:
            self.average_gradient = self.rho * self.average_gradient + (1 - self.rho) * gradient
            denominator = self.velocity - np.square(self.average_gradient) + self.epsilon
        else:
            denominator = self.velocity + self.epsilon
        return w - learning_rate * gradient / np.sqrt(denominator)
"""


def test_hidden_checks_accept_a_transcription_of_keras():
    namespace = {"np": np, "NumpyOptimiser": NumpyOptimiser}
    exec(KERAS_STYLE, namespace)
    check(LAB, "adam", {"Adam": namespace["Adam"]})
    check(LAB, "rmsprop", {"RMSprop": namespace["RMSprop"]})


def test_hidden_checks_reject_algorithm_1_epsilon():
    namespace = {"np": np, "NumpyOptimiser": NumpyOptimiser}
    exec(ADAM.replace("STEP", "learning_rate * m_hat / (np.sqrt(v_hat) + self.epsilon)"), namespace)
    with pytest.raises(Failure, match=r"Adam\(learning_rate=0.005, beta_1=0.5, beta_2=0.9, epsilon=0.5\)"):
        check(LAB, "adam", {"Adam": namespace["Adam"]})


def reference_namespace():
    """The notebook's names as the reference defines them, with its Beale and saddle paths."""
    namespace = {name: getattr(reference, name) for name in dir(reference) if not name.startswith("_")}
    namespace["beale_paths"] = {name: numpy_trajectory(make(), reference.beale_gradient, (1.0, 1.0), 2000)
                                for name, make in reference.BEALE_SETTINGS.items()}
    namespace["saddle_paths"] = {name: numpy_trajectory(make(), reference.saddle_gradient, (1.0, 1e-3), 200)
                                 for name, make in reference.SADDLE_SETTINGS.items()}
    return namespace


def test_hidden_checks_pass_the_reference():
    namespace = reference_namespace()
    for grade_id in exercises_of(LAB):
        if grade_id != "training":  # needs the trained models: tests/test_graders_agree.py
            check(LAB, grade_id, namespace)


def test_hidden_lookahead_check_compares_with_what_keras_does():
    """The reference's lecture-form Nesterov visits Keras's variable on the hidden problems too."""
    for gradient_fn, start in exercises.hidden_problems().values():
        for learning_rate, momentum in exercises.nesterov_lookahead.inputs()["settings"]:
            w_path, v_path = reference.nesterov_lookahead_trajectory(gradient_fn, start, learning_rate, momentum, 150)
            np.testing.assert_allclose(w_path + momentum * v_path,
                                       numpy_trajectory(reference.Nesterov(learning_rate, momentum), gradient_fn,
                                                        start, 150), **exercises.PATH_TOLERANCE)


OPTIMISER_CLASSES = {name: getattr(reference, name)
                     for name in ("SGD", "Momentum", "Nesterov", "Adagrad", "RMSprop", "Adadelta", "Adam")}
SLOW_ADAM = type("Adam", (reference.Adam,), {
    "update_step": lambda self, g, w, rate: reference.Adam.update_step(self, g, w, rate * 0.001)})


@pytest.mark.parametrize("grade_id, names, expected", [
    ("momentum", {"Momentum": type("Momentum", (reference.Momentum,), {
        "build": lambda self, w: setattr(self, "speed", 0.0 * w) or setattr(self, "velocity", 0.0 * w)})},
     None),
    ("adam", {"Adam": reference.Adam(0.001)}, "Adam should be a class (a subclass of NumpyOptimiser), found Adam"),
    ("rmsprop", {"RMSprop": type("RMSprop", (reference.RMSprop,), {  # ignores centered=True
        "update_step": lambda self, g, w, rate: (setattr(self, "centered", False),
                                                 reference.RMSprop.update_step(self, g, w, rate))[1]})},
     "RMSprop(learning_rate=0.002, rho=0.8, epsilon=0.01, centered=True) on a 5-D quadratic, path"),
    ("adadelta", {"Adadelta": type("Adadelta", (reference.Adadelta,), {"build": lambda self, w: None})},
     "Adadelta() on a 5-D quadratic, path (step, coordinate): your code raised AttributeError"),
    ("momentum", {"Momentum": type("Momentum", (reference.Momentum,), {
        "build": lambda self, w: setattr(self, "v", 0.0 * w),
        "update_step": lambda self, g, w, rate: (setattr(self, "v", self.momentum * self.v - rate * g), w + self.v)[1]})},
     "Momentum: keep the state in self.velocity, as the task says"),
    ("saddle", {"escape_step": lambda path, threshold=1.0: reference.escape_step(np.abs(path) * 0, threshold),
                **OPTIMISER_CLASSES}, "escape_step(path, 1.0) on a random walk: expected"),
    # the paths come from the grader's own starts, run with the student's classes: a slow Adam is caught
    ("beale_paths", {"steps_to_reach": reference.steps_to_reach, **OPTIMISER_CLASSES, "Adam": SLOW_ADAM},
     "Adam(0.03) from the grader's start (1.5, 1.0): never gets within 0.05 of (3, 0.5) in 2000 steps"),
    ("saddle", {"escape_step": reference.escape_step, **OPTIMISER_CLASSES, "Adam": SLOW_ADAM},
     "Adam(0.01) from the grader's start (-1.0, 0.002): expected it to escape (|y| >= 1) within 200 steps; it did not"),
    ("saddle", {"escape_step": reference.escape_step, **OPTIMISER_CLASSES, "SGD": reference.Adam},
     "SGD(0.01) from the grader's start (-1.0, 0.002): expected it not to escape (|y| >= 1) within 200 steps; it did"),
    ("minibatches", {"minibatches": lambda n, b, generator: [np.arange(n)[s:s + b] for s in range(0, n, b)],
                     "least_squares_gradient": reference.least_squares_gradient},
     "minibatches(103, 10, default_rng(103)), joined: at index (0,) expected"),
    ("gradient_noise", {"minibatches": reference.minibatches,
                        "least_squares_gradient": lambda w, x, y: x.T @ (x @ w - y)},
     "is least_squares_gradient a mean over the batch"),
    ("schedules", {"piecewise_constant": reference.piecewise_constant, "harmonic": reference.harmonic,
                   "keras_piecewise_constant": reference.keras_piecewise_constant,
                   "keras_harmonic": lambda n, scale=0.001: keras.optimizers.schedules.InverseTimeDecay(scale / 10, n, 0.1)},
     "keras_harmonic(13, scale=2.0), t = 0..399: at index (1,) expected"),
])
def test_hidden_checks_reject_wrong_answers(grade_id, names, expected):
    """Each declaration fails a typical wrong answer, saying where in the student's terms."""
    if expected is None:  # an extra attribute is fine: the state is read by name
        check(LAB, grade_id, names)
        return
    with pytest.raises(Failure) as failure:
        check(LAB, grade_id, names)
    assert expected in str(failure.value), str(failure.value)


def test_hidden_keras_optimisers_check_catches_an_off_by_one_boundary():
    def shifted(steps_per_epoch):
        made = reference.make_keras_optimisers(steps_per_epoch)
        made["SGD piecewise"] = keras.optimizers.SGD(keras.optimizers.schedules.PiecewiseConstantDecay(
            [2 * steps_per_epoch, 4 * steps_per_epoch], [0.1, 0.01, 0.001]))
        return made
    with pytest.raises(Failure, match="SGD piecewise: learning rate at steps"):
        check(LAB, "keras_optimisers", {"make_keras_optimisers": shifted})


# ------------------------------------------------------------------ the kit

class Recorder(NumpyOptimiser):
    """Records what the frame passes to build and update_step."""

    def build(self, w):
        self.builds = getattr(self, "builds", 0) + 1

    def update_step(self, gradient, w, learning_rate):
        self.rates = getattr(self, "rates", []) + [learning_rate]
        return w - gradient


def test_frame_builds_once_counts_steps_and_evaluates_the_schedule_at_iterations():
    optimiser = Recorder(lambda t: 10.0 + t)
    path = numpy_trajectory(optimiser, lambda w: np.ones_like(w), np.zeros((2, 2)), 3)
    assert path.shape == (4, 2, 2) and optimiser.builds == 1 and optimiser.iterations == 3
    assert optimiser.rates == [10.0, 11.0, 12.0]
    np.testing.assert_allclose(path[-1], -3.0)


def test_frame_refuses_a_wrong_gradient_shape_and_a_missing_return():
    with pytest.raises(ValueError, match=r"gradient shape \(3,\) differs from the variable's \(2,\)"):
        Recorder(0.1).apply(np.ones(3), np.zeros(2))

    class Forgetful(NumpyOptimiser):
        def update_step(self, gradient, w, learning_rate):
            w - learning_rate * gradient

    with pytest.raises(ValueError, match="Forgetful.update_step returned None"):
        Forgetful(0.1).apply(np.ones(2), np.zeros(2))


def test_schedule_values_handles_scalar_only_schedules():
    np.testing.assert_allclose(schedule_values(lambda t: 0.5 if t < 2 else 0.1, 4), [0.5, 0.5, 0.1, 0.1])
    np.testing.assert_allclose(schedule_values(keras.optimizers.schedules.InverseTimeDecay(1.0, 2, 1.0, staircase=True), 4),
                               [1.0, 1.0, 0.5, 0.5])


def test_contour_paths_draws_every_path():
    paths = {"a": np.array([[0.0, 0.0], [1.0, 1.0]]), "b": np.array([[1.0, 0.0], [0.5, 0.2]])}
    figure = plots.contour_paths(reference.beale, paths, (-1, 4), (-1, 2), "test", minimum=(3, 0.5), log_levels=True)
    labels = [line.get_label() for line in figure.axes[0].get_lines()]
    assert {"a", "b", "minimum"} <= set(labels)
    matplotlib.pyplot.close(figure)


# ------------------------------------------------------------------ what the lab states about Keras

def test_adam_algorithm_1_with_scaled_epsilon_is_keras_adam():
    """The lab: Keras's epsilon-hat form equals Algorithm 1 with epsilon = epsilon_hat / sqrt(1 - beta_2^t)."""
    class Algorithm1(reference.Adam):
        def update_step(self, g, w, rate):
            t = self.iterations + 1
            self.m = self.beta_1 * self.m + (1 - self.beta_1) * g
            self.v = self.beta_2 * self.v + (1 - self.beta_2) * g ** 2
            m_hat, v_hat = self.m / (1 - self.beta_1 ** t), self.v / (1 - self.beta_2 ** t)
            return w - rate * m_hat / (np.sqrt(v_hat) + self.epsilon / np.sqrt(1 - self.beta_2 ** t))

    gradient_fn, start = exercises.quadratic_5d()
    kwargs = {"learning_rate": 0.01, "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1.0}
    np.testing.assert_allclose(numpy_trajectory(Algorithm1(**kwargs), gradient_fn, start, 100),
                               keras_trajectory(keras.optimizers.Adam(**kwargs), gradient_fn, start, 100),
                               **exercises.PATH_TOLERANCE)


def test_keras_casts_hyperparameters_through_float32():
    assert float(keras.ops.cast(0.9, "float64")) == pytest.approx(0.8999999761581421, abs=1e-16)


def test_lecture_nesterov_visits_the_keras_variable():
    gradient_fn, start = exercises.quadratic_5d()
    w_path, v_path = reference.nesterov_lookahead_trajectory(gradient_fn, start, 0.03, 0.9, 200)
    np.testing.assert_allclose(w_path + 0.9 * v_path,
                               keras_trajectory(keras.optimizers.SGD(0.03, momentum=0.9, nesterov=True),
                                                gradient_fn, start, 200), **exercises.PATH_TOLERANCE)
