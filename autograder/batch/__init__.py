"""Batch grading for a whole class: ``python -m autograder.batch --help``.

Pipeline, one small module per step: ``assemble`` (the submission checked against the
released notebook and rebuilt on it), ``sandbox`` (run it isolated and limited),
``artifacts`` (read what it saved, safely), ``labs/`` (per-lab probe and judges),
``pipeline`` (one submission end to end), ``store`` and ``feedback`` (gradebook, status
files, CSV, HTML), ``cli`` (parallel or Dask, progress, resume).
"""
