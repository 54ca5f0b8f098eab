# %% [markdown]
# # Lab 10 — Style transfer and texture synthesis
#
# A convolutional network's feature maps $\Phi(x)$ hold two kinds of information about an
# image $x$. *Where* things are survives in the maps themselves: gradient descent on the
# pixels of $\hat x$ until $\Phi(\hat x) \approx \Phi(x^*)$ brings back what the network kept
# of $x^*$ (Mahendran & Vedaldi 2015). *What the texture is like* survives in the maps'
# correlations, the Gram matrices $G^l = F^{l\top} F^l$, which forget positions altogether:
# matching them from noise synthesises new patches of a texture (Gatys, Ecker & Bethge 2015),
# and matching the Gram matrices of one image and the features of another at once transfers
# a style onto a photograph (Gatys et al. 2016). Each of those is an optimisation of hundreds
# of steps; a feed-forward generator $x = g_\theta(z)$ trained on the same texture loss makes a
# new sample in one pass (Ulyanov, Lebedev, Vedaldi & Lempitsky, ICML 2016).
#
# **The data.** The images are real photographs that ship inside scikit-image, in both modes:
# three textures (brick, grass, gravel, grey-scale photos repeated to three channels) and three
# content photos (astronaut, chelsea, coffee), cropped square and resized to 64 × 64.
# The features come from one of two networks, and the first cell prints which:
#
# * `COURSE_DATA=keras` (the default): **VGG19 with its ImageNet weights**, as Gatys et al.
#   used it, through `keras.applications` (the weights file is downloaded once and cached);
#   style layers `block1_conv1` … `block4_conv1`, content layer `block4_conv2`.
# * `COURSE_DATA=offline`: no pretrained ImageNet weights can be had without the internet.
#   Instead, **one layer of random filters at four sizes** (3, 5, 9 and 15 pixels, 32 filters
#   each, ReLU). Ustyuzhaninov, Brendel, Gatys & Bethge (ICLR 2017) showed that such
#   multi-scale random networks already synthesise natural textures. Each scale is one style
#   layer, and the 3 × 3 scale is the content layer. Its features keep much more of the pixels
#   than a deep layer of VGG19, so an inversion here is close to a copy of the photo.
#
# Every loss in this lab is *relative* (divided by the size of its target), so one set of
# weights serves both networks. Each result is graded by how many powers of ten its loss lies
# below a yardstick's, $\log_{10}(L_\text{yardstick} / L)$, against a threshold calibrated for
# this network and budget. Fill in every `# YOUR CODE HERE`, then run the check under it.

# %%
import coursekit  # first: it starts TensorFlow without its harmless start-up log lines
import time

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from keras import ops

from coursekit import setup_lab
from coursekit.checks import check_array, check_at_least, check_grader_threshold, check_model_layers, check_value
from coursekit.image_data import load_style_images
from coursekit.model_diff import spec
from coursekit.style import check_differentiable, flat_like, gain, optimisation_steps, plot_losses, show_images

lab = setup_lab("10-style-transfer")
data = load_style_images()
extractor = data.extractor()
STEPS = optimisation_steps(lab.budget)
print(extractor)
print("optimisation steps at this budget:", STEPS)

# %%
show_images(list(data.textures.values()), list(data.textures), title="textures (style images)")
plt.show()
show_images(list(data.contents.values()), list(data.contents), title="content photos")
plt.show()

# %% [markdown]
# `extractor.style(images)` takes a batch of images, float32 `(batch, 64, 64, 3)` in $[0, 1]$,
# and returns a list with one feature map per style layer, each `(batch, H_l, W_l, C_l)`;
# `extractor.content(images)` returns the content layer's map; `extractor.both(images)`
# returns both from one pass. They are Keras models, so gradients flow through them.

# %%
for name, feature_map in zip(extractor.style_layers, extractor.style(data.textures["brick"][None])):
    print(f"{name:>14}: {tuple(feature_map.shape)}")
print(f"content layer {extractor.content_layer}: {tuple(extractor.content(data.contents['chelsea'][None]).shape)}")

# %% [markdown]
# ## 1. The Gram matrix
#
# Reshape a feature map $F$ of shape `(batch, H, W, C)` to `(batch, M, C)` with $M = HW$
# positions. Its Gram matrix is the channels' correlation over positions,
# $$G_{ij} = \frac{1}{M} \sum_{k=1}^{M} F_{ki} F_{kj},$$
# the lecture's $\sum_k F_{ik}F_{jk}$ divided by $M$, so that layers and images of different
# sizes compare. Write `gram_matrix(features)` returning `(batch, C, C)`, with `keras.ops`
# (`ops.reshape`, `ops.einsum` or `ops.matmul`, `ops.shape`): the pixel optimisations below
# need gradients to flow through it, which NumPy would cut.

# %% kind="solution"
def gram_matrix(features):
    ### BEGIN SOLUTION
    batch, height, width, channels = ops.shape(features)
    flat = ops.reshape(features, (batch, height * width, channels))
    return ops.einsum("bmi,bmj->bij", flat, flat) / ops.cast(height * width, flat.dtype)
    ### END SOLUTION


# %% kind="test" id="gram" points=2
toy = np.arange(12, dtype="float32").reshape(1, 2, 3, 2)  # 6 positions; channel 0 = 0, 2, ..., 10
check_array("gram_matrix(toy)", gram_matrix(toy), np.array([[[220.0, 250.0], [250.0, 286.0]]]) / 6)
brick_maps = extractor.style(data.textures["brick"][None])
check_value("shape of the Gram matrix of the first style layer", tuple(np.shape(gram_matrix(brick_maps[0]))),
            (1, brick_maps[0].shape[-1], brick_maps[0].shape[-1]))
check_differentiable("gram_matrix", gram_matrix, np.random.default_rng(0).random((2, 4, 5, 3)))

# %% [markdown]
# ## 2. Texture, content and total-variation losses
#
# **Texture (style) loss.** For the maps $F^l(x)$ of an image and the target Gram matrices
# $A^l = G(F^l(x^*))$ of a texture,
# $$L_\text{texture} = \sum_l \frac{\lVert G(F^l(x)) - A^l \rVert_F^2}{\lVert A^l \rVert_F^2},$$
# Gatys et al.'s loss with the layer weight $w_l$ chosen as $1 / \lVert A^l\rVert_F^2$, so that
# every layer counts alike. `texture_loss(features, target_grams)` takes two lists (one entry
# per layer): maps `(batch, H_l, W_l, C_l)` and targets `(1, C_l, C_l)`, and returns a scalar:
# for a batch, the mean over its images.
#
# **Content loss** on the content layer: $L_\text{content} = \lVert F(x) - P \rVert^2 / \lVert P \rVert^2$
# with $P = F(x^*)$ of shape `(1, H, W, C)`, again the mean over a batch.
#
# **Total variation** (Mahendran & Vedaldi 2015): over the grid where both neighbours exist,
# $i < H-1$, $j < W-1$, and each channel,
# $$R_\beta(x) = \operatorname{mean}_{i,j,c} \left((x_{i,j+1} - x_{i,j})^2 + (x_{i+1,j} - x_{i,j})^2\right)^{\beta/2},$$
# the lecture's sum divided by its number of terms (and averaged over a batch). It is small
# for smooth images and keeps an optimisation from inventing high-frequency noise.
# All three with `keras.ops`.

# %% kind="solution"
def texture_loss(features, target_grams):
    ### BEGIN SOLUTION
    total = 0.0
    for feature_map, target in zip(features, target_grams):
        target = ops.convert_to_tensor(target, dtype="float32")
        error = ops.sum((gram_matrix(feature_map) - target) ** 2, axis=(1, 2))
        total = total + ops.mean(error) / ops.sum(target[0] ** 2)
    return total
    ### END SOLUTION


# %% kind="test" id="texture_loss" points=2
brick_grams = [gram_matrix(feature_map) for feature_map in brick_maps]
check_array("texture_loss of the texture itself", texture_loss(brick_maps, brick_grams), 0.0, atol=1e-5)
check_array("texture_loss of all-zero maps (1 per layer)", texture_loss([0 * f for f in brick_maps], brick_grams),
            float(len(brick_maps)), rtol=1e-4)
check_array("texture_loss of maps doubled (G becomes 4A: 9 per layer)",
            texture_loss([2 * f for f in brick_maps], brick_grams), 9.0 * len(brick_maps), rtol=1e-4)
check_array("texture_loss of a batch of two copies (the mean over the batch)",
            texture_loss([ops.concatenate([f, 0 * f]) for f in brick_maps], brick_grams), len(brick_maps) / 2, rtol=1e-4)
check_differentiable("texture_loss", lambda first, rest: texture_loss([first, *rest], brick_grams),
                     brick_maps[0] + 0.1, brick_maps[1:])


# %% kind="solution"
def content_loss(features, target_features):
    ### BEGIN SOLUTION
    target = ops.convert_to_tensor(target_features, dtype="float32")
    error = ops.sum((features - target) ** 2, axis=(1, 2, 3))
    return ops.mean(error) / ops.sum(target[0] ** 2)
    ### END SOLUTION


def total_variation(images, beta=2.0):
    ### BEGIN SOLUTION
    images = ops.convert_to_tensor(images, dtype="float32")
    across = images[:, :-1, 1:, :] - images[:, :-1, :-1, :]
    down = images[:, 1:, :-1, :] - images[:, :-1, :-1, :]
    return ops.mean((across ** 2 + down ** 2) ** (beta / 2))
    ### END SOLUTION


# %% kind="test" id="content_loss" points=1
chelsea_features = extractor.content(data.contents["chelsea"][None])
check_array("content_loss of the photo's own features", content_loss(chelsea_features, chelsea_features), 0.0, atol=1e-6)
check_array("content_loss of all-zero features", content_loss(0 * chelsea_features, chelsea_features), 1.0, rtol=1e-5)
check_array("content_loss of features doubled", content_loss(2 * chelsea_features, chelsea_features), 1.0, rtol=1e-5)
check_differentiable("content_loss", content_loss, chelsea_features * 0.5, chelsea_features)

# %% kind="test" id="total_variation" points=2
rows, columns = np.meshgrid(np.arange(6.0), np.arange(7.0), indexing="ij")
ramp = np.repeat((0.1 * rows + 0.2 * columns)[None, :, :, None], 3, axis=-1).astype("float32")  # (1, 6, 7, 3)
check_array("total_variation of a flat image", total_variation(np.full((1, 6, 7, 3), 0.3, "float32")), 0.0)
check_array("total_variation(ramp, beta=2): 0.2^2 + 0.1^2", total_variation(ramp, beta=2.0), 0.05, rtol=1e-4)
check_array("total_variation(ramp, beta=1)", total_variation(ramp, beta=1.0), np.sqrt(0.05), rtol=1e-4)
check_differentiable("total_variation", total_variation, np.random.default_rng(1).random((1, 6, 7, 3)))

# %% [markdown]
# ## 3. Gradient descent on pixels
#
# All the optimisations of this lab share one engine. Write
# `optimise_pixels(loss_fn, initial, steps, learning_rate=0.05)`: make the image a variable
# (`keras.Variable(initial)`), then `steps` times compute `loss_fn(image)` under a
# `tf.GradientTape`, take one `keras.optimizers.Adam(learning_rate)` step on the pixels and clip
# them back to $[0, 1]$. Return `(image, losses)`: the final image as a NumPy array shaped like
# `initial`, and the list of the `steps` losses, each measured *before* its step (so
# `losses[0]` is the loss of `initial`).
#
# Speed: wrapping the body of one step in a `@tf.function` (define it inside
# `optimise_pixels`; call `optimizer.build([image])` first) makes it several times faster.

# %% kind="solution"
def optimise_pixels(loss_fn, initial, steps, learning_rate=0.05):
    ### BEGIN SOLUTION
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
    ### END SOLUTION


# %% kind="test" id="optimise" points=2
target = np.random.default_rng(3).uniform(-0.3, 1.3, (1, 8, 8, 3)).astype("float32")  # partly outside [0, 1]
start = np.full((1, 8, 8, 3), 0.5, "float32")
found, losses = optimise_pixels(lambda image: ops.mean((image - target) ** 2), start, 200)
check_value("len(losses)", len(losses), 200)
check_array("losses[0] (the loss of the initial image)", losses[0], np.mean((start - target) ** 2), rtol=1e-4)
check_value("every pixel within [0, 1]", bool(np.min(found) >= 0 and np.max(found) <= 1), True)
check_array("the image after 200 steps (the nearest image in [0, 1] to the target)", found,
            np.clip(target, 0, 1), atol=0.02)

# %% [markdown]
# ## 4. Inverting the network: what does the content layer keep?
#
# $\hat x = \arg\min_x L_\text{content}(F(x), F(x^*)) + \lambda R_2(x)$, from uniform noise.
# Write `invert_features(extractor, target_features, shape, steps, tv_weight=0.1, seed=0)`:
# start from `np.random.default_rng(seed).random(shape, dtype=np.float32)` and return the
# image `optimise_pixels` finds (learning rate 0.05). It sees only the features, never the photo.

# %% kind="solution"
def invert_features(extractor, target_features, shape, steps, tv_weight=0.1, seed=0):
    ### BEGIN SOLUTION
    def loss_fn(image):
        return content_loss(extractor.content(image), target_features) + tv_weight * total_variation(image)

    initial = np.random.default_rng(seed).random(shape, dtype=np.float32)
    return optimise_pixels(loss_fn, initial, steps)[0]
    ### END SOLUTION


# %% kind="test" id="inversion" points=2
photo = data.contents["astronaut"][None]
photo_features = extractor.content(photo)
inverted = invert_features(extractor, photo_features, photo.shape, STEPS["inversion"])
inversion_gain = gain(content_loss(extractor.content(flat_like(photo)), photo_features),
                      content_loss(extractor.content(inverted), photo_features))
show_images([photo, inverted], ["the photo", f"inverted from {extractor.content_layer}"])
plt.show()
check_grader_threshold(lab, "inversion_gain", inversion_gain, data, label="inversion gain (log10 of the flat "
                       "image's content loss / the inversion's)", hint="does invert_features optimise the content loss?")

# %% [markdown]
# ## 5. Texture synthesis (Gatys, Ecker & Bethge 2015)
#
# Write `synthesise_texture(extractor, target_grams, shape, steps, seed=0)`: from the same
# uniform noise, minimise `texture_loss(extractor.style(image), target_grams)` with
# `optimise_pixels` (learning rate 0.05); return the image. Again it never sees the texture,
# only its Gram matrices.

# %% kind="solution"
def synthesise_texture(extractor, target_grams, shape, steps, seed=0):
    ### BEGIN SOLUTION
    def loss_fn(image):
        return texture_loss(extractor.style(image), target_grams)

    initial = np.random.default_rng(seed).random(shape, dtype=np.float32)
    return optimise_pixels(loss_fn, initial, steps)[0]
    ### END SOLUTION


# %% kind="test" id="texture" points=3
brick = data.textures["brick"][None]
started = time.perf_counter()
synthesised = synthesise_texture(extractor, brick_grams, brick.shape, STEPS["texture"])
optimisation_seconds = time.perf_counter() - started
texture_gain = gain(texture_loss(extractor.style(flat_like(brick)), brick_grams),
                    texture_loss(extractor.style(synthesised), brick_grams))
show_images([brick, synthesised, synthesise_texture(extractor, brick_grams, brick.shape, STEPS["texture"], seed=1)],
            ["the texture", "synthesised (seed 0)", "synthesised (seed 1)"])
plt.show()
print(f"one optimisation of {STEPS['texture']} steps: {optimisation_seconds:.1f} s")
check_grader_threshold(lab, "texture_gain", texture_gain, data, label="texture gain (log10 of the flat image's "
                       "texture loss / the synthesised one's)", hint="does synthesise_texture optimise the texture loss?")

# %% [markdown]
# ## 6. Style transfer (Gatys, Ecker & Bethge 2016)
#
# $L = w_c L_\text{content}(F(x), F(x_B)) + w_s L_\text{texture}(\{F^l(x)\}, \{A^l\}) + w_{tv} R_2(x)$:
# the content of photo $x_B$, the texture statistics $A^l$ of a style image. Write
# `style_transfer(extractor, content_image, target_grams, steps, weights=STYLE_WEIGHTS)` that
# starts from the photo itself (`(1, 64, 64, 3)`), minimises $L$ with `optimise_pixels` (learning
# rate 0.05) and returns the image. `extractor.both(image)` gives the style maps and the content
# map in one pass. The loss of the photo itself is all texture loss; the grade is how far below
# it your result gets.

# %%
STYLE_WEIGHTS = {"content": 1.0, "style": 1.0, "tv": 0.1}


def style_transfer_loss(extractor, image, content_target, target_grams, weights=STYLE_WEIGHTS):
    """The loss L above for one image (1, 64, 64, 3), as the grader measures it."""
    style_maps, content_map = extractor.both(image)
    return (weights["content"] * content_loss(content_map, content_target)
            + weights["style"] * texture_loss(style_maps, target_grams) + weights["tv"] * total_variation(image))


# %% kind="solution"
def style_transfer(extractor, content_image, target_grams, steps, weights=STYLE_WEIGHTS):
    ### BEGIN SOLUTION
    content_target = extractor.content(content_image)

    def loss_fn(image):
        return style_transfer_loss(extractor, image, content_target, target_grams, weights)

    return optimise_pixels(loss_fn, np.asarray(content_image, dtype="float32"), steps)[0]
    ### END SOLUTION


# %% kind="test" id="style" points=3
chelsea, gravel = data.contents["chelsea"][None], data.textures["gravel"][None]
gravel_grams = [gram_matrix(feature_map) for feature_map in extractor.style(gravel)]
stylised = style_transfer(extractor, chelsea, gravel_grams, STEPS["style"])
style_gain = gain(style_transfer_loss(extractor, chelsea, chelsea_features, gravel_grams),
                  style_transfer_loss(extractor, stylised, chelsea_features, gravel_grams))
show_images([chelsea, gravel, stylised], ["content", "style", "stylised"])
plt.show()
check_grader_threshold(lab, "style_gain", style_gain, data, label="style-transfer gain (log10 of the photo's loss "
                       "/ the stylised image's)", hint="does style_transfer start from the photo and optimise L?")

# %% [markdown]
# ## 7. A feed-forward texture generator (Ulyanov et al. 2016)
#
# Instead of optimising the pixels of each new image, train a network $g_\theta$ that maps noise
# $z$ to an image, on the same texture loss: $\min_\theta \mathbb{E}_z L_\text{texture}(g_\theta(z))$.
# Ulyanov et al. feed noise at several scales; this small version takes one noise tensor
# $z \sim \mathcal{N}(0, 1)$ of shape `(16, 16, 8)` and upsamples it twice to 64 × 64.
#
# `build_generator()`: a `keras.Sequential` starting with `keras.Input(shape=(16, 16, 8))`, then
# three times [Conv2D(32, 3×3, padding="same", relu) → BatchNormalization(momentum=0.9)], with
# UpSampling2D(2) after the first two, and a last Conv2D(3, 1×1, sigmoid) that makes the pixels.
#
# `train_generator(generator, extractor, target_grams, steps, batch_size=4, learning_rate=0.01,
# seed=0)`: `steps` Adam steps, each on a fresh batch
# `np.random.default_rng(seed).standard_normal((batch_size, 16, 16, 8))` (one generator, drawn
# from step after step), calling the generator with `training=True`; return the list of losses.

# %% kind="solution"
def build_generator():
    ### BEGIN SOLUTION
    layers = keras.layers
    return keras.Sequential([
        keras.Input(shape=(16, 16, 8)),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.BatchNormalization(momentum=0.9),
        layers.UpSampling2D(2),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.BatchNormalization(momentum=0.9),
        layers.UpSampling2D(2),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.BatchNormalization(momentum=0.9),
        layers.Conv2D(3, 1, activation="sigmoid"),
    ])
    ### END SOLUTION


# %% kind="test" id="generator" points=2
GENERATOR = [
    spec("Conv2D", filters=32, kernel_size=3, padding="same", activation="relu"),
    spec("BatchNormalization", momentum=0.9),
    spec("UpSampling2D", size=(2, 2)),
    spec("Conv2D", filters=32, kernel_size=3, padding="same", activation="relu"),
    spec("BatchNormalization", momentum=0.9),
    spec("UpSampling2D", size=(2, 2)),
    spec("Conv2D", filters=32, kernel_size=3, padding="same", activation="relu"),
    spec("BatchNormalization", momentum=0.9),
    spec("Conv2D", filters=3, kernel_size=1, activation="sigmoid"),
]
check_model_layers(build_generator(), GENERATOR, input_shape=(16, 16, 8))


# %% kind="solution"
def train_generator(generator, extractor, target_grams, steps, batch_size=4, learning_rate=0.01, seed=0):
    ### BEGIN SOLUTION
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

    noise_generator = np.random.default_rng(seed)
    return [float(step(noise_generator.standard_normal((batch_size, *noise_shape)).astype("float32")))
            for _ in range(steps)]
    ### END SOLUTION


# %% [markdown]
# Train it on the brick texture. The grader takes this cell's `generator`, draws its own noise,
# and measures the texture loss of the samples.

# %%
keras.utils.set_random_seed(lab.seed)  # start from the same state as the grader's calibration runs
generator = build_generator()
started = time.perf_counter()
generator_losses = train_generator(generator, extractor, brick_grams, STEPS["generator"])
print(f"trained for {STEPS['generator']} steps in {time.perf_counter() - started:.1f} s; "
      f"texture loss {generator_losses[0]:.3g} -> {generator_losses[-1]:.3g}")
plot_losses({"generator (batch mean)": generator_losses}, "training the texture generator")
plt.show()

# %% kind="test" id="generator_gain" points=3
z = np.random.default_rng(2024).standard_normal((4, 16, 16, 8)).astype("float32")
samples = np.asarray(generator(z, training=False))
show_images([brick, *samples], ["the texture"] + [f"g(z{k})" for k in range(1, 5)], title="generator samples")
plt.show()
check_at_least("spread of the samples over z (pixel std across samples)", float(samples.std(axis=0).mean()), 1e-3,
               hint="different noise should give different images")
generator_gain = gain(texture_loss(extractor.style(flat_like(brick, 4)), brick_grams),
                      texture_loss(extractor.style(samples), brick_grams))
check_grader_threshold(lab, "generator_gain", generator_gain, data, label="generator gain (log10 of flat images' "
                       "texture loss / the samples')", hint="is the generator trained (training=True, Adam steps)?")

# %% [markdown]
# ## 8. How much faster is one pass than one optimisation?
#
# Ulyanov et al. report 0.06 s per sample against about 10 s of optimisation per image. Here
# both are on this machine's CPU at 64 × 64 (the optimisation time includes TensorFlow's one-off
# tracing of its step).

# %%
one = z[:1]
generator(one, training=False)  # the first call builds; time the next ones
started = time.perf_counter()
for _ in range(10):
    generator(one, training=False)
sample_seconds = (time.perf_counter() - started) / 10
speed_ratio = optimisation_seconds / sample_seconds
print(f"one sample: {1000 * sample_seconds:.1f} ms; one optimisation ({STEPS['texture']} steps): "
      f"{optimisation_seconds:.2f} s; the generator is {speed_ratio:.0f} times faster")
check_at_least("speed ratio (optimisation / sample)", speed_ratio, 1.0)
figure, axis = plt.subplots(figsize=(4.5, 2.4))
axis.barh(["one generator sample", "one optimisation"], [sample_seconds, optimisation_seconds])
axis.set_xscale("log")
axis.set_xlabel("seconds (log scale)")
figure.tight_layout()
plt.show()
