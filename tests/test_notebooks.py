"""Whole notebooks through real `nbgrader autograde` (offline data, smoke budget).

Per lab: the reference solution scores full marks and the untouched student notebook
scores zero without breaking the run. On the flagship lab 02 also: a second copy of the
solution scores exactly the same, cell by cell and to the printed F1 (determinism), and
a student who rewrites the test cells still scores zero. (Those two hold for every lab
by construction; running them once keeps the suite short.)
"""

import json
import re
import shutil

import pytest

from autograder.grade import autograde, prepare_course, read_grades, submit
from solution_text import REPO

LABS = sorted(path.name for path in (REPO / "solutions").iterdir() if path.is_dir())
EXTENDED_LAB = "02-fashion-mnist-cnn"


def _tampered_copy(notebook, folder):
    """The blank notebook with every test cell replaced by `pass`."""
    content = json.loads(notebook.read_text())
    for cell in content["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
            cell["source"] = ["pass\n"]
    target = folder / notebook.name
    target.write_text(json.dumps(content))
    return target


@pytest.fixture(scope="module", params=LABS)
def graded(request, tmp_path_factory):
    lab = request.param
    course = tmp_path_factory.mktemp(f"course-{lab}")
    prepare_course(course)
    (solution,) = (REPO / "solutions" / lab).glob("*.ipynb")
    (blank,) = (REPO / "labs" / lab).glob("*.ipynb")
    submit(course, "solution", lab, solution)
    submit(course, "blank", lab, blank)
    if lab == EXTENDED_LAB:
        submit(course, "solution-again", lab, solution)
        submit(course, "tampered", lab, _tampered_copy(blank, tmp_path_factory.mktemp("tampered")))
    autograde(course, lab)
    rows = {row["student"]: row for row in read_grades(course, lab)}
    return lab, course, rows


def test_solution_scores_full_marks(graded):
    lab, _, rows = graded
    row = rows["solution"]
    lost = sorted(name for name, score in row["cells"].items() if not score)
    assert row["max_score"] > 0 and row["score"] == row["max_score"], f"{lab}: lost points in {lost}"


def _printed_scores(course, student, lab):
    (notebook,) = (course / "autograded" / student / lab).glob("*.ipynb")
    return re.findall(r"(?:accuracy|macro_f1) = [0-9.]+ on", notebook.read_text())


def test_grading_is_deterministic(graded):
    lab, course, rows = graded
    if lab != EXTENDED_LAB:
        pytest.skip("checked on lab 02")
    assert rows["solution-again"]["cells"] == rows["solution"]["cells"]
    first = _printed_scores(course, "solution", lab)
    assert first and first == _printed_scores(course, "solution-again", lab)


def test_untouched_lab_scores_zero_without_breaking_the_run(graded):
    _, _, rows = graded
    assert rows["blank"]["score"] == 0 and len(rows["blank"]["cells"]) == len(rows["solution"]["cells"])


def test_rewritten_test_cells_are_restored(graded):
    lab, course, rows = graded
    if lab != EXTENDED_LAB:
        pytest.skip("checked on lab 02")
    assert rows["tampered"]["score"] == 0
    (notebook,) = (course / "autograded" / "tampered" / lab).glob("*.ipynb")
    assert "hidden.check_" in notebook.read_text()


def test_the_graded_notebook_says_which_data_it_used(graded):
    lab, course, _ = graded
    (notebook,) = (course / "autograded" / "solution" / lab).glob("*.ipynb")
    text = notebook.read_text()
    assert "data=offline" in text and "budget=smoke" in text and "OFFLINE: 5 000 real MNIST digits" in text
    shutil.rmtree(course / "autograded" / "blank")  # keep tmp small
