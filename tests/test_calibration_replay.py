"""The calibration replay reruns the forecaster's own code on cached fits: its figures are the
benchmark's only if its quantiles are the forecaster's, stream for stream."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from benchmarks.calibration_replay import binding_bound, cache_entry, replay, working
from benchmarks.forecast_accuracy import H, QUANTILES, series_frame
from forecasts import forecast, forecast_with_choices
from forecasts.core import naive_error

SEASONAL_GROWTH = 100 * np.exp(0.04 * np.arange(28)) * np.tile([0.85, 1.0, 1.05, 1.1], 7)
JUMP = np.array([500, 800, 760, 480, 520, 690, 470, 330, 410, 520, 470, 540, 610, 2800, 6200, 5800], float)


@pytest.mark.parametrize("history", [SEASONAL_GROWTH * np.random.default_rng(5).lognormal(0, 0.05, 28), JUMP,
                                     np.array([40, 55, 61, 70, 90], float)], ids=["seasonal", "jump", "short"])
@pytest.mark.parametrize("scale", ["auto", "units"])
def test_the_replay_gives_the_forecasters_quantiles_from_a_pickled_cache_entry(history, scale):
    actual = history[-H:] * 1.1
    entry = pickle.loads(pickle.dumps(cache_entry((history, actual), scale)))  # what the cache file holds
    quantiles, _, _ = replay(entry)
    result = forecast(series_frame(history), H, QUANTILES, scale=scale)
    for q in QUANTILES:
        np.testing.assert_allclose(quantiles[q], result[f"p{q * 100:g}"].to_numpy(), rtol=1e-12, err_msg=f"P{q * 100:g}")


def test_the_replay_reads_the_ceiling_where_the_forecaster_says_it_held_the_band():
    _, choices = forecast_with_choices(series_frame(JUMP), H, QUANTILES)
    held = int(choices.loc[0, "note"].split("band held within 1.75x a random walk's spread on the history in ")[1].split()[0])
    entry = cache_entry((JUMP, JUMP[-H:]))
    _, path, choice = replay(entry)
    bounds = binding_bound(working(entry)[2], path, choice.calibration)
    assert (bounds == 1).sum() == held, bounds


def test_the_scale_choice_takes_the_scale_whose_backtest_was_better_and_scores_its_forecast():
    from benchmarks.scale_choice import backtest_mase, scored

    linear = 100 + 40 * np.arange(32) + np.random.default_rng(3).normal(0, 15, 32)
    compounding = 100 * np.exp(0.12 * np.arange(32)) * np.random.default_rng(2).lognormal(0, 0.03, 32)
    streams = [(linear[:-H], linear[-H:]), (compounding[:-H], compounding[-H:] * 1.1)]
    logs, units = ([cache_entry(pair, scale) for pair in streams] for scale in ("auto", "units"))
    table = scored(logs, units)
    for row, (on_logs, on_units) in enumerate(zip(logs, units)):
        won = "units" if backtest_mase(on_units) < backtest_mase(on_logs) else "log"
        assert table["units picked"].iloc[row] == (won == "units")
        assert table[("pick", "MASE")].iloc[row] == table[(won, "MASE")].iloc[row]
        forecast_of = forecast(series_frame(on_logs["training"]), H, QUANTILES, scale="auto" if won == "log" else "units")
        mase = np.mean(np.abs(on_logs["actual"] - forecast_of["p50"].to_numpy())) / naive_error(on_logs["training"])
        assert table[("pick", "MASE")].iloc[row] == pytest.approx(mase, rel=1e-9)
    assert table["units picked"].tolist() != [table["units picked"].iloc[0]] * 2, "a stream for each scale"


def test_the_pooled_growth_tilt_keeps_the_backtested_steps_and_reshapes_only_the_band_beyond_them():
    from benchmarks.pooled_growth import pooled_growth, standardised_errors, tilt, tilted

    rng = np.random.default_rng(7)
    errors = [rng.normal(0, 1, (3, 4)) * [1, 1.3, 1.6, 2.0] for _ in range(300)]
    assert pooled_growth(errors) == pytest.approx(2.0, rel=0.15)
    multiplier = tilt(0.8, H)
    assert np.prod(multiplier[:4]) == pytest.approx(1.0) and multiplier[3] / multiplier[0] == pytest.approx(0.8)
    assert np.all(np.diff(multiplier) < 0), "a growth below one narrows step by step"

    entry = cache_entry((SEASONAL_GROWTH * np.random.default_rng(5).lognormal(0, 0.05, 28), SEASONAL_GROWTH[-H:]))
    assert standardised_errors(entry).shape == (3, 4)
    shipped, _, _ = replay(entry)
    with tilted(np.ones(H)):
        unchanged, _, _ = replay(entry)
    with tilted(multiplier):
        narrowed, _, _ = replay(entry)
    np.testing.assert_allclose(unchanged[0.9], shipped[0.9], rtol=1e-12)
    np.testing.assert_allclose(narrowed[0.5], shipped[0.5], rtol=1e-12)
    width = {name: quantiles[0.9] / quantiles[0.1] for name, quantiles in (("shipped", shipped), ("narrowed", narrowed))}
    assert np.all(width["narrowed"][4:] <= width["shipped"][4:] * (1 + 1e-12))
    assert np.any(width["narrowed"][4:] < width["shipped"][4:] * (1 - 1e-3)), "the far band narrows where the models set it"
