"""Lab 01's graded exercises, one declaration per nbgrader grade_id (see autograder/exercise.py)."""

import keras
import numpy as np
import tensorflow as tf

from autograder.exercise import Exercise, Failure, probe_helper
from autograder.judges import classifier_report, field, grader_data, same_array, same_model, same_value
from coursekit.checks import loss_name

from . import LAB_ID, reference


@probe_helper
def hidden_rng(salt):
    """Fixed random inputs, different from the ones the visible checks use."""
    return np.random.default_rng(1000 + salt)


@probe_helper
def one_hot(labels, classes):
    return np.eye(classes)[labels]


class neuron(Exercise):
    """A neuron's weighted sum on a batch of 5 inputs."""

    def inputs():
        return {"x": hidden_rng(1).normal(size=(5, 7)), "w": hidden_rng(2).normal(size=7), "b": 0.3}

    def call(inputs, neuron):
        return neuron(inputs["x"], inputs["w"], inputs["b"])

    def judge(outputs, inputs):
        same_array("neuron(x, w, b) on a batch of 5", outputs, reference.neuron(inputs["x"], inputs["w"], inputs["b"]))


class activations(Exercise):
    """Sigmoid, ReLU and their derivatives on s from -30 to 30."""

    def inputs():
        return {"s": np.linspace(-30, 30, 121)}

    def call(inputs, sigmoid, relu, sigmoid_derivative, relu_derivative):
        s = inputs["s"]
        return {"sigmoid": sigmoid(s), "relu": relu(s),
                "sigmoid_derivative": sigmoid_derivative(s), "relu_derivative": relu_derivative(s)}

    def judge(outputs, inputs):
        s = inputs["s"]
        logistic = 1 / (1 + np.exp(-s))
        same_array("sigmoid", field(outputs, "sigmoid"), np.asarray(keras.activations.sigmoid(s)))
        same_array("relu", field(outputs, "relu"), np.maximum(s, 0))
        same_array("sigmoid_derivative", field(outputs, "sigmoid_derivative"), logistic * (1 - logistic), atol=1e-9)
        same_array("relu_derivative (0 at s <= 0)", field(outputs, "relu_derivative"), (s > 0).astype(float))


class softmax(Exercise):
    """Softmax of a batch of logits, and of very large logits."""

    def inputs():
        return {"logits": hidden_rng(3).normal(scale=4, size=(6, 10)),
                "huge": np.array([[1000.0, 999.0, 0.0], [-1000.0, -1001.0, -1002.0]])}

    def call(inputs, softmax):
        return {"logits": softmax(inputs["logits"]), "huge": softmax(inputs["huge"])}

    def judge(outputs, inputs):
        same_array("softmax", field(outputs, "logits", "softmax's outputs"),
                   np.asarray(keras.activations.softmax(inputs["logits"])))
        same_array("softmax of very large logits (shift by the row maximum)", field(outputs, "huge", "softmax's outputs"),
                   reference.softmax(inputs["huge"]))


class cross_entropy(Exercise):
    """Mean cross-entropy of a batch of 12 predictions."""

    def inputs():
        targets = one_hot(hidden_rng(4).integers(0, 10, 12), 10)
        logits = hidden_rng(5).normal(size=(12, 10))
        exponentials = np.exp(logits - logits.max(axis=-1, keepdims=True))
        predictions = exponentials / exponentials.sum(axis=-1, keepdims=True)
        predictions[0] = np.where(targets[0] == 1, 0.0, predictions[0])  # true class at probability 0: clip
        predictions[1] *= 2.0  # a row summing to 2: renormalise
        return {"targets": targets, "predictions": predictions}

    def call(inputs, cross_entropy):
        return cross_entropy(inputs["targets"], inputs["predictions"])

    def judge(outputs, inputs):
        expected = float(np.mean(keras.losses.categorical_crossentropy(inputs["targets"], inputs["predictions"])))
        same_array("cross_entropy (mean over the batch; each row divided by its sum, then clipped to [1e-7, 1 - 1e-7])",
                   outputs, expected)


class gradient(Exercise):
    """The gradient of the summed softmax cross-entropy with respect to the logits."""

    def inputs():
        return {"logits": hidden_rng(6).normal(size=(9, 10)), "targets": one_hot(hidden_rng(7).integers(0, 10, 9), 10)}

    def call(inputs, softmax_cross_entropy_gradient):
        return softmax_cross_entropy_gradient(inputs["logits"], inputs["targets"])

    def judge(outputs, inputs):
        variable = tf.Variable(inputs["logits"])
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(keras.losses.categorical_crossentropy(inputs["targets"], tf.nn.softmax(variable)))
        same_array("gradient of summed softmax cross-entropy w.r.t. logits", outputs,
                   tape.gradient(loss, variable).numpy(), atol=1e-6)


class updates(Exercise):
    """updates_per_epoch for online, mini-batch and full-batch learning, and uneven last batches."""

    def inputs():
        return {"cases": [[60000, 1], [60000, 128], [60000, 60000], [1000, 33], [10, 3]]}

    def call(inputs, updates_per_epoch):
        return [updates_per_epoch(n_samples, batch_size) for n_samples, batch_size in inputs["cases"]]

    def judge(outputs, inputs):
        for (n_samples, batch_size), found in zip(inputs["cases"], outputs):
            same_value(f"updates_per_epoch({n_samples}, {batch_size})", found, -(-n_samples // batch_size))


class preprocess(Exercise):
    """preprocess on 7 random images and labels."""

    def inputs():
        return {"images": hidden_rng(8).integers(0, 256, size=(7, 28, 28), dtype=np.uint8),
                "labels": hidden_rng(9).integers(0, 10, size=7).astype(np.uint8)}

    def call(inputs, preprocess):
        return list(preprocess(inputs["images"], inputs["labels"]))

    def judge(outputs, inputs):
        if not isinstance(outputs, list) or len(outputs) != 2:
            raise Failure("preprocess should return a pair (images, one-hot labels)")
        images, labels = outputs
        expected_images, expected_labels = reference.preprocess(inputs["images"], inputs["labels"])
        if np.shape(labels)[1:] != (10,):
            raise Failure(f"preprocess: labels should be one-hot, shape (n, 10) (keras.utils.to_categorical); "
                          f"found shape {np.shape(labels)}")
        dtype = np.asarray(images).dtype
        if dtype != np.float32:
            raise Failure(f"preprocess: images should be float32, found {dtype}")
        same_array("preprocess images", images, expected_images)
        same_array("preprocess one-hot labels", labels, expected_labels)


class model(Exercise):
    """build_model's network against the CNN-MNIST example of lecture 004, and how compile_model compiles it."""

    def inputs():
        return {}

    def call(inputs, build_model, compile_model):
        compiled = compile_model(build_model())
        optimizer = compiled.optimizer
        return {"model": build_model(), "loss": loss_name(compiled.loss),
                "optimizer": type(optimizer).__name__,
                "learning_rate": float(optimizer.learning_rate) if optimizer is not None else float("nan")}

    def judge(outputs, inputs):
        same_model(field(outputs, "model", "build_model's answer"), reference.build_cnn_mnist())
        same_value("compile_model's optimizer", field(outputs, "optimizer"), "Adadelta")
        same_array("compile_model's optimizer learning rate", field(outputs, "learning_rate"), 1.0)
        same_value("compile_model's loss", field(outputs, "loss"), "categorical_crossentropy")


@probe_helper
def step_model(salt):
    """A small network whose training mode differs from inference (batch normalisation),
    with fixed weights: (n, 6) inputs -> Dense(5, relu) -> BatchNormalization -> Dense(4, softmax)."""
    network = keras.Sequential([keras.Input(shape=(6,)), keras.layers.Dense(5, activation="relu"),
                                keras.layers.BatchNormalization(), keras.layers.Dense(4, activation="softmax")])
    generator = np.random.default_rng(1100 + salt)
    network.set_weights([generator.normal(0, 0.5, np.shape(weight)).astype("float32") if index not in (4, 5)
                         else np.asarray(weight) for index, weight in enumerate(network.get_weights())])
    return network


@probe_helper
def two_steps(train_step, salt):
    """Two train_step calls with one SGD(0.1, momentum=0.9) optimiser on fixed batches of 8.
    Returns (losses [2 floats], the weights after both steps)."""
    network = step_model(salt)
    optimizer = keras.optimizers.SGD(learning_rate=0.1, momentum=0.9)
    generator = np.random.default_rng(1200 + salt)
    losses = []
    for _ in range(2):
        images = generator.normal(size=(8, 6)).astype("float32")
        targets = np.eye(4, dtype="float32")[generator.integers(0, 4, 8)]
        loss = train_step(network, optimizer, images, targets)
        losses.append(None if loss is None else float(np.asarray(loss)))
    return losses, [np.asarray(weight) for weight in network.get_weights()]


class train_step(Exercise):
    """Two steps of the student's train_step against the reference's, from the same weights,
    on a network with batch normalisation (training mode matters) and a momentum optimiser."""

    def inputs():
        return {"salts": [1, 2]}

    def call(inputs, train_step):
        return [two_steps(train_step, salt) for salt in inputs["salts"]]

    def judge(outputs, inputs):
        for salt, found in zip(inputs["salts"], outputs):
            losses, weights = found
            expected_losses, expected_weights = two_steps(reference.train_step, salt)
            if any(loss is None for loss in losses):
                raise Failure("train_step returned None: return the batch's loss (a float)")
            same_array(f"the loss train_step returns at the first step (network {salt}); did the forward pass "
                       "run with training=True, and is the loss the batch mean?", losses[0], expected_losses[0],
                       atol=1e-5)
            for index, (mine, theirs) in enumerate(zip(weights, expected_weights)):
                same_array(f"weights {index} after two steps (network {salt}); were the gradients applied "
                           "with the optimiser, to model.trainable_variables?", mine, theirs, atol=1e-5)
            same_array(f"the loss at the second step (network {salt})", losses[1], expected_losses[1], atol=1e-5)


class accuracy(Exercise):
    """The trained model's accuracy on the grader's own copy of the held-out digits."""

    def inputs():
        return {}

    def call(inputs, model):
        return model

    def judge(outputs, inputs):
        dataset = grader_data(reference)
        return classifier_report(LAB_ID, reference.METRIC, outputs, dataset)
