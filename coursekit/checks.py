"""Visible checks: what a student runs to see whether an exercise is right.

Each check either prints one line starting with "OK" or raises ``CheckFailed``
(an ``AssertionError``, so nbgrader counts the cell as failed) whose message
says what is wrong, in the student's terms.
"""

import numpy as np

from coursekit.model_diff import describe_model, first_difference, model_from_specs, summarize


class CheckFailed(AssertionError):
    """An exercise gave a wrong answer; the message says which and how."""


def _fail(message: str):
    raise CheckFailed(message)


def check_array(name: str, found, expected, atol: float = 1e-6, rtol: float = 1e-5) -> None:
    """Check that an array has the expected shape and values.

    Args:
        name: what the array is, used in the message ("softmax(logits)").
        found: the student's array (anything ``np.asarray`` accepts).
        expected: the correct array.
    """
    if found is None:
        _fail(f"{name}: got None -- did the function forget to `return` its result?")
    found_array = np.asarray(found, dtype=float)
    expected_array = np.asarray(expected, dtype=float)
    if found_array.shape != expected_array.shape:
        _fail(f"{name}: expected shape {expected_array.shape}, found {found_array.shape}")
    if not np.all(np.isfinite(found_array)):
        where = tuple(int(i) for i in np.argwhere(~np.isfinite(found_array))[0])
        if np.isnan(found_array[where]):
            cause = ("check for a 0/0 (a count or sum that can be zero, e.g. the precision of a class "
                     "that is never predicted), or an overflow in exp() or log(0) upstream")
        else:
            cause = "check for overflow in exp() or log(0), or a division by zero"
        _fail(f"{name}: value at index {where} is {found_array[where]} (not finite); {cause}")
    close = np.isclose(found_array, expected_array, atol=atol, rtol=rtol)
    if not np.all(close) and found_array.ndim == 2 and found_array.shape[0] == found_array.shape[1] \
            and np.allclose(found_array, expected_array.T, atol=atol, rtol=rtol):
        _fail(f"{name}: your array is the transpose of the expected one: rows and columns are swapped "
              f"(rows should be the first index, e.g. the true class, columns the second)")
    if not np.all(close):
        where = tuple(int(i) for i in np.argwhere(~close)[0])
        worst = float(np.max(np.abs(found_array - expected_array)))
        _fail(f"{name}: at index {where} expected {expected_array[where]:.6g}, found "
              f"{found_array[where]:.6g} ({int((~close).sum())} of {close.size} values differ, "
              f"largest difference {worst:.3g})")
    print(f"OK {name}: shape {found_array.shape}, values match")


def loss_name(loss) -> str:
    """A compiled loss as text, whatever form it was given in: the string itself
    ("categorical_crossentropy"), a loss object's name (``CategoricalCrossentropy()``) or a
    loss function's (``keras.losses.categorical_crossentropy``)."""
    if isinstance(loss, str):
        return loss
    return str(getattr(loss, "name", None) or getattr(loss, "__name__", None) or type(loss).__name__)


def check_value(name: str, found, expected) -> None:
    """Check an exact value (an int, a string, a tuple...)."""
    if found != expected:
        _fail(f"{name}: expected {expected!r}, found {found!r}")
    print(f"OK {name} = {found!r}")


def _require_model_input(model, input_shape: tuple | None) -> None:
    """Fail unless ``model`` is a Keras model with a defined input of ``input_shape``
    (without the batch axis; None accepts any shape)."""
    if model is None:
        _fail("the function returned None instead of a keras.Model")
    if not hasattr(model, "layers") or not hasattr(model, "inputs"):
        _fail(f"expected a keras.Model, found {type(model).__name__}")
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        inputs = None
    if not inputs:
        _fail("the model has no defined input; start it with keras.Input(shape=...)")
    if input_shape is not None and tuple(inputs[0].shape[1:]) != tuple(input_shape):
        _fail(f"model input: expected shape (batch, {', '.join(map(str, input_shape))}), "
              f"found {tuple(inputs[0].shape)}")


def check_model_layers(model, expected_layers: list, input_shape: tuple | None = None) -> None:
    """Check a Keras model's layers against the task's list of ``spec(...)``.

    Args:
        model: a built ``keras.Model``.
        expected_layers: list of ``coursekit.model_diff.spec`` entries, in order.
        input_shape: expected input shape without the batch axis, e.g. (28, 28, 1).
    """
    _require_model_input(model, input_shape)
    problem = first_difference(summarize(model), expected_layers)
    if problem:
        _fail(problem + "\nYour model, as the check sees it:\n" + describe_model(model))
    print(f"OK model: {len(expected_layers)} layers as specified")


def check_model_graph(model, expected_layers: list, input_shape: tuple) -> None:
    """Check a Keras model with branches and merges against the task's ``spec(...)`` list.

    The specs (with ``inputs=`` naming the layers that feed each one) are built into a
    Keras model; the two graphs are then compared layer by layer regardless of the
    order in which parallel branches were written, then output shapes and parameters.

    Args:
        model: a built ``keras.Model``.
        expected_layers: list of ``coursekit.model_diff.spec`` entries, each after the
            layers that feed it; the last one is the output.
        input_shape: expected input shape without the batch axis, e.g. (14, 14, 32).
    """
    _require_model_input(model, input_shape)
    expected = model_from_specs(expected_layers, input_shape)
    problem = first_difference(summarize(model), summarize(expected))
    if problem:
        _fail(problem + "\nYour model, as the check sees it:\n" + describe_model(model))
    print(f"OK model: {len(expected_layers)} layers connected as specified, "
          f"{expected.count_params()} parameters")


def check_at_least(name: str, value: float, floor: float, hint: str = "") -> None:
    """Check that a score reaches a floor (a sanity check; the graded bar is hidden)."""
    if value is None or not value >= floor:
        _fail(f"{name} is {value}, expected at least {floor}" + (f"; {hint}" if hint else ""))
    print(f"OK {name} = {value:.4f} (at least {floor})")


def check_at_most(name: str, value: float, ceiling: float, hint: str = "") -> None:
    """Check that an error (a relative error, a difference...) stays under a ceiling."""
    if value is None or not value <= ceiling:
        shown = f"{value:.3g}" if isinstance(value, (int, float)) else str(value)
        _fail(f"{name} is {shown}, expected at most {ceiling:g}" + (f"; {hint}" if hint else ""))
    print(f"OK {name} = {value:.3g} (at most {ceiling:g})")


def check_grader_threshold(lab, metric: str, value: float, data, hint: str = "", label: str | None = None) -> None:
    """Check a score against the threshold the grader will apply on the same data and budget.

    Args:
        lab: the notebook's ``LabContext`` (``setup_lab``'s result).
        metric: the name in the lab's threshold table, e.g. "macro_f1".
        value: the score the notebook measured.
        data: the loaded data set (its ``key`` names the table's data set).
        label: how to name the score in the message (default: ``metric``).
    """
    from coursekit.thresholds import grader_threshold

    threshold = grader_threshold(lab.lab_id, metric, data.key, lab.budget.name)
    if threshold is None:
        _fail(f"no grader threshold is known for {metric} on {data.key} at the {lab.budget.name} budget")
    label = label or metric
    if value is None or not value >= threshold:
        _fail(f"{label} is {value}, below {threshold:.4f}, the grader's threshold for this data and budget"
              + (f"; {hint}" if hint else ""))
    print(f"OK {label} = {value:.4f} reaches {threshold:.4f}, the grader's threshold for this data and budget")


def answers_digest(answers) -> str:
    """SHA-256 of a quiz's answers (JSON with sorted keys): what ``check_answers`` compares."""
    import hashlib
    import json

    return hashlib.sha256(json.dumps(answers, sort_keys=True).encode()).hexdigest()


def check_answers(name: str, answers: dict, expected_keys, digest: str, hint: str = "") -> None:
    """Check a quiz's answers without showing them: the keys and True/False values first, then
    the answers against the digest of the correct ones (``answers_digest``).

    Args:
        answers: {question: True/False}, the student's.
        expected_keys: the questions, all of which need an answer.
        digest: ``answers_digest`` of the correct answers.
        hint: what to reconsider when some answer is wrong.
    """
    if not isinstance(answers, dict):
        _fail(f"{name} should be a dict {{question: True or False}}, found {type(answers).__name__}")
    missing = sorted(set(expected_keys) - set(answers))
    extra = sorted(set(answers) - set(expected_keys))
    if missing or extra:
        _fail(f"{name}: " + "; ".join(part for part in (
            f"no answer for {missing}" if missing else "", f"questions not asked: {extra}" if extra else "") if part))
    not_bool = sorted(question for question, answer in answers.items() if not isinstance(answer, bool))
    if not_bool:
        _fail(f"{name}: answer True or False (a bool) for {not_bool}")
    if answers_digest(answers) != digest:
        _fail(f"{name}: at least one answer is wrong" + (f"; {hint}" if hint else ""))
    print(f"OK {name}: all {len(answers)} answers are right")
