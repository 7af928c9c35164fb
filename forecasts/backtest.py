"""Rolling-origin evaluation of the forecaster against seasonal naive, per stream and overall."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from forecasts.core import SHORT_HISTORY, forecast, naive_error, quantile_column
from forecasts.inputs import (checked_count, checked_history, checked_request, checked_scale, checked_share,
                              scale_of_stream)


def smape(actual: np.ndarray, predicted: np.ndarray) -> float:
    denominator = np.abs(actual) + np.abs(predicted)
    return float(np.mean(np.where(denominator > 0, 2 * np.abs(actual - predicted) / np.maximum(denominator, 1e-12), 0.0)))


def mase(actual: np.ndarray, predicted: np.ndarray, training: np.ndarray, season: int = 4) -> float:
    """NaN where seasonal naive made no error on `training` (MASE's unit is 0: a flat history)."""
    scale = naive_error(training, season)
    return float(np.mean(np.abs(actual - predicted)) / scale) if scale > 0 else float("nan")


def pinball(actual: np.ndarray, predicted: np.ndarray, q: float) -> float:
    error = actual - predicted
    return float(np.mean(np.maximum(q * error, (q - 1) * error)))


def quarters_needed(horizon: int) -> int:
    """History a stream needs for one backtest origin: SHORT_HISTORY quarters before it, `horizon` after."""
    return SHORT_HISTORY + horizon


def backtest(history: pd.DataFrame, quantiles=(0.1, 0.5, 0.9), planning_quantile: float = 0.5,
             origins: int = 4, horizon: int = 4, method: str = "auto", progress=None, *,
             scale: str | Mapping[tuple[str, str], str] = "auto") -> pd.DataFrame:
    """One row per stream and method (the forecaster, then seasonal naive; one row if they are the
    same), averaged over origins.

    Columns: region, workload, method, origins, mase (NaN where the history before every origin
    repeats year on year: seasonal naive's error, MASE's unit, is 0), smape, coverage (share of
    actuals inside the outer quantiles), nominal_coverage, pinball (at the planning quantile, in
    demand units).
    `progress(iterable, length)`, if given, wraps the loop over streams (a progress bar); `scale`
    is the forecaster's (see forecasts.forecast).
    """
    planning_quantile = checked_share("planning_quantile", planning_quantile)
    horizon, quantiles = checked_request(horizon, (*quantiles, planning_quantile, 0.5))
    checked_count("origins", origins)
    low, high = quantile_column(min(quantiles)), quantile_column(max(quantiles))
    frame = checked_history(history)
    scale = checked_scale(scale, zip(frame["region"], frame["workload"]))
    rows = []
    streams = frame.groupby(["region", "workload"], sort=True)
    for (region, workload), stream in (progress(streams, streams.ngroups) if progress else streams):
        stream = stream.sort_values("quarter")
        values = stream["demand"].to_numpy(float)
        stream_scale = scale_of_stream(scale, region, workload)
        for name in dict.fromkeys((method, "snaive")):  # once when the forecaster is set to seasonal naive
            scores = []
            # from SHORT_HISTORY on: shorter histories get the drift fallback, not the forecaster scored (and
            # --origins 1000000000 stepped through a billion origins before any of them)
            for origin in range(max(SHORT_HISTORY, len(values) - horizon - origins + 1), len(values) - horizon + 1):
                train = stream.iloc[:origin][["quarter", "region", "workload", "demand"]]
                result = forecast(train, horizon, quantiles, name, scale=stream_scale)
                actual = values[origin:origin + horizon]
                median = result[quantile_column(0.5)].to_numpy()
                inside = (actual >= result[low].to_numpy()) & (actual <= result[high].to_numpy())
                scores.append((mase(actual, median, values[:origin]), smape(actual, median), inside.mean(),
                               pinball(actual, result[quantile_column(planning_quantile)].to_numpy(), planning_quantile)))
            if scores:
                # MASE is NaN at an origin whose history seasonal naive fits exactly (a flat stream): the
                # mean is over the others, NaN if there are none (np.nanmean warned on stderr then)
                mean = pd.DataFrame(scores).mean()
                rows.append((region, workload, name, len(scores), *mean, max(quantiles) - min(quantiles)))
    return pd.DataFrame(rows, columns=["region", "workload", "method", "origins", "mase", "smape", "coverage",
                                       "pinball", "nominal_coverage"])
