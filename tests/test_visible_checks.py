"""Typical wrong answers fail the notebook's own visible check with a useful message.

The student notebook's cells are executed in-process: the set-up cell, then a wrong
answer in place of the exercise, then the exercise's visible test cell.
"""

import numpy as np
import pytest

from lab_cells import cells, run_check


@pytest.fixture(scope="module")
def lab01():
    source = cells("01-keras-basics")
    namespace = {}
    exec(source["cell-01"], namespace)  # imports and setup_lab
    return source, namespace


SIGMOIDS = """
def sigmoid(s): return 1 / (1 + np.exp(-s))
def relu(s): return np.maximum(s, 0)
def relu_derivative(s): return (s > 0).astype(float)
"""


@pytest.mark.parametrize("test_id, wrong, expected", [
    ("neuron", "def neuron(x, w, b): return x @ w", "neuron: at index (0,) expected 0.5, found -1.5"),
    ("neuron", "def neuron(x, w, b): return b + x * w", "neuron: expected shape (2,), found (2, 2)"),
    ("neuron", "def neuron(x, w, b): b + x @ w", "neuron: got None -- did the function forget to `return`"),
    ("activations", SIGMOIDS + "def sigmoid_derivative(s): return sigmoid(s)", "sigmoid_derivative at 0: at index (0,) expected 0.25, found 0.5"),
    ("softmax", "def softmax(y): return np.exp(y - y.max()) / np.exp(y - y.max()).sum()", "softmax: at index (0, 0) expected 0.0900306, found 0"),
    ("softmax", "def softmax(y): return np.exp(y) / np.exp(y).sum(axis=-1, keepdims=True)", "overflow in exp() or log(0)"),
    ("cross_entropy", "def cross_entropy(t, p): return float(-np.sum(t * np.log(p)))", "cross_entropy: at index () expected 0.524911, found 1.04982"),
    ("gradient", "def softmax_cross_entropy_gradient(y, t): return t - softmax(y)",
     "softmax_cross_entropy_gradient: at index (0, 0) expected -0.425903, found 0.425903"),
    ("updates", "def updates_per_epoch(n, b): return n // b", "updates_per_epoch(60000, 128): expected 469, found 468"),
])
def test_wrong_numpy_answers(lab01, test_id, wrong, expected):
    helpers = "def softmax(y):\n    e = np.exp(y - y.max(-1, keepdims=True))\n    return e / e.sum(-1, keepdims=True)\n"
    message = run_check(lab01, test_id, helpers + wrong)
    assert expected in message, message


MODEL = """
def compile_model(model):
    model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.Adadelta(learning_rate={lr}), metrics=["accuracy"])
    return model
def build_model():
    L = keras.layers
    return keras.Sequential([keras.Input(shape={shape}), {layers}])
"""
RIGHT = ('L.Conv2D(32, 3, activation="relu"), L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2), '
         'L.Dropout(0.25), L.Flatten(), L.Dense(128, activation="relu"), L.Dropout(0.5), L.Dense(10, activation="softmax")')


@pytest.mark.parametrize("layers, shape, lr, expected", [
    (RIGHT.replace("L.MaxPooling2D(2)", "L.Conv2D(64, 3)"), (28, 28, 1), 1.0,
     "layer 3: expected MaxPooling2D(pool_size=2×2), found Conv2D(64, 3×3)"),
    (RIGHT.replace('L.Dense(10, activation="softmax")', "L.Dense(10)"), (28, 28, 1), 1.0,
     "layer 8: expected Dense(10, activation=softmax), found Dense(10)"),
    (RIGHT.replace("L.Dropout(0.25), ", ""), (28, 28, 1), 1.0, "layer 4: expected Dropout(rate=0.25), found Flatten()"),
    (RIGHT, (28, 28, 3), 1.0, "model input: expected shape (batch, 28, 28, 1), found (None, 28, 28, 3)"),
    (RIGHT, (28, 28, 1), 0.001, "optimizer learning rate: at index () expected 1, found 0.001"),
])
def test_wrong_models(lab01, layers, shape, lr, expected):
    message = run_check(lab01, "model", MODEL.format(layers=layers, shape=shape, lr=lr))
    assert expected in message, message


@pytest.fixture(scope="module")
def lab02():
    source = cells("02-fashion-mnist-cnn")
    namespace = {}
    exec(source["cell-01"], namespace)  # imports, setup_lab and the data
    data = namespace["data"]
    namespace["predicted"] = np.where(np.arange(len(data.y_test)) % 3 == 0, 6, data.y_test)
    return source, namespace


CONFUSION = """
def confusion_matrix_from_counts(y_true, y_pred, n_classes=10):
    m = np.zeros((n_classes, n_classes), int)
    for t, p in zip(y_true, y_pred):
        m[t, p] += 1
    return m
"""


@pytest.mark.parametrize("test_id, wrong, expected", [
    ("confusion", CONFUSION.replace("m[t, p]", "m[p, t]"), "confusion matrix: your array is the transpose of the expected one: rows and columns are swapped"),
    ("confusion", CONFUSION.replace("return m", "return m / m.sum(1, keepdims=True)"), "confusion matrix: at index (0, 0) expected 35, found 0.686275"),
    ("f1", CONFUSION + "matrix = confusion_matrix_from_counts(data.y_test, predicted)\n"
                       "def f1_from_confusion(m):\n    p = np.diag(m) / m.sum(0)\n    return p, p.mean()",
     "per-class F1: at index (0,) expected"),
    ("describe", "def describe_data(d):\n    return {'train_shape': d.x_train.shape, 'class_counts': np.bincount(d.y_train), 'pixel_mean': d.x_train.mean() / 255}",
     "pixel_mean: at index () expected"),
    ("class_means", "def class_mean_images(x, y, n=10):\n    return np.stack([x[y == k].mean(0) for k in range(n)]).T",
     "shape: expected (10, 28, 28), found (28, 28, 10)"),
    ("confused_pairs", "def most_confused_pairs(m, k=3):\n    return [(0, 1, int(m[0, 1]))][:k]",
     "most_confused_pairs(toy, 2): expected [(0, 1, 5), (1, 2, 2)], found [(0, 1, 1)]"),
])
def test_wrong_lab02_answers(lab02, test_id, wrong, expected):
    message = run_check(lab02, test_id, wrong)
    assert expected in message, message


MISCLASSIFIED = """
def misclassified_examples(y_true, probabilities, true_class, predicted_class, k=8):
    y_true, probabilities = np.asarray(y_true), np.asarray(probabilities)
    wrong = np.flatnonzero((y_true == true_class) & (probabilities.argmax(axis=1) == predicted_class))
    return ORDER[:k]
"""


def _lab02_with_predictions(lab02):
    """The lab's namespace with what section 6's check reads: probabilities that put every
    third test image in class 6, their argmax, and the confusion matrix."""
    source, base = lab02
    namespace = dict(base)
    exec(CONFUSION, namespace)
    data = namespace["data"]
    generator = np.random.default_rng(3)
    probabilities = generator.random((len(data.y_test), 10)) * 0.1
    probabilities[np.arange(len(data.y_test)), namespace["predicted"]] += 0.5 + generator.random(len(data.y_test))
    namespace["probabilities"] = probabilities / probabilities.sum(axis=1, keepdims=True)
    namespace["matrix"] = namespace["confusion_matrix_from_counts"](data.y_test, namespace["predicted"])
    return source, namespace


@pytest.mark.parametrize("order, expected", [
    ("wrong", "most confident first: expected True, found False"),  # index order, not by confidence
    ("wrong[np.argsort(probabilities[wrong, predicted_class])]",  # least confident first
     "misclassified_examples(toy, true_class=0, predicted_class=1): expected [0, 2, 4, 5], found [5, 2, 4, 0]"),
    ("np.flatnonzero(probabilities.argmax(axis=1) == predicted_class)",  # forgets the true class
     "misclassified_examples(toy, true_class=0, predicted_class=1): expected [0, 2, 4, 5], found [0, 2, 3, 4, 5]"),
])
def test_wrong_misclassified_examples(lab02, order, expected):
    message = run_check(_lab02_with_predictions(lab02), "misclassified", MISCLASSIFIED.replace("ORDER", order))
    assert expected in message, message


def test_misclassified_examples_visible_and_hidden_checks_accept_a_stable_sort(lab02):
    right = MISCLASSIFIED.replace("ORDER", "wrong[np.argsort(-probabilities[wrong, predicted_class], kind='stable')]")
    source, namespace = _lab02_with_predictions(lab02)
    exec(right, namespace)
    exec(source["misclassified"], namespace)
    from autograder.check import check

    check("02-fashion-mnist-cnn", "misclassified", {"misclassified_examples": namespace["misclassified_examples"]})


def test_functional_check_rejects_a_sequential(lab02):
    wrong = ("def build_sequential():\n    L = keras.layers\n    return keras.Sequential([keras.Input((28, 28, 1)), "
             + RIGHT + "])\nbuild_functional = build_sequential\n")
    message = run_check(lab02, "functional", wrong)
    assert "build_functional() is not a Sequential: expected False, found True" in message


@pytest.mark.parametrize("loss", ['"categorical_crossentropy"', "keras.losses.CategoricalCrossentropy()",
                                  "keras.losses.categorical_crossentropy"])
def test_every_form_of_the_loss_passes_the_visible_and_the_hidden_check(lab01, loss):
    """The same equivalent answers pass both checks: no surprise lost points."""
    from autograder.check import check

    source, base = lab01
    namespace = dict(base)
    exec(MODEL.format(lr=1.0, shape=(28, 28, 1), layers=RIGHT).replace('loss="categorical_crossentropy"', f"loss={loss}"),
         namespace)
    exec(source["model"], namespace)  # the visible check raises if it refuses the form
    check("01-keras-basics", "model", namespace)


def test_a_nan_is_blamed_on_a_zero_over_zero_first_an_inf_on_overflow():
    from coursekit.checks import CheckFailed, check_array

    with np.errstate(invalid="ignore", divide="ignore"):
        per_class_f1 = 2 * np.array([3.0, 0.0]) / np.array([6.0, 0.0])  # class 1 never predicted nor present
        log_zero = -np.log(np.array([0.5, 0.0]))
    with pytest.raises(CheckFailed, match=r"index \(1,\) is nan \(not finite\); check for a 0/0"):
        check_array("per-class F1", per_class_f1, [1.0, 0.0])
    with pytest.raises(CheckFailed, match=r"is inf \(not finite\); check for overflow in exp\(\) or log\(0\)"):
        check_array("loss", log_zero, [0.69, 16.1])
