"""One call at the top of every lab: seeds, determinism, budget and data mode.

    lab = setup_lab("02-fashion-mnist-cnn")
    lab.budget.epochs(full=3)      # -> 3 at the full budget, 1 at smoke
    lab.data_mode                  # "keras" or "offline"

Two environment variables choose how a lab runs; both are explicit choices,
never guessed:

- ``COURSE_BUDGET``: ``full`` (default) trains on the whole data set;
  ``smoke`` trains on a tiny subset for a few steps (tests, CI).
- ``COURSE_DATA``: ``keras`` (default) downloads the canonical data through
  Keras's own download-and-cache; ``offline`` uses real data shipped inside a
  PyPI package (see ``datasets/README.md``).
"""

import dataclasses
import os
import random

BUDGET_VARIABLE = "COURSE_BUDGET"
DATA_VARIABLE = "COURSE_DATA"
DATA_MODES = ("keras", "offline")
DEFAULT_SEED = 0


@dataclasses.dataclass(frozen=True)
class Budget:
    """How much work a lab does.

    Attributes:
        name: "full" or "smoke".
        max_train: cap on training samples, None for all of them.
        max_test: cap on held-out samples, None for all of them.
        smoke_epochs: epochs every training run uses at this budget, None
            to use the lab's own full-budget number.
    """

    name: str
    max_train: int | None
    max_test: int | None
    smoke_epochs: int | None

    def epochs(self, full: int, smoke: int | None = None) -> int:
        """Number of epochs: ``full`` at the full budget; at smoke, ``smoke`` where a lab
        needs its own number (a batch-normalised network that needs a few more steps to
        settle), else the budget's ``smoke_epochs`` (at most ``full``)."""
        if self.smoke_epochs is None:
            return full
        return min(full, self.smoke_epochs) if smoke is None else smoke

    def cap(self, n: int, smoke: int) -> int:
        """``n`` at the full budget, at most ``smoke`` at the smoke budget."""
        return n if self.smoke_epochs is None else min(n, smoke)


BUDGETS = {
    "full": Budget("full", max_train=None, max_test=None, smoke_epochs=None),
    "smoke": Budget("smoke", max_train=1000, max_test=500, smoke_epochs=2),
}


def budget_from_env() -> Budget:
    """The budget named by ``COURSE_BUDGET`` (default ``full``)."""
    name = os.environ.get(BUDGET_VARIABLE, "full").strip().lower() or "full"
    if name not in BUDGETS:
        raise ValueError(
            f"{BUDGET_VARIABLE}={name!r} is not a budget; "
            f"choose one of {sorted(BUDGETS)}."
        )
    return BUDGETS[name]


def data_mode_from_env() -> str:
    """The data mode named by ``COURSE_DATA`` (default ``keras``)."""
    mode = os.environ.get(DATA_VARIABLE, "keras").strip().lower() or "keras"
    if mode not in DATA_MODES:
        raise ValueError(
            f"{DATA_VARIABLE}={mode!r} is not a data mode; choose 'keras' "
            "(download the canonical data through Keras) or 'offline' "
            "(real data shipped inside PyPI packages, no internet needed)."
        )
    return mode


def set_determinism(seed: int = DEFAULT_SEED) -> None:
    """Seed Python, NumPy and Keras/TensorFlow and turn on op determinism.

    The same code then gives the same numbers on the same machine, so the
    same submission always gets the same grade.
    """
    os.environ["PYTHONHASHSEED"] = str(seed)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    random.seed(seed)
    import numpy as np

    np.random.seed(seed)
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


@dataclasses.dataclass(frozen=True)
class LabContext:
    """What a lab needs to know about how it runs."""

    lab_id: str
    budget: Budget
    data_mode: str
    seed: int

    def banner(self) -> str:
        return (
            f"Lab {self.lab_id}: budget={self.budget.name} "
            f"({BUDGET_VARIABLE}), data={self.data_mode} ({DATA_VARIABLE}), "
            f"seed={self.seed}"
        )


def setup_lab(lab_id: str, seed: int = DEFAULT_SEED, verbose: bool = True) -> LabContext:
    """Read the budget and data mode, set every seed, and say so."""
    context = LabContext(lab_id, budget_from_env(), data_mode_from_env(), seed)
    set_determinism(seed)
    show_check_failures_plainly()
    if verbose:
        print(context.banner())
    return context


def show_check_failures_plainly() -> None:
    """In Jupyter, show a failed visible check as its message alone, not under the
    traceback of the check's own code (the cell still counts as failed)."""
    try:
        shell = get_ipython()  # noqa: F821 -- defined inside IPython only
    except NameError:
        return
    from coursekit.checks import CheckFailed

    def handler(shell, kind, error, traceback, tb_offset=None):
        lines = [f"\x1b[31m{kind.__name__}\x1b[0m: {error}"]
        shell._showtraceback(kind, error, lines)
        return lines

    shell.set_custom_exc((CheckFailed,), handler)
