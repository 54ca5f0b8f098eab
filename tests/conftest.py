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

