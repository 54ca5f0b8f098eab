"""The student's toolkit for the deep-learning course.

Everything a lab notebook imports: ``setup_lab`` (seeds, budget, data mode),
the data loaders, plots and the visible checks. It holds no reference
solution and no hidden test: those live in the instructor-only ``autograder``
package, which students never install.
"""

from coursekit.lab import LabContext, setup_lab

__all__ = ["LabContext", "setup_lab"]
