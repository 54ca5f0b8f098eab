"""What the judges of every lab share: comparisons that fail with a student's message.

Each helper raises ``Failure`` (an ``AssertionError``) at the first difference, or
returns quietly (or with a report). None of them ever sees a student object: only the
plain data and Keras models that the probe saved and the grader read back.
"""

import numpy as np

from autograder import metrics, thresholds
from autograder.batch.artifacts import Unsupported
from autograder.exercise import Failure
from autograder.reference_checks import compare_with_reference
from coursekit.checks import CheckFailed, check_array
from coursekit.data import LOADERS
from coursekit.model_diff import LayerSpec, first_difference, summarize
from coursekit.lab import budget_from_env


def fixed_images(n: int = 8, seed: int = 1000, shape=(28, 28, 1)) -> np.ndarray:
    """float32 (n, *shape) in [0, 1], the same every time: a judge's own model input."""
    return np.random.default_rng(seed).random((n, *shape), dtype=np.float32)


def field(outputs, key: str, what: str = "the answer"):
    """``outputs[key]``, or a Failure that says which part of the answer is missing."""
    if not isinstance(outputs, dict) or key not in outputs:
        found = sorted(outputs) if isinstance(outputs, dict) else type(outputs).__name__
        raise Failure(f"{what} lacks {key!r} (found {found})")
    value = outputs[key]
    if isinstance(value, Unsupported):
        raise Failure(f"{what}[{key!r}] is {value!r}")
    return value


def same_array(name: str, found, expected, atol: float = 1e-6, rtol: float = 1e-5) -> None:
    """Shape and values, with the index of the first difference in the message."""
    if isinstance(found, Unsupported):
        raise Failure(f"{name}: expected an array, found {found!r}")
    try:
        check_array(name, found, expected, atol=atol, rtol=rtol)
    except CheckFailed as failure:
        raise Failure(str(failure)) from None
    except (TypeError, ValueError) as error:
        raise Failure(f"{name}: expected an array of numbers shaped {np.shape(expected)}, "
                      f"found something else ({error})") from None


def same_value(name: str, found, expected) -> None:
    """An exact value: an int, a string, a list of tuples..."""
    if found != expected:
        raise Failure(f"{name}: expected {expected!r}, found {found!r}")


def same_model(model, reference_model, batch=None, atol: float = 1e-5) -> None:
    """Input shape, structure, shapes and parameters, and outputs under the same weights."""
    if model is None or not hasattr(model, "layers"):
        raise Failure(f"expected a keras.Model, found {type(model).__name__}")
    compare_with_reference(model, reference_model, fixed_images() if batch is None else batch, atol)


def same_structure(name: str, model, reference_model) -> None:
    """Layers, settings, shapes and parameter counts only: for a model the student trained,
    whose weights cannot match the reference's."""
    if model is None or not hasattr(model, "layers"):
        raise Failure(f"{name} should be a keras model, found {type(model).__name__}")
    difference = first_difference(summarize(model), summarize(reference_model))
    if difference:
        raise Failure(f"{name}: {difference}")


def as_tuples(value):
    """Lists (as JSON and the probe's artifacts give them back) as tuples, at every depth."""
    if isinstance(value, (list, tuple)):
        return tuple(as_tuples(item) for item in value)
    return value


def layer_specs(layers, what: str) -> list:
    """A probe's plain layer summary ([{kind, settings, output_shape, params, inputs}]) back as
    ``coursekit.model_diff.LayerSpec`` objects, or a Failure that says whose layers were unreadable."""
    try:
        return [LayerSpec(str(layer["kind"]), tuple((str(key), as_tuples(value)) for key, value in layer["settings"]),
                          as_tuples(layer["output_shape"]), layer["params"], as_tuples(layer["inputs"]))
                for layer in layers]
    except (KeyError, TypeError, ValueError):
        raise Failure(f"{what}: its layers could not be read") from None


def grader_data(reference, name: str | None = None):
    """The grader's own copy of a data set at this budget: ``name``, or the lab's ``reference.DATASET``."""
    return LOADERS[name or reference.DATASET](budget=budget_from_env(), verbose=False)


def threshold_report(lab_id: str, metric: str, value: float, dataset, about: str | None = None, *,
                     threshold_metric: str | None = None, threshold_name: str = "the threshold") -> dict:
    """Compare a score the grader computed with the lab's threshold for this data and budget.

    Args:
        about: what the score was measured on, for the message (default: the held-out split).
        threshold_metric: the table entry to compare with, when it is not ``metric``'s own
            (e.g. a macro-F1 held to the stronger reference's threshold).
        threshold_name: how the message names the threshold ("the tier 2 threshold").

    Returns:
        {"metric", "score", "threshold", "provisional", "data"}: what feedback shows.

    Raises:
        Failure: the score is below the threshold (with this report attached).
    """
    entry = thresholds.lookup(lab_id, threshold_metric or metric, dataset.key, budget_from_env().name)
    report = {"metric": metric, "score": round(float(value), 4), "threshold": entry["threshold"],
              "provisional": bool(entry.get("provisional")), "data": dataset.description}
    note = " (provisional threshold)" if report["provisional"] else ""
    about = about or f"on {dataset.description} ({len(dataset.y_test)} held-out samples)"
    line = (f"{metric} = {value:.4f} {about} "
            f"{'passes' if value >= entry['threshold'] else 'is below'} {threshold_name} {entry['threshold']:.4f}{note}")
    print(line)
    if not value >= entry["threshold"]:
        raise Failure(line, report)
    return report


def classifier_report(lab_id: str, metric: str, model, dataset, inputs=None, **threshold) -> dict:
    """Score ``model`` on the grader's held-out split and compare with the lab's threshold
    (``threshold``: ``threshold_report``'s ``threshold_metric`` and ``threshold_name``).
    ``inputs``: what the model takes for ``dataset.x_test`` (default: ``metrics.test_predictions``'s).

    Returns:
        ``threshold_report``'s report and "class_names", "confusion_matrix".

    Raises:
        Failure: the score is below the threshold (with this report attached).
    """
    try:
        predictions = metrics.test_predictions(model, dataset, inputs)
    except Exception as error:  # a model that does not fit the data, or outputs nonsense
        raise Failure(f"the model could not classify the held-out data ({type(error).__name__}: {error})")
    classes = metrics.n_classes(dataset)
    value = metrics.score(metric, dataset.y_test, predictions, classes)
    matrix = metrics.confusion(dataset.y_test, predictions, classes)
    extra = {"class_names": [str(name) for name in dataset.class_names], "confusion_matrix": matrix.tolist()}
    try:
        report = threshold_report(lab_id, metric, value, dataset, **threshold)
    except Failure as failure:
        failure.report.update(extra)
        print("confusion matrix (rows true, columns predicted):")
        print(matrix)
        raise
    print("confusion matrix (rows true, columns predicted):")
    print(matrix)
    return {**report, **extra}
