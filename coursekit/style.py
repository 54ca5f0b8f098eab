"""Lab 10's helpers: step counts, the grader's yardsticks, a gradient check and the pictures.

Nothing here computes a Gram matrix or a loss: those are the lab's exercises.
"""

import numpy as np

from coursekit.checks import CheckFailed


def optimisation_steps(budget) -> dict:
    """Steps of each optimisation at a budget; the notebook and the grader use the same numbers.

    Returns:
        {"inversion", "texture", "style", "generator": int}.
    """
    return {"inversion": budget.cap(300, smoke=40), "texture": budget.cap(300, smoke=40),
            "style": budget.cap(200, smoke=30), "generator": budget.cap(600, smoke=30)}


def gain(before, after) -> float:
    """log10(before / after): by how many powers of ten a loss went down (2.0 = 100 times)."""
    before, after = float(before), float(after)
    if not np.isfinite(after) or after < 0:
        return float("-inf")
    return float(np.log10(before / max(after, 1e-12)))


def flat_like(image, n: int = 1) -> np.ndarray:
    """float32 (n, H, W, 3): ``image``'s mean colour everywhere -- the best an image without
    any structure can do, the yardstick each gain is measured against."""
    image = np.asarray(image, dtype=np.float32)
    return np.broadcast_to(image.reshape(-1, 3).mean(axis=0), (n, *image.shape[-3:])).astype(np.float32)


def check_differentiable(name: str, function, *arrays) -> None:
    """Check that a gradient of ``function(*arrays)`` reaches its first argument.

    NumPy inside the function breaks the chain (TensorFlow cannot see through it); keras.ops
    keep it. The first argument is passed as a ``tf.Variable``.
    """
    import tensorflow as tf

    variable = tf.Variable(np.asarray(arrays[0], dtype=np.float32))
    try:
        with tf.GradientTape() as tape:
            value = function(variable, *arrays[1:])
        if isinstance(value, (np.ndarray, np.generic, float)):
            raise CheckFailed(f"{name}: it returned a NumPy array, through which no gradient flows; "
                              "compute it with keras.ops (ops.reshape, ops.einsum, ops.mean...), not NumPy")
        gradient = tape.gradient(value, variable)
    except CheckFailed:
        raise
    except Exception as error:  # the student's code may raise anything; say what
        raise CheckFailed(f"{name}: raised {type(error).__name__}: {error} when given a tf.Variable; "
                          "use keras.ops (not NumPy) so that gradients flow") from None
    if gradient is None or not np.any(np.asarray(gradient)):
        raise CheckFailed(f"{name}: no gradient reaches its input; compute it with keras.ops, not NumPy "
                          "(np.asarray or .numpy() cuts the chain of derivatives)")
    print(f"OK {name}: gradients reach the input")


def show_images(images, titles, title: str | None = None, size: float = 2.4):
    """One row of RGB images in [0, 1], each (H, W, 3) or (1, H, W, 3), with their titles."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(images), figsize=(size * len(images), size + 0.4), squeeze=False)
    for axis, image, label in zip(axes[0], images, titles):
        axis.imshow(np.clip(np.asarray(image, dtype=np.float32).reshape(np.shape(image)[-3:]), 0, 1))
        axis.set_title(label, fontsize=9)
        axis.axis("off")
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return figure


def plot_losses(curves: dict, title: str):
    """Loss against step, log scale, one line per {label: losses}."""
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(5.5, 3.2))
    for label, losses in curves.items():
        axis.semilogy(np.arange(1, len(losses) + 1), losses, label=label)
    axis.set_xlabel("step")
    axis.set_ylabel("loss (log scale)")
    axis.set_title(title, fontsize=10)
    axis.legend(fontsize=8)
    figure.tight_layout()
    return figure
