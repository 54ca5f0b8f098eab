"""Lab 05's graded exercises, one declaration per nbgrader grade_id (see autograder/exercise.py).

The student's NumPy optimisers are run in the sandbox on problems and hyperparameters the
notebook does not show (a 5-D quadratic, a (3, 2)-shaped variable, softmax regression on
random data, large epsilons that expose where epsilon sits); ``call`` returns their paths
and final state, and the judges compare them with the reference optimisers (which
tests/test_lab05.py checks against keras.optimizers).
"""

import contextlib
import io

import numpy as np

from autograder.exercise import Exercise, Failure, probe_helper
from autograder.judges import classifier_report, field, grader_data, same_array, same_value
from coursekit.optimisers import numpy_trajectory, schedule_values
from coursekit.probe import describe_error

from . import LAB_ID, reference

PATH_TOLERANCE = {"atol": 1e-6, "rtol": 1e-4}  # as the visible checks: Keras's float32 hyperparameters


# ------------------------------------------------------------------ the grader's problems (sandbox side)

@probe_helper
def quadratic_5d():
    """(gradient function, start) of an ill-conditioned 5-D quadratic the notebook never shows."""
    generator = np.random.default_rng(1050)
    basis = np.linalg.qr(generator.normal(size=(5, 5)))[0]
    matrix = basis @ np.diag([4.0, 2.0, 1.0, 0.5, 0.1]) @ basis.T
    minimum = generator.normal(size=5) * 2
    return (lambda w: matrix @ (w - minimum)), generator.normal(size=5)


@probe_helper
def matrix_problem():
    """(gradient function, start) of a non-quadratic problem on a (3, 2)-shaped variable."""
    generator = np.random.default_rng(1051)
    scales = generator.uniform(0.2, 3.0, size=(3, 2))
    target = generator.normal(size=(3, 2))
    return (lambda w: scales * (w - target) + 0.1 * np.sin(w)), generator.normal(size=(3, 2))


@probe_helper
def hidden_problems():
    """{problem name: (gradient function, start)}: every optimiser's path is checked on each."""
    return {"a 5-D quadratic": quadratic_5d(), "a (3, 2)-shaped variable": matrix_problem()}


@probe_helper
def softmax_regression_problem():
    """(gradient function, start) of softmax regression on random 'images': 64 samples, 50 features, 4 classes."""
    generator = np.random.default_rng(1054)
    features = np.concatenate([generator.random((64, 50)), np.ones((64, 1))], axis=1)
    labels = np.eye(4)[generator.integers(0, 4, 64)]

    def gradient_fn(flat_weights):
        logits = features @ flat_weights.reshape(51, 4)
        probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        return (features.T @ (probabilities - labels)).ravel() / len(labels)

    return gradient_fn, generator.normal(scale=0.1, size=51 * 4)


@probe_helper
def random_walks():
    """Six 40-step random walks in the plane, starting near (2.5, 0): paths for the path-reading functions."""
    generator = np.random.default_rng(1056)
    return [np.cumsum(generator.normal(scale=0.3, size=(40, 2)), axis=0) + [2.5, 0.0] for _ in range(6)]


@probe_helper
def optimiser_arguments(settings):
    """One setting's keyword arguments, a learning rate written ["piecewise_constant", initial,
    steps_per_drop] or ["harmonic", n, scale] turned into the grader's own schedule t -> rate."""
    arguments = dict(settings)
    rate = arguments.get("learning_rate")
    if isinstance(rate, (list, tuple)):
        kind, first, second = rate
        if kind == "piecewise_constant":
            arguments["learning_rate"] = lambda t: first * 0.1 ** np.floor_divide(t, second)
        else:
            arguments["learning_rate"] = lambda t: second / (np.floor_divide(t, first) + 10)
    return arguments


@probe_helper
def optimiser_trace(optimiser_class, inputs):
    """Run the student's optimiser class from every setting on every hidden problem.

    Returns:
        {"paths": [path (steps + 1, *shape) or "raised ..." per (problem, setting)],
         "state": {attribute: value} after inputs["state"]'s run, when asked for}, or
        {"not_a_class": type name} when the answer is not a class.
    """
    if not isinstance(optimiser_class, type):
        return {"not_a_class": type(optimiser_class).__name__}
    paths = []
    for gradient_fn, start in hidden_problems().values():
        for settings in inputs["settings"]:
            try:
                optimiser = optimiser_class(**optimiser_arguments(settings))
                paths.append(numpy_trajectory(optimiser, gradient_fn, start, inputs["steps"]))
            except Exception as error:  # the judge says which setting broke
                paths.append(f"raised {describe_error(error)}")
    trace = {"paths": paths}
    if "state" in inputs:
        gradient_fn, start = quadratic_5d()
        try:
            optimiser = optimiser_class(**inputs["state"]["settings"])
            numpy_trajectory(optimiser, gradient_fn, start, inputs["state"]["steps"])
            trace["state"] = {attribute: np.asarray(getattr(optimiser, attribute))
                              for attribute in inputs["state"]["attributes"] if hasattr(optimiser, attribute)}
        except Exception as error:
            trace["state"] = f"raised {describe_error(error)}"
    return trace


@probe_helper
def describe_optimizer(optimizer, steps):
    """A Keras optimiser as plain data: its class, its learning rate at ``steps``, its other settings."""
    config = optimizer.get_config()
    rates = []
    for step in steps:
        optimizer.iterations.assign(step)
        rates.append(float(optimizer.learning_rate))
    optimizer.iterations.assign(0)
    keys = ("momentum", "nesterov", "rho", "epsilon", "centered", "beta_1", "beta_2",
            "initial_accumulator_value", "amsgrad")
    return {"class": type(optimizer).__name__, "rates": rates,
            "settings": {key: config.get(key) for key in keys if key in config}}


# ------------------------------------------------------------------ the judges' helpers (grader side)

def quietly(compare, *arguments, **keywords):
    """Run a ``same_*`` comparison without its "OK" line: these judges compare hundreds of arrays."""
    with contextlib.redirect_stdout(io.StringIO()):
        compare(*arguments, **keywords)


def same_path(name, found, expected):
    """A path (steps + 1, ...) against the reference's, both flattened to (step, coordinate)."""
    if isinstance(found, str):
        raise Failure(f"{name}: your code {found}")
    expected = np.asarray(expected)
    expected = expected.reshape(len(expected), -1)
    if isinstance(found, np.ndarray) and found.ndim >= 1 and found.size == expected.size \
            and len(found) == len(expected):
        found = found.reshape(expected.shape)
    quietly(same_array, name, found, expected, **PATH_TOLERANCE)


def schedule_label(rate):
    if isinstance(rate, (list, tuple)):
        kind, first, second = rate
        return f"piecewise_constant(t, {first}, {second})" if kind == "piecewise_constant" \
            else f"harmonic(t, {first}, scale={second})"
    return repr(rate)


def setting_label(name, settings):
    """E.g. ``Adam(learning_rate=0.005, beta_1=0.5)``: how the student would write the call."""
    return f"{name}({', '.join(f'{key}={schedule_label(value)}' for key, value in settings.items())})"


def reference_arguments(settings):
    """One setting's keyword arguments for the reference, schedules from reference.py."""
    arguments = dict(settings)
    rate = arguments.get("learning_rate")
    if isinstance(rate, (list, tuple)):
        kind, first, second = rate
        arguments["learning_rate"] = (lambda t: reference.piecewise_constant(t, first, second)) \
            if kind == "piecewise_constant" else (lambda t: reference.harmonic(t, first, second))
    return arguments


def judge_optimiser(name, reference_class, outputs, inputs):
    """Every path of ``optimiser_trace`` (and the final state) against the reference class's."""
    if isinstance(outputs, dict) and "not_a_class" in outputs:
        raise Failure(f"{name} should be a class (a subclass of NumpyOptimiser), found {outputs['not_a_class']}")
    paths = field(outputs, "paths", f"the trace of {name}")
    cases = [(problem, settings) for problem in hidden_problems().items() for settings in inputs["settings"]]
    if not isinstance(paths, list) or len(paths) != len(cases):
        raise Failure(f"{name}: expected {len(cases)} paths from the grader's runs, found {paths!r:.80}")
    for ((problem_name, (gradient_fn, start)), settings), found in zip(cases, paths):
        expected = numpy_trajectory(reference_class(**reference_arguments(settings)), gradient_fn, start,
                                    inputs["steps"])
        same_path(f"{setting_label(name, settings)} on {problem_name}, path (step, coordinate)", found, expected)
    if "state" in inputs:
        state = field(outputs, "state", f"the trace of {name}")
        run = f"{setting_label(name, inputs['state']['settings'])} after {inputs['state']['steps']} steps"
        if isinstance(state, str):
            raise Failure(f"{run} on a 5-D quadratic: your code {state}")
        theirs = reference_class(**inputs["state"]["settings"])
        gradient_fn, start = quadratic_5d()
        numpy_trajectory(theirs, gradient_fn, start, inputs["state"]["steps"])
        for attribute in inputs["state"]["attributes"]:
            if attribute not in state:
                raise Failure(f"{name}: keep the state in self.{attribute}, as the task says")
            quietly(same_array, f"{name}.{attribute} of {run}", state[attribute], getattr(theirs, attribute),
                    **PATH_TOLERANCE)


# ------------------------------------------------------------------ 1. schedules and mini-batches

class schedules(Exercise):
    """The step-size schedules, in NumPy and as Keras objects, over 400 steps."""

    def inputs():
        return {"steps": 400}

    def call(inputs, piecewise_constant, harmonic, keras_piecewise_constant, keras_harmonic):
        steps = np.arange(inputs["steps"])
        return {
            "piecewise_constant": [piecewise_constant(t, 0.5, 37) for t in steps],
            "harmonic": [harmonic(t, 13, scale=2.0) for t in steps],
            "harmonic default": [harmonic(t, 7) for t in steps],
            "keras_piecewise_constant": schedule_values(keras_piecewise_constant(0.5, 37, 3), inputs["steps"]),
            "keras_harmonic": schedule_values(keras_harmonic(13, scale=2.0), inputs["steps"]),
            "keras_harmonic default": schedule_values(keras_harmonic(7), inputs["steps"]),
        }

    def judge(outputs, inputs):
        steps = np.arange(inputs["steps"])
        last = f"t = 0..{inputs['steps'] - 1}"
        expected = {
            "piecewise_constant": ("piecewise_constant(t, 0.5, 37)", reference.piecewise_constant(steps, 0.5, 37)),
            "harmonic": ("harmonic(t, 13, scale=2.0)", reference.harmonic(steps, 13, 2.0)),
            "harmonic default": ("harmonic(t, 7) (default scale 0.001)", reference.harmonic(steps, 7)),
            "keras_piecewise_constant": (f"keras_piecewise_constant(0.5, 37, 3), {last}",
                                         reference.piecewise_constant(np.minimum(steps, 3 * 37), 0.5, 37)),
            "keras_harmonic": (f"keras_harmonic(13, scale=2.0), {last}", reference.harmonic(steps, 13, 2.0)),
            "keras_harmonic default": (f"keras_harmonic(7) (default scale 0.001), {last}",
                                       reference.harmonic(steps, 7)),
        }
        for key, (name, values) in expected.items():
            quietly(same_array, name, field(outputs, key, "the schedules' values"), values, atol=0)


class minibatches(Exercise):
    """minibatches on other sizes and seeds, and least_squares_gradient on 37 samples."""

    def inputs():
        generator = np.random.default_rng(1052)
        return {"cases": [[103, 10], [64, 64], [5, 7], [1000, 1]],
                "x": generator.normal(size=(37, 6)), "y": generator.normal(size=37), "w": generator.normal(size=6)}

    def call(inputs, minibatches, least_squares_gradient):
        epochs = []
        for n_samples, batch_size in inputs["cases"]:
            batches = minibatches(n_samples, batch_size, np.random.default_rng(n_samples))
            epochs.append({"sizes": [len(batch) for batch in batches], "joined": np.concatenate(batches)})
        return {"epochs": epochs, "gradient": least_squares_gradient(inputs["w"], inputs["x"], inputs["y"])}

    def judge(outputs, inputs):
        epochs = field(outputs, "epochs", "the mini-batches")
        for (n_samples, batch_size), found in zip(inputs["cases"], epochs):
            expected = reference.minibatches(n_samples, batch_size, np.random.default_rng(n_samples))
            call = f"minibatches({n_samples}, {batch_size}, default_rng({n_samples}))"
            same_value(f"{call}: batch sizes", field(found, "sizes", call), [len(batch) for batch in expected])
            quietly(same_array, f"{call}, joined", field(found, "joined", call), np.concatenate(expected))
        quietly(same_array, "least_squares_gradient on 37 samples", field(outputs, "gradient", "the answer"),
                reference.least_squares_gradient(inputs["w"], inputs["x"], inputs["y"]))


class gradient_noise(Exercise):
    """On other data: a batch of 16 gives a gradient about 16 times less noisy than one sample."""

    def inputs():
        return {"seed": 1053, "samples": 800, "batch_sizes": [1, 16], "epochs": 10}

    def call(inputs, minibatches, least_squares_gradient):
        generator = np.random.default_rng(inputs["seed"])
        n_samples = inputs["samples"]
        x = generator.normal(size=(n_samples, 3)) * [1.0, 3.0, 0.5]
        y = x @ [1.0, -1.0, 2.0] + generator.normal(size=n_samples)
        w = np.zeros(3)
        full_gradient = x.T @ (x @ w - y) / n_samples  # the grader's own, not the student's
        noise = {}
        for batch_size in inputs["batch_sizes"]:
            squared_errors = [np.sum((least_squares_gradient(w, x[batch], y[batch]) - full_gradient) ** 2)
                              for _ in range(inputs["epochs"])
                              for batch in minibatches(n_samples, batch_size, generator)[:-1]]
            noise[str(batch_size)] = float(np.mean(squared_errors))
        return noise

    def judge(outputs, inputs):
        small, large = inputs["batch_sizes"]
        ratio = float(field(outputs, str(small), "the noise")) / float(field(outputs, str(large), "the noise"))
        n_samples = inputs["samples"]
        expected = large * (n_samples - 1) / (n_samples - large)
        if not 0.7 < ratio / expected < 1 / 0.7:
            raise Failure(f"on the grader's data, noise(batch {small}) / noise(batch {large}) is {ratio:.1f}, "
                          f"expected about {expected:.1f}; is least_squares_gradient a mean over the batch, "
                          "and does minibatches cover every sample once?")
        return {"noise ratio": round(ratio, 2), "theory": round(expected, 2)}


# ------------------------------------------------------------------ 2. update rules

class sgd(Exercise):
    """SGD on two hidden problems, with constant and scheduled step sizes."""

    def inputs():
        return {"settings": [{}, {"learning_rate": 0.2}, {"learning_rate": ["piecewise_constant", 0.3, 40]},
                             {"learning_rate": ["harmonic", 20, 2.0]}],
                "steps": 250}

    def call(inputs, SGD):
        return optimiser_trace(SGD, inputs)

    def judge(outputs, inputs):
        judge_optimiser("SGD", reference.SGD, outputs, inputs)


class momentum(Exercise):
    """Momentum on two hidden problems, and its velocity after a run."""

    def inputs():
        return {"settings": [{}, {"learning_rate": 0.05, "momentum": 0.5}, {"learning_rate": 0.02, "momentum": 0.99},
                             {"learning_rate": ["piecewise_constant", 0.05, 30], "momentum": 0.8}],
                "steps": 250,
                "state": {"settings": {"learning_rate": 0.03}, "steps": 40, "attributes": ["velocity"]}}

    def call(inputs, Momentum):
        return optimiser_trace(Momentum, inputs)

    def judge(outputs, inputs):
        judge_optimiser("Momentum", reference.Momentum, outputs, inputs)


class nesterov(Exercise):
    """Nesterov (Keras's form) on two hidden problems."""

    def inputs():
        return {"settings": [{}, {"learning_rate": 0.05, "momentum": 0.5}, {"learning_rate": 0.02, "momentum": 0.95}],
                "steps": 250}

    def call(inputs, Nesterov):
        return optimiser_trace(Nesterov, inputs)

    def judge(outputs, inputs):
        judge_optimiser("Nesterov", reference.Nesterov, outputs, inputs)


class nesterov_lookahead(Exercise):
    """The lecture's Nesterov: the paths of w and v on two hidden problems."""

    def inputs():
        return {"settings": [[0.03, 0.9], [0.1, 0.5]], "steps": 150}

    def call(inputs, nesterov_lookahead_trajectory):
        runs = []
        for gradient_fn, start in hidden_problems().values():
            for learning_rate, momentum in inputs["settings"]:
                try:
                    w_path, v_path = nesterov_lookahead_trajectory(gradient_fn, start, learning_rate, momentum,
                                                                   inputs["steps"])
                    runs.append([np.asarray(w_path), np.asarray(v_path)])
                except Exception as error:  # the judge says which run broke
                    runs.append(f"raised {describe_error(error)}")
        return runs

    def judge(outputs, inputs):
        cases = [(problem, setting) for problem in hidden_problems().items() for setting in inputs["settings"]]
        if not isinstance(outputs, list) or len(outputs) != len(cases):
            raise Failure(f"expected {len(cases)} runs of nesterov_lookahead_trajectory, found {outputs!r:.80}")
        for ((problem_name, (gradient_fn, start)), (learning_rate, momentum)), found in zip(cases, outputs):
            label = f"nesterov_lookahead_trajectory(lr={learning_rate}, momentum={momentum}) on {problem_name}"
            if isinstance(found, str):
                raise Failure(f"{label}: your code {found}")
            if not isinstance(found, list) or len(found) != 2:
                raise Failure(f"{label}: expected (w_path, v_path), two arrays")
            expected = reference.nesterov_lookahead_trajectory(gradient_fn, start, learning_rate, momentum,
                                                               inputs["steps"])
            for part, found_path, expected_path in zip("wv", found, expected):
                same_path(f"{label}: {part} path", found_path, expected_path)


class adagrad(Exercise):
    """Adagrad on two hidden problems, epsilon large enough to show where it sits, and its accumulator."""

    def inputs():
        return {"settings": [{}, {"learning_rate": 0.05, "initial_accumulator_value": 0.0, "epsilon": 1e-3},
                             {"learning_rate": 0.2, "initial_accumulator_value": 1.0, "epsilon": 0.5}],
                "steps": 250,
                "state": {"settings": {"learning_rate": 0.1}, "steps": 40, "attributes": ["accumulator"]}}

    def call(inputs, Adagrad):
        return optimiser_trace(Adagrad, inputs)

    def judge(outputs, inputs):
        judge_optimiser("Adagrad", reference.Adagrad, outputs, inputs)


class rmsprop(Exercise):
    """RMSprop, plain and centered, on two hidden problems, and its two averages."""

    def inputs():
        return {"settings": [{}, {"learning_rate": 0.003, "rho": 0.7, "epsilon": 0.3},
                             {"learning_rate": 0.002, "rho": 0.8, "epsilon": 0.01, "centered": True},
                             {"learning_rate": 0.005, "epsilon": 0.5, "centered": True}],
                "steps": 250,
                "state": {"settings": {"centered": True}, "steps": 40,
                          "attributes": ["velocity", "average_gradient"]}}

    def call(inputs, RMSprop):
        return optimiser_trace(RMSprop, inputs)

    def judge(outputs, inputs):
        judge_optimiser("RMSprop", reference.RMSprop, outputs, inputs)


class adadelta(Exercise):
    """Adadelta on two hidden problems, and its two accumulators."""

    def inputs():
        return {"settings": [{}, {"learning_rate": 1.0}, {"learning_rate": 0.3, "rho": 0.5, "epsilon": 1e-2}],
                "steps": 250,
                "state": {"settings": {"learning_rate": 1.0}, "steps": 40,
                          "attributes": ["accumulated_gradient", "accumulated_delta"]}}

    def call(inputs, Adadelta):
        return optimiser_trace(Adadelta, inputs)

    def judge(outputs, inputs):
        judge_optimiser("Adadelta", reference.Adadelta, outputs, inputs)


class adam(Exercise):
    """Adam (Keras's epsilon-hat form) on two hidden problems, and its moments."""

    def inputs():
        return {"settings": [{}, {"learning_rate": 0.005, "beta_1": 0.5, "beta_2": 0.9, "epsilon": 0.5},
                             {"learning_rate": 0.002, "beta_1": 0.95, "beta_2": 0.99}],
                "steps": 250,
                "state": {"settings": {"learning_rate": 0.01}, "steps": 40, "attributes": ["m", "v"]}}

    def call(inputs, Adam):
        return optimiser_trace(Adam, inputs)

    def judge(outputs, inputs):
        judge_optimiser("Adam", reference.Adam, outputs, inputs)


class real_gradients(Exercise):
    """Every optimiser on the gradients of a softmax regression the notebook never shows."""

    def inputs():
        return {"cases": [["SGD", {"learning_rate": 0.3}], ["Momentum", {"learning_rate": 0.05}],
                          ["Nesterov", {"learning_rate": 0.05}], ["Adagrad", {"learning_rate": 0.05}],
                          ["RMSprop", {"learning_rate": 0.002}], ["Adadelta", {"learning_rate": 1.0}],
                          ["Adam", {"learning_rate": 0.002}]],
                "steps": 80}

    def call(inputs, SGD, Momentum, Nesterov, Adagrad, RMSprop, Adadelta, Adam):
        classes = {"SGD": SGD, "Momentum": Momentum, "Nesterov": Nesterov, "Adagrad": Adagrad,
                   "RMSprop": RMSprop, "Adadelta": Adadelta, "Adam": Adam}
        gradient_fn, start = softmax_regression_problem()
        paths = {}
        for name, settings in inputs["cases"]:
            try:
                paths[name] = numpy_trajectory(classes[name](**settings), gradient_fn, start, inputs["steps"])
            except Exception as error:  # the judge says which optimiser broke
                paths[name] = f"raised {describe_error(error)}"
        return paths

    def judge(outputs, inputs):
        gradient_fn, start = softmax_regression_problem()
        for name, settings in inputs["cases"]:
            expected = numpy_trajectory(getattr(reference, name)(**settings), gradient_fn, start, inputs["steps"])
            same_path(f"{setting_label(name, settings)} on softmax regression's gradients, path (step, weight)",
                      field(outputs, name, "the softmax-regression paths"), expected)


# ------------------------------------------------------------------ 3. trajectories

class test_functions(Exercise):
    """beale, saddle and their gradients at random points."""

    def inputs():
        generator = np.random.default_rng(1055)
        return {"x": generator.uniform(-3, 4, size=(6, 7)), "y": generator.uniform(-2, 2, size=(6, 7)),
                "points": generator.uniform(-3, 4, size=(8, 2))}

    def call(inputs, beale, beale_gradient, saddle, saddle_gradient):
        return {"beale": beale(inputs["x"], inputs["y"]), "saddle": saddle(inputs["x"], inputs["y"]),
                "beale_gradient": [beale_gradient(point) for point in inputs["points"]],
                "saddle_gradient": [saddle_gradient(point) for point in inputs["points"]]}

    def judge(outputs, inputs):
        x, y = inputs["x"], inputs["y"]
        quietly(same_array, "beale on a (6, 7) grid", field(outputs, "beale"), reference.beale(x, y), rtol=1e-9)
        quietly(same_array, "saddle on a (6, 7) grid", field(outputs, "saddle"), reference.saddle(x, y), rtol=1e-9)
        for name, expected_fn in (("beale_gradient", reference.beale_gradient),
                                  ("saddle_gradient", reference.saddle_gradient)):
            for point, found in zip(inputs["points"], field(outputs, name)):
                quietly(same_array, f"{name}({point.round(3).tolist()})", found, expected_fn(point), rtol=1e-9)


@probe_helper
def grader_beale_gradient(w):
    """The Beale function's gradient, the grader's own copy (the student's is graded apart)."""
    x, y = w[0], w[1]
    a, b, c = 1.5 - x + x * y, 2.25 - x + x * y ** 2, 2.625 - x + x * y ** 3
    return np.array([2 * a * (y - 1) + 2 * b * (y ** 2 - 1) + 2 * c * (y ** 3 - 1),
                     2 * a * x + 2 * b * 2 * x * y + 2 * c * 3 * x * y ** 2])


@probe_helper
def grader_saddle_gradient(w):
    """The gradient of x² − y², the grader's own copy."""
    return np.array([2 * w[0], -2 * w[1]])


@probe_helper
def paths_from(classes, settings, gradient_fn, starts, steps):
    """{optimiser name: [path (steps + 1, 2) or "raised ..." per start]}: the student's optimiser
    classes, with the notebook's settings (positional arguments), from the grader's starts."""
    paths = {}
    for name, arguments in settings.items():
        paths[name] = []
        for start in starts:
            try:
                paths[name].append(numpy_trajectory(classes[name](*arguments), gradient_fn, tuple(start), steps))
            except Exception as error:  # the judge says which optimiser broke
                paths[name].append(f"raised {describe_error(error)}")
    return paths


def judge_paths(paths, inputs, what, passes, explain):
    """Each optimiser's path from each of the grader's starts must satisfy ``passes(path)``."""
    for name in inputs["settings"]:
        for start, path in zip(inputs["starts"], field(paths, name, what)):
            label = f"{name}({', '.join(map(str, inputs['settings'][name]))}) from the grader's start {tuple(start)}"
            if isinstance(path, str):
                raise Failure(f"{label}: your class {path}")
            if not passes(np.asarray(path, dtype=float)):
                raise Failure(f"{label}: {explain}")


class beale_paths(Exercise):
    """steps_to_reach on random walks, and every optimiser reaching the Beale minimum from the grader's starts."""

    def inputs():
        return {"walks": random_walks(), "targets": [[[3.0, 0.5], 0.5], [[2.0, -1.0], 1.0], [[0.0, 0.0], 0.01]],
                "settings": {"SGD": [0.01], "Momentum": [0.001, 0.9], "Nesterov": [0.001, 0.9], "Adagrad": [0.3],
                             "RMSprop": [0.01], "Adadelta": [1.0], "Adam": [0.03]},
                "starts": [[1.5, 1.0], [0.8, 1.0]], "steps": 2000}

    def call(inputs, steps_to_reach, SGD, Momentum, Nesterov, Adagrad, RMSprop, Adadelta, Adam):
        reached = [[steps_to_reach(walk, tuple(target), tolerance) for target, tolerance in inputs["targets"]]
                   for walk in inputs["walks"]]
        classes = {"SGD": SGD, "Momentum": Momentum, "Nesterov": Nesterov, "Adagrad": Adagrad,
                   "RMSprop": RMSprop, "Adadelta": Adadelta, "Adam": Adam}
        return {"steps_to_reach": reached,
                "paths": paths_from(classes, inputs["settings"], grader_beale_gradient, inputs["starts"],
                                    inputs["steps"])}

    def judge(outputs, inputs):
        for walk, found_row in zip(inputs["walks"], field(outputs, "steps_to_reach")):
            for (target, tolerance), found in zip(inputs["targets"], found_row):
                same_value(f"steps_to_reach(path, {tuple(target)}, {tolerance}) on a random walk", found,
                           reference.steps_to_reach(walk, target, tolerance))
        judge_paths(field(outputs, "paths"), inputs, "the Beale paths",
                    lambda path: path.shape == (inputs["steps"] + 1, 2)
                    and reference.steps_to_reach(path, (3.0, 0.5), 0.05) is not None,
                    f"never gets within 0.05 of (3, 0.5) in {inputs['steps']} steps")


class saddle(Exercise):
    """escape_step on random walks, and which optimisers escape the saddle from the grader's starts."""

    def inputs():
        return {"walks": random_walks(), "thresholds": [1.0, 0.5, 3.0],
                "settings": {"SGD": [0.01], "Momentum": [0.01, 0.9], "Nesterov": [0.01, 0.9], "Adagrad": [0.1],
                             "RMSprop": [0.01], "Adadelta": [1.0], "Adam": [0.01]},
                "starts": [[-1.0, 2e-3], [0.5, -5e-4]], "steps": 200}

    def call(inputs, escape_step, SGD, Momentum, Nesterov, Adagrad, RMSprop, Adadelta, Adam):
        escapes = [[escape_step(walk, threshold) for threshold in inputs["thresholds"]] for walk in inputs["walks"]]
        classes = {"SGD": SGD, "Momentum": Momentum, "Nesterov": Nesterov, "Adagrad": Adagrad,
                   "RMSprop": RMSprop, "Adadelta": Adadelta, "Adam": Adam}
        return {"escape_step": escapes,
                "paths": paths_from(classes, inputs["settings"], grader_saddle_gradient, inputs["starts"],
                                    inputs["steps"])}

    def judge(outputs, inputs):
        for walk, found_row in zip(inputs["walks"], field(outputs, "escape_step")):
            for threshold, found in zip(inputs["thresholds"], found_row):
                same_value(f"escape_step(path, {threshold}) on a random walk", found,
                           reference.escape_step(walk, threshold))
        escapes = set(reference.SADDLE_ESCAPES)
        for name in inputs["settings"]:
            for start, path in zip(inputs["starts"], field(field(outputs, "paths"), name, "the saddle paths")):
                label = f"{name}({', '.join(map(str, inputs['settings'][name]))}) from the grader's start {tuple(start)}"
                if isinstance(path, str):
                    raise Failure(f"{label}: your class {path}")
                escaped = reference.escape_step(np.asarray(path, dtype=float)) is not None
                if escaped != (name in escapes):
                    raise Failure(f"{label}: expected it {'to escape' if name in escapes else 'not to escape'} "
                                  f"(|y| >= 1) within {inputs['steps']} steps; it did"
                                  f"{'' if escaped else ' not'}")


# ------------------------------------------------------------------ 4. the training run

class keras_optimisers(Exercise):
    """make_keras_optimisers(37): classes, learning rates over the epochs, settings."""

    def inputs():
        return {"steps_per_epoch": 37, "steps": [0, 36, 37, 73, 74, 147, 148, 149, 400]}

    def call(inputs, make_keras_optimisers):
        made = make_keras_optimisers(inputs["steps_per_epoch"])
        described = {}
        for name, optimizer in made.items():
            try:
                described[str(name)] = describe_optimizer(optimizer, inputs["steps"])
            except Exception as error:  # not a Keras optimiser, or a schedule that fails
                described[str(name)] = f"raised {describe_error(error)}"
        return {"names": [str(name) for name in made], "optimisers": described}

    def judge(outputs, inputs):
        expected = reference.make_keras_optimisers(inputs["steps_per_epoch"])
        same_value("make_keras_optimisers: the names", field(outputs, "names", "the answer"), list(expected))
        described = field(outputs, "optimisers", "the answer")
        for name, optimizer in expected.items():
            mine, theirs = field(described, name, "the optimisers"), describe_optimizer(optimizer, inputs["steps"])
            if isinstance(mine, str):
                raise Failure(f"{name}: reading its class and learning rate {mine}")
            if mine["class"] != theirs["class"]:
                raise Failure(f"{name}: expected keras.optimizers.{theirs['class']}, found {mine['class']}")
            quietly(same_array, f"{name}: learning rate at steps {inputs['steps']} "
                                f"({inputs['steps_per_epoch']} steps per epoch)", mine["rates"], theirs["rates"], atol=0)
            same_value(f"{name}: the settings", mine["settings"], theirs["settings"])


class training(Exercise):
    """models["Adam"]'s accuracy on the grader's own copy of the held-out images."""

    def inputs():
        return {}

    def call(inputs, models):
        return {"Adam": models["Adam"]} if "Adam" in models else {}

    def judge(outputs, inputs):
        if not isinstance(outputs, dict) or "Adam" not in outputs:
            raise Failure("models has no 'Adam' entry; run the training cell")
        dataset = grader_data(reference)
        return classifier_report(LAB_ID, reference.METRIC, outputs["Adam"], dataset)
