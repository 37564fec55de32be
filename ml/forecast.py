"""Collections forecast math over plain arrays (no ORM): conditional weekly payment
probabilities, expected cash with an 80% band, naive forecasts and WAPE.

Conventions, shared by the live forecast and the backtest so the two are comparable:
- ``F(d)`` is the model's probability that an invoice is paid within ``d`` days of its issue
  date (``PaymentModel.cdf``).
- The forecast is made at the end of day ``as_of``; an invoice still open then has
  ``age = as_of - issue_date`` days, i.e. we know T > age. Week ``w`` (0-based) covers the
  payment dates ``as_of + 7w + 1`` .. ``as_of + 7(w+1)``, i.e. T in ``(age + 7w, age + 7(w+1)]``.
- Conditioned on being open: ``P(week w) = (F(age + 7(w+1)) - F(age + 7w)) / (1 - F(age))``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WEEKS = 13
# z for the 10th/90th percentiles of a normal distribution: the 80% band.
Z_80 = 1.2815515655446004


def week_edges(age_days: np.ndarray, weeks: int = WEEKS) -> np.ndarray:
    """(n, weeks + 1) ages in days at which each week starts/ends, counted from issue."""
    age = np.asarray(age_days, dtype=float).reshape(-1, 1)
    return age + 7.0 * np.arange(weeks + 1, dtype=float).reshape(1, -1)


def conditional_week_probabilities(cdf_at_edges: np.ndarray) -> np.ndarray:
    """Probability of payment in each week given the invoice is still open at the first edge.

    ``cdf_at_edges`` is (n, weeks + 1): F evaluated at ``week_edges``. Column 0 is F(age).
    Where the model already believed the invoice paid by now (F(age) ~ 1), the remaining
    probability mass is unknowable from the model; we spread nothing and return zeros
    rather than dividing by ~0 (such invoices are reported, not silently inflated).
    """
    cdf = np.clip(np.asarray(cdf_at_edges, dtype=float), 0.0, 1.0)
    cdf = np.maximum.accumulate(cdf, axis=1)  # a CDF never decreases
    survival = 1.0 - cdf[:, :1]
    mass = np.diff(cdf, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        probs = np.where(survival > 1e-9, mass / survival, 0.0)
    return np.clip(probs, 0.0, 1.0)


@dataclass(frozen=True)
class WeeklyForecast:
    expected: np.ndarray  # (weeks,)
    lower: np.ndarray  # 10th percentile
    upper: np.ndarray  # 90th percentile


def weekly_cash(amounts: np.ndarray, probs: np.ndarray) -> WeeklyForecast:
    """Expected cash per week with an 80% band.

    Each invoice is an independent Bernoulli per week (paid in full that week with
    probability p): mean ``sum(a p)``, variance ``sum(a^2 p (1 - p))``; the band is the
    normal approximation's 10th/90th percentiles, floored at zero. Normal rather than
    Monte Carlo because it is exact in its first two moments, deterministic and O(n) for a
    million invoices; with a handful of very large invoices it understates skew.
    """
    a = np.asarray(amounts, dtype=float).reshape(-1, 1)
    p = np.asarray(probs, dtype=float)
    if p.size == 0:
        zeros = np.zeros(p.shape[1] if p.ndim == 2 else WEEKS)
        return WeeklyForecast(zeros, zeros.copy(), zeros.copy())
    expected = (a * p).sum(axis=0)
    sd = np.sqrt((a * a * p * (1.0 - p)).sum(axis=0))
    return WeeklyForecast(
        expected=expected,
        lower=np.maximum(expected - Z_80 * sd, 0.0),
        upper=expected + Z_80 * sd,
    )


def week_index(days_from_origin: np.ndarray, weeks: int = WEEKS) -> np.ndarray:
    """Week number for a payment ``d`` days after the origin (week w holds d in
    (7w, 7(w+1)]); -1 beyond the horizon or unknown.

    Payments dated on or before the origin (a naive forecast's due date already passed)
    go to week 0: the naive rule says "it should have come in already, so now".
    """
    d = np.asarray(days_from_origin, dtype=float)
    week = np.ceil(np.maximum(d, 1.0) / 7.0) - 1.0
    week = np.where(np.isnan(d) | (week >= weeks), -1, week)
    return week.astype(int)


def bucket_by_week(amounts: np.ndarray, weeks_idx: np.ndarray, weeks: int = WEEKS) -> np.ndarray:
    """Sum amounts per week index (ignoring -1)."""
    idx = np.asarray(weeks_idx, dtype=int)
    amounts = np.asarray(amounts, dtype=float)
    inside = idx >= 0
    return np.bincount(idx[inside], weights=amounts[inside], minlength=weeks)[:weeks]


def wape(actual: np.ndarray, forecast: np.ndarray) -> float | None:
    """Weighted absolute percentage error: sum|actual - forecast| / sum(actual)."""
    actual = np.asarray(actual, dtype=float).ravel()
    forecast = np.asarray(forecast, dtype=float).ravel()
    total = np.abs(actual).sum()
    if total == 0:
        return None
    return float(np.abs(actual - forecast).sum() / total)


def band_coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float | None:
    """Share of cells whose actual falls inside [lower, upper]."""
    actual = np.asarray(actual, dtype=float).ravel()
    if actual.size == 0:
        return None
    inside = (actual >= np.asarray(lower).ravel() - 1e-6) & (
        actual <= np.asarray(upper).ravel() + 1e-6
    )
    return float(inside.mean())


def residual_ratio_band(actual: np.ndarray, forecast: np.ndarray) -> tuple[float, float] | None:
    """10th and 90th percentiles of actual / forecast over backtest cells (forecast > 0).

    The Bernoulli band assumes invoices pay independently; real weeks move together (a
    customer's payment run, month ends, model error), so it is far too narrow. Scaling the
    expected value by the ratios seen in the backtest gives a band with the width the
    history actually showed.
    """
    actual = np.asarray(actual, dtype=float).ravel()
    forecast = np.asarray(forecast, dtype=float).ravel()
    usable = forecast > 0
    if usable.sum() < 10:
        return None
    ratios = actual[usable] / forecast[usable]
    return float(np.quantile(ratios, 0.1)), float(np.quantile(ratios, 0.9))


def widen_band(result: WeeklyForecast, ratios: tuple[float, float] | None) -> WeeklyForecast:
    """The wider of the Bernoulli band and the backtest-ratio band, week by week."""
    if ratios is None:
        return result
    low, high = ratios
    return WeeklyForecast(
        expected=result.expected,
        lower=np.minimum(result.lower, result.expected * low),
        upper=np.maximum(result.upper, result.expected * high),
    )
