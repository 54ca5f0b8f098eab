"""A real time series for forecasting: atmospheric CO2 at Mauna Loa, monthly, 1958-2001.

The series ships inside statsmodels (``statsmodels.datasets.co2``: weekly flask samples,
March 1958 - December 2001, in ppm; Keeling & Whorf, Scripps). It is real, with a trend and a
yearly cycle, and because it ships in a package both data modes use the same copy: no
download is involved, and the lab says so. The weekly values are averaged per calendar month
(526 months); the 5 months without any sample are filled by linear interpolation.

The last ``TEST_MONTHS`` months (January 1994 on) are held out as the test period; a model
is chosen on a validation period carved from the end of the training months.
"""

import dataclasses

import numpy as np

from coursekit.data import DataSet, DatasetError
from coursekit.lab import DATA_MODES, Budget, budget_from_env, data_mode_from_env

TEST_MONTHS = 96          # 1994-01 .. 2001-12
SEASON = 12               # months in the yearly cycle


@dataclasses.dataclass(frozen=True)
class SeriesDataset:
    """One monthly series, split in time.

    Attributes:
        key: the threshold tables' name for this data: "co2_monthly".
        description: one line saying which data this is and where it came from.
        months: datetime64[M] (n,) the month of each value.
        values: float64 (n,) CO2 in ppm.
        test_start: index of the first held-out month; values[:test_start] is for training.
        season: the length of the seasonal cycle, 12.
    """

    key: str
    description: str
    months: np.ndarray
    values: np.ndarray
    test_start: int
    season: int = SEASON

    @property
    def train_values(self) -> np.ndarray:
        return self.values[: self.test_start]

    @property
    def test_values(self) -> np.ndarray:
        return self.values[self.test_start:]

    def summary(self) -> str:
        return (f"[data] {self.description}: {len(self.values)} months {self.months[0]} .. {self.months[-1]}, "
                f"training {self.months[0]} .. {self.months[self.test_start - 1]} ({self.test_start} months), "
                f"held out {self.months[self.test_start]} .. {self.months[-1]} ({len(self.test_values)} months)")


def monthly_means(days: np.ndarray, values: np.ndarray) -> tuple:
    """Average (possibly missing) samples per calendar month; fill empty months linearly.

    Args:
        days: datetime64 (n,) sample dates.
        values: float (n,) samples, NaN where missing.

    Returns:
        (months datetime64[M] (m,), means float64 (m,)), every month from the first to the last.
    """
    months_of = days.astype("datetime64[M]")
    months = np.arange(months_of.min(), months_of.max() + 1)
    position = (months_of - months[0]).astype(int)
    present = np.isfinite(values)
    sums = np.bincount(position[present], weights=values[present], minlength=len(months))
    counts = np.bincount(position[present], minlength=len(months))
    means = np.full(len(months), np.nan)
    means[counts > 0] = sums[counts > 0] / counts[counts > 0]
    empty = counts == 0
    if empty.all():
        raise DatasetError("the CO2 series holds no values")
    means[empty] = np.interp(np.flatnonzero(empty), np.flatnonzero(~empty), means[~empty])
    return months, means


def load_co2_statsmodels() -> SeriesDataset:
    try:
        from statsmodels.datasets import co2
    except ImportError as error:
        raise DatasetError("the forecasting data needs the 'statsmodels' package, which ships the Mauna Loa "
                           "CO2 series; install it with `pip install -r requirements.txt`.") from error
    frame = co2.load_pandas().data
    if "co2" not in frame or len(frame) < 2000:
        raise DatasetError(f"statsmodels' co2 data has an unexpected form: columns {list(frame)}, {len(frame)} rows")
    months, means = monthly_means(frame.index.values.astype("datetime64[D]"), frame["co2"].to_numpy(float))
    return SeriesDataset(
        key="co2_monthly",
        description=("Mauna Loa atmospheric CO2 (ppm), monthly means of the weekly series shipped in statsmodels "
                     "(the same copy online and offline)"),
        months=months, values=means, test_start=len(means) - TEST_MONTHS)


def load_co2(mode: str | None = None, budget: Budget | None = None, verbose: bool = True,
             **fetch_options) -> SeriesDataset:
    """The monthly CO2 series. Both data modes and both budgets use the whole series (526 months):
    it ships in statsmodels and is small; the smoke budget trains for fewer epochs instead.

    Args:
        mode: "keras" or "offline"; None reads ``COURSE_DATA`` (checked, then the same data).
        budget: a ``Budget``; None reads ``COURSE_BUDGET`` (checked, then the same data).
        verbose: print which data was loaded.
    """
    if fetch_options:
        raise TypeError(f"load_co2 downloads nothing; it takes no {sorted(fetch_options)}")
    mode = mode or data_mode_from_env()
    if mode not in DATA_MODES:
        raise ValueError(f"data mode {mode!r} is not one of {DATA_MODES}")
    budget = budget or budget_from_env()
    dataset = load_co2_statsmodels()
    if verbose:
        print(dataset.summary())
    return dataset


DATA_SETS = {"co2": DataSet(load=load_co2, keys={"keras": "co2_monthly", "offline": "co2_monthly"})}
