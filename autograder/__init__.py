"""Instructor-side grading for the course: never shipped to students. Lab-agnostic:
everything about one lab lives in its folder, ``solutions/<lab>/`` (``labs.py``).

- ``exercise``: the contract, one declaration per graded cell (inputs, call, judge).
- ``check``: judging saved outputs, and the in-kernel transport for plain nbgrader.
- ``probe``: the probe cell the batch grader generates from a lab's declarations.
- ``judges``, ``reference_checks``, ``metrics``, ``thresholds``: what judges share.
- ``build``, ``calibrate``, ``grade``, ``batch``: the command-line tools
  (`python -m autograder.X --help`).
"""
