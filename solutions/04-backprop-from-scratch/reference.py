"""Reference for lab 04 (convolution and backprop from scratch, NumPy).

Written independently of the notebook's given code (different names and layout), so that
no run of its lines can reach the student notebook; the algorithms and the order of the
random draws are the same, so ``SCORES["accuracy"](dataset, budget, 0)`` reproduces the
notebook's training run.
"""

import numpy as np

LAB_ID = "04-backprop-from-scratch"
DATASET = "mnist"
METRIC = "accuracy"

# The network of the lab: Conv(N_FILTERS, KERNEL x KERNEL, 'same') -> ReLU -> MaxPool(POOL)
# -> Flatten -> Dense(10), softmax cross-entropy, plain mini-batch SGD.
N_FILTERS = 8
KERNEL = 5
POOL = 2
EPOCHS = 6
BATCH_SIZE = 32
LEARNING_RATE = 0.1
N_TRAIN = 10000  # training images used (all 4 000 offline; the first 10 000 of MNIST's 60 000)


# ------------------------------------------------------------------ forward passes

def cross_correlate(x, w):
    """(x * w)[i, j] = sum_{a=-A..A} sum_{b=-B..B} w_ab x[i+a, j+b], zero outside x."""
    big_a, big_b = w.shape[0] // 2, w.shape[1] // 2
    padded = np.pad(np.asarray(x, dtype=np.float64), ((big_a, big_a), (big_b, big_b)))
    height, width = np.shape(x)
    total = np.zeros((height, width))
    for a in range(-big_a, big_a + 1):
        for b in range(-big_b, big_b + 1):
            total += w[a + big_a, b + big_b] * padded[big_a + a:big_a + a + height, big_b + b:big_b + b + width]
    return total


def generalized_convolution(u, kernel):
    """V(x, y, t) = sum_i sum_j sum_s K(i - x + delta, j - y + delta, s, t) U(i, j, s)."""
    delta = kernel.shape[0] // 2
    height, width, _ = u.shape
    padded = np.pad(np.asarray(u, dtype=np.float64), ((delta, delta), (delta, delta), (0, 0)))
    out = np.zeros((height, width, kernel.shape[3]))
    for p in range(kernel.shape[0]):
        for q in range(kernel.shape[1]):
            out += padded[p:p + height, q:q + width, :] @ kernel[p, q]
    return out


def output_size_and_padding(size, kernel_size, stride, padding):
    """Keras/TensorFlow: (output size, zeros before, zeros after) along one axis."""
    if padding == "valid":
        return (size - kernel_size) // stride + 1, 0, 0
    if padding != "same":
        raise ValueError(f"padding must be 'same' or 'valid', not {padding!r}")
    count = -(-size // stride)
    pad = max((count - 1) * stride + kernel_size - size, 0)
    return count, pad // 2, pad - pad // 2


def _pad_for(x, kernel_hw, stride, padding):
    rows = output_size_and_padding(x.shape[1], kernel_hw[0], stride, padding)
    cols = output_size_and_padding(x.shape[2], kernel_hw[1], stride, padding)
    padded = np.pad(x, ((0, 0), rows[1:], cols[1:], (0, 0)))
    return padded, rows[0], cols[0]


def im2col(x, kernel_size, stride=1, padding="valid"):
    """(n, H, W, C) -> patches (n, out_h, out_w, kh * kw * C), flattened in (kh, kw, C) order."""
    kh, kw = kernel_size
    padded, out_h, out_w = _pad_for(x, (kh, kw), stride, padding)
    views = np.lib.stride_tricks.sliding_window_view(padded, (kh, kw), axis=(1, 2))
    views = views[:, :(out_h - 1) * stride + 1:stride, :(out_w - 1) * stride + 1:stride]
    return views.transpose(0, 1, 2, 4, 5, 3).reshape(x.shape[0], out_h, out_w, -1)


def conv2d_forward(x, kernel, bias, stride=1, padding="valid"):
    patches = im2col(x, kernel.shape[:2], stride, padding)
    return patches @ kernel.reshape(-1, kernel.shape[3]) + bias


def col2im(patch_gradient, input_shape, kernel_size, stride=1, padding="valid"):
    """Adjoint of im2col: add each patch's gradient back onto the pixels it was read from."""
    kh, kw = kernel_size
    n, height, width, channels = input_shape
    rows = output_size_and_padding(height, kh, stride, padding)
    cols = output_size_and_padding(width, kw, stride, padding)
    out_h, out_w = rows[0], cols[0]
    grid = patch_gradient.reshape(n, out_h, out_w, kh, kw, channels)
    padded = np.zeros((n, height + rows[1] + rows[2], width + cols[1] + cols[2], channels), patch_gradient.dtype)
    for p in range(kh):
        for q in range(kw):
            padded[:, p:p + stride * (out_h - 1) + 1:stride, q:q + stride * (out_w - 1) + 1:stride] += grid[:, :, :, p, q]
    return padded[:, rows[1]:rows[1] + height, cols[1]:cols[1] + width]


def _windows(x, size):
    n, height, width, channels = x.shape
    out_h, out_w = height // size, width // size
    cropped = x[:, :out_h * size, :out_w * size]
    return cropped.reshape(n, out_h, size, out_w, size, channels)


def pool_forward(x, size, mode="max"):
    """y[i, j] = F(x[hi..hi+h-1, hj..hj+h-1]) per channel, F = max or average, stride h, 'valid'."""
    windows = _windows(x, size)
    if mode == "max":
        return windows.max(axis=(2, 4))
    if mode == "average":
        return windows.mean(axis=(2, 4))
    raise ValueError(f"mode must be 'max' or 'average', not {mode!r}")


def dense_forward(x, w, b):
    return x @ w + b


# ------------------------------------------------------------------ layers

def _glorot(generator, shape, fan_in, fan_out):
    return generator.uniform(-np.sqrt(6.0 / (fan_in + fan_out)), np.sqrt(6.0 / (fan_in + fan_out)), shape).astype(np.float32)


class Base:
    def __init__(self):
        self.params, self.grads = {}, {}

    def update(self, tau):
        for key in self.params:
            self.params[key] -= tau * self.grads[key]


class Conv(Base):
    def __init__(self, in_channels, filters, kernel_size, stride=1, padding="valid", rng=None):
        super().__init__()
        generator = rng if rng is not None else np.random.default_rng(0)
        self.stride, self.padding = stride, padding
        area = kernel_size * kernel_size
        self.params["kernel"] = _glorot(generator, (kernel_size, kernel_size, in_channels, filters),
                                        area * in_channels, area * filters)
        self.params["bias"] = np.zeros(filters, np.float32)

    def forward(self, x):
        kernel = self.params["kernel"]
        self.input_shape = x.shape
        self.patches = im2col(x, kernel.shape[:2], self.stride, self.padding)
        return self.patches @ kernel.reshape(-1, kernel.shape[3]) + self.params["bias"]

    def backward(self, dz_dy):
        kernel = self.params["kernel"]
        flat = kernel.reshape(-1, kernel.shape[3])
        self.grads["kernel"] = (self.patches.reshape(-1, flat.shape[0]).T
                                @ dz_dy.reshape(-1, flat.shape[1])).reshape(kernel.shape)
        self.grads["bias"] = dz_dy.sum(axis=(0, 1, 2))
        return col2im(dz_dy @ flat.T, self.input_shape, kernel.shape[:2], self.stride, self.padding)


class Relu(Base):
    def forward(self, x):
        self.mask = x > 0
        return x * self.mask

    def backward(self, dz_dy):
        return dz_dy * self.mask


class MaxPool(Base):
    """Gradient goes to the first maximum of each window (row-major), as TensorFlow routes it."""

    def __init__(self, size):
        Base.__init__(self)
        self.window = size

    def forward(self, x):
        self.input_shape = x.shape
        size = self.window
        out_h, out_w = x.shape[1] // size, x.shape[2] // size
        best, self.winner = None, None
        for offset in range(size * size):
            p, q = divmod(offset, size)
            candidate = x[:, p:p + out_h * size:size, q:q + out_w * size:size]
            if best is None:
                best, self.winner = candidate.copy(), np.zeros(candidate.shape, np.int64)
            else:
                better = candidate > best
                best = np.where(better, candidate, best)
                self.winner[better] = offset
        return best

    def backward(self, dz_dy):
        size = self.window
        _, out_h, out_w, _ = dz_dy.shape
        result = np.zeros(self.input_shape, dz_dy.dtype)
        for offset in range(size * size):
            p, q = divmod(offset, size)
            result[:, p:p + out_h * size:size, q:q + out_w * size:size] = np.where(self.winner == offset, dz_dy, 0)
        return result


class AveragePool(Base):
    def __init__(self, size):
        Base.__init__(self)
        self.window = size

    def forward(self, x):
        self.input_shape = x.shape
        return pool_forward(x, self.window, "average")

    def backward(self, dz_dy):
        size = self.window
        _, out_h, out_w, _ = dz_dy.shape
        result = np.zeros(self.input_shape, dz_dy.dtype)
        share = np.repeat(np.repeat(dz_dy, size, axis=1), size, axis=2) / (size * size)
        result[:, :out_h * size, :out_w * size] = share
        return result


class Flat(Base):
    def forward(self, x):
        self.shape_in = x.shape
        return np.reshape(x, (x.shape[0], -1))

    def backward(self, dz_dy):
        return np.reshape(dz_dy, self.shape_in)


class Dense(Base):
    def __init__(self, n_inputs, n_outputs, rng=None):
        super().__init__()
        generator = rng if rng is not None else np.random.default_rng(0)
        self.params["kernel"] = _glorot(generator, (n_inputs, n_outputs), n_inputs, n_outputs)
        self.params["bias"] = np.zeros(n_outputs, np.float32)

    def forward(self, x):
        self.x = x
        return x @ self.params["kernel"] + self.params["bias"]

    def backward(self, dz_dy):
        self.grads["kernel"] = self.x.T @ dz_dy
        self.grads["bias"] = dz_dy.sum(axis=0)
        return dz_dy @ self.params["kernel"].T


def softmax(logits):
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


class SoftmaxCE:
    """Mean softmax cross-entropy over the batch; backward gives dL/dlogits = (z - z') / n."""

    def forward(self, logits, labels):
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_probabilities = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        self.probabilities, self.labels = np.exp(log_probabilities), np.asarray(labels)
        return float(-np.mean(log_probabilities[np.arange(len(self.labels)), self.labels]))

    def backward(self):
        gradient = self.probabilities.copy()
        gradient[np.arange(len(self.labels)), self.labels] -= 1.0
        return gradient / len(self.labels)


class Net:
    def __init__(self, layers):
        self.layers, self.deltas = list(layers), []

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dz_dy):
        """Backprop; deltas[k] is the dz/dy that layers[k].backward receives."""
        received = []
        for layer in reversed(self.layers):
            received.append(dz_dy)
            dz_dy = layer.backward(dz_dy)
        self.deltas = received[::-1]
        return dz_dy

    def update(self, tau):
        for layer in self.layers:
            layer.update(tau)


# ------------------------------------------------------------------ gradient check

def numerical_gradient(f, x, epsilon=1e-5):
    """Central differences (f(x + eps e_k) - f(x - eps e_k)) / (2 eps) for every entry k of x."""
    result = np.zeros_like(x, dtype=np.float64)
    flat_x, flat_result = x.reshape(-1), result.reshape(-1)
    for k in range(flat_x.size):
        keep = flat_x[k]
        flat_x[k] = keep + epsilon
        above = f(x)
        flat_x[k] = keep - epsilon
        below = f(x)
        flat_x[k] = keep
        flat_result[k] = (above - below) / (2 * epsilon)
    return result


def relative_errors(analytic, numeric, floor=1e-8):
    analytic, numeric = np.asarray(analytic, np.float64), np.asarray(numeric, np.float64)
    return np.abs(analytic - numeric) / np.maximum(np.abs(analytic) + np.abs(numeric), floor)


# ------------------------------------------------------------------ the network and its training

def network_from(generator):
    """Conv(8, 5x5, 'same') -> ReLU -> MaxPool(2) -> Flatten -> Dense(10); weights drawn from ``generator``."""
    conv = Conv(1, N_FILTERS, KERNEL, 1, "same", rng=generator)
    dense = Dense(N_FILTERS * (28 // POOL) ** 2, 10, rng=generator)
    return Net([conv, Relu(), MaxPool(POOL), Flat(), dense])


def to_inputs(images):
    return (np.asarray(images, np.float32) / np.float32(255.0))[..., None]


def predict(net, images, batch_size=500):
    inputs = to_inputs(images)
    return np.concatenate([net.forward(inputs[k:k + batch_size]).argmax(axis=1)
                           for k in range(0, len(inputs), batch_size)])


def fit(dataset, budget, seed):
    """Train the lab's network with plain mini-batch SGD; return it and its per-epoch losses.

    One generator, seeded with ``seed``, draws the weights (conv, then dense) and then one
    permutation of the training set per epoch, as the notebook does.
    """
    from threadpoolctl import threadpool_limits

    generator = np.random.default_rng(seed)
    net, criterion = network_from(generator), SoftmaxCE()
    inputs, targets = to_inputs(dataset.x_train[:N_TRAIN]), np.asarray(dataset.y_train[:N_TRAIN], np.int64)
    losses = []
    with threadpool_limits(limits=1, user_api="blas"):
        for _ in range(budget.epochs(EPOCHS)):
            order, total = generator.permutation(len(inputs)), 0.0
            for begin in range(0, len(inputs), BATCH_SIZE):
                chosen = order[begin:begin + BATCH_SIZE]
                value = criterion.forward(net.forward(inputs[chosen]), targets[chosen])
                net.backward(criterion.backward())
                net.update(LEARNING_RATE)
                total += value * len(chosen)
            losses.append(total / len(inputs))
    return net, losses


def accuracy_with(params, images, labels):
    """Accuracy of the lab's architecture holding ``params`` = (conv kernel, conv bias, dense
    kernel, dense bias), computed with the reference forward pass."""
    conv_kernel, conv_bias, dense_kernel, dense_bias = (np.asarray(value, np.float32) for value in params)
    net = network_from(np.random.default_rng(0))
    net.layers[0].params.update(kernel=conv_kernel, bias=conv_bias)
    net.layers[4].params.update(kernel=dense_kernel, bias=dense_bias)
    return float(np.mean(predict(net, images) == np.asarray(labels)))


def score_accuracy(dataset, budget, seed):
    net, _ = fit(dataset, budget, seed)
    return float(np.mean(predict(net, dataset.x_test) == dataset.y_test))


SCORES = {"accuracy": score_accuracy}
