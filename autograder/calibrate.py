"""Calibrate a lab's threshold: train the reference over several seeds, then a margin.

    python -m autograder.calibrate 02-fashion-mnist-cnn --data offline --budget smoke
    python -m autograder.calibrate 01-keras-basics --data keras --budget full --seeds 0 1 2 3 4

The threshold is the worst seed's score minus ``--margin``; the table keeps every
seed's score, the margin and the command, in ``autograder/thresholds/<lab>.json``.
"""

import argparse
import datetime
import importlib
import sys
import time

from autograder import metrics, thresholds
from coursekit.data import LOADERS
from coursekit.lab import BUDGETS, DATA_MODES

DEFAULT_MARGINS = {"full": 0.03, "smoke": 0.08}


def reference_module(lab_id: str):
    number = lab_id.split("-")[0]
    try:
        module = importlib.import_module(f"autograder.references.lab{number}")
    except ModuleNotFoundError as error:
        raise ValueError(f"no reference module autograder/references/lab{number}.py for {lab_id!r}") from error
    if getattr(module, "LAB_ID", None) != lab_id:
        raise ValueError(f"autograder/references/lab{number}.py is for {getattr(module, 'LAB_ID', '?')!r}, not {lab_id!r}")
    return module


def calibrate(lab_id: str, data_mode: str, budget_name: str, seeds, margin: float) -> dict:
    """Train the reference once per seed and return the table entry (not yet stored)."""
    reference = reference_module(lab_id)
    budget = BUDGETS[budget_name]
    dataset = LOADERS[reference.DATASET](mode=data_mode, budget=budget)
    scores = {}
    for position, seed in enumerate(seeds, start=1):
        started = time.perf_counter()
        model = reference.train(dataset, budget, seed)
        value = metrics.score(reference.METRIC, dataset.y_test, metrics.predict_labels(model, dataset.x_test))
        scores[str(seed)] = round(value, 4)
        print(f"[{position}/{len(seeds)}] seed {seed}: {reference.METRIC} = {value:.4f} "
              f"({time.perf_counter() - started:.1f} s)", flush=True)
    worst = min(scores.values())
    return {
        "threshold": round(worst - margin, 4), "worst": worst, "margin": margin, "scores": scores,
        "provisional": False, "dataset": dataset.description,
        "calibrated": datetime.date.today().isoformat(),
        "command": f"python -m autograder.calibrate {lab_id} --data {data_mode} --budget {budget_name} "
                   f"--seeds {' '.join(map(str, seeds))} --margin {margin}",
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.calibrate", description=__doc__.split("\n\n")[0],
                                     epilog="The data set and metric come from the lab's reference module.")
    parser.add_argument("lab", help="lab id, e.g. 02-fashion-mnist-cnn")
    parser.add_argument("--data", choices=DATA_MODES, required=True, help="keras (download) or offline")
    parser.add_argument("--budget", choices=sorted(BUDGETS), required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--margin", type=float, help="absolute margin below the worst seed "
                        f"(default {DEFAULT_MARGINS})")
    parser.add_argument("--dry-run", action="store_true", help="print the entry, do not store it")
    args = parser.parse_args(argv)
    if len(args.seeds) < 2:
        parser.error("calibrate over at least two seeds")
    margin = DEFAULT_MARGINS[args.budget] if args.margin is None else args.margin
    try:
        reference = reference_module(args.lab)
    except ValueError as error:
        parser.error(str(error))
    entry = calibrate(args.lab, args.data, args.budget, args.seeds, margin)
    key = LOADERS[reference.DATASET](mode=args.data, budget=BUDGETS[args.budget], verbose=False).key
    print(f"{args.lab} {reference.METRIC} {key}/{args.budget}: worst seed {entry['worst']:.4f}, "
          f"threshold {entry['threshold']:.4f}")
    if not args.dry_run:
        print(f"stored in {thresholds.store(args.lab, reference.METRIC, key, args.budget, entry)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
