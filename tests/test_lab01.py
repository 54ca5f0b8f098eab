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
