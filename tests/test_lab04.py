"""Lab 04 (convolution and backprop from scratch): typical wrong answers fail the student
notebook's own visible checks with a message that says what is wrong, and the graded
declarations of solutions/04-backprop-from-scratch/exercises.py reject them too.

The solution notebook's definitions are executed once (not its training); each test then
replaces one definition by a wrong answer and runs the student notebook's check cell.
"""

import json

import matplotlib.pyplot as plt
import numpy as np
import pytest

from autograder.check import check
from autograder.exercise import Failure
from coursekit.checks import CheckFailed, check_at_most
from solution_text import REPO

LAB = "04-backprop-from-scratch"


def cells(folder):
    (notebook,) = (REPO / folder / LAB).glob("*.ipynb")
    content = json.loads(notebook.read_text())
    return [(cell["metadata"]["nbgrader"], "".join(cell["source"])) for cell in content["cells"]
            if cell["cell_type"] == "code"]


@pytest.fixture(scope="module")
def lab04():
    """(student test cells by id, namespace holding the solution's definitions)."""
    namespace = {}
    for metadata, source in cells("solutions"):
        if source.startswith("EPOCHS, BATCH_SIZE"):  # the training: not needed here
            break
        if not metadata["grade"]:
            exec(source, namespace)
    plt.close("all")
    tests = {metadata["grade_id"]: source for metadata, source in cells("labs") if metadata["grade"]}
    # build_network is given code: re-run it after a wrong Network so that it builds that one.
    (build_network,) = [source for _, source in cells("labs") if source.startswith("def build_network")]
    tests["network"] = build_network + "\n" + tests["network"]
    return tests, namespace


def run_check(lab, test_id, wrong_answer):
    tests, base = lab
    namespace = dict(base, examples=np.random.default_rng(4))
    exec(wrong_answer, namespace)
    with pytest.raises(CheckFailed) as failure:
        exec(tests[test_id], namespace)
    plt.close("all")
    return str(failure.value), namespace


CONVOLUTION = """
def cross_correlate(x, w):
    return scipy.signal.convolve2d(x, w, mode="same")
"""
NO_PADDING = """
def generalized_convolution(u, kernel):
    k = kernel.shape[0]
    h, w = u.shape[0] - k + 1, u.shape[1] - k + 1
    return sum(u[p:p + h, q:q + w] @ kernel[p, q] for p in range(k) for q in range(k))
"""
EXTRA_ZERO_FIRST = """
def output_size_and_padding(size, kernel_size, stride, padding):
    if padding == "valid":
        return (size - kernel_size) // stride + 1, 0, 0
    n_out = -(-size // stride)
    total = max((n_out - 1) * stride + kernel_size - size, 0)
    return n_out, total - total // 2, total // 2
"""
CHANNELS_FIRST_WINDOWS = """
_right_im2col = im2col
def im2col(x, kernel_size, stride=1, padding="valid"):
    patches = _right_im2col(x, kernel_size, stride, padding)
    n, h, w, _ = patches.shape
    k_h, k_w = kernel_size
    return patches.reshape(n, h, w, k_h, k_w, -1).transpose(0, 1, 2, 5, 3, 4).reshape(n, h, w, -1)
"""
FLIPPED_KERNEL = """
_right_conv = conv2d_forward
def conv2d_forward(x, kernel, bias, stride=1, padding="valid"):
    return _right_conv(x, kernel[::-1, ::-1], bias, stride, padding)
"""
POOL_WRONG_RESHAPE = """
def pool_forward(x, size, mode="max"):
    n, h, w, c = x.shape
    windows = x[:, :h // size * size, :w // size * size].reshape(n, size, h // size, size, w // size, c)
    return windows.max(axis=(1, 3)) if mode == "max" else windows.mean(axis=(1, 3))
"""


@pytest.mark.parametrize("test_id, wrong, expected", [
    ("correlate", CONVOLUTION, "cross_correlate vs scipy.signal.correlate2d(mode='same'): at index (0, 0) expected"),
    ("generalized", NO_PADDING, "generalized_convolution(u, kernel).shape: expected (5, 6, 4), found (3, 4, 4)"),
    ("padding", EXTRA_ZERO_FIRST, "output_size_and_padding(28, 5, 2, 'same'): expected (14, 1, 2), found (14, 2, 1)"),
    ("im2col", CHANNELS_FIRST_WINDOWS, "im2col(...)[1, 1, 2]: the window x[1, 2:5, 4:6, :] flattened: at index (1,) expected"),
    ("conv_forward", FLIPPED_KERNEL, "conv2d_forward vs keras Conv2D(4, 3×3, strides=2, padding='same'): at index"),
    ("pool_forward", POOL_WRONG_RESHAPE, "pool_forward(x, 2, 'max') vs keras MaxPooling2D(2): at index"),
    ("dense_forward", "def dense_forward(x, w, b): return x @ w", "dense_forward vs keras Dense(3): at index (0, 0)"),
])
def test_wrong_forward_passes(lab04, test_id, wrong, expected):
    message, _ = run_check(lab04, test_id, wrong)
    assert expected in message, message


DENSE_TRANSPOSED_GRADIENT = """
class DenseLayer(DenseLayer):
    def backward(self, dz_dy):
        self.grads["kernel"] = dz_dy.T @ self.x
        self.grads["bias"] = dz_dy.sum(axis=0)
        return dz_dy @ self.params["kernel"].T
"""
RELU_IDENTITY = """
class ReLULayer(ReLULayer):
    def backward(self, dz_dy):
        return dz_dy
"""
COL2IM_ASSIGNS = """
def wrong_col2im(patch_gradient, input_shape, kernel_size, stride=1, padding="valid"):
    k_h, k_w = kernel_size
    n, height, width, channels = input_shape
    out_h, top, bottom = output_size_and_padding(height, k_h, stride, padding)
    out_w, left, right = output_size_and_padding(width, k_w, stride, padding)
    windows = patch_gradient.reshape(n, out_h, out_w, k_h, k_w, channels)
    padded = np.zeros((n, height + top + bottom, width + left + right, channels))
    for p in range(k_h):
        for q in range(k_w):
            padded[:, p:p + stride * (out_h - 1) + 1:stride, q:q + stride * (out_w - 1) + 1:stride] = windows[:, :, :, p, q]
    return padded[:, top:top + height, left:left + width]

class ConvLayer(ConvLayer):
    def backward(self, dz_dy):
        kernel = self.params["kernel"]
        flat = kernel.reshape(-1, kernel.shape[3])
        self.grads["kernel"] = (self.patches.reshape(-1, flat.shape[0]).T @ dz_dy.reshape(-1, flat.shape[1])).reshape(kernel.shape)
        self.grads["bias"] = dz_dy.sum(axis=(0, 1, 2))
        return wrong_col2im(dz_dy @ flat.T, self.x_shape, kernel.shape[:2], self.stride, self.padding)
"""
CONV_BIAS_NOT_SUMMED = """
class ConvLayer(ConvLayer):
    def backward(self, dz_dy):
        dz_dx = super().backward(dz_dy)
        self.grads["bias"] = dz_dy.mean(axis=(0, 1, 2))
        return dz_dx
"""
MAX_POOL_MASK = """
class MaxPoolLayer(MaxPoolLayer):
    def forward(self, x):
        self.x = x
        return pool_forward(x, self.size, "max")
    def backward(self, dz_dy):
        h = self.size
        big = np.repeat(np.repeat(dz_dy, h, axis=1), h, axis=2)
        y = np.repeat(np.repeat(pool_forward(self.x, h, "max"), h, axis=1), h, axis=2)
        dz_dx = np.zeros_like(self.x)
        crop = self.x[:, :y.shape[1], :y.shape[2]]
        dz_dx[:, :y.shape[1], :y.shape[2]] = np.where(crop == y, big, 0)
        return dz_dx
"""
AVERAGE_NOT_SHARED = """
class AveragePoolLayer(AveragePoolLayer):
    def backward(self, dz_dy):
        return super().backward(dz_dy) * self.size ** 2
"""
LOSS_UNSTABLE = """
class SoftmaxCrossEntropy(SoftmaxCrossEntropy):
    def forward(self, logits, labels):
        z = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        self.z, self.labels = z, np.asarray(labels)
        return float(-np.log(z[np.arange(len(labels)), labels]).mean())
"""
LOSS_SUMMED_GRADIENT = """
class SoftmaxCrossEntropy(SoftmaxCrossEntropy):
    def backward(self):
        return super().backward() * len(self.labels)
"""


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the unstable softmax overflows, on purpose
@pytest.mark.parametrize("test_id, wrong, expected", [
    ("dense_layer", DENSE_TRANSPOSED_GRADIENT, "DenseLayer.grads['kernel'] vs GradientTape: expected shape (6, 3), found (3, 6)"),
    ("relu_layer", RELU_IDENTITY, "ReLULayer.backward vs GradientTape: at index"),
    ("conv_layer", COL2IM_ASSIGNS, "ConvLayer(4, 3×3, stride=2, 'same').backward: dz/dx vs GradientTape: at index"),
    ("conv_layer", CONV_BIAS_NOT_SUMMED, "ConvLayer(4, 3×3, stride=2, 'same').grads['bias'] vs GradientTape: at index (0,)"),
    ("pool_layers", MAX_POOL_MASK, "MaxPoolLayer(2).backward with ties (the first maximum gets the gradient): at index (0, 0, 1, 0) expected 0, found 1"),
    ("pool_layers", AVERAGE_NOT_SHARED, "AveragePoolLayer(2).backward vs GradientTape: at index"),
    ("loss", LOSS_UNSTABLE, "overflow in exp() or log(0)"),
    ("loss", LOSS_SUMMED_GRADIENT, "SoftmaxCrossEntropy.backward vs GradientTape: at index (1, 0) expected -0.199942, found -0.99971"),
])
def test_wrong_backward_passes(lab04, test_id, wrong, expected):
    message, _ = run_check(lab04, test_id, wrong)
    assert expected in message, message


FORWARD_DIFFERENCE = """
def numerical_gradient(f, x, epsilon=1e-5):
    gradient = np.zeros(x.shape)
    base = f(x)
    for index in np.ndindex(x.shape):
        x[index] += epsilon
        gradient[index] = (f(x) - base) / epsilon
        x[index] -= epsilon
    return gradient
"""
ON_A_COPY = """
def numerical_gradient(f, x, epsilon=1e-5):
    x = x.copy()
    gradient = np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        x[index] += epsilon
        above = f(x)
        x[index] -= 2 * epsilon
        below = f(x)
        x[index] += epsilon
        gradient[index] = (above - below) / (2 * epsilon)
    return gradient
"""


@pytest.mark.parametrize("wrong, expected", [
    (FORWARD_DIFFERENCE, "numerical_gradient of sum(x**3) (exact: 3 x**2): at index"),
    (ON_A_COPY, "numerical_gradient of a function that reads the array itself (perturb x in place): at index (0,)"),
    ("def relative_errors(a, n): return np.abs(a - n) / np.maximum(np.abs(a), 1e-8)", "relative_errors: at index (0,) expected 0.2, found 0.5"),
])
def test_wrong_numerical_gradients(lab04, wrong, expected):
    message, _ = run_check(lab04, "numerical_gradient", wrong)
    assert expected in message, message


def test_gradient_check_catches_a_wrong_backward(lab04):
    message, _ = run_check(lab04, "gradient_check", COL2IM_ASSIGNS)
    assert "gradient check, ConvLayer(3×3, stride 2, same) dz/dx: largest relative error is" in message, message
    assert "expected at most 1e-06; backward disagrees with central differences" in message


NETWORK = """
class Network(Network):
    def backward(self, dz_dy):
        {backward}
    def update(self, tau):
        {update}
"""
NO_DELTAS = NETWORK.format(backward="for layer in reversed(self.layers):\n            dz_dy = layer.backward(dz_dy)\n"
                                    "        return dz_dy", update="super().update(tau)")
DELTAS_IN_BACKPROP_ORDER = NETWORK.format(
    backward="self.deltas = []\n        for layer in reversed(self.layers):\n            self.deltas.append(dz_dy)\n"
             "            dz_dy = layer.backward(dz_dy)\n        return dz_dy", update="super().update(tau)")
GRADIENT_ASCENT = NETWORK.format(backward="return super().backward(dz_dy)",
                                 update="for layer in self.layers:\n            for name in layer.params:\n"
                                        "                layer.params[name] += tau * layer.grads[name]")


@pytest.mark.parametrize("wrong, expected", [
    (NO_DELTAS, "len(network.deltas): expected 5, found 0"),
    (DELTAS_IN_BACKPROP_ORDER, "deltas[0], the dL/dy given to ConvLayer, vs GradientTape: expected shape (4, 28, 28, 8), found (4, 10)"),
    (GRADIENT_ASCENT, "dense kernel after train_step(tau=0.5) = before - 0.5 * dL/dkernel: at index"),
])
def test_wrong_networks(lab04, wrong, expected):
    message, _ = run_check(lab04, "network", wrong)
    assert expected in message, message


@pytest.mark.parametrize("grade_id, wrong, renamed, expected", [
    ("pool_layers", MAX_POOL_MASK, {},
     "MaxPoolLayer(2) on an all-zero input (ties: the first maximum gets the gradient).backward: dz/dx vs GradientTape: at index"),
    ("conv_layer", COL2IM_ASSIGNS, {"col2im": "wrong_col2im"}, ".backward: dz/dx vs GradientTape: at index"),
    ("padding", EXTRA_ZERO_FIRST, {}, "output_size_and_padding(5, 2, 1, 'same'): expected (5, 0, 1), found (5, 1, 0)"),
    ("numerical_gradient", ON_A_COPY, {},
     "numerical_gradient of a function that reads the array itself (perturb x in place): at index (0, 0)"),
])
def test_hidden_checks_reject_wrong_answers(lab04, grade_id, wrong, renamed, expected):
    """The graded declaration (exercises.py), run as plain nbgrader runs it, rejects the wrong answer."""
    _, right = lab04
    namespace = dict(right)
    exec(wrong, namespace)
    namespace.update({name: namespace[replacement] for name, replacement in renamed.items()})
    with pytest.raises(Failure, match="hidden check") as failure:
        check(LAB, grade_id, namespace)
    assert f"hidden check {grade_id}: " in str(failure.value) and expected in str(failure.value), str(failure.value)


def test_hidden_checks_accept_the_solution(lab04):
    _, right = lab04
    for grade_id in ("correlate", "padding", "pool_layers", "gradient_check", "network"):
        check(LAB, grade_id, right)


def test_padding_without_value_error_is_rejected_by_the_hidden_check(lab04):
    _, right = lab04
    lenient = lambda size, k, s, padding: right["output_size_and_padding"](size, k, s, "valid" if padding == "full" else padding)
    with pytest.raises(Failure, match="expected a ValueError"):
        check(LAB, "padding", {"output_size_and_padding": lenient})


def test_check_at_most():
    check_at_most("error", 1e-9, 1e-6)
    with pytest.raises(CheckFailed, match=r"^error is 0.002, expected at most 1e-06; look again$"):
        check_at_most("error", 2e-3, 1e-6, hint="look again")
    with pytest.raises(CheckFailed, match="error is nan"):
        check_at_most("error", float("nan"), 1e-6)
