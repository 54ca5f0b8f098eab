"""Lab 09 (transfer and self-supervised learning): the hidden checks (the declarations in
solutions/09-transfer-learning/exercises.py) reject typical wrong answers with a message that
says what is wrong, accept the reference, and the calibrated thresholds fail the shortcuts
they guard (a random extractor or encoder in place of a trained one)."""

import keras
import numpy as np
import pytest

from autograder.exercise import Failure
from autograder.labs import module as lab_module
from autograder.labs import reference as lab_reference
from autograder.thresholds import lookup
from coursekit.data import load_mnist
from coursekit.lab import BUDGETS
from coursekit.transfer_data import load_uci_digits

LAB = "09-transfer-learning"
reference = lab_reference(LAB)
exercises = lab_module(LAB, "exercises")


def run(exercise, *answers):
    inputs = exercise.inputs()
    return exercise.judge(exercise.call(inputs, *answers), inputs)


def message(exercise, *answers):
    with pytest.raises(Failure) as failure:
        run(exercise, *answers)
    return str(failure.value)


# ------------------------------------------------------------------ 1. few-shot draws


def test_reference_draw_passes():
    run(exercises.tasks, reference.few_shot_indices)


def test_draw_with_replacement_is_caught():
    def with_replacement(labels, m, seed):
        generator = np.random.default_rng(seed)
        return np.concatenate([generator.choice(np.flatnonzero(labels == k), m, replace=True) for k in np.unique(labels)])
    assert "some indices appear twice; draw without replacement" in message(exercises.tasks, with_replacement)


def test_draw_that_ignores_its_seed_is_caught():
    def unseeded(labels, m, seed):
        return reference.few_shot_indices(labels, m, np.random.default_rng().integers(1 << 30))
    assert "few_shot_indices with the same seed twice" in message(exercises.tasks, unseeded)


def test_draw_of_m_in_all_not_per_class_is_caught():
    def m_in_all(labels, m, seed):
        return np.random.default_rng(seed).choice(len(labels), m, replace=False)
    assert "expected 4 images of each of the 7 classes" in message(exercises.tasks, m_in_all)


# ------------------------------------------------------------------ 2. f, g and the classifier


def test_reference_networks_pass():
    run(exercises.networks, reference.build_extractor, reference.build_head, reference.build_classifier)


def test_classifier_that_never_freezes_is_caught():
    def never_frozen(extractor, head, freeze):
        return keras.Sequential([keras.Input((28, 28, 1)), extractor, head])
    found = message(exercises.networks, reference.build_extractor, reference.build_head, never_frozen)
    assert "build_classifier(f, g, freeze=True) has 8 trainable weight arrays; expected 2" in found


def test_classifier_of_copies_is_caught():
    def copies(extractor, head, freeze):
        extractor, head = keras.models.clone_model(extractor), keras.models.clone_model(head)
        extractor.trainable = not freeze
        return keras.Sequential([keras.Input((28, 28, 1)), extractor, head])
    found = message(exercises.networks, reference.build_extractor, reference.build_head, copies)
    assert "it must use f and g themselves, not copies" in found


def test_extractor_without_its_dense_layer_is_caught():
    def short():
        return keras.Sequential([keras.Input((28, 28, 1))] + [layer for layer in reference.build_extractor().layers
                                                              if not isinstance(layer, keras.layers.Dense)])
    found = message(exercises.networks, short, reference.build_head, reference.build_classifier)
    assert "build_extractor(): expected 6 layers, found 5: after layer 5 the model should go on with Dense(128" in found


# ------------------------------------------------------------------ 5-7. patches, pretext, features


def test_reference_patches_pass():
    run(exercises.patches, reference.relative_position_pairs)


def test_rows_and_columns_swapped_are_caught():
    def swapped(images, positions):
        centre = reference.grid_patch(images, 1, 1)
        neighbours = np.stack([reference.grid_patch(images[i:i + 1], *reversed(reference.NEIGHBOURS[p]))[0]
                               for i, p in enumerate(positions)])
        return centre, neighbours
    found = message(exercises.patches, swapped)
    assert "image 1, position 1: expected the patch of grid cell (0, 1), rows 0..6, columns 10..16" in found


def test_patches_without_the_gap_are_caught():
    def no_gap(images, positions):
        cells = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1), (2, 2)]
        centre = images[:, 7:14, 7:14]
        return centre, np.stack([images[i, 7 * cells[p][0]:7 * cells[p][0] + 7, 7 * cells[p][1]:7 * cells[p][1] + 7]
                                 for i, p in enumerate(positions)])
    assert "centre patches" in message(exercises.patches, no_gap)


def test_probe_side_patch_size_is_the_references():
    assert exercises.pretext_model.inputs()["centres"].shape[1:3] == (reference.PATCH, reference.PATCH)


def test_reference_pretext_model_passes():
    run(exercises.pretext_model, reference.build_patch_encoder, reference.build_pretext_model)


def test_two_encoders_instead_of_one_are_caught():
    def two_encoders(encoder):
        other = reference.build_patch_encoder()
        centre, neighbour = keras.Input((7, 7, 1)), keras.Input((7, 7, 1))
        hidden = keras.layers.Dense(64, activation="relu")(keras.layers.Concatenate()([encoder(centre), other(neighbour)]))
        return keras.Model([centre, neighbour], keras.layers.Dense(8, activation="softmax")(hidden))
    found = message(exercises.pretext_model, reference.build_patch_encoder, two_encoders)
    assert "the two patches must go through the same encoder" in found


def test_neighbour_first_is_caught():
    def neighbour_first(encoder):
        centre, neighbour = keras.Input((7, 7, 1)), keras.Input((7, 7, 1))
        hidden = keras.layers.Dense(64, activation="relu")(keras.layers.Concatenate()([encoder(neighbour), encoder(centre)]))
        return keras.Model([centre, neighbour], keras.layers.Dense(8, activation="softmax")(hidden))
    found = message(exercises.pretext_model, reference.build_patch_encoder, neighbour_first)
    assert "pretext model outputs under the reference's weights" in found


def test_reference_features_pass():
    run(exercises.features, reference.patch_features, reference.build_patch_encoder)


def test_features_in_column_order_are_caught():
    def column_order(encoder, images):
        return np.concatenate([np.asarray(encoder(reference.as_inputs(reference.grid_patch(images, row, col))))
                               for col in range(3) for row in range(3)], axis=1)
    assert "patch_features (9 patches x 64 features, reading order)" in message(
        exercises.features, column_order, reference.build_patch_encoder)


# ------------------------------------------------------------------ thresholds fail their shortcuts


def test_ssl_threshold_fails_random_encoders():
    """An untrained encoder handed in as the pretext encoder: five random initialisations, each
    probed as the grader probes, all stay below both budgets' ssl_gain thresholds (the probe
    uses the whole offline data at both budgets)."""
    dataset = reference.whole_data(load_mnist(budget=BUDGETS["smoke"], verbose=False))
    baseline = float(np.mean(reference.random_probe_f1s(reference.build_patch_encoder(), dataset)))
    gains = []
    for seed in range(5):
        keras.utils.set_random_seed(seed)
        gains.append(reference.linear_probe_f1(reference.build_patch_encoder(), dataset) - baseline)
    for budget in ("smoke", "full"):
        threshold = lookup(LAB, "ssl_gain", dataset.key, budget)["threshold"]
        assert max(gains) < threshold, (budget, gains, threshold)


def test_transfer_gain_threshold_fails_random_features():
    """The shortcut the transfer gain guards: features that carry nothing from the base task. An
    untrained extractor, transferred as the grader does (its three draws of one image per class),
    gains less than both budgets' thresholds over training from scratch."""
    target = load_uci_digits(BUDGETS["smoke"], verbose=False)
    keras.utils.set_random_seed(0)
    extractor = reference.build_extractor()
    gains = []
    for draw in range(reference.TRANSFER_DRAWS):
        transferred, scratch = reference.transfer_and_scratch(extractor, *reference.grader_few_shot(target, 1, draw), 0)
        gains.append(reference.macro_f1(transferred, target.x_test, target.y_test)
                     - reference.macro_f1(scratch, target.x_test, target.y_test))
    for budget in ("smoke", "full"):
        threshold = lookup(LAB, "transfer_gain", "mnist5k_offline", budget)["threshold"]
        assert np.mean(gains) < threshold, (budget, gains, threshold)


def test_transfer_wins_refuses_an_untrained_base_network():
    """The grader also requires the transferred extractor to be the trained base network's, and
    that network to reach the base-task threshold."""
    keras.utils.set_random_seed(0)
    extractor = reference.build_extractor()
    base_model = reference.build_classifier(extractor, reference.build_head(10), freeze=False)
    found = message(exercises.transfer_wins, extractor, base_model, reference.transfer_and_scratch)
    assert "of the base network whose extractor is transferred" in found and "is below the base-task threshold" in found


def test_transfer_wins_refuses_an_extractor_that_is_not_the_base_networks():
    keras.utils.set_random_seed(0)
    base_model = reference.build_classifier(reference.build_extractor(), reference.build_head(10), freeze=False)
    found = message(exercises.transfer_wins, reference.build_extractor(), base_model, reference.transfer_and_scratch)
    assert "extractor must be the f of the trained base network" in found
