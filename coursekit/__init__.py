"""The student's toolkit for the deep-learning course.

Everything a lab notebook imports: ``setup_lab`` (seeds, budget, data mode),
the data loaders, plots and the visible checks. It holds no reference
solution and no hidden test: those live in the instructor-only ``autograder``
package, which students never install.

Importing it first in a notebook also imports TensorFlow quietly: its start-up log
lines (oneDNN, CPU features, ``absl::InitializeLog``) are written by C++ straight to
the process's stderr, which Jupyter shows as red error boxes although nothing is wrong.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _import_tensorflow_quietly() -> None:
    """Import TensorFlow with file descriptor 2 pointed at /dev/null, then restore it."""
    import sys

    if "tensorflow" in sys.modules:
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            try:
                import tensorflow  # noqa: F401
            except ImportError:
                pass
    finally:
        os.dup2(saved, 2)
        os.close(saved)


_import_tensorflow_quietly()

from coursekit.lab import LabContext, setup_lab  # noqa: E402

__all__ = ["LabContext", "setup_lab"]
