"""Month-end forecasts with a prediction interval, and day-over-day anomalies.

**Forecast**: statsmodels' ETS model (``ETSModel``: additive error, additive damped trend) fitted to
the daily cost of the month so far and the days before it, then the rest of the month is
simulated (``simulate``, 1,000 paths, fixed seed) and each path summed: the month-end total is
the month-to-date actual plus the median of those sums, the interval their 5th and 95th
percentiles. ETS rather than Holt-Winters' ``ExponentialSmoothing`` because it is a state-space
model with a likelihood, so the interval of a *sum* over the remaining days can be simulated
instead of adding up per-day intervals (which overstates it); damped because a platform's cost
levels off far more often than it keeps growing. With fewer than :data:`MIN_DAYS_FOR_MODEL` days
of history the forecast is the mean daily cost times the days left, with a normal interval from
the daily standard deviation, and says so (``method``).

**Anomalies**: a robust z-score of each day's cost against the trailing window (median and MAD,
``0.6745 (x - median) / MAD``); ``|z| >= 3.5`` (Iglewicz and Hoaglin's cut-off) is an anomaly.
The median and MAD are not dragged by the spikes they look for, which a mean and standard
deviation would be.
"""

from __future__ import annotations

import calendar
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

MIN_DAYS_FOR_MODEL = 14
SIMULATIONS = 1000
SEED = 20260101
LOWER_Q, UPPER_Q = 0.05, 0.95
Z_CUTOFF = 3.5
WINDOW = 28
MIN_WINDOW = 7


@dataclass(frozen=True)
class Forecast:
    """Month-end total: actual to date + the forecast of the days left, with a 90 % interval."""

    month: str
    as_of: date
    actual_to_date: float
    expected: float
    lower: float
    upper: float
    days_left: int
    method: str
    daily: list[tuple[date, float, float, float]]
    """Forecast per remaining day: (day, expected, lower, upper) for the chart."""


def month_end(day: date) -> date:
    """The last day of ``day``'s month."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def forecast_month_end(series: Sequence[tuple[date, float]], as_of: date) -> Forecast:
    """The month-end forecast of a daily series (days without a value are 0) as of ``as_of`` (included)."""
    values = dict(series)
    first = min(values) if values else as_of
    days = [first + timedelta(days=offset) for offset in range((as_of - first).days + 1)]
    history = [float(values.get(day, 0.0)) for day in days]
    month_start = as_of.replace(day=1)
    actual = sum(value for day, value in zip(days, history, strict=True) if day >= month_start)
    end = month_end(as_of)
    left = (end - as_of).days
    future = [as_of + timedelta(days=offset) for offset in range(1, left + 1)]
    label = f"{as_of:%Y-%m}"
    if left == 0:
        return Forecast(label, as_of, actual, actual, actual, actual, 0, "actual", [])
    if len(history) >= MIN_DAYS_FOR_MODEL and statistics.pstdev(history) > 0:
        paths = _simulate(tuple(history), left)
        sums = sorted(sum(path) for path in paths)
        daily = [(day, *_quantiles([path[index] for path in paths])) for index, day in enumerate(future)]
        mid, low, high = _quantiles(sums, presorted=True)
        return Forecast(label, as_of, actual, actual + mid, actual + low, actual + high, left, "ets", daily)
    mean = statistics.fmean(history) if history else 0.0
    spread = statistics.pstdev(history) if len(history) > 1 else 0.0
    z = 1.6449  # two-sided 90 %
    margin = z * spread * math.sqrt(left)
    daily = [(day, mean, max(mean - z * spread, 0.0), mean + z * spread) for day in future]
    return Forecast(
        label, as_of, actual, actual + mean * left, actual + max(mean * left - margin, 0.0),
        actual + mean * left + margin, left, "mean", daily,
    )  # fmt: skip


def _quantiles(values: Sequence[float], *, presorted: bool = False) -> tuple[float, float, float]:
    ordered = list(values) if presorted else sorted(values)

    def at(q: float) -> float:
        position = q * (len(ordered) - 1)
        low = math.floor(position)
        high = min(low + 1, len(ordered) - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (position - low)

    return max(at(0.5), 0.0), max(at(LOWER_Q), 0.0), max(at(UPPER_Q), 0.0)


@lru_cache(maxsize=128)
def _simulate(history: tuple[float, ...], horizon: int) -> tuple[tuple[float, ...], ...]:
    """``SIMULATIONS`` future paths of ``horizon`` days from an ETS(A,Ad,N) fit; costs are never negative.

    Cached: fitting takes a noticeable fraction of a second, and the page, its JSON and its exports
    ask for the same series (the same history gives the same paths: the seed is fixed).
    """
    import warnings

    import numpy as np
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter on short, flat series
        fit = ETSModel(np.asarray(history, dtype=float), error="add", trend="add", damped_trend=True).fit(disp=False)
        simulated = fit.simulate(horizon, repetitions=SIMULATIONS, anchor="end", rng=np.random.default_rng(SEED))
    paths = np.clip(np.asarray(simulated, dtype=float).reshape(horizon, SIMULATIONS), 0.0, None)
    return tuple(tuple(map(float, paths[:, index])) for index in range(SIMULATIONS))


@dataclass(frozen=True)
class Anomaly:
    """A day whose cost is far from the trailing window's median."""

    day: date
    value: float
    median: float
    z: float


def robust_z(value: float, window: Sequence[float]) -> float:
    """``0.6745 (value - median) / MAD`` of ``window``; 0 when the window has no spread and the value is the median."""
    median = statistics.median(window)
    mad = statistics.median(abs(item - median) for item in window)
    if mad == 0:
        if value == median:
            return 0.0
        # a flat window: fall back to the mean absolute deviation, then to "infinitely far"
        mean_ad = statistics.fmean(abs(item - median) for item in window)
        return (value - median) / (1.2533 * mean_ad) if mean_ad else math.copysign(math.inf, value - median)
    return 0.6745 * (value - median) / mad


def anomalies(series: Sequence[tuple[date, float]], *, window: int = WINDOW, cutoff: float = Z_CUTOFF) -> list[Anomaly]:
    """Days whose cost has ``|robust z| >= cutoff`` against the ``window`` days before them (days missing are 0)."""
    values = dict(series)
    if not values:
        return []
    first, last = min(values), max(values)
    days = [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
    history = [float(values.get(day, 0.0)) for day in days]
    found: list[Anomaly] = []
    for index in range(MIN_WINDOW, len(days)):
        trailing = history[max(0, index - window) : index]
        z = robust_z(history[index], trailing)
        if abs(z) >= cutoff:
            found.append(Anomaly(days[index], history[index], statistics.median(trailing), z))
    return found
