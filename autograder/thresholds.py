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


def reference_facts(lab_id: str) -> dict:
    """DATASET, METRIC, whether it defines ``train``, the SCORES names and METRIC_DATASETS
    ({metric: data-set name} for metrics not measured on DATASET) of a lab's reference,
    read from its syntax: no TensorFlow import, so a grader starts fast."""
    import ast

    tree = ast.parse((labs.folder(lab_id) / "reference.py").read_text())
    facts = {"DATASET": None, "METRIC": None, "train": False, "SCORES": [], "METRIC_DATASETS": {}}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "train":
            facts["train"] = True
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name in ("DATASET", "METRIC") and isinstance(node.value, ast.Constant):
                facts[name] = node.value.value
            elif name == "SCORES" and isinstance(node.value, ast.Dict):
                facts["SCORES"] = [key.value for key in node.value.keys if isinstance(key, ast.Constant)]
            elif name == "METRIC_DATASETS" and isinstance(node.value, ast.Dict):
                facts["METRIC_DATASETS"] = ast.literal_eval(node.value)
    return facts


def dataset_name(lab_id: str, metric: str | None = None) -> str:
    """The name of the data set ``metric`` is measured on (METRIC_DATASETS, else DATASET)."""
    facts = reference_facts(lab_id)
    return facts["METRIC_DATASETS"].get(metric, facts["DATASET"])


def dataset_key(lab_id: str, data_mode: str, metric: str | None = None) -> str:
    """The table's data key for a lab's metric in a data mode, without loading any data."""
    from coursekit.data import data_set

    return data_set(dataset_name(lab_id, metric)).keys[data_mode]


def lab_metrics(lab_id: str) -> list:
    """The metrics a lab is graded on: its classifier's (if it trains one) and its custom ones."""
    facts = reference_facts(lab_id)
    return list(dict.fromkeys(([facts["METRIC"]] if facts["train"] else []) + facts["SCORES"]))


def required_entries(lab_id: str) -> list:
    """Every (metric, data key, budget) the lab can be graded on: all must be in its table."""
    from coursekit.lab import BUDGETS, DATA_MODES

    return [(metric, dataset_key(lab_id, mode, metric), budget) for metric in lab_metrics(lab_id)
            for mode in DATA_MODES for budget in sorted(BUDGETS)]


def provisional_entries(lab_id: str, data_mode: str, budget_name: str) -> list:
    """The metrics whose entry for this data mode and budget is provisional or missing."""
    table = load_table(lab_id)["metrics"]
    return [metric for metric in lab_metrics(lab_id)
            if table.get(metric, {}).get(f"{dataset_key(lab_id, data_mode, metric)}/{budget_name}",
                                         {"provisional": True}).get("provisional")]


def provisional_warning(lab_id: str, data_mode: str, budget_name: str) -> str | None:
    """A warning for graders when some of the lab's thresholds were not calibrated, else None."""
    metrics = provisional_entries(lab_id, data_mode, budget_name)
    if not metrics:
        return None
    return (f"WARNING: {lab_id} is graded with provisional (uncalibrated) thresholds for {', '.join(metrics)} "
            f"on data={data_mode} budget={budget_name}. Grades that depend on them are estimates; "
            f"add --calibrate-missing to calibrate them first (5 seeds of the reference), or run "
            f"`python -m autograder.calibrate {lab_id} --data {data_mode} --budget {budget_name} --metric all "
            f"--seeds 0 1 2 3 4`.")
