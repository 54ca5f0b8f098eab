"""Plots a person would rather look at than read. Each returns its Figure."""

import textwrap

import matplotlib.pyplot as plt
import numpy as np


def wrapped_title(figure, title: str, fontsize: float = 11) -> None:
    """A figure title wrapped to the figure's width, so a long one (a data set's description)
    is never clipped at both ends."""
    width_inches = figure.get_figwidth()
    characters_per_line = max(20, int(width_inches * 72 / (0.6 * fontsize)))
    figure.suptitle(textwrap.fill(title, characters_per_line), fontsize=fontsize)


def sample_grid(images, labels, class_names, per_class: int = 6, title: str = "Samples"):
    """A grid with ``per_class`` examples of each class, one class per row.

    Args:
        images: array (n, height, width).
        labels: int array (n,).
        class_names: sequence of class names, indexed by label.
    """
    n_classes = len(class_names)
    figure, axes = plt.subplots(n_classes, per_class, figsize=(per_class * 1.1, n_classes * 1.15))
    for label in range(n_classes):
        members = np.flatnonzero(labels == label)[:per_class]
        for column in range(per_class):
            axis = axes[label, column]
            axis.axis("off")
            if column < len(members):
                axis.imshow(images[members[column]], cmap="gray_r")
        axes[label, 0].set_title(class_names[label], fontsize=8, loc="left")
    wrapped_title(figure, title)
    figure.tight_layout()
    return figure


def class_balance(labels, class_names, title: str = "Class balance"):
    """Bar chart of how many samples each class has."""
    counts = np.bincount(labels, minlength=len(class_names))
    figure, axis = plt.subplots(figsize=(7, 3))
    axis.bar(range(len(class_names)), counts)
    axis.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
    axis.set_ylabel("samples")
    axis.set_title(title)
    figure.tight_layout()
    return figure


def image_row(images, names, title: str = "Per-class mean images", cmap: str = "viridis"):
    """One image per name, side by side (e.g. per-class mean images, shape (k, h, w))."""
    figure, axes = plt.subplots(1, len(names), figsize=(len(names) * 1.3, 1.8))
    for axis, image, name in zip(np.atleast_1d(axes), images, names):
        axis.imshow(image, cmap=cmap)
        axis.set_title(name, fontsize=8)
        axis.axis("off")
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def image_rows(rows: dict, title: str, per_row: int = 8, cmap: str = "gray"):
    """Rows of captioned images, one row per name: ``{"row name": [(image (h, w), "caption"), ...]}``.

    Rows may have different lengths (up to ``per_row`` are drawn); an empty row says "none".
    """
    names = list(rows)
    figure = plt.figure(figsize=(per_row * 1.15, len(names) * 1.9 + 0.7), layout="constrained")
    for row, name in zip(np.atleast_1d(figure.subfigures(len(names), 1)), names):
        items = list(rows[name])[:per_row]
        row.suptitle(name + ("" if items else ": none"), fontsize=9, fontweight="bold", x=0.01, ha="left")
        for axis, item in zip(row.subplots(1, per_row), items + [None] * (per_row - len(items))):
            axis.axis("off")
            if item is not None:
                axis.imshow(item[0], cmap=cmap)
                axis.set_title(item[1], fontsize=8)
    wrapped_title(figure, title)
    return figure


def pixel_histogram(images, title: str = "Pixel intensities"):
    figure, axis = plt.subplots(figsize=(6, 2.5))
    axis.hist(np.ravel(images), bins=64, log=True)
    axis.set_xlabel("pixel value")
    axis.set_ylabel("count (log)")
    axis.set_title(title)
    figure.tight_layout()
    return figure


def learning_curves(history, metrics=("loss", "accuracy"), title: str = "Learning curves"):
    """Training and validation curves from ``model.fit(...).history`` (a dict)."""
    history = getattr(history, "history", history)
    figure, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3))
    for axis, metric in zip(np.atleast_1d(axes), metrics):
        for key, style in ((metric, "o-"), ("val_" + metric, "s--")):
            if key in history:
                values = history[key]
                axis.plot(range(1, len(values) + 1), values, style, label=key)
        axis.set_xlabel("epoch")
        axis.set_title(metric)
        axis.legend()
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def confusion_matrix(matrix, class_names, title: str = "Confusion matrix"):
    """Heat map of a confusion matrix (rows: true class, columns: predicted)."""
    matrix = np.asarray(matrix)
    figure, axis = plt.subplots(figsize=(7, 6))
    image = axis.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axis)
    ticks = range(len(class_names))
    axis.set_xticks(ticks, class_names, rotation=45, ha="right")
    axis.set_yticks(ticks, class_names)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    threshold = matrix.max() / 2 if matrix.size else 0
    for (row, column), value in np.ndenumerate(matrix):
        axis.text(column, row, str(value), ha="center", va="center", fontsize=7,
                  color="white" if value > threshold else "black")
    axis.set_title(title)
    figure.tight_layout()
    return figure


def curves(series: dict, xlabel: str, ylabel: str, title: str, logy: bool = False):
    """Several named curves on one axis: ``{"name": values}``."""
    figure, axis = plt.subplots(figsize=(6, 3.2))
    for name, values in series.items():
        axis.plot(range(1, len(values) + 1), values, label=name)
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    if logy:
        axis.set_yscale("log")
    axis.set_title(title)
    axis.legend()
    figure.tight_layout()
    return figure


def contour_paths(function, paths: dict, xlim, ylim, title: str, minimum=None, log_levels: bool = False,
                  levels: int = 30):
    """Optimisation paths drawn over the contour lines of a 2-D function.

    Args:
        function: callable f(x, y) working element-wise on arrays (a loss surface).
        paths: {"name": array (steps + 1, 2)}, the points each optimiser visited.
        xlim, ylim: (low, high) of the plotted window; paths may leave it.
        minimum: (x, y) to mark with a star, or None.
        log_levels: space the contour levels logarithmically (for steep functions).
    """
    x, y = np.meshgrid(np.linspace(*xlim, 300), np.linspace(*ylim, 300))
    z = function(x, y)
    figure, axis = plt.subplots(figsize=(7, 5.5))
    if log_levels:
        positive = z[z > 0]
        contour_levels = np.logspace(np.log10(positive.min()), np.log10(positive.max()), levels)
    else:
        contour_levels = levels
    axis.contour(x, y, z, levels=contour_levels, cmap="viridis", linewidths=0.7, alpha=0.5)
    for name, path in paths.items():
        path = np.asarray(path)
        line, = axis.plot(path[:, 0], path[:, 1], "-", linewidth=1.5, label=name)
        axis.plot(path[0, 0], path[0, 1], "o", color=line.get_color())
    if minimum is not None:
        axis.plot(*minimum, "*", color="black", markersize=14, label="minimum")
    axis.set_xlim(xlim)
    axis.set_ylim(ylim)
    axis.set_xlabel("x")
    axis.set_ylabel("y")
    axis.set_title(title)
    axis.legend(fontsize=8, loc="best")
    figure.tight_layout()
    return figure
