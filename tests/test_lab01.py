"""Lab 01's declarations catch the typical wrong answers with messages that say what is wrong."""

import numpy as np
import pytest

from autograder import labs
from autograder.exercise import Failure

EXERCISES = labs.exercises("01-keras-basics")


def run(grade_id, *answers):
    exercise = EXERCISES[grade_id]
    inputs = exercise.inputs()
    return exercise.judge(exercise.call(inputs, *answers), inputs)


def like_keras(targets, predictions):
    rows = predictions / predictions.sum(axis=-1, keepdims=True)
    return float(np.mean(-np.sum(targets * np.log(np.clip(rows, 1e-7, 1 - 1e-7)), axis=-1)))


def clipped_only(targets, predictions):
    return float(np.mean(-np.sum(targets * np.log(np.clip(predictions, 1e-7, 1.0)), axis=-1)))


def unclipped(targets, predictions):
    with np.errstate(divide="ignore"):
        return float(np.mean(-np.sum(targets * np.log(predictions), axis=-1)))


def test_cross_entropy_as_keras_computes_it_passes():
    run("cross_entropy", like_keras)


def test_cross_entropy_without_clipping_fails_on_a_zero_probability():
    with pytest.raises(Failure, match=r"is inf \(not finite\)"):
        run("cross_entropy", unclipped)


def test_cross_entropy_without_renormalising_fails_and_says_what_keras_does():
    with pytest.raises(Failure, match=r"each row divided by its sum, then clipped"):
        run("cross_entropy", clipped_only)


def test_integer_labels_from_preprocess_are_named_not_an_axis_error():
    def integer_labels(images, labels):
        return (images / 255.0).astype("float32")[..., None], labels

    with pytest.raises(Failure, match=r"labels should be one-hot, shape \(n, 10\).*found shape \(7,\)"):
        run("preprocess", integer_labels)


def test_same_padding_is_refused_by_the_visible_check_as_by_the_hidden_one():
    import keras

    from coursekit.checks import CheckFailed, check_model_layers
    from coursekit.model_diff import spec

    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(32, 3, activation="relu", padding="same")])
    with pytest.raises(CheckFailed, match="padding"):
        check_model_layers(model, [spec("Conv2D", filters=32, kernel_size=3, activation="relu", padding="valid")],
                           input_shape=(28, 28, 1))


# ------------------------------------------------------------------ train_step (GradientTape)


def _step(training=True, reduce="mean", apply=True, returns=True):
    import keras
    import tensorflow as tf

    def train_step(model, optimizer, images, targets):
        with tf.GradientTape() as tape:
            losses = keras.losses.categorical_crossentropy(targets, model(images, training=training))
            loss = keras.ops.mean(losses) if reduce == "mean" else keras.ops.sum(losses)
        if apply:
            optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return float(loss) if returns else None
    return train_step


def _visible_check(train_step):
    """The notebook's visible check cell, run on ``train_step``."""
    from lab_cells import cells

    source = cells("01-keras-basics")
    (cell,) = [text for text in source.values() if text.startswith("def small_network(")]
    from coursekit.checks import check_array
    import keras

    namespace = {"keras": keras, "np": np, "check_array": check_array, "train_step": train_step}
    exec(cell, namespace)


def test_reference_train_step_passes_both_checks():
    reference = labs.reference("01-keras-basics")
    run("train_step", reference.train_step)
    _visible_check(reference.train_step)


@pytest.mark.parametrize("wrong, expected", [
    (dict(training=False), "did the forward pass run with training=True"),
    (dict(reduce="sum"), "is the loss the batch mean"),
    (dict(apply=False), "were the gradients applied with the optimiser"),
    (dict(returns=False), "train_step returned None"),
])
def test_wrong_train_steps_fail_both_checks(wrong, expected):
    from coursekit.checks import CheckFailed

    with pytest.raises(Failure, match=expected):
        run("train_step", _step(**wrong))
    with pytest.raises((CheckFailed, TypeError, ValueError)):
        _visible_check(_step(**wrong))
