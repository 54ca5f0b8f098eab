"""Reference for lab 10 (style transfer and texture synthesis).

Every loss is scale-free, so one set of weights serves VGG19's features (online) and the
random multi-scale network's (offline):

- ``gram_matrix``: G = F^T F / M over the M = H*W positions of a map F (batch, H, W, C);
- ``texture_loss``: sum over layers of ||G^l(x) - A^l||_F^2 / ||A^l||_F^2 (Gatys et al.'s
  per-layer weight w_l chosen as 1 / ||A^l||^2), averaged over the batch;
- ``content_loss``: ||F(x) - P||^2 / ||P||^2 on the content layer, averaged over the batch;
- ``total_variation``: the mean over the (H-1) x (W-1) grid, channels and batch of
  ((x[i, j+1] - x[i, j])^2 + (x[i+1, j] - x[i, j])^2)^(beta / 2) (Mahendran & Vedaldi).

Calibrated numbers (``SCORES``), each log10(a baseline's loss / the answer's loss), the
worse of the notebook's case and the grader's hidden case. The baseline of the first three
is a flat image of the target's mean colour -- the best an image without any structure can
do (a start of uniform noise would be a far weaker bar: its Gram matrices are huge):

- ``inversion_gain``: content loss of the flat image / of the inverted image;
- ``texture_gain``: texture loss of the flat image / of the synthesised texture;
- ``generator_gain``: texture loss of flat images / of the generator's samples;
- ``style_gain``: style-transfer loss of the content photo (the start) / of the stylised image.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from coursekit.image_data import load_style_images
from coursekit.style import flat_like, gain, optimisation_steps

LAB_ID = "10-style-transfer"
DATASET = "style_images"
METRIC = "texture_gain"

LEARNING_RATE = 0.05
TV_WEIGHT = 0.1             # inversion: total variation's weight next to the relative content loss
STYLE_WEIGHTS = {"content": 1.0, "style": 1.0, "tv": 0.1}
NOISE_SHAPE = (16, 16, 8)   # the generator's input z ~ N(0, 1); its output is 64 x 64 x 3
GENERATOR_BATCH = 4
GENERATOR_LEARNING_RATE = 0.01

# The notebook's cases and the grader's hidden ones.
NOTEBOOK = {"inversion": "astronaut", "texture": "brick", "content": "chelsea", "style": "gravel",
            "generator": "brick"}
HIDDEN = {"inversion": "coffee", "texture": "gravel", "content": "coffee", "style": "grass"}
HIDDEN_SEED = 7


def steps(budget) -> dict:
    return optimisation_steps(budget)


# ------------------------------------------------------------------ the losses


def gram_matrix(features):
    batch, height, width, channels = ops.shape(features)
    flat = ops.reshape(features, (batch, height * width, channels))
    return ops.einsum("bmi,bmj->bij", flat, flat) / ops.cast(height * width, flat.dtype)


def texture_loss(features, target_grams):
    total = 0.0
    for feature_map, target in zip(features, target_grams):
        target = ops.convert_to_tensor(target, dtype="float32")
        error = ops.sum((gram_matrix(feature_map) - target) ** 2, axis=(1, 2))
        total = total + ops.mean(error) / ops.sum(target[0] ** 2)
    return total


def content_loss(features, target_features):
    target = ops.convert_to_tensor(target_features, dtype="float32")
    error = ops.sum((features - target) ** 2, axis=(1, 2, 3))
    return ops.mean(error) / ops.sum(target[0] ** 2)


def total_variation(images, beta=2.0):
    images = ops.convert_to_tensor(images, dtype="float32")
    across = images[:, :-1, 1:, :] - images[:, :-1, :-1, :]
    down = images[:, 1:, :-1, :] - images[:, :-1, :-1, :]
    return ops.mean((across ** 2 + down ** 2) ** (beta / 2))


# ------------------------------------------------------------------ optimisation on pixels


def optimise_pixels(loss_fn, initial, steps, learning_rate=LEARNING_RATE):
    image = keras.Variable(np.asarray(initial, dtype="float32"))
    optimizer = keras.optimizers.Adam(learning_rate)
    optimizer.build([image])

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = loss_fn(image)
        optimizer.apply_gradients([(tape.gradient(loss, image), image)])
        image.assign(ops.clip(image, 0.0, 1.0))
        return loss

    losses = [float(step()) for _ in range(steps)]
    return np.asarray(image.numpy()), losses


def noise_image(shape, seed):
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


def invert_features(extractor, target_features, shape, steps, tv_weight=TV_WEIGHT, seed=0):
    def loss_fn(image):
        return content_loss(extractor.content(image), target_features) + tv_weight * total_variation(image)

    return optimise_pixels(loss_fn, noise_image(shape, seed), steps)[0]


def synthesise_texture(extractor, target_grams, shape, steps, seed=0):
    def loss_fn(image):
        return texture_loss(extractor.style(image), target_grams)

    return optimise_pixels(loss_fn, noise_image(shape, seed), steps)[0]


def style_transfer_loss(extractor, image, content_target, target_grams, weights=STYLE_WEIGHTS):
    """The notebook's (given) loss L, the same formula."""
    maps, content = extractor.both(image)
    terms = (content_loss(content, content_target), texture_loss(maps, target_grams), total_variation(image))
    return sum(weights[name] * term for name, term in zip(("content", "style", "tv"), terms))


def style_transfer(extractor, content_image, target_grams, steps, weights=STYLE_WEIGHTS):
    content_target = extractor.content(content_image)

    def loss_fn(image):
        return style_transfer_loss(extractor, image, content_target, target_grams, weights)

    return optimise_pixels(loss_fn, np.asarray(content_image, dtype="float32"), steps)[0]


# ------------------------------------------------------------------ the feed-forward generator


def build_generator() -> keras.Model:
    layers = keras.layers
    return keras.Sequential([
        keras.Input(shape=NOISE_SHAPE),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.BatchNormalization(momentum=0.9),
        layers.UpSampling2D(2),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.BatchNormalization(momentum=0.9),
        layers.UpSampling2D(2),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.BatchNormalization(momentum=0.9),
        layers.Conv2D(3, 1, activation="sigmoid"),
    ], name="texture_generator")


def train_generator(generator, extractor, target_grams, steps, batch_size=GENERATOR_BATCH,
                    learning_rate=GENERATOR_LEARNING_RATE, seed=0):
    optimizer = keras.optimizers.Adam(learning_rate)
    optimizer.build(generator.trainable_variables)
    noise_shape = tuple(generator.inputs[0].shape[1:])

    @tf.function
    def step(noise):
        with tf.GradientTape() as tape:
            loss = texture_loss(extractor.style(generator(noise, training=True)), target_grams)
        gradients = tape.gradient(loss, generator.trainable_variables)
        optimizer.apply_gradients(zip(gradients, generator.trainable_variables))
        return loss

    generator_rng = np.random.default_rng(seed)
    return [float(step(generator_rng.standard_normal((batch_size, *noise_shape)).astype("float32")))
            for _ in range(steps)]


# ------------------------------------------------------------------ the grader's measurements


def grams_of(extractor, image):
    return [np.asarray(gram_matrix(feature_map)) for feature_map in extractor.style(image)]


def as_batch(image, size):
    """A (size, size, 3) or (1, size, size, 3) float32 image as (1, size, size, 3); ValueError otherwise."""
    array = np.asarray(image, dtype=np.float32)
    if array.shape == (size, size, 3):
        array = array[None]
    if array.shape != (1, size, size, 3):
        raise ValueError(f"expected an image shaped ({size}, {size}, 3) or (1, {size}, {size}, 3), "
                         f"found {array.shape}")
    return array


def inversion_gain(data, image, photo) -> float:
    extractor = data.extractor()
    target = extractor.content(data.contents[photo])
    return gain(content_loss(extractor.content(flat_like(data.contents[photo])), target),
                content_loss(extractor.content(as_batch(image, data.image_size)), target))


def texture_gain(data, image, texture) -> float:
    return generator_gain(data, as_batch(image, data.image_size), texture)


def style_gain(data, image, content, style) -> float:
    extractor = data.extractor()
    photo = data.contents[content][None]
    content_target = extractor.content(photo)
    grams = grams_of(extractor, data.textures[style])
    return gain(style_transfer_loss(extractor, photo, content_target, grams),
                style_transfer_loss(extractor, as_batch(image, data.image_size), content_target, grams))


def generator_samples(generator, n=8, seed=1010):
    noise = np.random.default_rng(seed).standard_normal((n, *NOISE_SHAPE)).astype("float32")
    return np.asarray(generator(noise, training=False))


def generator_gain(data, samples, texture) -> float:
    extractor = data.extractor()
    grams = grams_of(extractor, data.textures[texture])
    flat = flat_like(data.textures[texture], len(samples))
    return gain(texture_loss(extractor.style(flat), grams), texture_loss(extractor.style(samples), grams))


# ------------------------------------------------------------------ calibration (SCORES)


def _cases(data, budget, seed, run, score):
    """The worse of the notebook's case and the hidden case, at this budget, from start seed ``seed``."""
    return min(score(data, run(data, case, budget, seed), case) for case in (NOTEBOOK, HIDDEN))


def _invert(data, case, budget, seed):
    extractor = data.extractor()
    size = data.image_size
    return invert_features(extractor, extractor.content(data.contents[case["inversion"]]), (1, size, size, 3),
                           steps(budget)["inversion"], seed=seed)


def _synthesise(data, case, budget, seed):
    extractor = data.extractor()
    size = data.image_size
    return synthesise_texture(extractor, grams_of(extractor, data.textures[case["texture"]]), (1, size, size, 3),
                              steps(budget)["texture"], seed=seed)


def score_inversion(data, budget, seed) -> float:
    return _cases(data, budget, seed, _invert,
                  lambda data, image, case: inversion_gain(data, image, case["inversion"]))


def score_texture(data, budget, seed) -> float:
    return _cases(data, budget, seed, _synthesise,
                  lambda data, image, case: texture_gain(data, image, case["texture"]))


def score_style(data, budget, seed) -> float:
    """Style transfer starts from the photo: no seed enters it (op determinism on), so every
    seed scores the same; the spread of students' optimisers is what the margin is for."""
    extractor = data.extractor()
    scores = []
    for case in (NOTEBOOK, HIDDEN):
        image = style_transfer(extractor, data.contents[case["content"]][None],
                               grams_of(extractor, data.textures[case["style"]]), steps(budget)["style"])
        scores.append(style_gain(data, image, case["content"], case["style"]))
    return min(scores)


def score_generator(data, budget, seed) -> float:
    keras.utils.set_random_seed(seed)
    generator = build_generator()
    extractor = data.extractor()
    train_generator(generator, extractor, grams_of(extractor, data.textures[NOTEBOOK["generator"]]),
                    steps(budget)["generator"], seed=seed)
    return generator_gain(data, generator_samples(generator), NOTEBOOK["generator"])


SCORES = {"inversion_gain": score_inversion, "texture_gain": score_texture, "style_gain": score_style,
          "generator_gain": score_generator}


def load(budget=None):
    return load_style_images(budget=budget, verbose=False)
