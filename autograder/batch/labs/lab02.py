"""Tamper-proof recipe for lab 02 (Fashion-MNIST CNN)."""

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score

from autograder import metrics, thresholds
from autograder.batch.artifacts import load_model
from autograder.hidden.common import image_batch
from autograder.reference_checks import compare_with_reference
from autograder.references import lab02 as reference
from coursekit.checks import check_array
from coursekit.data import LOADERS
from coursekit.lab import budget_from_env

# Shared by the probe (in the sandbox) and the judges (here): fixed inputs, no answers.
INPUTS = r'''
def probe_inputs():
    import numpy as np
    from coursekit.data import ImageDataset
    rng = np.random.default_rng(20240611)
    dataset = ImageDataset(
        "probe", "probe data",
        rng.integers(0, 256, (300, 28, 28), dtype=np.uint8), rng.integers(0, 10, 300).astype(np.uint8),
        rng.integers(0, 256, (50, 28, 28), dtype=np.uint8), rng.integers(0, 10, 50).astype(np.uint8),
        tuple("abcdefghij"))
    cases = [(rng.integers(0, 10, 400), rng.integers(0, 10, 400))]
    y_true = rng.integers(0, 10, 200)
    cases.append((y_true, np.where(rng.random(200) < 0.8, y_true, 3)))
    cases.append((np.array([0, 0, 1, 2]), np.array([0, 1, 1, 2])))
    matrices = []
    for y_true, y_pred in cases:
        matrix = np.zeros((10, 10), dtype=np.int64)
        np.add.at(matrix, (y_true, y_pred), 1)
        matrices.append(matrix)
    return {"dataset": dataset, "cases": cases, "matrices": matrices}
'''

PROBE = INPUTS + r'''
import json as _json
import os as _os
import numpy as _np

_os.makedirs("artifacts", exist_ok=True)
_answers, _errors = {}, {}


def _record(name, compute):
    try:
        for key, value in compute().items():
            array = _np.asarray(value)
            if array.dtype == object:
                raise TypeError(f"{key!r} is not a number, a string or an array of numbers")
            _answers[f"{name}.{key}"] = array
    except BaseException as error:  # the student's code may raise anything
        _errors[name] = f"{type(error).__name__}: {error}"[:500]


def _save(name, build):
    try:
        build().save(f"artifacts/{name}.keras")
    except BaseException as error:
        _errors[name] = f"{type(error).__name__}: {error}"[:500]


_inputs = probe_inputs()
_record("describe", lambda: {key: value for key, value in describe_data(_inputs["dataset"]).items()})
_record("class_means", lambda: {"means": class_mean_images(_inputs["dataset"].x_train, _inputs["dataset"].y_train, 10)})
for _case, ((_y_true, _y_pred), _matrix) in enumerate(zip(_inputs["cases"], _inputs["matrices"])):
    _record(f"confusion{_case}", lambda: {"matrix": confusion_matrix_from_counts(_y_true, _y_pred, 10)})
    _record(f"f1_{_case}", lambda: dict(zip(("per_class", "macro"), f1_from_confusion(_matrix))))
    _record(f"pairs{_case}", lambda: {"pairs": [[int(v) for v in p] for p in most_confused_pairs(_matrix, 4)]})
_save("sequential", lambda: build_sequential())
_save("functional", lambda: build_functional())
_save("trained", lambda: model)
_np.savez("artifacts/answers.npz", **_answers)
with open("artifacts/errors.json", "w") as _stream:
    _json.dump(_errors, _stream)
print("probe finished")
'''


def _inputs():
    namespace = {}
    exec(INPUTS, namespace)  # grader-owned source, the same text the probe ran
    return namespace["probe_inputs"]()


def _answer(evidence, name, key):
    if name in evidence.errors:
        raise AssertionError(f"your function raised {evidence.errors[name]}")
    full = f"{name}.{key}"
    if full not in evidence.answers:
        raise AssertionError(f"no answer for {key!r} was produced")
    return evidence.answers[full]


def check_describe(evidence):
    dataset = _inputs()["dataset"]
    for key, value in reference.describe_data(dataset).items():
        found = _answer(evidence, "describe", key)
        if isinstance(value, str):
            if str(found) != value:
                raise AssertionError(f"describe_data[{key!r}]: expected {value!r}, found {str(found)!r}")
        else:
            check_array(f"describe_data[{key!r}]", found, value)


def check_class_means(evidence):
    dataset = _inputs()["dataset"]
    check_array("class_mean_images", _answer(evidence, "class_means", "means"),
                reference.class_mean_images(dataset.x_train, dataset.y_train))


def check_confusion(evidence):
    for case, (y_true, y_pred) in enumerate(_inputs()["cases"]):
        check_array(f"confusion_matrix_from_counts (case {case + 1})", _answer(evidence, f"confusion{case}", "matrix"),
                    confusion_matrix(y_true, y_pred, labels=np.arange(10)))


def check_f1(evidence):
    for case, (y_true, y_pred) in enumerate(_inputs()["cases"]):
        labels = np.arange(10)
        check_array(f"per-class F1 (case {case + 1})", _answer(evidence, f"f1_{case}", "per_class"),
                    f1_score(y_true, y_pred, labels=labels, average=None, zero_division=0))
        check_array(f"macro F1 (case {case + 1})", _answer(evidence, f"f1_{case}", "macro"),
                    f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0))


def check_confused_pairs(evidence):
    for case, matrix in enumerate(_inputs()["matrices"]):
        found = [tuple(int(v) for v in row) for row in np.atleast_2d(_answer(evidence, f"pairs{case}", "pairs"))]
        expected = reference.most_confused_pairs(matrix, 4)
        if found != expected:
            raise AssertionError(f"most_confused_pairs (case {case + 1}): expected {expected}, found {found}")


def _model(evidence, name):
    if name in evidence.errors:
        raise AssertionError(f"building or saving the model raised {evidence.errors[name]}")
    return load_model(evidence.folder / f"{name}.keras")


def check_sequential(evidence):
    compare_with_reference(_model(evidence, "sequential"), reference.build_sequential(), image_batch())


def check_functional(evidence):
    import keras

    model = _model(evidence, "functional")
    if isinstance(model, keras.Sequential):
        raise AssertionError("build_functional must build a functional keras.Model, not a Sequential")
    compare_with_reference(model, reference.build_functional(), image_batch())


def check_macro_f1(evidence):
    """Macro-F1 of the trained model on the grader's own copy of the held-out data."""
    budget = budget_from_env()
    dataset = LOADERS[reference.DATASET](budget=budget, verbose=False)
    model = _model(evidence, "trained")
    predictions = metrics.predict_labels(model, dataset.x_test)
    value = metrics.score("macro_f1", dataset.y_test, predictions)
    threshold = thresholds.lookup(reference.LAB_ID, "macro_f1", dataset.key, budget.name)["threshold"]
    evidence.report.update(
        macro_f1=value, threshold=threshold, data=dataset.description, class_names=list(dataset.class_names),
        confusion_matrix=metrics.confusion(dataset.y_test, predictions).tolist())
    if value < threshold:
        raise AssertionError(f"macro-F1 {value:.4f} on {dataset.description} is below the threshold {threshold:.4f}")


CHECKS = {
    "describe": check_describe, "class_means": check_class_means, "sequential": check_sequential,
    "functional": check_functional, "confusion": check_confusion, "f1": check_f1,
    "confused_pairs": check_confused_pairs, "macro_f1": check_macro_f1,
}
