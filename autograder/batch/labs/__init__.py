"""Tamper-proof grading recipes, one module per lab.

A recipe has ``PROBE``, source appended as the last cell of the sandboxed notebook: it
runs the student's functions on fixed inputs and saves plain arrays (``answers.npz``) and
models (``*.keras``) into ``artifacts/``. It holds inputs only, never expected answers.
``CHECKS`` maps each graded cell's id to a judge that runs in the grader's own process on
those artifacts and returns a message (the check failed) or None (it passed).
"""

import importlib
import importlib.util


def has_recipe(lab_id: str) -> bool:
    """Whether the lab has a recipe, without importing it (and TensorFlow with it)."""
    return importlib.util.find_spec(f"autograder.batch.labs.lab{lab_id.split('-')[0]}") is not None


def recipe_for(lab_id: str):
    """The lab's recipe module, or None if the lab has none yet."""
    try:
        return importlib.import_module(f"autograder.batch.labs.lab{lab_id.split('-')[0]}")
    except ModuleNotFoundError:
        return None
