"""Hidden checks for lab 05 (optimisers).

The student's NumPy optimisers are compared with the reference ones (which
tests/test_lab05.py checks against keras.optimizers) on problems and
hyperparameters the notebook does not show: a 5-D quadratic, a matrix-shaped
variable, softmax regression on random data, and large epsilons that expose
where epsilon sits.
"""

import contextlib
import io

import numpy as np

from autograder.hidden import common
from autograder.hidden.common import require_threshold, rng
from autograder.labs import reference as _lab_reference

reference = _lab_reference("05-optimisers")
from coursekit.optimisers import numpy_trajectory, schedule_values

PATH_TOLERANCE = {"atol": 1e-6, "rtol": 1e-4}  # as the visible checks: Keras's float32 hyperparameters


def require_arrays(name, found, expected, **tolerance):
    """``common.require_arrays`` without its "OK" line: these checks compare hundreds of arrays."""
    with contextlib.redirect_stdout(io.StringIO()):
        common.require_arrays(name, found, expected, **tolerance)


def _passed(what):
    print(f"OK hidden checks of {what}")


def _quadratic_5d():
    generator = rng(50)
    basis = np.linalg.qr(generator.normal(size=(5, 5)))[0]
    matrix = basis @ np.diag([4.0, 2.0, 1.0, 0.5, 0.1]) @ basis.T
    minimum = generator.normal(size=5) * 2
    return (lambda w: matrix @ (w - minimum)), generator.normal(size=5)


def _matrix_problem():
    generator = rng(51)
    scales = generator.uniform(0.2, 3.0, size=(3, 2))
    target = generator.normal(size=(3, 2))
    return (lambda w: scales * (w - target) + 0.1 * np.sin(w)), generator.normal(size=(3, 2))


PROBLEMS = {"a 5-D quadratic": _quadratic_5d, "a (3, 2)-shaped variable": _matrix_problem}


def _require_same_paths(name, student_class, reference_class, settings, steps=250):
    if not isinstance(student_class, type):
        raise AssertionError(f"hidden check: {name} should be a class, found {type(student_class).__name__}")
    for problem_name, make_problem in PROBLEMS.items():
        gradient_fn, start = make_problem()
        for kwargs in settings:
            label = f"{name}({', '.join(f'{k}={v}' for k, v in kwargs.items())}) on {problem_name}"
            try:
                found = numpy_trajectory(student_class(**kwargs), gradient_fn, start, steps)
            except NotImplementedError:
                raise
            except Exception as error:  # noqa: BLE001 -- say which case broke
                raise AssertionError(f"hidden check, {label}: raised {type(error).__name__}: {error}") from error
            expected = numpy_trajectory(reference_class(**kwargs), gradient_fn, start, steps)
            found = found.reshape(len(found), -1)
            require_arrays(f"{label}, path (step, coordinate)", found, expected.reshape(len(expected), -1),
                           **PATH_TOLERANCE)


# ------------------------------------------------------------------ schedules

def check_schedules(piecewise_constant, harmonic, keras_piecewise_constant, keras_harmonic):
    steps = np.arange(400)
    require_arrays("piecewise_constant(t, 0.5, 37)", [piecewise_constant(t, 0.5, 37) for t in steps],
                   reference.piecewise_constant(steps, 0.5, 37), atol=0)
    require_arrays("harmonic(t, 13, scale=2.0)", [harmonic(t, 13, scale=2.0) for t in steps],
                   reference.harmonic(steps, 13, 2.0), atol=0)
    require_arrays("harmonic(t, 7) (default scale 0.001)", [harmonic(t, 7) for t in steps],
                   reference.harmonic(steps, 7), atol=0)
    require_arrays("keras_piecewise_constant(0.5, 37, 3), t = 0..399",
                   schedule_values(keras_piecewise_constant(0.5, 37, 3), 400),
                   reference.piecewise_constant(np.minimum(steps, 3 * 37), 0.5, 37), atol=0)
    require_arrays("keras_harmonic(13, scale=2.0), t = 0..399", schedule_values(keras_harmonic(13, scale=2.0), 400),
                   reference.harmonic(steps, 13, 2.0), atol=0)
    require_arrays("keras_harmonic(7) (default scale 0.001)", schedule_values(keras_harmonic(7), 400),
                   reference.harmonic(steps, 7), atol=0)
    _passed("schedules")


# ------------------------------------------------------------------ mini-batches

def check_minibatches(minibatches, least_squares_gradient):
    for n, batch_size in ((103, 10), (64, 64), (5, 7), (1000, 1)):
        found = minibatches(n, batch_size, np.random.default_rng(n))
        expected = reference.minibatches(n, batch_size, np.random.default_rng(n))
        sizes, expected_sizes = [len(batch) for batch in found], [len(batch) for batch in expected]
        if sizes != expected_sizes:
            raise AssertionError(f"hidden check, minibatches({n}, {batch_size}): expected batch sizes "
                                 f"{expected_sizes}, found {sizes}")
        require_arrays(f"minibatches({n}, {batch_size}, default_rng({n})), joined", np.concatenate(found),
                       np.concatenate(expected))
    generator = rng(52)
    x, y, w = generator.normal(size=(37, 6)), generator.normal(size=37), generator.normal(size=6)
    require_arrays("least_squares_gradient on 37 samples", least_squares_gradient(w, x, y),
                   reference.least_squares_gradient(w, x, y))
    _passed("minibatches")


def check_gradient_noise(minibatches, least_squares_gradient):
    """On other data: the batch-16 gradient is about 16x less noisy than one sample's."""
    generator = rng(53)
    x = generator.normal(size=(800, 3)) * [1.0, 3.0, 0.5]
    y = x @ [1.0, -1.0, 2.0] + generator.normal(size=800)
    w = np.zeros(3)
    full = reference.least_squares_gradient(w, x, y)
    noise = {}
    for batch_size in (1, 16):
        errors = [np.sum((least_squares_gradient(w, x[batch], y[batch]) - full) ** 2)
                  for _ in range(10) for batch in minibatches(800, batch_size, generator)[:-1]]
        noise[batch_size] = np.mean(errors)
    ratio, expected = noise[1] / noise[16], 16 * 799 / 784
    if not 0.7 < ratio / expected < 1 / 0.7:
        raise AssertionError(f"hidden check: noise(batch 1) / noise(batch 16) is {ratio:.1f}, expected about "
                             f"{expected:.1f}; is the gradient a mean over the batch?")
    _passed("gradient_noise")


# ------------------------------------------------------------------ update rules

def check_sgd(SGD):
    _require_same_paths("SGD", SGD, reference.SGD, [
        {}, {"learning_rate": 0.2},
        {"learning_rate": lambda t: reference.piecewise_constant(t, 0.3, 40)},
        {"learning_rate": lambda t: reference.harmonic(t, 20, 2.0)},
    ])
    _passed("sgd")


def _require_state(name, optimiser, reference_optimiser, attributes):
    for attribute in attributes:
        if not hasattr(optimiser, attribute):
            raise AssertionError(f"hidden check, {name}: keep the state in self.{attribute}, as the task says")
        require_arrays(f"{name}.{attribute} after the run", getattr(optimiser, attribute),
                       getattr(reference_optimiser, attribute), **PATH_TOLERANCE)


def _run_both(student_class, reference_class, kwargs, steps=40):
    gradient_fn, start = _quadratic_5d()
    mine, theirs = student_class(**kwargs), reference_class(**kwargs)
    numpy_trajectory(mine, gradient_fn, start, steps)
    numpy_trajectory(theirs, gradient_fn, start, steps)
    return mine, theirs


def check_momentum(Momentum):
    _require_same_paths("Momentum", Momentum, reference.Momentum, [
        {}, {"learning_rate": 0.05, "momentum": 0.5}, {"learning_rate": 0.02, "momentum": 0.99},
        {"learning_rate": lambda t: reference.piecewise_constant(t, 0.05, 30), "momentum": 0.8},
    ])
    _require_state("Momentum", *_run_both(Momentum, reference.Momentum, {"learning_rate": 0.03}), ["velocity"])
    _passed("momentum")


def check_nesterov(Nesterov):
    _require_same_paths("Nesterov", Nesterov, reference.Nesterov, [
        {}, {"learning_rate": 0.05, "momentum": 0.5}, {"learning_rate": 0.02, "momentum": 0.95},
    ])
    _passed("nesterov")


def check_nesterov_lookahead(nesterov_lookahead_trajectory):
    for problem_name, make_problem in PROBLEMS.items():
        gradient_fn, start = make_problem()
        for learning_rate, momentum in ((0.03, 0.9), (0.1, 0.5)):
            label = f"nesterov_lookahead_trajectory(lr={learning_rate}, momentum={momentum}) on {problem_name}"
            found_w, found_v = nesterov_lookahead_trajectory(gradient_fn, start, learning_rate, momentum, 150)
            expected_w, expected_v = reference.nesterov_lookahead_trajectory(gradient_fn, start, learning_rate,
                                                                             momentum, 150)
            require_arrays(f"{label}: w path", np.reshape(found_w, expected_w.shape), expected_w, **PATH_TOLERANCE)
            require_arrays(f"{label}: v path", np.reshape(found_v, expected_v.shape), expected_v, **PATH_TOLERANCE)
            keras_form = numpy_trajectory(reference.Nesterov(learning_rate, momentum), gradient_fn, start, 150)
            require_arrays(f"{label}: w + momentum v vs Keras's form", expected_w + momentum * expected_v,
                           keras_form, **PATH_TOLERANCE)
    _passed("nesterov_lookahead")


def check_adagrad(Adagrad):
    _require_same_paths("Adagrad", Adagrad, reference.Adagrad, [
        {}, {"learning_rate": 0.05, "initial_accumulator_value": 0.0, "epsilon": 1e-3},
        {"learning_rate": 0.2, "initial_accumulator_value": 1.0, "epsilon": 0.5},
    ])
    _require_state("Adagrad", *_run_both(Adagrad, reference.Adagrad, {"learning_rate": 0.1}), ["accumulator"])
    _passed("adagrad")


def check_rmsprop(RMSprop):
    _require_same_paths("RMSprop", RMSprop, reference.RMSprop, [
        {}, {"learning_rate": 0.003, "rho": 0.7, "epsilon": 0.3},
        {"learning_rate": 0.002, "rho": 0.8, "epsilon": 0.01, "centered": True},
        {"learning_rate": 0.005, "epsilon": 0.5, "centered": True},
    ])
    _require_state("RMSprop", *_run_both(RMSprop, reference.RMSprop, {"centered": True}),
                   ["velocity", "average_gradient"])
    _passed("rmsprop")


def check_adadelta(Adadelta):
    _require_same_paths("Adadelta", Adadelta, reference.Adadelta, [
        {}, {"learning_rate": 1.0}, {"learning_rate": 0.3, "rho": 0.5, "epsilon": 1e-2},
    ])
    _require_state("Adadelta", *_run_both(Adadelta, reference.Adadelta, {"learning_rate": 1.0}),
                   ["accumulated_gradient", "accumulated_delta"])
    _passed("adadelta")


def check_adam(Adam):
    _require_same_paths("Adam", Adam, reference.Adam, [
        {}, {"learning_rate": 0.005, "beta_1": 0.5, "beta_2": 0.9, "epsilon": 0.5},
        {"learning_rate": 0.002, "beta_1": 0.95, "beta_2": 0.99},
    ])
    _require_state("Adam", *_run_both(Adam, reference.Adam, {"learning_rate": 0.01}), ["m", "v"])
    _passed("adam")


def check_real_gradients(SGD, Momentum, Nesterov, Adagrad, RMSprop, Adadelta, Adam):
    """Softmax regression on random 'images' (64 samples, 50 features, 4 classes)."""
    generator = rng(54)
    features = np.concatenate([generator.random((64, 50)), np.ones((64, 1))], axis=1)
    labels = np.eye(4)[generator.integers(0, 4, 64)]

    def gradient_fn(flat):
        logits = features @ flat.reshape(51, 4)
        probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        return (features.T @ (probabilities - labels)).ravel() / len(labels)

    start = generator.normal(scale=0.1, size=51 * 4)
    cases = [
        ("SGD", SGD, reference.SGD, {"learning_rate": 0.3}),
        ("Momentum", Momentum, reference.Momentum, {"learning_rate": 0.05}),
        ("Nesterov", Nesterov, reference.Nesterov, {"learning_rate": 0.05}),
        ("Adagrad", Adagrad, reference.Adagrad, {"learning_rate": 0.05}),
        ("RMSprop", RMSprop, reference.RMSprop, {"learning_rate": 0.002}),
        ("Adadelta", Adadelta, reference.Adadelta, {"learning_rate": 1.0}),
        ("Adam", Adam, reference.Adam, {"learning_rate": 0.002}),
    ]
    for name, student_class, reference_class, kwargs in cases:
        require_arrays(f"{name} on softmax regression's gradients, path (step, weight)",
                       numpy_trajectory(student_class(**kwargs), gradient_fn, start, 80),
                       numpy_trajectory(reference_class(**kwargs), gradient_fn, start, 80), **PATH_TOLERANCE)
    _passed("real_gradients")


# ------------------------------------------------------------------ trajectories

def check_test_functions(beale, beale_gradient, saddle, saddle_gradient):
    generator = rng(55)
    x, y = generator.uniform(-3, 4, size=(6, 7)), generator.uniform(-2, 2, size=(6, 7))
    require_arrays("beale on a (6, 7) grid", beale(x, y), reference.beale(x, y), rtol=1e-9)
    require_arrays("saddle on a (6, 7) grid", saddle(x, y), reference.saddle(x, y), rtol=1e-9)
    for point in generator.uniform(-3, 4, size=(8, 2)):
        require_arrays(f"beale_gradient({point.round(3).tolist()})", beale_gradient(point),
                       reference.beale_gradient(point), rtol=1e-9)
        require_arrays(f"saddle_gradient({point.round(3).tolist()})", saddle_gradient(point),
                       reference.saddle_gradient(point), rtol=1e-9)
    _passed("test_functions")


def _random_paths():
    generator = rng(56)
    for _ in range(6):
        yield np.cumsum(generator.normal(scale=0.3, size=(40, 2)), axis=0) + [2.5, 0.0]


def check_beale_paths(steps_to_reach, beale_paths):
    for path in _random_paths():
        for target, tolerance in (((3.0, 0.5), 0.5), ((2.0, -1.0), 1.0), ((0.0, 0.0), 0.01)):
            found, expected = steps_to_reach(path, target, tolerance), reference.steps_to_reach(path, target, tolerance)
            if found != expected:
                raise AssertionError(f"hidden check, steps_to_reach(path, {target}, {tolerance}) on a random "
                                     f"walk: expected {expected}, found {found}")
    missing = sorted(set(reference.BEALE_SETTINGS) - set(beale_paths))
    if missing:
        raise AssertionError(f"hidden check: beale_paths lacks {missing}")
    for name in reference.BEALE_SETTINGS:
        path = np.asarray(beale_paths[name])
        if path.shape != (2001, 2) or not np.allclose(path[0], (1.0, 1.0)):
            raise AssertionError(f"hidden check: beale_paths[{name!r}] should be 2000 steps from (1, 1), "
                                 f"shape (2001, 2); found shape {path.shape} starting at {path[0]}")
        reached = reference.steps_to_reach(path, (3.0, 0.5), 0.05)
        if reached is None:
            raise AssertionError(f"hidden check: {name} never gets within 0.05 of (3, 0.5) in 2000 steps")
    _passed("beale_paths")


def check_saddle(escape_step, saddle_paths):
    for path in _random_paths():
        for threshold in (1.0, 0.5, 3.0):
            found, expected = escape_step(path, threshold), reference.escape_step(path, threshold)
            if found != expected:
                raise AssertionError(f"hidden check, escape_step(path, {threshold}) on a random walk: "
                                     f"expected {expected}, found {found}")
    escaped = sorted(name for name, path in saddle_paths.items() if reference.escape_step(path) is not None)
    if escaped != reference.SADDLE_ESCAPES:
        raise AssertionError(f"hidden check: the optimisers that escape the saddle should be "
                             f"{reference.SADDLE_ESCAPES}, found {escaped}")
    _passed("saddle")


# ------------------------------------------------------------------ the training run

def _describe(optimizer, steps):
    """Class, learning rate at several steps, and the other hyperparameters."""
    config = optimizer.get_config()
    rates = []
    for step in steps:
        optimizer.iterations.assign(step)
        rates.append(float(optimizer.learning_rate))
    optimizer.iterations.assign(0)
    settings = {key: config.get(key) for key in ("momentum", "nesterov", "rho", "epsilon", "centered",
                                                 "beta_1", "beta_2", "initial_accumulator_value", "amsgrad")
                if key in config}
    return type(optimizer).__name__, rates, settings


def check_keras_optimisers(make_keras_optimisers):
    steps_per_epoch = 37
    found, expected = make_keras_optimisers(steps_per_epoch), reference.make_keras_optimisers(steps_per_epoch)
    if list(found) != list(expected):
        raise AssertionError(f"hidden check, make_keras_optimisers: expected the names {list(expected)}, "
                             f"found {list(found)}")
    steps = [0, 36, 37, 73, 74, 147, 148, 149, 400]
    for name in expected:
        mine, theirs = _describe(found[name], steps), _describe(expected[name], steps)
        if mine[0] != theirs[0]:
            raise AssertionError(f"hidden check, {name}: expected keras.optimizers.{theirs[0]}, found {mine[0]}")
        require_arrays(f"{name}: learning rate at steps {steps} ({steps_per_epoch} steps per epoch)",
                       mine[1], theirs[1], atol=0)
        if mine[2] != theirs[2]:
            raise AssertionError(f"hidden check, {name}: expected the settings {theirs[2]}, found {mine[2]}")
    _passed("keras_optimisers")


def check_training(models):
    if "Adam" not in models:
        raise AssertionError("hidden check: models has no 'Adam' entry; run the training cell")
    require_threshold(reference.LAB_ID, reference.METRIC, models["Adam"], reference.DATASET)
