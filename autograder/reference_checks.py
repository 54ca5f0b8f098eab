"""Compare a student's Keras model with a reference model.

Four checks, in order, each stopping at the first difference with a message a
student understands:

1. the model's input shape;
2. structure: layer classes in order (or the graph of branches, merges and skip
   connections for functional models) and their key settings;
3. each layer's output shape and parameter count;
4. function: the reference's weights are copied into the student's model, layer
   by matched layer, and both must give the same outputs on a fixed batch.
"""

import numpy as np

from coursekit.model_diff import first_difference, match_layers, summarize


class ModelMismatch(AssertionError):
    """The student's model differs from the reference; the message says where."""


def _real_layers(model) -> list:
    return [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]


def check_input_shape(student, reference) -> None:
    try:
        found = tuple(student.inputs[0].shape)
    except (AttributeError, IndexError, TypeError, ValueError):
        raise ModelMismatch("the model has no defined input; start it with keras.Input(shape=...)")
    expected = tuple(reference.inputs[0].shape)
    if found != expected:
        raise ModelMismatch(f"model input: expected shape {expected}, found {found}")


def check_structure(student, reference) -> None:
    problem = first_difference(summarize(student), summarize(reference))
    if problem:
        raise ModelMismatch(problem)


def transplant_weights(student, reference) -> None:
    """Copy each reference layer's weights into the student layer matched to it."""
    problem, pairs = match_layers(summarize(student), summarize(reference))
    if problem:
        raise ModelMismatch(problem)
    student_layers, reference_layers = _real_layers(student), _real_layers(reference)
    for mine, theirs in pairs:
        try:
            student_layers[mine].set_weights(reference_layers[theirs].get_weights())
        except ValueError as error:
            raise ModelMismatch(f"layer {mine + 1}: its weights do not have the reference's "
                                f"shapes ({error})") from error


def check_outputs(student, reference, batch, atol: float = 1e-5) -> None:
    """Same weights in, same outputs out, in inference mode."""
    transplant_weights(student, reference)
    found = np.asarray(student(batch, training=False))
    expected = np.asarray(reference(batch, training=False))
    if found.shape != expected.shape:
        raise ModelMismatch(f"model output: expected shape {expected.shape}, found {found.shape}")
    difference = float(np.max(np.abs(found - expected)))
    if not difference <= atol:
        raise ModelMismatch(
            f"with the reference's weights your model computes something else: outputs differ "
            f"by up to {difference:.3g} on a fixed batch (check activations, layer order and how "
            f"the layers are connected)")


def compare_with_reference(student, reference, batch, atol: float = 1e-5) -> None:
    """Run all four checks; raise ``ModelMismatch`` at the first difference.

    Args:
        student: the student's built ``keras.Model``.
        reference: the reference ``keras.Model`` (not modified).
        batch: float32 array shaped like the model's input, e.g. (8, 28, 28, 1).
    """
    if student is None or not hasattr(student, "layers"):
        raise ModelMismatch(f"expected a keras.Model, found {type(student).__name__}")
    check_input_shape(student, reference)
    check_structure(student, reference)
    check_outputs(student, reference, batch, atol)
    print(f"OK model matches the reference ({len(_real_layers(reference))} layers, "
          f"{reference.count_params()} parameters, same outputs under the same weights)")
