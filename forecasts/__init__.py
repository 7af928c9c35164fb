"""Demand forecasting: quarterly history per (region, workload) in, quantile forecasts out.

    from forecasts import forecast
    result = forecast(history, horizon=16, quantiles=(0.1, 0.5, 0.9))
"""

from forecasts.core import ForecastError, forecast, forecast_with_choices, quantile_column
from forecasts.inputs import SCALES, column_quantile
from forecasts.methods import METHODS, method_names
from forecasts.one_offs import at_neighbours_level, one_off_quarters, smoothed_history

__all__ = ["forecast", "forecast_with_choices", "ForecastError", "quantile_column", "column_quantile", "METHODS",
           "method_names", "SCALES",
           "one_off_quarters", "at_neighbours_level", "smoothed_history"]
