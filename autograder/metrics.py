"""Grader-owned metrics: macro-F1, accuracy and the confusion matrix (scikit-learn).

The grader computes these itself, on data it loads itself, from the student's
model's predictions; it never trusts numbers a notebook reports.
"""

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

from autograder import thresholds


def predict_labels(model, images, batch_size: int = 256) -> np.ndarray:
    """Class predictions of a Keras classifier of images.

    Args:
        model: a Keras model mapping (n, 28, 28, 1) float32 images in [0, 1]
            to (n, 10) class scores.
        images: uint8 array (n, 28, 28).

    Returns:
        int array (n,) of predicted classes.
    """
    return predict_classes(model, (np.asarray(images, dtype="float32") / 255.0)[..., None], batch_size)


def predict_classes(model, inputs, batch_size: int = 256) -> np.ndarray:
    """Class predictions of a Keras classifier on prepared inputs (n, ...) -> int (n,)."""
    # Direct calls rather than model.predict: no tf.data pipeline, so nothing is logged
    # to stderr (nbgrader scores a test cell that writes to stderr as failed).
    scores = np.concatenate([np.asarray(model(inputs[start:start + batch_size], training=False))
                             for start in range(0, len(inputs), batch_size)])
    if scores.ndim != 2 or scores.shape[0] != len(inputs):
        raise ValueError(f"the model should output (n, classes) scores; it gave shape {scores.shape}")
    return scores.argmax(axis=1)


def test_predictions(model, dataset, inputs=None) -> np.ndarray:
    """The model's classes for ``dataset.x_test``. The model's input is ``inputs`` if given,
    else ``dataset.model_inputs(dataset.x_test)`` where the data set defines it (text, graphs),
    else the images scaled to [0, 1] with a channel axis."""
    if inputs is None:
        prepare = getattr(dataset, "model_inputs", None)
        if prepare is None:
            return predict_labels(model, dataset.x_test)
        inputs = prepare(dataset.x_test)
    return predict_classes(model, inputs)


def n_classes(dataset) -> int:
    """How many classes a data set has (its class_names; 10 where it names none)."""
    return len(getattr(dataset, "class_names", None) or range(10))


def score(metric: str, y_true, y_pred, n_classes: int = 10) -> float:
    if metric == "macro_f1":
        return float(f1_score(y_true, y_pred, average="macro", labels=np.arange(n_classes), zero_division=0))
    if metric == "accuracy":
        return float(accuracy_score(y_true, y_pred))
    raise ValueError(f"unknown metric {metric!r}; use 'macro_f1' or 'accuracy'")


def confusion(y_true, y_pred, n_classes: int = 10) -> np.ndarray:
    """(n_classes, n_classes) counts: rows are true classes, columns predictions."""
    return confusion_matrix(y_true, y_pred, labels=np.arange(n_classes))


def require_score(lab_id: str, metric: str, value: float, dataset, budget_name: str, *, label: str | None = None,
                  about: str | None = None, threshold_name: str = "the threshold") -> None:
    """Require a score the grader computed to reach the calibrated threshold.

    Prints one line, e.g. ``macro_f1 = 0.9120 on <data> (10000 held-out images) passes the
    threshold 0.8678``: ``label`` (default: ``metric``), ``about`` (what comes between the
    value and the verdict; default: the data and its number of held-out images) and
    ``threshold_name`` change its parts.

    Raises:
        AssertionError: the score is below the threshold, with that line as its message.
    """
    entry = thresholds.lookup(lab_id, metric, dataset.key, budget_name)
    verdict = "passes" if value >= entry["threshold"] else "is below"
    note = " (provisional threshold)" if entry.get("provisional") else ""
    about = f" on {dataset.description} ({len(dataset.y_test)} held-out images)" if about is None else about
    message = (f"{label or metric} = {value:.4f}{about} {verdict} {threshold_name} "
               f"{entry['threshold']:.4f}{note}")
    print(message)
    if value < entry["threshold"]:
        raise AssertionError(message)


def require(lab_id: str, metric: str, model, dataset, budget_name: str) -> float:
    """Score the model on the held-out split and require the calibrated threshold.

    Raises:
        AssertionError: the score is below the threshold (the message gives both).
    """
    predictions = predict_labels(model, dataset.x_test)
    value = score(metric, dataset.y_test, predictions)
    try:
        require_score(lab_id, metric, value, dataset, budget_name)
    finally:
        print("confusion matrix (rows true, columns predicted):")
        print(confusion(dataset.y_test, predictions))
    return value
