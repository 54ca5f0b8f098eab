"""The class similarity report: copies found through renaming, starter code ignored,
independent work not listed, and the whole class compared in one matrix product."""

import json

from autograder.batch.corpus import honest, released_name, solution_sources, with_answers
from autograder.similarity import similarity_report
from solution_text import REPO

LAB = "02-fashion-mnist-cnn"
RELEASE = REPO / "labs" / LAB / released_name(LAB)

INDEPENDENT = {  # the same functions, written another way
    "cell-03": '''def describe_data(data):
    values = data.x_train.reshape(-1).astype(float)
    counts = [int((data.y_train == label).sum()) for label in range(10)]
    return dict(train_shape=tuple(data.x_train.shape), test_shape=tuple(data.x_test.shape),
                dtype=data.x_train.dtype.name, class_counts=np.array(counts), pixel_mean=float(np.mean(values)),
                pixel_std=float(np.std(values)), pixel_min=int(values.min()), pixel_max=int(values.max()))
''',
    "cell-16": '''def confusion_matrix_from_counts(y_true, y_pred, n_classes=10):
    table = np.zeros((n_classes, n_classes), dtype=int)
    for truth, guess in zip(y_true, y_pred):
        table[truth][guess] += 1
    return table


def f1_from_confusion(matrix):
    matrix = np.array(matrix, dtype=float)
    scores = []
    for k in range(len(matrix)):
        tp, fp, fn = matrix[k, k], matrix[:, k].sum() - matrix[k, k], matrix[k].sum() - matrix[k, k]
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return np.array(scores), float(np.mean(scores))
''',
}


def _renamed(source: str) -> str:
    """A copy disguised by renaming every local variable."""
    for old, new in (("pixels", "px"), ("matrix", "cm"), ("true_positive", "hits"), ("predicted", "col_sums"),
                     ("actual", "row_sums"), ("denominator", "denom"), ("per_class", "scores"), ("pairs", "found")):
        source = source.replace(old, new)
    return source


def _course(tmp_path):
    sources = solution_sources(LAB)
    students = {
        "original": honest(LAB),
        "renamed-copy": honest(LAB, **{cell: _renamed(source) for cell, source in sources.items()}),
        "independent": honest(LAB, **INDEPENDENT),
        "blank-a": with_answers(LAB, {}),
        "blank-b": with_answers(LAB, {}),
    }
    for student, notebook in students.items():
        folder = tmp_path / "submitted" / student / LAB
        folder.mkdir(parents=True)
        (folder / RELEASE.name).write_text(json.dumps(notebook))
    return tmp_path


def test_a_renamed_copy_tops_the_report_and_starter_code_is_ignored(tmp_path):
    course = _course(tmp_path)
    summary = similarity_report(course, LAB, RELEASE, course / "report.html", threshold=0.5)
    page = (course / "report.html").read_text()
    assert summary["submissions"] == 5
    first_pair = page[page.index("<tr><td>1</td>"):].split("</tr>")[0]
    assert "original" in first_pair and "renamed-copy" in first_pair
    assert "blank-a &amp; blank-b" not in page  # two untouched notebooks share only the starter code
    assert "class=shared" in page and "changes no grade" in page


def test_independent_work_ranks_well_below_the_copy(tmp_path):
    """The independent submission rewrote two answer cells and kept the rest (the model's
    layers, short functions): it shares part of its code, and ranks far below the copy."""
    import re

    course = _course(tmp_path)
    similarity_report(course, LAB, RELEASE, course / "report.html", threshold=0.0)
    page = (course / "report.html").read_text()
    scores = {pair: int(score) for pair, score in
              re.findall(r"<a href='#pair\d+'>([^<]+)</a></td><td>(\d+)%</td>", page)}
    assert scores["original &amp; renamed-copy"] >= 95
    assert scores["independent &amp; original"] <= scores["original &amp; renamed-copy"] - 25
