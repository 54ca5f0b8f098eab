"""Lab 02's graded exercises, one declaration per nbgrader grade_id (see autograder/exercise.py)."""

import keras
import numpy as np
from sklearn.metrics import confusion_matrix, f1_score

from autograder.exercise import Exercise, Failure, probe_helper
from autograder.judges import classifier_report, field, grader_data, same_array, same_model, same_value
from coursekit.data import ImageDataset

from . import LAB_ID, reference


@probe_helper
def random_dataset():
    """300 training and 50 test images of random pixels and labels: data the notebook never shows."""
    rng = np.random.default_rng(20240611)
    return ImageDataset(
        "probe", "the grader's random check data",
        rng.integers(0, 256, (300, 28, 28), dtype=np.uint8), rng.integers(0, 10, 300).astype(np.uint8),
        rng.integers(0, 256, (50, 28, 28), dtype=np.uint8), rng.integers(0, 10, 50).astype(np.uint8),
        tuple("abcdefghij"))


@probe_helper
def label_cases():
    """Three (y_true, y_pred) pairs: random, one class always predicted, classes absent."""
    rng = np.random.default_rng(11)
    cases = [(rng.integers(0, 10, 400), rng.integers(0, 10, 400))]
    y_true = rng.integers(0, 10, 200)
    cases.append((y_true, np.where(rng.random(200) < 0.8, y_true, 3)))
    cases.append((np.array([0, 0, 1, 2]), np.array([0, 1, 1, 2])))
    return cases


@probe_helper
def count_matrix(y_true, y_pred):
    matrix = np.zeros((10, 10), dtype=np.int64)
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix


class describe(Exercise):
    """describe_data on the grader's random data set."""

    def inputs():
        return {"data": random_dataset()}

    def call(inputs, describe_data):
        return describe_data(inputs["data"])

    def judge(outputs, inputs):
        for key, expected in reference.describe_data(inputs["data"]).items():
            found = field(outputs, key, "describe_data's dict")
            name = f"describe_data[{key!r}]"
            if isinstance(expected, tuple):
                same_value(name, tuple(found) if isinstance(found, (list, np.ndarray)) else found, expected)
            elif isinstance(expected, str):
                same_value(name, str(found), expected)
            else:
                same_array(name, found, expected)


class class_means(Exercise):
    """class_mean_images on the grader's random data set."""

    def inputs():
        return {"data": random_dataset()}

    def call(inputs, class_mean_images):
        return class_mean_images(inputs["data"].x_train, inputs["data"].y_train, 10)

    def judge(outputs, inputs):
        data = inputs["data"]
        same_array("class_mean_images", outputs, reference.class_mean_images(data.x_train, data.y_train))


class sequential(Exercise):
    """build_sequential's model against the reference CNN-MNIST network."""

    def inputs():
        return {}

    def call(inputs, build_sequential):
        return build_sequential()

    def judge(outputs, inputs):
        same_model(outputs, reference.build_sequential())


class functional(Exercise):
    """build_functional's model: functional, and the same network."""

    def inputs():
        return {}

    def call(inputs, build_functional):
        return build_functional()

    def judge(outputs, inputs):
        if isinstance(outputs, keras.Sequential):
            raise Failure("build_functional must build a functional keras.Model "
                          "(keras.Input -> layers -> keras.Model(inputs, outputs)), not a Sequential")
        same_model(outputs, reference.build_functional())


class confusion(Exercise):
    """confusion_matrix_from_counts on the grader's label cases."""

    def inputs():
        return {"cases": label_cases()}

    def call(inputs, confusion_matrix_from_counts):
        return [confusion_matrix_from_counts(y_true, y_pred, 10) for y_true, y_pred in inputs["cases"]]

    def judge(outputs, inputs):
        for case, ((y_true, y_pred), found) in enumerate(zip(inputs["cases"], outputs), start=1):
            same_array(f"confusion_matrix_from_counts (case {case})", found,
                       confusion_matrix(y_true, y_pred, labels=np.arange(10)))


class f1(Exercise):
    """f1_from_confusion on the confusion matrices of the grader's label cases."""

    def inputs():
        return {"cases": label_cases()}

    def call(inputs, f1_from_confusion):
        return [list(f1_from_confusion(count_matrix(y_true, y_pred))) for y_true, y_pred in inputs["cases"]]

    def judge(outputs, inputs):
        labels = np.arange(10)
        for case, ((y_true, y_pred), found) in enumerate(zip(inputs["cases"], outputs), start=1):
            if not isinstance(found, list) or len(found) != 2:
                raise Failure(f"f1_from_confusion (case {case}) should return (per_class_f1, macro_f1)")
            same_array(f"per-class F1 (case {case})", found[0],
                       f1_score(y_true, y_pred, labels=labels, average=None, zero_division=0))
            same_array(f"macro F1 (case {case})", found[1],
                       f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0))


class confused_pairs(Exercise):
    """most_confused_pairs(matrix, 4) on the grader's confusion matrices."""

    def inputs():
        return {"cases": label_cases()}

    def call(inputs, most_confused_pairs):
        return [most_confused_pairs(count_matrix(y_true, y_pred), 4) for y_true, y_pred in inputs["cases"]]

    def judge(outputs, inputs):
        for case, ((y_true, y_pred), found) in enumerate(zip(inputs["cases"], outputs), start=1):
            try:
                pairs = [tuple(int(value) for value in pair) for pair in found]
            except (TypeError, ValueError):
                raise Failure(f"most_confused_pairs (case {case}): expected a list of (a, b, count), found {found!r}")
            matrix = confusion_matrix(y_true, y_pred, labels=np.arange(10))
            same_value(f"most_confused_pairs (case {case})", pairs, reference.most_confused_pairs(matrix, 4))


class misclassified(Exercise):
    """misclassified_examples on the grader's probabilities: ties, k smaller and larger than the count, none."""

    def inputs():
        generator = np.random.default_rng(1022)
        logits = generator.normal(0, 2, (600, 10))
        probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        probabilities[[5, 17, 40]] = probabilities[5]  # three rows with the same probabilities
        y_true = generator.integers(0, 10, 600)
        y_true[[5, 17, 40]] = 0 if probabilities[5].argmax() != 0 else 1
        chosen = (int(y_true[5]), int(probabilities[5].argmax()))
        return {"y_true": y_true, "probabilities": probabilities.astype(np.float32),
                "cases": [[*chosen, 8], [*chosen, 2], [3, 7, 100], [4, 4, 5], [2, 9, 0]]}

    def call(inputs, misclassified_examples):
        found = []
        for true_class, predicted_class, k in inputs["cases"]:
            try:
                found.append(np.asarray(misclassified_examples(inputs["y_true"], inputs["probabilities"],
                                                               true_class, predicted_class, k=k)))
            except Exception as error:  # the student's code may raise anything; report it
                found.append(f"{type(error).__name__}: {error}"[:300])
        return found

    def judge(outputs, inputs):
        if not isinstance(outputs, list) or len(outputs) != len(inputs["cases"]):
            raise Failure("the indices of misclassified_examples are missing")
        for (true_class, predicted_class, k), found in zip(inputs["cases"], outputs):
            name = f"misclassified_examples(y_true, probabilities, {true_class}, {predicted_class}, k={k})"
            if isinstance(found, str):
                raise Failure(f"{name} raised {found}")
            expected = reference.misclassified_examples(inputs["y_true"], inputs["probabilities"], true_class,
                                                        predicted_class, k)
            found = np.asarray(found).reshape(-1)
            if found.shape != expected.shape or not np.array_equal(found.astype(np.int64), expected):
                raise Failure(f"{name}: expected the indices {expected.tolist()}, found {found.tolist()[:20]}")


class macro_f1(Exercise):
    """The trained model's macro-F1 on the grader's own copy of the held-out data."""

    def inputs():
        return {}

    def call(inputs, model):
        return model

    def judge(outputs, inputs):
        dataset = grader_data(reference)
        return classifier_report(LAB_ID, reference.METRIC, outputs, dataset)
