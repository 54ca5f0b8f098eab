"""The grader's thresholds, as students may see them: so that a visible check never says
"OK" to a score the grader will fail on the same data and budget.

``coursekit/thresholds.json`` is written by ``make build`` from each lab's calibrated table
(``solutions/<lab>/thresholds.json``): only the numbers, keyed by lab, metric, data set and
budget, never the calibration's seeds or anything else of the instructor side.
"""

import json
from pathlib import Path

TABLE = Path(__file__).resolve().parent / "thresholds.json"


def grader_threshold(lab_id: str, metric: str, dataset_key: str, budget_name: str) -> float | None:
    """The grader's threshold for this lab, metric, data set and budget, or None if unknown."""
    try:
        table = json.loads(TABLE.read_text())
    except (OSError, ValueError):
        return None
    return table.get(lab_id, {}).get(metric, {}).get(f"{dataset_key}/{budget_name}")
