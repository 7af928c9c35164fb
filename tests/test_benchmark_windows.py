"""The accuracy benchmark: its history windows each score 8 quarters the forecast never saw, and
its candidate switch changes what `auto` chooses from for one run only."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from benchmarks.forecast_accuracy import H, MIN_TRAINING, candidates_changed, holdouts, series_frame
from forecasts import forecast_with_choices, methods


def _series(length: int, holdout: int = H) -> SimpleNamespace:
    """A competition item: history x, official holdout xx; values are their own positions."""
    return SimpleNamespace(x=np.arange(length, dtype=float), xx=np.arange(length, length + holdout, dtype=float))


def test_windows_are_the_consecutive_8_quarters_before_the_official_holdout():
    item = _series(40)
    official, = holdouts([item], None, 0)
    assert official[0].tolist() == list(range(40)) and official[1].tolist() == list(range(40, 48))
    for window in (1, 2, 3):
        (training, actual), = holdouts([item], None, window)
        end = 40 - (window - 1) * H
        assert training.tolist() == list(range(end - H))  # everything before the window, nothing after
        assert actual.tolist() == list(range(end - H, end))


def test_series_too_short_for_a_window_are_left_out_and_limit_applies():
    short, long = _series(H + MIN_TRAINING - 1), _series(H + MIN_TRAINING)
    assert len(holdouts([short, long], None, 1)) == 1
    assert len(holdouts([short, long], None, 0)) == 2
    assert len(holdouts([short, long, long], 2, 0)) == 2


def test_candidate_changes_reach_auto_and_are_undone_after_the_run():
    rng = np.random.default_rng(5)
    history = series_frame(100 * np.exp(0.03 * np.arange(24) + rng.normal(0, 0.05, 24)))
    before, built_once = dict(methods.METHODS), dict(methods.SPECIFIED_ONCE)
    with candidates_changed(["ets-holt", "ets-aicc"], ["ets-damped"]):
        _, choices = forecast_with_choices(history, 4)
    scored = set(choices.loc[0, "scores"])
    assert {"ets-holt", "ets-aicc"} <= scored and "ets-damped" not in scored
    assert methods.METHODS == before and methods.SPECIFIED_ONCE == built_once
    restored = set(forecast_with_choices(history, 4)[1].loc[0, "scores"])
    assert "ets-damped" in restored and not restored & {"ets-holt", "ets-aicc"}
    with pytest.raises(SystemExit, match="unknown candidate"):
        candidates_changed(["ets-nonsense"], [])
