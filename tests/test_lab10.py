"""Lab 10 (style transfer and texture synthesis): typical wrong answers caught, with their messages,
by the hidden declarations and by the notebook's visible checks; thresholds that fail the shortcuts
they guard; the reference's formulas against plain NumPy."""

import numpy as np
import pytest
from keras import ops

from autograder import labs
from lab_cells import cells, run_check

LAB = "10-style-transfer"
reference = labs.reference(LAB)
EXERCISES = labs.exercises(LAB)


def judged(grade_id, **answers):
    """Run one declaration's call with the given student functions and judge the result."""
    exercise = EXERCISES[grade_id]
    inputs = exercise.inputs()
    outputs = exercise.call(inputs, *[answers[name] for name in exercise.names])
    return exercise.judge(outputs, inputs)


def failure(grade_id, **answers) -> str:
    """The judge's message (a ``Failure``, or the ``AssertionError`` of a model comparison)."""
    with pytest.raises(AssertionError) as caught:
        judged(grade_id, **answers)
    return str(caught.value)


@pytest.fixture(scope="module")
def data():
    return reference.load()


# ------------------------------------------------------------------ the reference is the formula


def test_reference_losses_are_the_written_formulas():
    generator = np.random.default_rng(0)
    maps = generator.random((2, 4, 5, 3), dtype=np.float32)
    flat = maps.reshape(2, 20, 3)
    np.testing.assert_allclose(reference.gram_matrix(maps), np.stack([f.T @ f / 20 for f in flat]), rtol=1e-6)
    target = generator.random((1, 3, 3), dtype=np.float32)
    expected = np.mean([((f.T @ f / 20 - target[0]) ** 2).sum() for f in flat]) / (target ** 2).sum()
    np.testing.assert_allclose(reference.texture_loss([maps], [target]), expected, rtol=1e-5)
    image = generator.random((1, 5, 6, 2), dtype=np.float32)
    beta = 1.5
    terms = [((image[0, i, j + 1, c] - image[0, i, j, c]) ** 2 + (image[0, i + 1, j, c] - image[0, i, j, c]) ** 2) ** (beta / 2)
             for i in range(4) for j in range(5) for c in range(2)]
    np.testing.assert_allclose(reference.total_variation(image, beta), np.mean(terms), rtol=1e-5)


def test_hidden_cases_are_the_references_and_differ_from_the_notebooks():
    assert EXERCISES["inversion"].inputs()["photo"] == reference.HIDDEN["inversion"] != reference.NOTEBOOK["inversion"]
    assert EXERCISES["texture"].inputs()["texture"] == reference.HIDDEN["texture"] != reference.NOTEBOOK["texture"]
    style = EXERCISES["style"].inputs()
    assert (style["content"], style["style"]) == (reference.HIDDEN["content"], reference.HIDDEN["style"])
    assert (style["content"], style["style"]) != (reference.NOTEBOOK["content"], reference.NOTEBOOK["style"])
    source = (labs.folder(LAB) / "style_transfer.py").read_text()
    for name in reference.NOTEBOOK.values():
        assert f'"{name}"' in source


# ------------------------------------------------------------------ wrong losses, hidden checks


def gram_unscaled(features):
    batch, height, width, channels = ops.shape(features)
    flat = ops.reshape(features, (batch, height * width, channels))
    return ops.einsum("bmi,bmj->bij", flat, flat)


def gram_numpy(features):
    flat = np.asarray(features).reshape(np.shape(features)[0], -1, np.shape(features)[-1])
    return np.einsum("bmi,bmj->bij", flat, flat) / flat.shape[1]


def gram_channels_by_positions(features):  # (batch, M, M): positions' correlations, not channels'
    batch, height, width, channels = ops.shape(features)
    flat = ops.reshape(features, (batch, height * width, channels))
    return ops.einsum("bic,bjc->bij", flat, flat) / ops.cast(height * width, "float32")


@pytest.mark.parametrize("answer, expected", [
    (gram_unscaled, "gram_matrix of maps shaped (2, 5, 7, 3): at index (0, 0, 0) expected"),
    (gram_numpy, "gram_matrix of maps shaped (2, 5, 7, 3): no gradient reaches its input; compute it with keras.ops"),
    (gram_channels_by_positions, "gram_matrix of maps shaped (2, 5, 7, 3): expected shape (2, 3, 3), found (2, 35, 35)"),
])
def test_wrong_gram(answer, expected):
    assert expected in failure("gram", gram_matrix=answer)


def texture_unweighted(features, target_grams):  # the plain squared Frobenius norm, no 1 / ||A||^2
    return sum(ops.mean(ops.sum((reference.gram_matrix(f) - t) ** 2, axis=(1, 2))) for f, t in zip(features, target_grams))


def texture_first_image_only(features, target_grams):  # ignores the batch
    return reference.texture_loss([f[:1] for f in features], target_grams)


@pytest.mark.parametrize("answer, expected", [
    (texture_unweighted, "texture_loss of 3 layers, batch of 2: at index () expected"),
    (texture_first_image_only, "texture_loss of 3 layers, batch of 2: at index () expected"),
])
def test_wrong_texture_loss(answer, expected):
    assert expected in failure("texture_loss", texture_loss=answer)


def content_unnormalised(features, target):
    return ops.mean(ops.sum((features - target) ** 2, axis=(1, 2, 3)))


def test_wrong_content_loss():
    assert "content_loss, batch of 2: at index () expected" in failure("content_loss", content_loss=content_unnormalised)


def tv_full_differences(images, beta=2.0):  # each difference on its own full grid, summed
    across = images[:, :, 1:, :] - images[:, :, :-1, :]
    down = images[:, 1:, :, :] - images[:, :-1, :, :]
    return ops.mean(across ** 2) + ops.mean(down ** 2)


def tv_ignores_beta(images, beta=2.0):
    return reference.total_variation(images, 2.0)


@pytest.mark.parametrize("answer, expected", [
    (tv_full_differences, "total_variation of images shaped (2, 9, 11, 3), beta=2.0: at index () expected"),
    (tv_ignores_beta, "total_variation of images shaped (1, 5, 6, 1), beta=1.0: at index () expected"),
])
def test_wrong_total_variation(answer, expected):
    assert expected in failure("total_variation", total_variation=answer)


def optimise_without_clipping(loss_fn, initial, steps, learning_rate=0.05):
    import keras
    import tensorflow as tf

    image = keras.Variable(np.asarray(initial, dtype="float32"))
    optimizer = keras.optimizers.Adam(learning_rate)
    losses = []
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = loss_fn(image)
        optimizer.apply_gradients([(tape.gradient(loss, image), image)])
        losses.append(float(loss))
    return image.numpy(), losses


def optimise_losses_after_the_step(loss_fn, initial, steps, learning_rate=0.05):
    image, _ = reference.optimise_pixels(loss_fn, initial, steps, learning_rate)
    return image, reference.optimise_pixels(loss_fn, image, steps, learning_rate)[1]


def optimise_plain_gradient_descent(loss_fn, initial, steps, learning_rate=0.05):  # too slow for 150 steps
    import tensorflow as tf

    image = tf.Variable(np.asarray(initial, dtype="float32"))
    losses = []
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = loss_fn(image)
        image.assign(tf.clip_by_value(image - learning_rate * tape.gradient(loss, image), 0, 1))
        losses.append(float(loss))
    return image.numpy(), losses


@pytest.mark.parametrize("answer, expected", [
    (optimise_without_clipping, "optimise_pixels: pixels outside [0, 1]"),
    (optimise_losses_after_the_step, "losses[0] (the loss of the initial image, before the first step)"),
    (optimise_plain_gradient_descent, "the image after 150 steps vs the nearest image in [0, 1] to the target"),
])
def test_wrong_optimise(answer, expected):
    assert expected in failure("optimise", optimise_pixels=answer)


# ------------------------------------------------------------------ shortcuts fail the thresholds


def test_returning_the_start_fails_every_optimisation_threshold(data):
    size = data.image_size
    noise = lambda *args, **kwargs: reference.noise_image((1, size, size, 3), 7)  # noqa: E731
    assert "inversion_gain = " in failure("inversion", invert_features=noise)
    assert "texture_gain = " in failure("texture", synthesise_texture=noise)
    unchanged = lambda extractor, content_image, target_grams, steps, **kwargs: content_image  # noqa: E731
    message = failure("style", style_transfer=unchanged)
    assert "style_gain = 0.0000" in message and "is below the threshold" in message


def test_a_flat_image_fails_inversion_and_texture(data):
    flat = lambda *args, **kwargs: np.full((1, data.image_size, data.image_size, 3), 0.5, "float32")  # noqa: E731
    assert "is below the threshold" in failure("inversion", invert_features=flat)
    assert "is below the threshold" in failure("texture", synthesise_texture=flat)


def test_an_untrained_generator_fails_and_a_constant_one_is_refused(data):
    import keras

    keras.utils.set_random_seed(0)
    message = failure("generator_gain", generator=reference.build_generator())
    assert "generator_gain = " in message and "is below the threshold" in message
    constant = keras.Sequential([keras.Input((16, 16, 8)), keras.layers.UpSampling2D(4),
                                 keras.layers.Conv2D(3, 1, activation="sigmoid", kernel_initializer="zeros")])
    assert "do not depend on the noise" in failure("generator_gain", generator=constant)
    assert "expected a keras.Model" in failure("generator", build_generator=lambda: "a generator")


def test_wrong_generator_architecture():
    import keras

    def without_batch_norm():
        layers = keras.layers
        return keras.Sequential([keras.Input((16, 16, 8)), layers.Conv2D(32, 3, padding="same", activation="relu"),
                                 layers.UpSampling2D(2), layers.Conv2D(32, 3, padding="same", activation="relu"),
                                 layers.UpSampling2D(2), layers.Conv2D(32, 3, padding="same", activation="relu"),
                                 layers.Conv2D(3, 1, activation="sigmoid")])

    assert "layer 2: expected BatchNormalization(epsilon=0.001, momentum=0.9), found UpSampling2D" in failure("generator", build_generator=without_batch_norm)


# ------------------------------------------------------------------ visible checks in the notebook


@pytest.fixture(scope="module")
def lab10():
    student = cells(LAB)
    namespace = {}
    exec(student["cell-01"], namespace)  # imports, setup_lab, the data and the network
    return student, namespace


def test_visible_checks_catch_wrong_losses(lab10):
    assert "gram_matrix(toy): at index (0, 0, 0) expected 36.6667, found 220" in run_check(
        lab10, "gram", "def gram_matrix(features):\n    b, h, w, c = ops.shape(features)\n"
                       "    f = ops.reshape(features, (b, h * w, c))\n    return ops.einsum('bmi,bmj->bij', f, f)\n")
    assert "gram_matrix: it returned a NumPy array, through which no gradient flows" in run_check(
        lab10, "gram", "def gram_matrix(features):\n    f = np.asarray(features)\n    f = f.reshape(f.shape[0], -1, f.shape[-1])\n"
                       "    return np.einsum('bmi,bmj->bij', f, f) / f.shape[1]\n")
    message = run_check(lab10, "total_variation",
                        "def total_variation(images, beta=2.0):\n    return ops.sum(ops.abs(images[:, 1:] - images[:, :-1]))\n")
    assert "total_variation(ramp, beta=2): 0.2^2 + 0.1^2: at index () expected 0.05" in message
