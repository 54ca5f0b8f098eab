"""Lab 12's graded exercises, one declaration per nbgrader grade_id (see autograder/exercise.py).

The student's ``GradientReversal`` never leaves the student's kernel: ``call`` runs it on the
grader's inputs and returns its trace (outputs, gradients under several lambdas, in eager
mode and inside ``tf.function``). ``build_dann`` and ``train_step`` are run on networks the
probe builds itself (the reference architecture, fixed weights, a reversal layer of the
probe's own), so a mistake in one exercise does not cost the points of another; they too
come back as traces. The three networks and the two trained classifiers are Keras's own
layers and come back as models.
"""

import math

import keras
import numpy as np
import tensorflow as tf

from autograder.exercise import Exercise, Failure, probe_helper
from autograder.judges import classifier_report, field, grader_data, same_array, same_model, threshold_report
from coursekit.domain import accuracy, predict

from . import LAB_ID, reference

# DANN may lose a little source accuracy to adaptation, never much: a "source-only" classifier
# far below the DANN's own source accuracy was not trained as the lab says.
SOURCE_ACCURACY_SLACK = 0.05


# ------------------------------------------------------------ student side (probe helpers)


@probe_helper
def error_line(error):
    """One line for an exception the student's code raised part-way through a trace."""
    return f"{type(error).__name__}: {error}"[:300]


@probe_helper
def probe_reversal(lambda_):
    """A gradient reversal layer of the probe's own (so build_dann and train_step are judged
    whatever the student's GradientReversal does)."""

    class ProbeReversal(keras.layers.Layer):
        def __init__(self, value):
            super().__init__()
            self.lambda_ = self.add_weight(name="lambda", shape=(), trainable=False,
                                           initializer=keras.initializers.Constant(float(value)))

        def call(self, inputs):
            factor = keras.ops.convert_to_tensor(self.lambda_)
            return keras.ops.stop_gradient(inputs * (1.0 + factor)) - factor * inputs

    return ProbeReversal(lambda_)


@probe_helper
def probe_networks(seed):
    """The reference's G_f, G_y, G_d (built of Keras layers) with fixed weights drawn from ``seed``."""
    generator = np.random.default_rng(seed)
    networks = [
        keras.Sequential([keras.Input(shape=(28, 28, 3)), keras.layers.Conv2D(32, 5, activation="relu"),
                          keras.layers.MaxPooling2D(2), keras.layers.Conv2D(48, 5, activation="relu"),
                          keras.layers.MaxPooling2D(2), keras.layers.Flatten()]),
        keras.Sequential([keras.Input(shape=(768,)), keras.layers.Dense(100, activation="relu"),
                          keras.layers.Dense(10, activation="softmax")]),
        keras.Sequential([keras.Input(shape=(768,)), keras.layers.Dense(100, activation="relu"),
                          keras.layers.Dense(1, activation="sigmoid")]),
    ]
    for network in networks:
        values = []
        for weight in network.get_weights():
            fan_in = int(np.prod(weight.shape[:-1])) if weight.ndim > 1 else 1
            scale = math.sqrt(3.0 / fan_in) if weight.ndim > 1 else 0.05
            values.append((generator.uniform(-1, 1, weight.shape) * scale).astype("float32"))
        network.set_weights(values)
    return networks


@probe_helper
def probe_images(n, seed):
    """float32 (n, 28, 28, 3) in [0, 1]: the grader's own images."""
    return np.random.default_rng(seed).random((n, 28, 28, 3), dtype=np.float32)


@probe_helper
def probe_dann(networks, lambda_):
    """(inputs, outputs) of the reference DANN graph on ``networks`` with the probe's reversal layer."""
    images = keras.Input(shape=(28, 28, 3))
    features = networks[0](images)
    return images, [networks[1](features), networks[2](probe_reversal(lambda_)(features))]


@probe_helper
def dann_trace(model, networks, images, class_labels, domain_labels):
    """Outputs of a two-headed model and the gradients of each loss w.r.t. every network's weights."""
    outputs = model(images, training=False)
    trace = {"n_outputs": len(outputs) if isinstance(outputs, (list, tuple)) else 1}
    if trace["n_outputs"] != 2:
        return trace
    trace["class_probabilities"] = np.asarray(outputs[0])
    trace["domain_probabilities"] = np.asarray(outputs[1])
    weights = [weight for network in networks for weight in network.trainable_weights]
    try:
        for name, pick, loss_function, labels in (
                ("class", 0, keras.losses.sparse_categorical_crossentropy, class_labels),
                ("domain", 1, keras.losses.binary_crossentropy, domain_labels)):
            with tf.GradientTape() as tape:
                loss = keras.ops.mean(loss_function(labels, model(images, training=True)[pick]))
            trace[f"{name}_gradients"] = [None if gradient is None else np.asarray(gradient)
                                          for gradient in tape.gradient(loss, weights)]
    except Exception as error:  # the outputs above are still judged first
        trace["error"] = error_line(error)
    return trace


@probe_helper
def step_batches():
    """Two steps' batches: (x_source, y_source, x_target), 6 images each."""
    generator = np.random.default_rng(1205)
    return [(probe_images(6, 1206 + step), generator.integers(0, 10, 6).astype("int64"), probe_images(6, 1210 + step))
            for step in range(2)]


# ------------------------------------------------------------------ grader side


def _part(outputs, record, key, what):
    if isinstance(record, dict) and key in record:
        return field(record, key, what)
    error = outputs.get("error") if isinstance(outputs, dict) else None
    if error:
        raise Failure(f"{what}: your code raised {error} on the grader's inputs")
    raise Failure(f"{what}: the trace lacks {key!r}")


def _weights_in_order(networks):
    """Names of the networks' trainable weights, in ``model.trainable_weights`` order: "G_f's layer 1 kernel"."""
    names = []
    for network_name, network in zip(("G_f", "G_y", "G_d"), networks):
        for position, layer in enumerate(network.layers, start=1):
            names += [f"{network_name}'s layer {position} {weight.path.split('/')[-1]}"
                      for weight in layer.trainable_weights]
    return names


# ------------------------------------------------------------------ 1. the schedule


class schedule(Exercise):
    """lambda_schedule at the grader's progress values and gammas, against 2 / (1 + exp(-gamma p)) - 1."""

    def inputs():
        return {"cases": [[0.0, 10.0], [0.05, 10.0], [0.3, 10.0], [0.77, 10.0], [1.0, 10.0], [0.4, 3.0], [0.9, 0.5]]}

    def call(inputs, lambda_schedule):
        return [float(lambda_schedule(progress, gamma=gamma)) for progress, gamma in inputs["cases"]]

    def judge(outputs, inputs):
        if not isinstance(outputs, list) or len(outputs) != len(inputs["cases"]):
            raise Failure("lambda_schedule's values are missing")
        for (progress, gamma), found in zip(inputs["cases"], outputs):
            same_array(f"lambda_schedule({progress}, gamma={gamma})", found,
                       reference.lambda_schedule(progress, gamma), atol=1e-7)


# ------------------------------------------------------------------ 2. gradient reversal


class reversal(Exercise):
    """GradientReversal on the grader's tensors: the identity forward, -lambda times the upstream
    gradient backward, for several lambdas, after assign, and inside tf.function."""

    def inputs():
        generator = np.random.default_rng(1201)
        return {"x": generator.normal(size=(4, 3, 5)).astype("float32"),
                "w": generator.normal(size=(4, 3, 5)).astype("float32"),
                "lambdas": [1.0, 0.25, 3.0], "assigned": [0.7, -0.5]}

    def call(inputs, GradientReversal):
        x, w = tf.constant(inputs["x"]), tf.constant(inputs["w"])
        trace = {"lambdas": []}

        def gradient_of(layer):
            with tf.GradientTape() as tape:
                tape.watch(x)
                total = tf.reduce_sum(w * layer(x))
            gradient = tape.gradient(total, x)
            return None if gradient is None else np.asarray(gradient)

        try:
            trace["default"] = gradient_of(GradientReversal())
            for value in inputs["lambdas"]:
                layer = GradientReversal(value)
                record = {"forward": np.asarray(layer(x))}
                trace["lambdas"].append(record)
                record["gradient"] = gradient_of(layer)
                record["trainable"] = len(layer.trainable_weights)
            layer = GradientReversal(1.0)

            @tf.function
            def compiled(x):
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    total = tf.reduce_sum(w * layer(x))
                return tape.gradient(total, x)

            trace["compiled"] = [np.asarray(compiled(x))]
            for value in inputs["assigned"]:
                layer.lambda_.assign(value)
                trace["compiled"].append(np.asarray(compiled(x)))
            trace["eager_after_assign"] = gradient_of(layer)
        except Exception as error:  # what the trace holds so far is still judged, in order
            trace["error"] = error_line(error)
        return trace

    def judge(outputs, inputs):
        x, w = inputs["x"], inputs["w"]
        default = _part(outputs, outputs, "default", "GradientReversal()")
        if default is None:
            raise Failure("GradientReversal(): no gradient reaches the input; the layer must pass the gradient "
                          "on (times -lambda), not stop it")
        if np.allclose(default, w, atol=1e-5):
            raise Failure("GradientReversal(): the gradient passes unchanged (+w); it must be reversed, "
                          "-lambda * upstream")
        same_array("gradient through GradientReversal() (default lambda 1): -w", default, -w, atol=1e-5)
        records = field(outputs, "lambdas", "the trace")
        for index, value in enumerate(inputs["lambdas"]):
            name = f"GradientReversal({value})"
            record = records[index] if index < len(records) else {}
            same_array(f"{name}(x): the identity", _part(outputs, record, "forward", f"{name}(x)"), x, atol=1e-5)
            gradient = _part(outputs, record, "gradient", f"the gradient through {name}")
            if gradient is None:
                raise Failure(f"{name}: no gradient reaches the input")
            if np.allclose(gradient, w, atol=1e-5):
                raise Failure(f"{name}: the gradient passes unchanged (+w); it must be reversed, -lambda * upstream")
            same_array(f"gradient of sum(w * {name}(x)): -lambda * w = {-value:g} * w", gradient, -value * w, atol=1e-5)
            trainable = _part(outputs, record, "trainable", f"{name}'s weights")
            if trainable != 0:
                raise Failure(f"{name} has {trainable} trainable weight(s); lambda must not be trained "
                              "(add_weight(..., trainable=False))")
        compiled = _part(outputs, outputs, "compiled", "GradientReversal inside tf.function")
        for found, value in zip(compiled, [1.0] + inputs["assigned"]):
            same_array(f"inside tf.function with lambda_ assigned {value}: {-value:g} * w (a Python float would "
                       "be frozen into the graph; keep lambda in a variable)", found, -value * w, atol=1e-5)
        if len(compiled) != 1 + len(inputs["assigned"]):
            _part(outputs, {}, "compiled after assign", "GradientReversal inside tf.function")
        same_array("eager gradient after lambda_.assign(-0.5): 0.5 * w",
                   _part(outputs, outputs, "eager_after_assign", "the gradient after lambda_.assign"),
                   0.5 * w, atol=1e-5)


# ------------------------------------------------------------------ 3. the networks


class networks(Exercise):
    """build_feature_extractor, build_label_predictor, build_domain_classifier against the reference networks."""

    def inputs():
        return {"images": probe_images(4, 1202),
                "features": np.random.default_rng(1203).random((4, 768), dtype=np.float32)}

    def call(inputs, build_feature_extractor, build_label_predictor, build_domain_classifier):
        return {"feature_extractor": build_feature_extractor(), "label_predictor": build_label_predictor(),
                "domain_classifier": build_domain_classifier()}

    def judge(outputs, inputs):
        for name, build, batch in (("feature_extractor", reference.build_feature_extractor, inputs["images"]),
                                   ("label_predictor", reference.build_label_predictor, inputs["features"]),
                                   ("domain_classifier", reference.build_domain_classifier, inputs["features"])):
            try:
                same_model(field(outputs, name, "the networks"), build(), batch=batch)
            except AssertionError as error:
                raise Failure(f"build_{name}(): {error}") from None


# ------------------------------------------------------------------ 4. DANN


class dann_model(Exercise):
    """build_dann on the grader's networks and reversal layer: both outputs, and where the gradients of
    each loss go (the domain loss reversed into G_f only)."""

    def inputs():
        generator = np.random.default_rng(1204)
        return {"images": probe_images(10, 1207), "class_labels": generator.integers(0, 10, 10).astype("int64"),
                "domain_labels": (generator.random((10, 1)) < 0.5).astype("float32"), "lambda": 0.3}

    def call(inputs, build_dann):
        networks = probe_networks(12)
        model = build_dann(*networks, probe_reversal(inputs["lambda"]))
        return dann_trace(model, networks, inputs["images"], inputs["class_labels"], inputs["domain_labels"])

    def judge(outputs, inputs):
        networks = probe_networks(12)
        expected = dann_trace(reference.build_dann(*networks, probe_reversal(inputs["lambda"])), networks,
                              inputs["images"], inputs["class_labels"], inputs["domain_labels"])
        same_array_count = field(outputs, "n_outputs", "build_dann's model")
        if same_array_count != 2:
            raise Failure(f"build_dann's model should have 2 outputs (class probabilities, domain probability), "
                          f"found {same_array_count}")
        same_array("first output: class probabilities G_y(G_f(x))", field(outputs, "class_probabilities"),
                   expected["class_probabilities"], atol=1e-5)
        same_array("second output: domain probability G_d(R(G_f(x)))", field(outputs, "domain_probabilities"),
                   expected["domain_probabilities"], atol=1e-5)
        names = _weights_in_order(networks)
        for loss in ("class", "domain"):
            found_gradients = _part(outputs, outputs, f"{loss}_gradients", f"the gradients of the {loss} loss")
            for name, found, wanted in zip(names, found_gradients, expected[f"{loss}_gradients"]):
                what = f"gradient of the {loss} loss w.r.t. {name}"
                if (found is None) != (wanted is None):
                    raise Failure(f"{what}: expected {'none' if wanted is None else 'a gradient'}, found "
                                  f"{'none' if found is None else 'one'}; are the networks connected as described?")
                if wanted is None:
                    continue
                if loss == "domain" and name.startswith("G_d") and np.allclose(found, -inputs["lambda"] * wanted,
                                                                                atol=1e-6) and np.abs(wanted).max() > 0:
                    raise Failure(f"{what} is reversed: the reversal layer must sit between G_f and G_d, "
                                  "not after G_d")
                if loss == "domain" and name.startswith("G_f") and np.allclose(found, -wanted / inputs["lambda"],
                                                                                atol=1e-6) and np.abs(wanted).max() > 0:
                    raise Failure(f"{what} is not reversed: G_d must see the features through the reversal layer")
                same_array(what, found, wanted, atol=1e-5, rtol=1e-4)


# ------------------------------------------------------------------ 5. the training step


class train_step(Exercise):
    """Two train_step calls (SGD 0.1, the second inside tf.function) on the grader's DANN and batches:
    the losses and every weight afterwards, against the reference step."""

    def inputs():
        return {"lambda": 0.6, "learning_rate": 0.1}

    def call(inputs, train_step):
        networks = probe_networks(13)
        model = keras.Model(*probe_dann(networks, inputs["lambda"]))
        optimizer = keras.optimizers.SGD(inputs["learning_rate"])
        trace = {"steps": []}
        try:
            for index, (x_source, y_source, x_target) in enumerate(step_batches()):
                step = train_step if index == 0 else tf.function(train_step)
                losses = step(model, optimizer, x_source, y_source, x_target)
                trace["steps"].append({"class_loss": float(losses["class_loss"]),
                                       "domain_loss": float(losses["domain_loss"]),
                                       "weights": [np.asarray(weight) for weight in model.trainable_weights]})
        except Exception as error:
            trace["error"] = error_line(error)
        return trace

    def judge(outputs, inputs):
        networks = probe_networks(13)
        model = keras.Model(*probe_dann(networks, inputs["lambda"]))
        optimizer = keras.optimizers.SGD(inputs["learning_rate"])
        names = _weights_in_order(networks)
        steps = field(outputs, "steps", "the trace")
        for index, (x_source, y_source, x_target) in enumerate(step_batches()):
            what = f"step {index + 1}{' (inside tf.function)' if index else ''}"
            losses = reference.train_step(model, optimizer, x_source, y_source, x_target)
            record = _part(outputs, {"step": steps[index]} if index < len(steps) else {}, "step", what)
            same_array(f"{what}: class_loss (mean cross-entropy of the source images)",
                       field(record, "class_loss", what), float(losses["class_loss"]), atol=1e-5)
            same_array(f"{what}: domain_loss (mean binary cross-entropy of all images, source 0, target 1)",
                       field(record, "domain_loss", what), float(losses["domain_loss"]), atol=1e-5)
            found_weights = field(record, "weights", what)
            for name, found, weight in zip(names, found_weights, model.trainable_weights):
                same_array(f"{what}: {name} afterwards", found, np.asarray(weight), atol=1e-5, rtol=1e-4)


# ------------------------------------------------------------------ 6. scores on the target domain


def _classifier(outputs, key):
    model = field(outputs, key, "the answer") if isinstance(outputs, dict) else outputs
    if not hasattr(model, "layers"):
        raise Failure(f"{key} should be a trained keras model, found {type(model).__name__}")
    return model


class target_f1(Exercise):
    """The DANN classifier's macro-F1 on the grader's own copy of the target domain's held-out images."""

    def inputs():
        return {}

    def call(inputs, dann_classifier):
        return {"dann_classifier": dann_classifier}

    def judge(outputs, inputs):
        dataset = grader_data(reference)
        return classifier_report(LAB_ID, "macro_f1", _classifier(outputs, "dann_classifier"), dataset,
                                 threshold_metric="target_macro_f1",
                                 threshold_name="the DANN target macro-F1 threshold")


class gain(Exercise):
    """DANN's target macro-F1 minus the source-only classifier's, both measured by the grader."""

    def inputs():
        return {}

    def call(inputs, source_only_classifier, dann_classifier):
        return {"source_only_classifier": source_only_classifier, "dann_classifier": dann_classifier}

    def judge(outputs, inputs):
        from autograder import metrics

        dataset = grader_data(reference)
        models = {key: _classifier(outputs, key) for key in ("source_only_classifier", "dann_classifier")}
        scores, source_accuracy = {}, {}
        for key, model in models.items():
            try:
                predictions = metrics.test_predictions(model, dataset)
                source_accuracy[key] = accuracy(model, dataset.model_inputs(dataset.x_source_test),
                                                dataset.y_source_test)
            except Exception as error:
                raise Failure(f"{key} could not classify the held-out images ({type(error).__name__}: {error})")
            scores[key] = metrics.score("macro_f1", dataset.y_test, predictions)
            print(f"{key}: target macro-F1 {scores[key]:.4f}, source accuracy {source_accuracy[key]:.4f}")
        if source_accuracy["source_only_classifier"] < source_accuracy["dann_classifier"] - SOURCE_ACCURACY_SLACK:
            raise Failure(f"source_only_classifier reaches only {source_accuracy['source_only_classifier']:.4f} "
                          f"accuracy on the source domain, less than the DANN's "
                          f"{source_accuracy['dann_classifier']:.4f} - {SOURCE_ACCURACY_SLACK}: train it as the "
                          "lab does, with the same steps")
        difference = scores["dann_classifier"] - scores["source_only_classifier"]
        return threshold_report(LAB_ID, "dann_gain", difference, dataset,
                                about=f"(DANN {scores['dann_classifier']:.4f} - source only "
                                      f"{scores['source_only_classifier']:.4f}, target macro-F1 on "
                                      f"{dataset.description})")


# ------------------------------------------------------------------ 7. the embedding


class embedding(Exercise):
    """pca_2d on the grader's features of two domains, against scikit-learn's PCA with the sign rule."""

    def inputs():
        generator = np.random.default_rng(1208)
        return {"cases": [[generator.normal(size=(40, 12)), generator.normal(0.5, 3.0, size=(25, 12))],
                          [generator.random((15, 5)), generator.random((30, 5)) + 2.0]]}

    def call(inputs, pca_2d):
        return [np.asarray(pca_2d(sign * source, sign * target)) for source, target in inputs["cases"]
                for sign in (1.0, -1.0)]

    def judge(outputs, inputs):
        cases = [(sign, source, target) for source, target in inputs["cases"] for sign in (1.0, -1.0)]
        if not isinstance(outputs, list) or len(outputs) != len(cases):
            raise Failure("pca_2d's points are missing")
        for case, ((sign, source, target), found) in enumerate(zip(cases, outputs), start=1):
            same_array(f"pca_2d (case {case}: {len(source)} source and {len(target)} target rows"
                       f"{', features negated' if sign < 0 else ''}; is every column's largest-magnitude entry "
                       "positive?)", found, reference.pca_2d(sign * source, sign * target), atol=1e-6)
