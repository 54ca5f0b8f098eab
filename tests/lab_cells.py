"""Run a lab notebook's own cells in-process, to test its visible checks."""

import json

import pytest

from coursekit.checks import CheckFailed
from solution_text import REPO


def cells(lab: str, folder: str = "labs") -> dict:
    """The notebook's cell sources by nbgrader grade_id."""
    (notebook,) = (REPO / folder / lab).glob("*.ipynb")
    content = json.loads(notebook.read_text())
    return {cell["metadata"]["nbgrader"]["grade_id"]: "".join(cell["source"]) for cell in content["cells"]}


def run_check(lab, test_id, wrong_answer, extra=None) -> str:
    """Run ``wrong_answer`` then the test cell ``test_id``; return the CheckFailed message.

    ``lab`` is (cell sources by id, namespace after the set-up cells).
    """
    source, base = lab
    namespace = dict(base, **(extra or {}))
    exec(wrong_answer, namespace)
    with pytest.raises(CheckFailed) as failure:
        exec(source[test_id], namespace)
    return str(failure.value)
