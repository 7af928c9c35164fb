"""Whether a history shows a season: the test that keeps seasonal naive out of a short mean.

At 10-11 quarters the backtest can score three candidates (seasonal naive, drift, theta) and
`auto` averages the best three, so it averages all of them whatever their scores: the backtest
cannot leave one out. On a ramp with no season, seasonal naive is last year's level, a year's
growth below the others, and a third of the mean: on 300 synthetic AI ramps cut to 10 and 11
quarters, P90 eight quarters ahead was exceeded 54-59% of the time (benchmarks/short_history.py).
There, seasonal naive stays a candidate only where the history's quarter-on-quarter changes
differ by quarter of the year: a one-way ANOVA of those changes grouped by quarter (X-13's test
for stable seasonality, scipy.stats.f_oneway), significant at SEASON_ALPHA. Cut to 10 quarters,
it finds a season in 85% of Tourism's 420 series (seasonal to the eye), 50% of M1's 203 and 15% of
the ramps; the autocorrelation test statsmodels' ThetaModel uses found one in none of Tourism's.
SEASON_ALPHA is loose on purpose, erring toward keeping seasonal naive as before the test: at 0.1
it left it out of more of Tourism's and M1's series for no gain on the ramps (pinball loss at 10
and 11 quarters, seed 0: Tourism 0.454 and 0.467 against 0.452 and 0.462, M1 0.853 and 0.897
against 0.838 and 0.887, ramps 7.35 and 7.45 against 7.36 and 7.42). Under no season at all it
finds one in 18-20% of random walks and 30-32% of steady trends with independent noise (whose
changes are correlated: each quarter's noise enters two of them).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.stats import f_oneway

from forecasts.methods import SEASON, rounding

SEASON_ALPHA = 0.2


def season_p_value(work: pd.Series) -> float:
    """The ANOVA's p-value for 'the quarter of the year does not move the quarter-on-quarter
    change'; 1.0 where it cannot be judged (fewer than two changes in a quarter, or changes that
    vary by rounding alone)."""
    values = work.to_numpy(float)
    changes = np.diff(values)
    position = np.arange(len(changes)) % SEASON
    groups = [changes[position == k] for k in range(SEASON)]
    if min(len(group) for group in groups) < 2 or np.ptp(changes) <= rounding(values):
        return 1.0
    with warnings.catch_warnings():  # quarters whose changes are all equal: scipy warns (a perfect season: p 0)
        warnings.simplefilter("ignore")
        p = float(f_oneway(*groups).pvalue)
    return p if np.isfinite(p) else 1.0
