"""Build submissions for tests and benchmarks from the released notebook.

An honest submission is what a student hands in: the released notebook with answer
cells filled in. ``honest(lab)`` fills every answer from the reference solution;
``with_answers(lab, {grade_id: source})`` replaces chosen answers.
"""

import json
from pathlib import Path

from autograder.grade import REPO


def _load(path: Path) -> dict:
    return json.loads(path.read_text())


def _notebook(folder: str, lab: str) -> dict:
    (path,) = (REPO / folder / lab).glob("*.ipynb")
    return _load(path)


def solution_sources(lab: str) -> dict:
    return {cell["metadata"]["nbgrader"]["grade_id"]: "".join(cell["source"])
            for cell in _notebook("solutions", lab)["cells"] if cell["metadata"]["nbgrader"].get("solution")}


def with_answers(lab: str, answers: dict) -> dict:
    """The released notebook with the given answer cells' sources replaced."""
    notebook = _notebook("labs", lab)
    for cell in notebook["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell["source"] = answers[grade_id]
    return notebook


def honest(lab: str, **replacements) -> dict:
    """A complete submission (the reference's answers), with some answers replaced."""
    return with_answers(lab, {**solution_sources(lab), **replacements})


def released_name(lab: str) -> str:
    (path,) = (REPO / "labs" / lab).glob("*.ipynb")
    return path.name
