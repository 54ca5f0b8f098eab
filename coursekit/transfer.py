"""Plots for lab 09 (transfer and self-supervised learning); no solution code.

    from coursekit import transfer
    transfer.transfer_curve(m_values, transfer_scores, scratch_scores)
    transfer.patch_grid(image)
    transfer.pretext_examples(centres, neighbours, positions)
    transfer.probe_comparison(pretext_f1, random_f1s)
"""

import numpy as np

# Where each relative-position label lies on the 3x3 grid (row, column); the centre is (1, 1).
NEIGHBOURS = ((0, 0), (0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1), (2, 2))
PATCH, STEP, OFFSET = 7, 10, 0


def transfer_curve(m_values, transfer_scores, scratch_scores, title="Target task: transfer vs from scratch"):
    """Macro-F1 on the target task's held-out images against m (labelled images per class).

    Args:
        m_values: sequence of ints, the m of each point.
        transfer_scores, scratch_scores: sequences of floats, one per m.
    """
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 3.5))
    axes.plot(m_values, transfer_scores, "o-", label="frozen f(x, α) + new head g(x, β′)")
    axes.plot(m_values, scratch_scores, "s--", label="from scratch: α and β′ from the m images")
    axes.set_xscale("log")
    axes.set_xticks(list(m_values), [str(m) for m in m_values])
    axes.set_xlabel("labelled target images per class (m per class)")
    axes.set_ylabel("macro-F1 (held-out target images)")
    axes.set_ylim(0, 1)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right")
    axes.set_title(title)
    figure.tight_layout()
    return figure


def patch_grid(image, title="The 3×3 grid of 7×7 patches (3-pixel gaps)"):
    """One 28×28 image with the nine patches outlined and the neighbours numbered 0..7."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    figure, axes = plt.subplots(figsize=(3.2, 3.2))
    axes.imshow(np.asarray(image), cmap="gray_r")
    labels = {cell: str(label) for label, cell in enumerate(NEIGHBOURS)}
    labels[(1, 1)] = "centre"
    for cell in [(1, 1), *NEIGHBOURS]:
        top, left = OFFSET + STEP * cell[0], OFFSET + STEP * cell[1]
        axes.add_patch(Rectangle((left - 0.5, top - 0.5), PATCH, PATCH, fill=False,
                                 edgecolor="tab:red" if cell == (1, 1) else "tab:blue", linewidth=1.5))
        axes.text(left + 0.5, top + 1.5, labels[cell], color="tab:orange", fontsize=8)
    axes.set_xticks([])
    axes.set_yticks([])
    axes.set_title(title, fontsize=9)
    figure.tight_layout()
    return figure


def pretext_examples(centres, neighbours, positions, predicted=None, n=6):
    """A few pretext pairs: centre patch, neighbour patch, its position (and the prediction)."""
    import matplotlib.pyplot as plt

    n = min(n, len(positions))
    figure, axes = plt.subplots(2, n, figsize=(1.4 * n, 3.0))
    axes = np.asarray(axes).reshape(2, n)
    for index in range(n):
        axes[0, index].imshow(np.asarray(centres[index]), cmap="gray_r", vmin=0, vmax=255)
        axes[1, index].imshow(np.asarray(neighbours[index]), cmap="gray_r", vmin=0, vmax=255)
        caption = f"pos {int(positions[index])}"
        if predicted is not None:
            caption += f" → {int(predicted[index])}"
        axes[1, index].set_xlabel(caption, fontsize=8)
        for row in range(2):
            axes[row, index].set_xticks([])
            axes[row, index].set_yticks([])
    axes[0, 0].set_ylabel("centre", fontsize=8)
    axes[1, 0].set_ylabel("neighbour", fontsize=8)
    figure.tight_layout()
    return figure


def probe_comparison(pretext_f1, random_f1s, title="Linear probe: pretext features vs random ones"):
    """The probe's macro-F1 on the pretext encoder's features beside each random encoder's.

    Args:
        pretext_f1: float, the probe's macro-F1 on the pretext-trained encoder's features.
        random_f1s: sequence of floats, one per random initialisation of the same architecture.
    """
    import matplotlib.pyplot as plt

    random_f1s = np.asarray(random_f1s, dtype=float)
    figure, axes = plt.subplots(figsize=(6, 2.2))
    axes.plot(random_f1s, np.zeros_like(random_f1s), "o", color="tab:gray", label="random encoders")
    axes.axvline(random_f1s.mean(), color="tab:gray", linestyle="--", label=f"their mean {random_f1s.mean():.3f}")
    axes.plot([pretext_f1], [0], "D", color="tab:red", markersize=9, label=f"pretext encoder {pretext_f1:.3f}")
    axes.set_yticks([])
    axes.set_xlabel("probe macro-F1 (held-out digits)")
    low, high = min(random_f1s.min(), pretext_f1), max(random_f1s.max(), pretext_f1)
    axes.set_xlim(low - 0.02, high + 0.02)
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    axes.set_title(title, fontsize=10)
    figure.tight_layout()
    return figure
