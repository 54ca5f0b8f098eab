"""Lab 09's graded exercises, one declaration per nbgrader grade_id (see autograder/exercise.py).

The trained networks (the base network, the pretext encoder) come back as Keras models and are
scored in the grader's process on its own data. The target-task comparison runs the student's
``transfer_and_scratch`` on the grader's own few-shot images (another draw than the notebook's),
and the two models it returns are scored by the grader on the held-out UCI digits.
"""

import dataclasses
import math

import keras
import numpy as np

from coursekit.transfer_data import load_uci_digits

from autograder import metrics
from autograder.exercise import Exercise, Failure, probe_helper
from autograder.judges import classifier_report, field, grader_data, same_array, same_model, threshold_report

from . import LAB_ID, reference

SMALLEST_M = 1          # labelled target images per class in the graded comparison (both budgets)
TRAINING_SEED = 0       # the notebook's seed: the grader trains with it too


# ------------------------------------------------------------ student side (probe helpers)


@probe_helper
def draw_cases():
    """Labels of 7 classes of unequal sizes, and the draws asked of few_shot_indices."""
    generator = np.random.default_rng(9090)
    labels = np.repeat(np.arange(7), [9, 12, 7, 30, 8, 15, 10])
    return {"labels": generator.permutation(labels), "m": 4, "seeds": [3, 4]}


@probe_helper
def fill_weights(model, seed=909):
    """Overwrite every weight of ``model`` with fixed values that depend only on the weights'
    order and shapes: kernels uniform in +-sqrt(3 / fan_in), biases uniform in [-0.1, 0.1]."""
    generator = np.random.default_rng(seed)
    values = []
    for weight in model.get_weights():
        weight = np.asarray(weight)
        if weight.ndim >= 2:
            fan_in = int(np.prod(weight.shape[:-1]))
            values.append((generator.uniform(-1, 1, weight.shape) * math.sqrt(3 / fan_in)).astype(weight.dtype))
        else:
            values.append(generator.uniform(-0.1, 0.1, weight.shape).astype(weight.dtype))
    model.set_weights(values)


@probe_helper
def grader_images(n, seed, size=28):
    """uint8 (n, size, size) of random strokes on black: the grader's own images."""
    generator = np.random.default_rng(seed)
    images = generator.integers(0, 256, (n, size, size)).astype(np.uint8)
    images[generator.random((n, size, size)) < 0.6] = 0
    return images


@probe_helper
def grader_few_shot(labels, m_per_class, seed=909):
    """The grader's own draw of the target task's labelled images (not the notebook's)."""
    generator = np.random.default_rng(seed)
    labels = np.asarray(labels)
    chosen = [generator.choice(np.flatnonzero(labels == label), m_per_class, replace=False)
              for label in np.unique(labels)]
    return generator.permutation(np.concatenate(chosen))


@probe_helper
def error_line(error):
    return f"{type(error).__name__}: {error}"[:300]


# ------------------------------------------------------------------ grader side


def _indices(name, found, labels, m):
    try:
        array = np.asarray(found)
    except (TypeError, ValueError):
        raise Failure(f"{name}: expected an int array of indices, found {type(found).__name__}") from None
    if array.ndim != 1 or array.dtype.kind not in "iu":
        raise Failure(f"{name}: expected a 1-D array of integer indices, found shape {array.shape}, "
                      f"dtype {array.dtype}")
    if len(array) and (array.min() < 0 or array.max() >= len(labels)):
        raise Failure(f"{name}: indices must lie in 0..{len(labels) - 1}, found {array.min()}..{array.max()}")
    classes = np.unique(labels)
    counts = np.array([int(np.sum(labels[array] == label)) for label in classes])
    if not np.all(counts == m):
        raise Failure(f"{name}: expected {m} images of each of the {len(classes)} classes, found {counts.tolist()}")
    if len(set(array.tolist())) != len(array):
        raise Failure(f"{name}: some indices appear twice; draw without replacement")
    return array


def _target_dataset(mnist):
    """The held-out UCI digits, under the threshold table's data key (the base data's)."""
    target = load_uci_digits(verbose=False)
    return dataclasses.replace(target, key=mnist.key, description=f"{target.description}; base network on "
                                                                  f"{mnist.description}")


def _starts_with(weights, first):
    """``weights`` begins with the arrays of ``first``, equal (to float32 round-off)."""
    return len(weights) >= len(first) > 0 and all(
        np.shape(a) == np.shape(b) and np.allclose(a, b, atol=1e-6) for a, b in zip(weights, first))


class tasks(Exercise):
    """few_shot_indices on the grader's labels: m per class, distinct, repeatable, seed-dependent."""

    def inputs():
        return draw_cases()

    def call(inputs, few_shot_indices):
        labels, m = inputs["labels"], inputs["m"]
        first, second = inputs["seeds"]
        return {"first": np.asarray(few_shot_indices(labels, m, first)),
                "again": np.asarray(few_shot_indices(labels, m, first)),
                "other": np.asarray(few_shot_indices(labels, m, second))}

    def judge(outputs, inputs):
        labels, m = inputs["labels"], inputs["m"]
        first = _indices(f"few_shot_indices(labels, {m}, seed={inputs['seeds'][0]})", field(outputs, "first"), labels, m)
        again = field(outputs, "again")
        same_array("few_shot_indices with the same seed twice", again, first, atol=0, rtol=0)
        other = _indices(f"few_shot_indices(labels, {m}, seed={inputs['seeds'][1]})", field(outputs, "other"), labels, m)
        if set(other.tolist()) == set(first.tolist()):
            raise Failure("few_shot_indices draws the same images for two different seeds; "
                          "use np.random.default_rng(seed)")


class networks(Exercise):
    """build_extractor and build_head against the reference; build_classifier computes g(f(x)),
    shares f and g, and freezes f."""

    def inputs():
        return {"batch": (grader_images(6, 9091) / 255.0).astype("float32")[..., None], "n_classes": 7}

    def call(inputs, build_extractor, build_head, build_classifier):
        extractor, head = build_extractor(), build_head(inputs["n_classes"])
        trace = {"extractor": build_extractor(), "head": build_head(inputs["n_classes"])}
        try:
            frozen = build_classifier(extractor, head, True)
            trace["frozen_trainable"] = len(frozen.trainable_weights)
            fill_weights(extractor, 1)
            fill_weights(head, 2)  # after building: the classifier must share these weights
            trace["outputs"] = np.asarray(frozen(inputs["batch"], training=False))
            trace["free_trainable"] = len(build_classifier(extractor, head, False).trainable_weights)
        except Exception as error:  # the trace so far is still judged
            trace["error"] = error_line(error)
        return trace

    def judge(outputs, inputs):
        try:
            same_model(field(outputs, "extractor"), reference.build_extractor(), batch=inputs["batch"])
        except AssertionError as failure:
            raise Failure(f"build_extractor(): {failure}") from None
        features = np.random.default_rng(9092).random((6, reference.FEATURES), dtype=np.float32)
        try:
            same_model(field(outputs, "head"), reference.build_head(inputs["n_classes"]), batch=features)
        except AssertionError as failure:
            raise Failure(f"build_head({inputs['n_classes']}): {failure}") from None
        if outputs.get("error"):
            raise Failure(f"build_classifier raised {outputs['error']} on the grader's networks")
        extractor, head = reference.build_extractor(), reference.build_head(inputs["n_classes"])
        fill_weights(extractor, 1)
        fill_weights(head, 2)
        expected = np.asarray(head(extractor(inputs["batch"], training=False), training=False))
        same_array("build_classifier(f, g, True)(x) after new weights were put into f and g (it must use f and g "
                   "themselves, not copies)", field(outputs, "outputs"), expected, atol=1e-5)
        if field(outputs, "frozen_trainable") != 2:
            raise Failure(f"build_classifier(f, g, freeze=True) has {outputs['frozen_trainable']} trainable weight "
                          "arrays; expected 2 (g's kernel and bias): set extractor.trainable = False")
        if field(outputs, "free_trainable") != 8:
            raise Failure(f"build_classifier(f, g, freeze=False) has {outputs['free_trainable']} trainable weight "
                          "arrays; expected 8: set extractor.trainable = True")


class base_task(Exercise):
    """The base network's macro-F1 on the grader's own copy of the held-out base-task images (all of them)."""

    def inputs():
        return {}

    def call(inputs, base_model):
        return base_model

    def judge(outputs, inputs):
        return classifier_report(LAB_ID, "macro_f1", outputs, reference.whole_data(grader_data(reference)),
                                 threshold_metric="base_f1", threshold_name="the base-task threshold")


class transfer_wins(Exercise):
    """transfer_and_scratch on three of the grader's own draws of 1 labelled UCI digit per class: on
    average the frozen extractor plus a new head beats training from scratch (macro-F1 on the
    held-out UCI digits)."""

    def inputs():
        return {"draw_seeds": [909, 910, 911]}  # GRADER_FEW_SHOT_SEED + 0 .. TRANSFER_DRAWS - 1

    def call(inputs, extractor, base_model, transfer_and_scratch):
        target = load_uci_digits(verbose=False)
        before = [np.array(weight) for weight in extractor.get_weights()]
        transferred, scratch = [], []
        for seed in inputs["draw_seeds"]:
            chosen = grader_few_shot(target.y_train, 1, seed)  # SMALLEST_M labelled images per class
            models = transfer_and_scratch(extractor, target.x_train[chosen], target.y_train[chosen],
                                          0)  # TRAINING_SEED, the notebook's
            transferred.append(models[0])
            scratch.append(models[1])
        unchanged = len(before) == len(extractor.get_weights()) and all(
            np.array_equal(a, b) for a, b in zip(before, extractor.get_weights()))
        return {"extractor": extractor, "base_model": base_model, "transfer": transferred, "scratch": scratch,
                "extractor_unchanged": unchanged}

    def judge(outputs, inputs):
        mnist = reference.whole_data(grader_data(reference))
        dataset = _target_dataset(mnist)
        extractor, base_model = field(outputs, "extractor"), field(outputs, "base_model")
        transferred, scratch = field(outputs, "transfer"), field(outputs, "scratch")
        for name, model in [("extractor", extractor), *((f"the transfer model (draw {k + 1})", model)
                                                         for k, model in enumerate(transferred)),
                            *((f"the from-scratch model (draw {k + 1})", model) for k, model in enumerate(scratch))]:
            if not hasattr(model, "get_weights"):
                raise Failure(f"{name} should be a keras model, found {type(model).__name__}")
        if not hasattr(base_model, "get_weights") or not _starts_with(base_model.get_weights(), extractor.get_weights()):
            raise Failure("extractor must be the f of the trained base network (base_model's first part, "
                          "the same weights)")
        base_f1 = reference.macro_f1(base_model, mnist.x_test, mnist.y_test)
        threshold_report(LAB_ID, "base_f1", base_f1, mnist, threshold_name="the base-task threshold",
                         about=f"of the base network whose extractor is transferred, on {mnist.description}")
        if not field(outputs, "extractor_unchanged"):
            raise Failure("transfer_and_scratch changed the base network's extractor: train a copy "
                          "(keras.models.clone_model + set_weights), not the extractor itself")
        for model in transferred:
            if not _starts_with(model.get_weights(), extractor.get_weights()):
                raise Failure("the transfer model's extractor weights differ from the trained extractor's: it must "
                              "start from a copy of the trained extractor, frozen (trainable = False) while the "
                              "new head trains")
        transfer_f1s = [reference.macro_f1(model, dataset.x_test, dataset.y_test) for model in transferred]
        scratch_f1s = [reference.macro_f1(model, dataset.x_test, dataset.y_test) for model in scratch]
        for draw, (a, b) in enumerate(zip(transfer_f1s, scratch_f1s), start=1):
            print(f"draw {draw} of {SMALLEST_M * 10} images: transfer {a:.4f}, from scratch {b:.4f}")
        transfer_f1, scratch_f1 = float(np.mean(transfer_f1s)), float(np.mean(scratch_f1s))
        predicted = np.asarray(transferred[0](reference.as_inputs(dataset.x_test), training=False)).argmax(axis=1)
        matrix = metrics.confusion(dataset.y_test, predicted, reference.N_CLASSES)  # shown in the feedback
        print(f"confusion matrix of the first draw's transfer model (rows true, columns predicted):\n{matrix}")
        report = threshold_report(LAB_ID, "macro_f1", transfer_f1, dataset, threshold_metric="transfer_f1",
                                  threshold_name="the transfer threshold",
                                  about=f"(mean of {len(transfer_f1s)} draws of the labelled images)")
        report.update(class_names=[str(name) for name in dataset.class_names], confusion_matrix=matrix.tolist())
        gain_report = threshold_report(LAB_ID, "transfer_gain", transfer_f1 - scratch_f1, dataset,
                                       about=f"(transfer {transfer_f1:.4f} minus from scratch {scratch_f1:.4f}, means "
                                             f"over {len(transfer_f1s)} draws of {SMALLEST_M} labelled image per class)")
        return {**report, "scratch_f1": round(scratch_f1, 4), "gain": gain_report}


class patches(Exercise):
    """relative_position_pairs on the grader's images and positions."""

    def inputs():
        generator = np.random.default_rng(9093)
        return {"images": grader_images(12, 9094), "positions": np.concatenate([np.arange(8),
                                                                                 generator.integers(0, 8, 4)])}

    def call(inputs, relative_position_pairs):
        centres, neighbours = relative_position_pairs(inputs["images"], inputs["positions"])
        return {"centres": np.asarray(centres), "neighbours": np.asarray(neighbours)}

    def judge(outputs, inputs):
        centres, neighbours = reference.relative_position_pairs(inputs["images"], inputs["positions"])
        same_array("centre patches", field(outputs, "centres"), centres, atol=0, rtol=0)
        found = field(outputs, "neighbours")
        if np.shape(found) == neighbours.shape:
            for index, position in enumerate(inputs["positions"]):
                if not np.array_equal(found[index], neighbours[index]):
                    row, col = reference.NEIGHBOURS[int(position)]
                    top, left = reference.OFFSET + reference.STEP * row, reference.OFFSET + reference.STEP * col
                    last = reference.PATCH - 1
                    raise Failure(f"image {index}, position {int(position)}: expected the patch of grid cell "
                                  f"({row}, {col}), rows {top}..{top + last}, columns "
                                  f"{left}..{left + last}; found another one")
        same_array("neighbour patches", found, neighbours, atol=0, rtol=0)


class pretext_model(Exercise):
    """build_patch_encoder against the reference; build_pretext_model: two inputs, one shared encoder,
    the same outputs as the reference under the same weights."""

    def inputs():
        generator = np.random.default_rng(9095)
        shape = (6, 7, 7, 1)  # reference.PATCH (the probe cannot import it; test_lab09 checks)
        return {"centres": generator.random(shape, dtype=np.float32),
                "neighbours": generator.random(shape, dtype=np.float32)}

    def call(inputs, build_patch_encoder, build_pretext_model):
        encoder = build_patch_encoder()
        return {"encoder": build_patch_encoder(), "model": build_pretext_model(encoder)}

    def judge(outputs, inputs):
        try:
            same_model(field(outputs, "encoder"), reference.build_patch_encoder(), batch=inputs["centres"])
        except AssertionError as failure:
            raise Failure(f"build_patch_encoder(): {failure}") from None
        model = field(outputs, "model")
        if not hasattr(model, "inputs"):
            raise Failure(f"build_pretext_model should return a keras.Model, found {type(model).__name__}")
        shapes = [tuple(tensor.shape[1:]) for tensor in model.inputs]
        patch = (reference.PATCH, reference.PATCH, 1)
        if shapes != [patch, patch]:
            raise Failure(f"the pretext model's inputs: expected two of shape {patch}, found {shapes}")
        expected = reference.build_pretext_model(reference.build_patch_encoder())
        if model.count_params() != expected.count_params():
            encoder_params = reference.build_patch_encoder().count_params()
            hint = (" -- the two patches must go through the same encoder (one set of weights)"
                    if model.count_params() >= expected.count_params() + encoder_params else "")
            raise Failure(f"the pretext model has {model.count_params()} parameters, expected "
                          f"{expected.count_params()}{hint}")
        fill_weights(expected, 3)
        try:
            model.set_weights(expected.get_weights())
        except ValueError as error:
            raise Failure(f"the pretext model's weights do not have the reference's shapes ({error})") from None
        batch = [inputs["centres"], inputs["neighbours"]]
        same_array("pretext model outputs under the reference's weights (encoder on each patch, centre first, "
                   "Concatenate, Dense(64, relu), Dense(8, softmax))", np.asarray(model(batch, training=False)),
                   np.asarray(expected(batch, training=False)), atol=1e-5)


class features(Exercise):
    """patch_features on the grader's images with a patch encoder under the grader's weights."""

    def inputs():
        return {"images": grader_images(5, 9096)}

    def call(inputs, patch_features, build_patch_encoder):
        encoder = build_patch_encoder()
        fill_weights(encoder, 4)
        return {"encoder": encoder, "features": np.asarray(patch_features(encoder, inputs["images"]))}

    def judge(outputs, inputs):
        same_array("patch_features (9 patches x 64 features, reading order)", field(outputs, "features"),
                   reference.patch_features(field(outputs, "encoder"), inputs["images"]), atol=1e-5)


class ssl_gain(Exercise):
    """Linear probe on the grader's data: the pretext-trained encoder's features against the mean
    of the same architecture's features at reference.RANDOM_ENCODERS random initialisations."""

    def inputs():
        return {}

    def call(inputs, encoder):
        return encoder

    def judge(outputs, inputs):
        if not hasattr(outputs, "get_weights"):
            raise Failure(f"encoder should be a keras model, found {type(outputs).__name__}")
        dataset = reference.whole_data(grader_data(reference))
        try:
            trained = reference.linear_probe_f1(outputs, dataset)
            randoms = reference.random_probe_f1s(outputs, dataset)
        except Exception as error:  # a model that does not take the grid's patches
            raise Failure(f"the encoder could not encode the grader's {reference.PATCH}x{reference.PATCH} patches "
                          f"({type(error).__name__}: {error})")
        random = float(np.mean(randoms))
        print(f"linear probe ({reference.PROBE_PER_CLASS} labels per digit): pretext features {trained:.4f}, "
              f"random features {random:.4f} (mean of {len(randoms)}: {', '.join(f'{f:.4f}' for f in randoms)})")
        return threshold_report(LAB_ID, "ssl_gain", trained - random, dataset,
                                about=f"(probe macro-F1 {trained:.4f} minus the random encoders' mean {random:.4f}, "
                                      f"on {dataset.description})")
