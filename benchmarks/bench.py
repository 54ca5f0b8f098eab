"""Benchmark every lab: wall time of its reference solution, the score it reaches, thresholds.

    python benchmarks/bench.py                      # all labs, smoke and full budgets
    python benchmarks/bench.py 02-fashion-mnist-cnn --budgets smoke

Each reference notebook (solutions/<lab>/*.ipynb, hidden checks included) is executed
top to bottom in a fresh kernel, once per budget and per data set available on this
machine; the score is the one the grader's own hidden check printed. Figures, not
assertions: this is a measurement, not a test.
"""

import argparse
import os
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograder import thresholds  # noqa: E402
from autograder.calibrate import reference_module  # noqa: E402
from autograder.grade import all_labs, grading_environment  # noqa: E402
from coursekit.data import LOADERS, DatasetError  # noqa: E402
from coursekit.lab import BUDGETS  # noqa: E402

SCORE_LINE = re.compile(r"(accuracy|macro_f1) = ([0-9.]+) on")


def available_modes(dataset_name: str) -> list:
    """'offline' always; 'keras' only if the canonical data can be had (cached or online)."""
    modes = ["offline"]
    try:
        LOADERS[dataset_name](mode="keras", budget=BUDGETS["smoke"], verbose=False, attempts=1)
        modes.append("keras")
    except DatasetError as error:
        print(f"  ({dataset_name} through Keras is not available here: {str(error).split('. ')[0]})")
    return modes


def run_notebook(path: Path, data_mode: str, budget: str) -> tuple:
    """Execute a notebook in a fresh kernel; return (seconds, score or None, failed cells)."""
    environment = grading_environment()
    environment.update(COURSE_DATA=data_mode, COURSE_BUDGET=budget)
    saved = dict(os.environ)
    os.environ.update(environment)  # the kernel inherits this process's environment
    try:
        notebook = nbformat.read(path, as_version=4)
        started = time.perf_counter()
        NotebookClient(notebook, timeout=900, allow_errors=True, resources={"metadata": {"path": str(path.parent)}}).execute()
        seconds = time.perf_counter() - started
    finally:
        os.environ.clear()
        os.environ.update(saved)
    score, failed = None, []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                failed.append(cell.metadata.get("nbgrader", {}).get("grade_id", "?"))
            match = SCORE_LINE.search(output.get("text", ""))
            if match:
                score = float(match.group(2))
    return seconds, score, failed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("labs", nargs="*", help="labs (default: all)")
    parser.add_argument("--budgets", nargs="+", default=["smoke", "full"], choices=sorted(BUDGETS))
    args = parser.parse_args(argv)
    rows = []
    for lab in args.labs or all_labs():
        reference = reference_module(lab)
        (notebook,) = (REPO / "solutions" / lab).glob("*.ipynb")
        print(f"{lab}:", flush=True)
        for data_mode in available_modes(reference.DATASET):
            key = LOADERS[reference.DATASET](mode=data_mode, budget=BUDGETS["smoke"], verbose=False).key
            for budget in args.budgets:
                seconds, score, failed = run_notebook(notebook, data_mode, budget)
                try:
                    entry = thresholds.lookup(lab, reference.METRIC, key, budget)
                    threshold = f"{entry['threshold']:.4f}" + (" (provisional)" if entry.get("provisional") else "")
                    seeds = ", ".join(f"{v:.3f}" for v in entry["scores"].values())
                except thresholds.MissingThreshold:
                    threshold, seeds = "none", ""
                rows.append((lab, f"{key}/{budget}", f"{seconds:.1f}", reference.METRIC,
                             "-" if score is None else f"{score:.4f}", threshold, seeds,
                             ",".join(failed) or "-"))
                print(f"  {key}/{budget}: {seconds:.1f} s, {reference.METRIC} {rows[-1][4]}, "
                      f"threshold {threshold}, failed cells: {rows[-1][7]}", flush=True)
    header = ("lab", "data/budget", "wall s", "metric", "reached", "threshold", "calibration seeds", "failed")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    print()
    for row in [header, *rows]:
        print("  ".join(str(value).ljust(width) for value, width in zip(row, widths)))
    by_lab = {}
    for row in rows:
        by_lab.setdefault((row[0], row[1].split("/")[0]), {})[row[1].split("/")[1]] = float(row[2])
    for (lab, key), times in by_lab.items():
        if "full" in times and "smoke" in times:
            print(f"{lab} on {key}: full / smoke wall time = {times['full'] / times['smoke']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
