"""Instructor-side grading for the course: never shipped to students.

- ``references/``: reference Keras models and training recipes, one module per lab.
- ``hidden/``: the hidden checks that nbgrader's hidden-test cells call.
- ``reference_checks``: compare a student model with a reference model.
- ``metrics`` and ``thresholds``: macro-F1 / confusion matrix against calibrated tables.
- ``build``, ``calibrate``, ``grade``: the command-line tools (`python -m autograder.X --help`).
"""
