"""Lab 05's frame for optimisers written in NumPy, laid out like ``keras.optimizers``.

A Keras optimiser keeps an ``iterations`` counter, asks its learning rate (a number or
a schedule ``t -> alpha``) for the rate of step ``iterations``, creates its state (the
accumulators) the first time it sees the variable (``build``) and then applies one
``update_step`` per gradient. ``NumpyOptimiser`` does the same with NumPy arrays, so a
subclass only writes ``build`` and ``update_step``:

    class SignDescent(NumpyOptimiser):  # steps of a fixed length along -sign(gradient)
        def update_step(self, gradient, w, learning_rate):
            return w - learning_rate * np.sign(gradient)

    path = numpy_trajectory(SignDescent(0.01), gradient_fn, start=[1.0, 1.0], steps=300)
    keras_path = keras_trajectory(keras.optimizers.SGD(0.01), gradient_fn, start=[1.0, 1.0], steps=300)
"""

import contextlib

import numpy as np


def _one_blas_thread():
    """Run small per-step matrix products on one BLAS thread: waking a thread pool for
    each tiny product costs more than it saves (5x on a busy 2-core machine)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover -- threadpoolctl comes with scikit-learn
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


class NumpyOptimiser:
    """Base class: the bookkeeping every optimiser shares.

    Attributes:
        learning_rate: a float, or a schedule: a callable taking the step number
            ``t`` (0 for the first update) and returning the step size.
        iterations: number of updates applied so far (Keras's ``optimizer.iterations``).
        built: whether ``build`` has created the state yet.
    """

    def __init__(self, learning_rate):
        self.learning_rate = learning_rate
        self.iterations = 0
        self.built = False

    def current_learning_rate(self) -> float:
        """The step size for the next update: the schedule evaluated at ``iterations``."""
        if callable(self.learning_rate):
            return float(self.learning_rate(self.iterations))
        return float(self.learning_rate)

    def build(self, w) -> None:
        """Create the optimiser's state (zero accumulators shaped like ``w``).

        Args:
            w: float64 array, any shape: the variable that will be optimised.
        """

    def update_step(self, gradient, w, learning_rate):
        """One update: return the new ``w`` (same shape), updating the state.

        Args:
            gradient: float64 array shaped like ``w``, dE/dw at ``w``.
            w: float64 array, the current variable.
            learning_rate: float, this step's rate (the schedule already applied).
        """
        raise NotImplementedError(f"{type(self).__name__} does not define update_step")

    def apply(self, gradient, w) -> np.ndarray:
        """Build on first use, apply one ``update_step``, count the iteration."""
        w = np.array(w, dtype=np.float64)
        gradient = np.asarray(gradient, dtype=np.float64)
        if gradient.shape != w.shape:
            raise ValueError(f"gradient shape {gradient.shape} differs from the variable's {w.shape}")
        if not self.built:
            self.build(w)
            self.built = True
        new_w = self.update_step(gradient, w, self.current_learning_rate())
        self.iterations += 1
        if new_w is None:
            raise ValueError(f"{type(self).__name__}.update_step returned None; it must return the new w")
        return np.asarray(new_w, dtype=np.float64)


def numpy_trajectory(optimiser, gradient_fn, start, steps: int) -> np.ndarray:
    """Run a ``NumpyOptimiser`` from ``start``.

    Args:
        optimiser: a fresh ``NumpyOptimiser``.
        gradient_fn: callable, array (d,) -> gradient (d,).
        start: the starting point, shape (d,).
        steps: number of updates.

    Returns:
        float64 array (steps + 1, d): the start and the point after each update.
    """
    w = np.array(start, dtype=np.float64)
    path = [w]
    with _one_blas_thread():
        for _ in range(steps):
            w = optimiser.apply(gradient_fn(w), w)
            path.append(w)
    return np.stack(path)


def keras_trajectory(optimizer, gradient_fn, start, steps: int) -> np.ndarray:
    """Run a ``keras.optimizers.Optimizer`` on a float64 variable, gradients from ``gradient_fn``.

    Same arguments and result as ``numpy_trajectory``. The variable is float64 so that
    the comparison measures the update rule, not float32 round-off. (Keras still turns
    some hyperparameters into float32 first -- ``ops.cast(0.9, "float64")`` is
    0.8999999761581421 -- so its paths drift from exact float64 ones by about 1e-5 over
    hundreds of steps.)
    """
    import keras
    import tensorflow as tf

    variable = keras.Variable(np.array(start, dtype=np.float64), dtype="float64", name="w")

    def update(gradient):
        optimizer.apply_gradients([(gradient, variable)])

    compiled_update = tf.function(update)  # one graph per run: ~10x faster than eager steps
    path = [variable.numpy()]
    with _one_blas_thread():
        for _ in range(steps):
            compiled_update(tf.constant(gradient_fn(variable.numpy()), dtype=tf.float64))
            path.append(variable.numpy())
    return np.stack(path)


def schedule_values(schedule, steps: int) -> np.ndarray:
    """A schedule (Python callable or ``keras.optimizers.schedules.LearningRateSchedule``)
    evaluated at t = 0, 1, ..., steps - 1, as float64 array (steps,).

    Keras's schedules work on a whole array of steps at once, which is much faster than
    one call per step; a schedule that does not gets one call per step.
    """
    try:
        values = np.asarray(schedule(np.arange(steps)), dtype=np.float64)
        if values.shape == (steps,):
            return values
    except Exception:  # noqa: BLE001 -- a scalar-only schedule: evaluate it step by step
        pass
    return np.array([float(schedule(t)) for t in range(steps)], dtype=np.float64)
