"""Threshold tables: one JSON file per lab, keyed by metric, dataset and budget.

    solutions/02-fashion-mnist-cnn/thresholds.json
    {"lab": "02-fashion-mnist-cnn",
     "metrics": {"macro_f1": {"mnist5k_offline/smoke": {
         "threshold": 0.61, "margin": 0.08, "scores": {"0": 0.72, "1": 0.69, "2": 0.70},
         "worst": 0.69, "provisional": false, "note": "...", "command": "..."}}}}

Every threshold is written by ``python -m autograder.calibrate``: the reference
is trained over several seeds and the threshold is the worst seed's score minus a
stated margin. An entry marked ``provisional`` could not be calibrated here (no
internet for the canonical download) and says where its number came from.
"""

import json
from pathlib import Path

from autograder import labs


class MissingThreshold(LookupError):
    """No calibrated threshold exists for this lab, metric, data set and budget."""


def table_path(lab_id: str) -> Path:
    return labs.thresholds_path(lab_id)


def load_table(lab_id: str) -> dict:
    path = table_path(lab_id)
    if not path.exists():
        return {"lab": lab_id, "metrics": {}}
    return json.loads(path.read_text())


def lookup(lab_id: str, metric: str, dataset_key: str, budget_name: str) -> dict:
    """The table entry for one metric on one data set at one budget."""
    key = f"{dataset_key}/{budget_name}"
    entry = load_table(lab_id)["metrics"].get(metric, {}).get(key)
    if entry is None:
        raise MissingThreshold(
            f"lab {lab_id} has no threshold for {metric} on {key}; calibrate it with "
            f"`python -m autograder.calibrate {lab_id} --data ... --budget {budget_name}`"
        )
    return entry


def store(lab_id: str, metric: str, dataset_key: str, budget_name: str, entry: dict) -> Path:
    """Write one entry, keeping the rest of the table; the write is atomic."""
    table = load_table(lab_id)
    table.setdefault("metrics", {}).setdefault(metric, {})[f"{dataset_key}/{budget_name}"] = entry
    path = table_path(lab_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(table, indent=2, sort_keys=True) + "\n")
    temporary.replace(path)
    return path
