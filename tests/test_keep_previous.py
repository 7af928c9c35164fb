"""A re-forecast keeps last quarter's models unless new ones backtest clearly better.

Found on global-enterprise: a 2027Q1 that came in exactly at the previous P50 swapped ARIMA for
theta in us/fine-tuning's three models and moved its P50 four years out by -22%.
"""

from __future__ import annotations

import pandas as pd

from forecasts import forecast_with_choices
from forecasts.core import KEEP_MARGIN
from tests.conftest import EXAMPLES

QUANTILES = (0.1, 0.5, 0.9)
STREAM = ("us", "fine-tuning")


def stream_history() -> pd.DataFrame:
    history = pd.read_csv(EXAMPLES / "global-enterprise" / "demand_history.csv")
    return history[(history["region"] == STREAM[0]) & (history["workload"] == STREAM[1])]


def as_forecast(history: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(forecast to 2030Q4, its choices, the history with that forecast's 2027Q1 P50 appended as 2027Q1's actual)."""
    before, choices = forecast_with_choices(history, 16, QUANTILES)
    actual = {"quarter": "2027Q1", "region": STREAM[0], "workload": STREAM[1], "demand": round(before["p50"].iloc[0])}
    return before, choices, pd.concat([history, pd.DataFrame([actual])], ignore_index=True)


def test_a_quarter_that_came_in_as_forecast_keeps_the_models_and_the_p50():
    before, choices, rolled = as_forecast(stream_history())
    models = choices["model"].iloc[0]
    fresh, fresh_choices = forecast_with_choices(rolled, 15, QUANTILES)
    kept, kept_choices = forecast_with_choices(rolled, 15, QUANTILES, previous={STREAM: models})
    assert fresh_choices["model"].iloc[0] != models  # without memory the three change (the case)
    assert abs(fresh["p50"].iloc[-1] / before["p50"].iloc[-1] - 1) > 0.15
    assert kept_choices["model"].iloc[0] == models
    assert kept_choices["note"].iloc[0].startswith("last quarter's models kept")
    assert f"within {KEEP_MARGIN:.0%}" in kept_choices["note"].iloc[0]
    assert abs(kept["p50"].iloc[-1] / before["p50"].iloc[-1] - 1) < 0.05


def test_models_that_now_backtest_far_worse_are_not_kept():
    _, _, rolled = as_forecast(stream_history())
    fresh, fresh_choices = forecast_with_choices(rolled, 15, QUANTILES)
    # seasonal naive never grows: on a stream that doubled in two years its backtest is far behind
    kept, kept_choices = forecast_with_choices(rolled, 15, QUANTILES, previous={STREAM: "snaive+drift+theta"})
    assert kept_choices["model"].iloc[0] == fresh_choices["model"].iloc[0]
    pd.testing.assert_frame_equal(kept, fresh)


def test_a_previous_label_that_names_no_backtested_model_changes_nothing():
    _, _, rolled = as_forecast(stream_history())
    fresh, fresh_choices = forecast_with_choices(rolled, 15, QUANTILES)
    for label in ("override only", "", "arima+no-such-model"):
        kept, kept_choices = forecast_with_choices(rolled, 15, QUANTILES, previous={STREAM: label})
        pd.testing.assert_frame_equal(kept, fresh)
        assert kept_choices["note"].iloc[0] == fresh_choices["note"].iloc[0]
