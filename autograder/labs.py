"""Find a lab by its id and load what its folder holds.

A lab lives in one folder, ``solutions/<lab id>/``:

    <name>.py          the notebook, a jupytext percent script (the only other .py file)
    <name>.ipynb       the nbgrader source notebook built from it (``make build``)
    reference.py       the reference solution: models, training recipes, answers
    exercises.py       one declaration per graded cell, keyed by its grade_id
    thresholds.json    the calibrated thresholds, keyed by metric, data and budget

The lab id is the folder's name (``02-fashion-mnist-cnn``), the one name a lab has.
A folder name is not a Python identifier, so each lab is loaded as a package of its
own, ``course_lab_02_fashion_mnist_cnn``: ``exercises.py`` imports its reference with
``from . import reference`` and reads its id as ``from . import LAB_ID``.
"""

import importlib
import re
import sys
import types
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = REPO / "solutions"
INSTRUCTOR_FILES = ("reference.py", "exercises.py", "thresholds.json")


class UnknownLab(ValueError):
    """No folder ``solutions/<lab id>/`` exists; the message lists the known labs."""


def is_written_answer(cell) -> bool:
    """A written answer graded by hand: a graded markdown cell that the student writes in
    (``# %% [markdown] kind="answer"`` in a lab's script). ``cell``: an nbformat cell or its JSON."""
    nbgrader = cell.get("metadata", {}).get("nbgrader", {})
    return cell["cell_type"] == "markdown" and bool(nbgrader.get("grade")) and bool(nbgrader.get("solution"))


def all_labs() -> list:
    """Every lab id, in order: the folders of ``solutions/`` that hold a notebook script."""
    return sorted(path.name for path in SOLUTIONS.iterdir()
                  if path.is_dir() and any(_notebook_scripts(path)))


def _notebook_scripts(folder: Path) -> list:
    return sorted(path for path in folder.glob("*.py") if path.name not in INSTRUCTOR_FILES)


def folder(lab_id: str) -> Path:
    """``solutions/<lab_id>``; raise ``UnknownLab`` with the known ids if it does not exist."""
    path = SOLUTIONS / lab_id
    if not re.fullmatch(r"[0-9]{2}-[a-z0-9-]+", lab_id or "") or not path.is_dir():
        raise UnknownLab(f"unknown lab {lab_id!r}; the labs are {', '.join(all_labs())}")
    return path


def notebook_script(lab_id: str) -> Path:
    """The lab's percent script, e.g. ``solutions/02-fashion-mnist-cnn/fashion_mnist_cnn.py``."""
    scripts = _notebook_scripts(folder(lab_id))
    if len(scripts) != 1:
        raise UnknownLab(f"solutions/{lab_id}/ should hold exactly one notebook script besides "
                         f"{', '.join(INSTRUCTOR_FILES)}; it holds {[path.name for path in scripts]}")
    return scripts[0]


def thresholds_path(lab_id: str) -> Path:
    return folder(lab_id) / "thresholds.json"


def package_name(lab_id: str) -> str:
    return "course_lab_" + lab_id.replace("-", "_")


def module(lab_id: str, name: str) -> types.ModuleType:
    """The lab's ``reference`` or ``exercises`` module, imported once per process."""
    package = package_name(lab_id)
    if package not in sys.modules:
        path = folder(lab_id)
        namespace = types.ModuleType(package, f"The instructor side of lab {lab_id}.")
        namespace.__path__ = [str(path)]
        namespace.LAB_ID = lab_id
        sys.modules[package] = namespace
    return importlib.import_module(f"{package}.{name}")


def reference(lab_id: str) -> types.ModuleType:
    return module(lab_id, "reference")


def exercises(lab_id: str) -> dict:
    """{grade_id: Exercise subclass} of the lab, in the order they are declared."""
    from autograder.exercise import declared

    return declared(module(lab_id, "exercises"))
