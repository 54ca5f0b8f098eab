"""Shared test set-up: offline data, smoke budget, off-screen plots, quiet TF."""

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
os.environ["COURSE_DATA"] = "offline"
os.environ["COURSE_BUDGET"] = "smoke"
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


import pytest  # noqa: E402


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Keep the tests that share a lab's expensive fixture on one xdist worker (the
    fixture would otherwise run once per worker that gets one of them)."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "graded" in callspec.params and item.module.__name__ == "test_graders_agree":
            item.add_marker(pytest.mark.xdist_group(f"graders-{callspec.params['graded']}"))
