"""labs/ is generated from solutions/, is up to date, and holds no solution text."""

import json

import pytest

from autograder.build import stale_files, to_nbgrader_notebook
from solution_text import REPO, leaks, secret_lines

LAB_NOTEBOOKS = sorted((REPO / "labs").glob("*/*.ipynb"))


def test_every_solution_has_a_lab():
    solutions = sorted(path.parent.name for path in (REPO / "solutions").glob("*/*.ipynb"))
    assert solutions == sorted(path.parent.name for path in LAB_NOTEBOOKS)
    assert len(solutions) >= 2


@pytest.mark.xdist_group("build")
def test_committed_notebooks_are_not_stale():
    assert stale_files() == [], "run `make build` and commit solutions/*.ipynb and labs/"


def test_secret_lines_are_found_in_solutions():
    secrets = secret_lines()
    assert "return b + x @ w" in secrets and "check('02-fashion-mnist-cnn', 'macro_f1', globals())" in secrets
    assert len(secrets) > 40
    assert "Shirt → T-shirt, short sleeves, no collar or buttons visible at 28 × 28; (3) proposes one" in secrets


@pytest.mark.parametrize("notebook", LAB_NOTEBOOKS, ids=lambda path: path.parent.name)
def test_no_solution_or_hidden_test_in_labs(notebook):
    text = notebook.read_text()
    assert leaks(text, secret_lines()) == []
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text and "autograder" not in text


def test_leak_detector_catches_a_leak():
    notebook = json.loads(LAB_NOTEBOOKS[0].read_text())
    notebook["cells"][3]["source"].append("    return b + x @ w\n")
    assert leaks(json.dumps(notebook, indent=1), secret_lines()) == ["return b + x @ w"]


def test_labs_folder_holds_only_notebooks():
    assert sorted({path.suffix for path in (REPO / "labs").rglob("*") if path.is_file()}) == [".ipynb"]


def test_cell_roles_become_nbgrader_metadata(tmp_path):
    script = tmp_path / "lab.py"
    script.write_text('# %% [markdown]\n# Title\n\n# %% kind="solution"\nx = 1\n\n'
                      '# %% kind="test" id="x" points=2\nassert x == 1\n')
    cells = to_nbgrader_notebook(script).cells
    assert cells[0].metadata["nbgrader"]["locked"] is True
    assert cells[1].metadata["nbgrader"]["solution"] is True
    assert cells[2].metadata["nbgrader"] == {"grade": True, "grade_id": "x", "locked": True, "points": 2,
                                             "schema_version": 3, "solution": False, "task": False}


def test_a_written_answer_cell_is_graded_by_hand(tmp_path):
    script = tmp_path / "lab.py"
    script.write_text('# %% [markdown] kind="answer" id="why" points=2\n# Because.\n')
    (cell,) = to_nbgrader_notebook(script).cells
    assert cell.cell_type == "markdown"
    assert cell.metadata["nbgrader"] == {"grade": True, "grade_id": "why", "locked": False, "points": 2,
                                         "schema_version": 3, "solution": True, "task": False}
    script.write_text('# %% kind="answer" id="why" points=2\nx = 1\n')
    with pytest.raises(ValueError, match="answer cell 'why' must be a markdown cell"):
        to_nbgrader_notebook(script)


def test_a_test_cell_without_points_is_refused(tmp_path):
    script = tmp_path / "lab.py"
    script.write_text('# %% kind="test" id="x"\nassert True\n')
    with pytest.raises(ValueError, match="test cell 'x' needs points=N"):
        to_nbgrader_notebook(script)


def _lab_folder(tmp_path, declared: str, test_cell: str):
    folder = tmp_path / "99-toy"
    folder.mkdir()
    (folder / "exercises.py").write_text(declared)
    script = folder / "toy.py"
    script.write_text('# %% kind="solution"\nx = 1\n\n' + test_cell)
    return script


def test_the_build_writes_each_hidden_region_from_the_declaration(tmp_path):
    script = _lab_folder(tmp_path, "class x(Exercise):\n    pass\n", '# %% kind="test" id="x" points=1\nassert x == 1\n')
    (test,) = [cell for cell in to_nbgrader_notebook(script).cells if cell.metadata["nbgrader"]["grade"]]
    assert test.source.endswith("### BEGIN HIDDEN TESTS\nfrom autograder.check import check\n"
                                "check('99-toy', 'x', globals())\n### END HIDDEN TESTS")


def test_a_test_cell_without_a_declaration_is_refused(tmp_path):
    script = _lab_folder(tmp_path, "class y(Exercise):\n    pass\n", '# %% kind="test" id="x" points=1\nassert x == 1\n')
    with pytest.raises(ValueError, match="test cells without a declaration in exercises.py: x"):
        to_nbgrader_notebook(script)


def test_a_hand_written_hidden_region_is_refused(tmp_path):
    script = _lab_folder(tmp_path, "class x(Exercise):\n    pass\n",
                         '# %% kind="test" id="x" points=1\n### BEGIN HIDDEN TESTS\nassert x\n### END HIDDEN TESTS\n')
    with pytest.raises(ValueError, match="the build writes it from exercises.py"):
        to_nbgrader_notebook(script)
