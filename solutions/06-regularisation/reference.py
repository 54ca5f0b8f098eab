"""Reference for lab 06 (regularisation: dropout, DropConnect, augmentation, vanishing gradients).

Calibrated numbers (``SCORES``):

- ``gap_reduction``: train-minus-validation accuracy gap of the plain MLP minus that of the
  regularised MLP (augmentation + dropout + DropConnect), both trained on the same small
  subset of the training data and measured in inference mode;
- ``validation_gain``: validation accuracy of the regularised MLP minus that of the plain
  one: the gap must shrink because validation accuracy holds or rises, not because the
  regularised network fails to learn its training set;
- ``gradient_orders``: log10 of (first/last layer gradient-norm ratio of a deep ReLU net)
  over (the same ratio of the same net with sigmoids) -- how many orders of magnitude
  more the sigmoid net's gradient shrinks on its way back to the first layer.
"""

import keras
import numpy as np
from keras import ops
from tensorflow import GradientTape

LAB_ID = "06-regularisation"
DATASET = "mnist"
METRIC = "gap_reduction"

SUBSET = 300             # training images of the overfitting experiment (the first ones)
VALIDATION = 700         # the next training images: the experiment's validation split (never the test set)
EPOCHS_FULL, EPOCHS_SMOKE = 40, 10
BATCH_SIZE = 16
WIDTH = 256
DROPOUT_RATE = 0.3
DROPCONNECT_RATE = 0.3
DEEP_DEPTH, DEEP_WIDTH, GRADIENT_BATCH = 10, 64, 256
GRADER_GRADIENT_SEED = 5  # the grader's networks: another seed than the notebook's 0

# Which transforms keep a digit's class (and, last, one for clothes).
CLASS_PRESERVING = {
    "horizontal flip": False,
    "vertical flip": False,
    "rotation by 180 degrees": False,
    "rotation by up to 10 degrees": True,
    "shift by up to 3 pixels": True,
    "zoom by up to 10%": True,
    "horizontal flip of a Fashion-MNIST image": True,
}


def _check_rate(rate):
    if not 0.0 <= float(rate) < 1.0:
        raise ValueError(f"rate must lie in [0, 1), got {rate}")
    return float(rate)


class CustomDropout(keras.layers.Layer):
    """Dropout with either inverted (train-time) or original (test-time) scaling."""

    def __init__(self, rate, scale_at="train", seed=None, **options):
        super().__init__(**options)
        if scale_at not in ("train", "test"):
            raise ValueError(f"scale_at must be 'train' or 'test', got {scale_at!r}")
        self.rate = _check_rate(rate)
        self.scale_at = scale_at
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        keep_probability = 1.0 - self.rate
        if not training:
            return inputs if self.scale_at == "train" else inputs * keep_probability
        if self.rate == 0.0:
            return inputs
        uniform = keras.random.uniform(ops.shape(inputs), seed=self.seed_generator)
        kept = uniform >= self.rate
        values = inputs / keep_probability if self.scale_at == "train" else inputs
        return ops.where(kept, values, ops.zeros_like(inputs))

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "scale_at": self.scale_at, "seed": self.seed}


class DropConnectDense(keras.layers.Layer):
    """Dense layer whose kernel entries are dropped, one mask per example (inverted scaling)."""

    def __init__(self, units, rate, activation=None, seed=None, **options):
        super().__init__(**options)
        self.units = int(units)
        self.rate = _check_rate(rate)
        self.activation = keras.activations.get(activation)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(f"DropConnectDense expects (batch, features) inputs, got {input_shape}")
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units),
                                      initializer="glorot_uniform")
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")

    def call(self, inputs, training=None):
        if training and self.rate > 0.0:
            shape = (ops.shape(inputs)[0], self.kernel.shape[0], self.units)
            keep = keras.random.uniform(shape, seed=self.seed_generator) >= self.rate
            masked = ops.where(keep, self.kernel / (1.0 - self.rate), 0.0)
            pre_activation = ops.einsum("bi,bij->bj", inputs, masked)
        else:
            pre_activation = ops.matmul(inputs, self.kernel)
        return self.activation(pre_activation + self.bias)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "rate": self.rate, "seed": self.seed,
                "activation": keras.activations.serialize(self.activation)}


def build_augmentation():
    fill = dict(fill_mode="constant")
    return keras.Sequential(
        [keras.layers.RandomRotation(0.03, **fill),
         keras.layers.RandomTranslation(0.1, 0.1, **fill),
         keras.layers.RandomZoom(0.1, **fill)],
        name="augmentation")


def build_mlp(dropout=False, dropconnect=False, augmentation=False, batch_norm=False):
    stack = [keras.Input(shape=(28, 28, 1))]
    stack += [build_augmentation()] if augmentation else []
    stack.append(keras.layers.Flatten())
    stack.append(keras.layers.Dense(WIDTH, activation="relu"))
    stack += [keras.layers.BatchNormalization()] if batch_norm else []
    stack += [CustomDropout(DROPOUT_RATE)] if dropout else []
    if dropconnect:
        stack.append(DropConnectDense(WIDTH, DROPCONNECT_RATE, activation="relu"))
    else:
        stack.append(keras.layers.Dense(WIDTH, activation="relu"))
    stack += [keras.layers.BatchNormalization()] if batch_norm else []
    stack += [CustomDropout(DROPOUT_RATE)] if dropout else []
    stack.append(keras.layers.Dense(10, activation="softmax"))
    return keras.Sequential(stack)


REGULARISED = dict(dropout=True, dropconnect=True, augmentation=True)


def accuracy(model, images, labels, batch_size=500):
    """Inference-mode accuracy; images float32 (n, 28, 28, 1), labels int (n,)."""
    chunks = [np.asarray(model(images[i:i + batch_size], training=False)).argmax(axis=-1)
              for i in range(0, len(images), batch_size)]
    return float(np.mean(np.concatenate(chunks) == np.asarray(labels)))


def accuracy_gap(model, x_train, y_train, x_val, y_val):
    train_accuracy = accuracy(model, x_train, y_train)
    val_accuracy = accuracy(model, x_val, y_val)
    return {"train_accuracy": train_accuracy, "val_accuracy": val_accuracy,
            "gap": train_accuracy - val_accuracy}


def to_inputs(images):
    return (np.asarray(images, dtype="float32") / 255.0)[..., None]


def experiment_data(dataset):
    """(x_small, y_small, x_val, y_val): the first SUBSET training images, and the next VALIDATION
    training images as the validation split (the test split is not touched)."""
    validation = slice(SUBSET, SUBSET + VALIDATION)
    return (to_inputs(dataset.x_train[:SUBSET]), dataset.y_train[:SUBSET].astype("int64"),
            to_inputs(dataset.x_train[validation]), dataset.y_train[validation].astype("int64"))


def epochs(budget):
    return budget.cap(EPOCHS_FULL, smoke=EPOCHS_SMOKE)


def fit_variant(flags, dataset, budget, seed):
    """Reseed, build the MLP with ``flags``, train it on the subset; return the model."""
    from coursekit.lab import set_determinism

    x_small, y_small, x_val, y_val = experiment_data(dataset)
    set_determinism(seed)
    network = build_mlp(**flags)
    network.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                    optimizer=keras.optimizers.Adam(learning_rate=1e-3))
    network.fit(x_small, y_small, validation_data=(x_val, y_val), validation_batch_size=len(x_val),
                epochs=epochs(budget), batch_size=BATCH_SIZE, verbose=0)
    return network


def gap_reduction_of(plain_model, regularised_model, dataset):
    x_small, y_small, x_val, y_val = experiment_data(dataset)
    plain = accuracy_gap(plain_model, x_small, y_small, x_val, y_val)
    regularised = accuracy_gap(regularised_model, x_small, y_small, x_val, y_val)
    return plain["gap"] - regularised["gap"], plain, regularised


_EXPERIMENTS = {}


def experiment(dataset, budget, seed):
    """(gap reduction, plain's numbers, regularised's numbers) of one seed's run, trained once for
    both of the metrics it gives (calibration asks for each metric in turn)."""
    key = (dataset.key, len(dataset.x_train), budget.name, seed)
    if key not in _EXPERIMENTS:
        plain_model = fit_variant({}, dataset, budget, seed)
        regularised_model = fit_variant(REGULARISED, dataset, budget, seed)
        _EXPERIMENTS[key] = gap_reduction_of(plain_model, regularised_model, dataset)
    return _EXPERIMENTS[key]


def score_gap_reduction(dataset, budget, seed):
    return experiment(dataset, budget, seed)[0]


def score_validation_gain(dataset, budget, seed):
    _, plain, regularised = experiment(dataset, budget, seed)
    return regularised["val_accuracy"] - plain["val_accuracy"]


# ------------------------------------------------------------- vanishing gradients


def build_deep_network(activation, depth=DEEP_DEPTH, width=DEEP_WIDTH):
    hidden = [keras.layers.Dense(width, activation=activation) for _ in range(depth - 1)]
    return keras.Sequential([keras.Input(shape=(784,)), *hidden, keras.layers.Dense(10, activation="softmax")])


def layer_gradient_norms(model, x, y):
    dense_layers = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    kernels = [layer.kernel for layer in dense_layers]
    with GradientTape() as tape:
        probabilities = model(x, training=True)
        loss = ops.mean(keras.losses.sparse_categorical_crossentropy(y, probabilities))
    return np.array([float(np.sqrt(np.sum(np.square(g)))) for g in tape.gradient(loss, kernels)])


def gradient_batch(dataset):
    """The grader's batch: training images GRADIENT_BATCH..2*GRADIENT_BATCH (the notebook uses the first ones)."""
    batch = slice(GRADIENT_BATCH, 2 * GRADIENT_BATCH)
    images = dataset.x_train[batch].reshape(GRADIENT_BATCH, -1)
    return (images / 255.0).astype("float32"), dataset.y_train[batch].astype("int64")


def first_to_last(norms):
    return float(norms[0] / norms[-1])


def gradient_orders_of(build, norms_function, dataset, seed):
    """log10(ReLU's first/last ratio / sigmoid's): networks built right after reseeding."""
    from coursekit.lab import set_determinism

    x, y = gradient_batch(dataset)
    ratios = {}
    for activation in ("sigmoid", "relu"):
        set_determinism(seed)
        ratios[activation] = first_to_last(norms_function(build(activation), x, y))
    return float(np.log10(ratios["relu"] / ratios["sigmoid"])), ratios


def score_gradient_orders(dataset, budget, seed):
    return gradient_orders_of(build_deep_network, layer_gradient_norms, dataset, seed)[0]


# ------------------------------------------------------------- initialisation: Glorot against He

INITIALISATION_SCHEMES = ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal")


def initial_std(scheme, fan_in, fan_out):
    """Standard deviation of a kernel's initial weights: Glorot 2/(fan_in+fan_out), He 2/fan_in (variances)."""
    if scheme in ("glorot_uniform", "glorot_normal"):
        return (2.0 / (fan_in + fan_out)) ** 0.5
    if scheme in ("he_uniform", "he_normal"):
        return (2.0 / fan_in) ** 0.5
    raise ValueError(f"unknown initialisation scheme {scheme!r}; expected one of {INITIALISATION_SCHEMES}")


def activation_stds(model, x):
    """Standard deviation of every hidden Dense layer's output a^(l), l = 1..L-1, over the whole batch.

    Args:
        model: a Sequential of Dense layers (the last one is the output layer, not measured).
        x: (n, 784) float32 inputs.
    Returns:
        (number of Dense layers - 1,) float array.
    """
    dense_layers = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    activations, stds = x, []
    for layer in dense_layers[:-1]:
        activations = layer(activations)
        stds.append(float(np.std(np.asarray(activations))))
    return np.array(stds)


SCORES = {"gap_reduction": score_gap_reduction, "validation_gain": score_validation_gain,
          "gradient_orders": score_gradient_orders}
