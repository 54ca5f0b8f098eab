"""Calibrate a lab's threshold: train the reference over several seeds, then a margin.

    python -m autograder.calibrate 02-fashion-mnist-cnn --data offline --budget smoke
    python -m autograder.calibrate 01-keras-basics --data keras --budget full --seeds 0 1 2 3 4

A lab's reference module (``solutions/<lab>/reference.py``) names LAB_ID, DATASET and
METRIC (and METRIC_DATASETS, {metric: data-set name}, for metrics measured on other data)
and provides ``train(dataset, budget, seed) -> keras.Model`` (a classifier scored
with METRIC on the held-out split) and/or ``SCORES = {name: score(dataset, budget, seed)}``
for other metrics, chosen with ``--metric``.
The threshold is the worst seed's score minus ``--margin``; the table keeps every
seed's score, the margin and the command, in ``solutions/<lab>/thresholds.json``.

A metric the reference lists in ``THRESHOLD_ABOVE_BEST`` scores a shortcut (e.g. an
unchanged network handed in as an improved one): its threshold is the *best* seed's score
plus ``--margin``, so that the shortcut fails at every calibrated seed.
"""

import argparse
import datetime
import sys
import time

from autograder import labs, metrics, thresholds
from coursekit.data import LOADERS
from coursekit.lab import BUDGETS, DATA_MODES

DEFAULT_MARGINS = {"full": 0.03, "smoke": 0.08}


def reference_module(lab_id: str):
    try:
        module = labs.reference(lab_id)
    except labs.UnknownLab:
        raise
    except ModuleNotFoundError as error:
        raise ValueError(f"lab {lab_id!r} has no solutions/{lab_id}/reference.py") from error
    if getattr(module, "LAB_ID", None) != lab_id:
        raise ValueError(f"solutions/{lab_id}/reference.py says LAB_ID {getattr(module, 'LAB_ID', '?')!r}, not {lab_id!r}")
    return module


def seed_score(reference, metric: str, dataset, budget, seed) -> float:
    """One seed's score for ``metric``.

    A reference module may define ``SCORES = {metric: score(dataset, budget, seed)}`` for
    metrics that are not its classifier's (a train/validation gap, a second model...).
    Otherwise its classifier is trained with ``train`` and scored on the held-out split.
    """
    custom = getattr(reference, "SCORES", {})
    if metric in custom:
        return float(custom[metric](dataset, budget, seed))
    if metric != reference.METRIC:
        raise ValueError(f"{reference.LAB_ID} has no metric {metric!r}; it has "
                         f"{sorted({reference.METRIC, *custom})}")
    model = reference.train(dataset, budget, seed)
    return metrics.score(metric, dataset.y_test, metrics.test_predictions(model, dataset), metrics.n_classes(dataset))


def all_metrics(reference) -> list:
    """The lab's main metric (if it trains a classifier) and its custom ones."""
    return thresholds.lab_metrics(reference.LAB_ID)


def calibrate(lab_id: str, data_mode: str, budget_name: str, seeds, margin: float,
              metric: str | None = None, progress=None) -> dict:
    """Score the reference once per seed and return the table entry (not yet stored).

    ``progress``: a tqdm bar to advance once per seed (default: a line per seed).
    """
    reference = reference_module(lab_id)
    metric = metric or reference.METRIC
    budget = BUDGETS[budget_name]
    name = getattr(reference, "METRIC_DATASETS", {}).get(metric, reference.DATASET)
    dataset = LOADERS[name](mode=data_mode, budget=budget, verbose=progress is None)
    expected_key = thresholds.dataset_key(lab_id, data_mode, metric)
    if dataset.key != expected_key:
        raise ValueError(f"the {name!r} loader returned data keyed {dataset.key!r}; its registry entry says "
                         f"{expected_key!r} for data mode {data_mode!r}")
    scores = {}
    for position, seed in enumerate(seeds, start=1):
        started = time.perf_counter()
        value = seed_score(reference, metric, dataset, budget, seed)
        scores[str(seed)] = round(value, 4)
        if progress is None:
            print(f"[{position}/{len(seeds)}] seed {seed}: {metric} = {value:.4f} "
                  f"({time.perf_counter() - started:.1f} s)", flush=True)
        else:
            progress.set_postfix_str(f"{metric} seed {seed}: {value:.4f}")
            progress.update()
    worst = min(scores.values())
    if metric in getattr(reference, "THRESHOLD_ABOVE_BEST", ()):
        best = max(scores.values())
        rule = {"threshold": round(best + margin, 4), "best": best,
                "rule": "the best seed plus the margin: the scores are a shortcut's, which must fail"}
    else:
        rule = {"threshold": round(worst - margin, 4)}
    return {
        **rule, "worst": worst, "margin": margin, "scores": scores,
        "provisional": False, "dataset": dataset.description,
        "calibrated": datetime.date.today().isoformat(),
        "command": f"python -m autograder.calibrate {lab_id} --data {data_mode} --budget {budget_name} "
                   f"--metric {metric} --seeds {' '.join(map(str, seeds))} --margin {margin}",
    }


def calibrate_missing(lab_id: str, data_mode: str, budget_name: str, seeds=(0, 1, 2, 3, 4)) -> list:
    """Calibrate the lab's provisional or missing entries for this data and budget, with a
    progress bar, and store them with every seed's score. Returns the metrics calibrated."""
    from tqdm import tqdm

    todo = thresholds.provisional_entries(lab_id, data_mode, budget_name)
    if not todo:
        return []
    with tqdm(total=len(todo) * len(seeds), unit="seed", desc=f"calibrating {lab_id}", dynamic_ncols=True) as bar:
        for metric in todo:
            entry = calibrate(lab_id, data_mode, budget_name, list(seeds), DEFAULT_MARGINS[budget_name], metric, bar)
            key = thresholds.dataset_key(lab_id, data_mode, metric)
            thresholds.store(lab_id, metric, key, budget_name, entry)
            tqdm.write(f"{lab_id} {metric} {key}/{budget_name}: seeds {entry['scores']}, "
                       f"threshold {entry['threshold']:.4f} (stored)")
    return todo


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.calibrate", description=__doc__.split("\n\n")[0],
                                     epilog="The data set and metric come from the lab's reference module.")
    parser.add_argument("lab", help="lab id, e.g. 02-fashion-mnist-cnn")
    parser.add_argument("--data", choices=DATA_MODES, required=True, help="keras (download) or offline")
    parser.add_argument("--budget", choices=sorted(BUDGETS), required=True)
    parser.add_argument("--metric", help="which of the lab's metrics, or 'all' (default: its main METRIC)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--margin", type=float, help="absolute margin below the worst seed (above the best "
                        f"seed for the reference's THRESHOLD_ABOVE_BEST metrics; default {DEFAULT_MARGINS})")
    parser.add_argument("--dry-run", action="store_true", help="print the entry, do not store it")
    args = parser.parse_args(argv)
    if len(args.seeds) < 2:
        parser.error("calibrate over at least two seeds")
    margin = DEFAULT_MARGINS[args.budget] if args.margin is None else args.margin
    try:
        reference = reference_module(args.lab)
    except ValueError as error:
        parser.error(str(error))
    metrics_to_run = all_metrics(reference) if args.metric == "all" else [args.metric or reference.METRIC]
    for metric in metrics_to_run:
        try:
            entry = calibrate(args.lab, args.data, args.budget, args.seeds, margin, metric)
        except ValueError as error:
            parser.error(str(error))
        key = thresholds.dataset_key(args.lab, args.data, metric)
        print(f"{args.lab} {metric} {key}/{args.budget}: seeds {entry['scores']}, "
              f"threshold {entry['threshold']:.4f}" + (f" ({entry['rule']})" if "rule" in entry else ""))
        if not args.dry_run:
            print(f"stored in {thresholds.store(args.lab, metric, key, args.budget, entry)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
