"""Threshold tables and grader-owned metrics."""

import json

import keras
import numpy as np
import pytest
from sklearn.metrics import f1_score

from autograder import labs, metrics, thresholds
from coursekit.data import ImageDataset

LABS = labs.all_labs()


def test_every_lab_has_a_table():
    assert LABS and all(thresholds.table_path(lab).exists() for lab in LABS)


@pytest.mark.parametrize("lab", LABS)
def test_every_metric_has_an_entry_for_every_data_set_and_budget(lab):
    """Grading never meets a missing threshold: each (metric, data, budget) has an entry."""
    table = thresholds.load_table(lab)["metrics"]
    required = thresholds.required_entries(lab)
    assert len(required) >= 4
    missing = [entry for entry in required if f"{entry[1]}/{entry[2]}" not in table.get(entry[0], {})]
    assert missing == []


def test_provisional_entries_are_announced():
    warning = thresholds.provisional_warning("02-fashion-mnist-cnn", "keras", "full")
    assert "provisional" in warning and "--calibrate-missing" in warning and "macro_f1" in warning
    assert thresholds.provisional_warning("02-fashion-mnist-cnn", "offline", "smoke") is None


@pytest.mark.parametrize("lab", LABS)
def test_every_calibrated_threshold_is_worst_seed_minus_margin(lab):
    """... or, for the reference's THRESHOLD_ABOVE_BEST metrics (a shortcut's scores), the best
    seed plus the margin."""
    table = thresholds.load_table(lab)
    above_best = getattr(labs.reference(lab), "THRESHOLD_ABOVE_BEST", ())
    entries = [(name, entry) for name, metric in table["metrics"].items() for entry in metric.values()]
    calibrated = [(name, entry) for name, entry in entries if not entry["provisional"]]
    assert len(calibrated) >= 2
    for name, entry in calibrated:
        assert len(entry["scores"]) >= 3 and entry["worst"] == min(entry["scores"].values())
        if name in above_best:
            assert entry["best"] == max(entry["scores"].values()) and "rule" in entry
            assert entry["threshold"] == pytest.approx(entry["best"] + entry["margin"], abs=1e-4)
        else:
            assert entry["threshold"] == pytest.approx(entry["worst"] - entry["margin"], abs=1e-4)
        assert entry["margin"] > 0 and "autograder.calibrate" in entry["command"]
    for _, entry in entries:
        if entry["provisional"]:
            assert "PROVISIONAL" in entry["note"] and "autograder.calibrate" in entry["note"]


@pytest.mark.parametrize("lab", LABS)
def test_offline_tables_cover_both_budgets(lab):
    for name, metric in thresholds.load_table(lab)["metrics"].items():
        assert {"smoke", "full"} <= {key.split("/")[1] for key in metric if not metric[key].get("provisional")}, name


def test_missing_threshold_says_how_to_calibrate():
    with pytest.raises(thresholds.MissingThreshold, match="calibrate it with `python -m autograder.calibrate 02-fashion-mnist-cnn"):
        thresholds.lookup("02-fashion-mnist-cnn", "macro_f1", "cifar10", "smoke")


def test_store_keeps_other_entries(tmp_path, monkeypatch):
    monkeypatch.setattr(thresholds, "table_path", lambda lab: tmp_path / f"{lab}.json")
    thresholds.store("lab", "accuracy", "a", "full", {"threshold": 0.5})
    thresholds.store("lab", "accuracy", "b", "smoke", {"threshold": 0.4})
    table = json.loads((tmp_path / "lab.json").read_text())
    assert set(table["metrics"]["accuracy"]) == {"a/full", "b/smoke"}


class Constant(keras.Model):
    """Predicts class ``k`` for every image: a deliberately bad model."""

    def __init__(self, k):
        super().__init__()
        self.k = k

    def call(self, inputs):
        return keras.ops.one_hot(keras.ops.full((keras.ops.shape(inputs)[0],), self.k, dtype="int32"), 10)


def test_metric_below_threshold_fails_with_both_numbers(tmp_path, monkeypatch):
    monkeypatch.setattr(thresholds, "table_path", lambda lab: tmp_path / f"{lab}.json")
    thresholds.store("lab", "macro_f1", "toy", "smoke", {"threshold": 0.5, "provisional": False})
    rng = np.random.default_rng(0)
    dataset = ImageDataset("toy", "toy data", None, None, rng.integers(0, 256, (40, 28, 28), dtype=np.uint8),
                           np.arange(40) % 10, tuple("abcdefghij"))
    with pytest.raises(AssertionError, match=r"macro_f1 = 0.0182 on toy data \(40 held-out images\) is below the threshold 0.5000"):
        metrics.require("lab", "macro_f1", Constant(3), dataset, "smoke")


def test_scores_match_scikit_learn():
    rng = np.random.default_rng(1)
    y_true, y_pred = rng.integers(0, 10, 300), rng.integers(0, 10, 300)
    assert metrics.score("macro_f1", y_true, y_pred) == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    assert metrics.confusion(y_true, y_pred).sum() == 300
    with pytest.raises(ValueError, match="unknown metric 'recall'"):
        metrics.score("recall", y_true, y_pred)


def test_data_set_registry_names_every_set_and_refuses_unknown_names():
    from coursekit.data import data_set, registry

    assert {"mnist", "fashion_mnist"} <= set(registry())
    assert data_set("mnist").keys == {"keras": "mnist", "offline": "mnist5k_offline"}
    with pytest.raises(ValueError, match=r"no data set named 'nope'; known: \[.*'mnist'"):
        data_set("nope")


def test_every_required_entry_uses_its_metric_data_set_keys():
    from coursekit.data import data_set

    for lab in labs.all_labs():
        facts = thresholds.reference_facts(lab)
        for metric, key, _budget in thresholds.required_entries(lab):
            name = facts["METRIC_DATASETS"].get(metric, facts["DATASET"])
            assert key in data_set(name).keys.values()


def test_macro_f1_averages_over_the_data_sets_own_classes():
    y_true, y_pred = np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1])
    two = metrics.score("macro_f1", y_true, y_pred, n_classes=2)
    assert two == pytest.approx((2 / 3 + 0.8) / 2)
    assert metrics.score("macro_f1", y_true, y_pred) == pytest.approx(two * 2 / 10)
