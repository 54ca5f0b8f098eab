"""coursekit.series_data: the monthly Mauna Loa CO2 series from statsmodels."""

import numpy as np
import pytest

from coursekit.data import LOADERS, data_set
from coursekit.series_data import TEST_MONTHS, load_co2, monthly_means


def test_monthly_series_is_real_and_split_in_time(capsys):
    series = load_co2(mode="offline")
    assert series.key == "co2_monthly" and len(series.values) == 526
    assert str(series.months[0]) == "1958-03" and str(series.months[-1]) == "2001-12"
    assert str(series.months[series.test_start]) == "1994-01" and len(series.test_values) == TEST_MONTHS
    assert np.all(np.isfinite(series.values)) and 310 < series.values.min() < series.values.max() < 375
    assert series.values[-12:].mean() - series.values[:12].mean() > 50  # the rise Keeling measured
    assert "statsmodels" in capsys.readouterr().out


def test_both_modes_give_the_same_copy():
    np.testing.assert_array_equal(load_co2(mode="offline", verbose=False).values,
                                  load_co2(mode="keras", verbose=False).values)
    assert data_set("co2").keys == {"keras": "co2_monthly", "offline": "co2_monthly"}
    assert LOADERS["co2"] is load_co2


def test_monthly_means_average_and_fill_gaps():
    days = np.array(["2000-01-03", "2000-01-20", "2000-03-05", "2000-04-01"], dtype="datetime64[D]")
    months, means = monthly_means(days, np.array([1.0, 3.0, 6.0, np.nan]))
    assert [str(m) for m in months] == ["2000-01", "2000-02", "2000-03", "2000-04"]
    np.testing.assert_allclose(means, [2.0, 4.0, 6.0, 6.0])


def test_bad_mode_and_download_options_are_refused():
    with pytest.raises(ValueError, match="data mode 'web' is not one of"):
        load_co2(mode="web")
    with pytest.raises(TypeError, match="downloads nothing"):
        load_co2(mode="keras", origin_base="file:///nowhere")
