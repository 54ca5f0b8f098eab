"""Helpers every lab's hidden checks share."""

import numpy as np

from autograder import metrics
from autograder.reference_checks import compare_with_reference
from coursekit.checks import check_array
from coursekit.data import LOADERS
from coursekit.lab import budget_from_env


def rng(salt: int) -> np.random.Generator:
    """Fixed random inputs, different from the ones the visible checks use."""
    return np.random.default_rng(1000 + salt)


def image_batch(n: int = 8) -> np.ndarray:
    """float32 (n, 28, 28, 1) in [0, 1], the same every time."""
    return rng(0).random((n, 28, 28, 1), dtype=np.float32)


def require_model(student_builder, reference_builder) -> None:
    """Build both models and compare structure, shapes, parameters and outputs."""
    if not callable(student_builder):
        raise AssertionError(f"expected a function that builds the model, found {type(student_builder).__name__}")
    compare_with_reference(student_builder(), reference_builder(), image_batch())


def require_arrays(name, found, expected, atol=1e-6, rtol=1e-5) -> None:
    check_array(f"hidden check, {name}", found, expected, atol=atol, rtol=rtol)


def require_threshold(lab_id: str, metric: str, model, dataset_name: str) -> float:
    """Score the student's model on data the grader loads itself."""
    budget = budget_from_env()
    dataset = LOADERS[dataset_name](budget=budget, verbose=False)
    return metrics.require(lab_id, metric, model, dataset, budget.name)
