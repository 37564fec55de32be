"""Collections forecast (engine of F20/F23): expected cash per week for 13 weeks in the
organization's base currency with an 80% band, and its backtest against actual collections.

The math is in ``ml.forecast`` (pure arrays); this module loads the ledger, calls the model
and stores results. See docs/ml.md, section "Collections forecast".
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd
from django.db import connection
from django.utils import timezone

from invoices.models import OPEN_STATUSES
from ml import forecast as fm
from ml.features import features_as_of, features_at_issue, training_labels
from ml.payment_model import PaymentModel
from ml.registry import get_active, load_active_model
from paypredict_project.tenancy.models import Organization
from predictions.models import ForecastBacktest, ForecastSnapshot
from predictions.selectors import ledger_frames
from predictions.services.currency import rates_to_base
from predictions.services.scoring import NoActiveModel, organization_today

logger = logging.getLogger(__name__)

EPOCH = dt.date(1970, 1, 1)


def _day_numbers(values: pd.Series) -> np.ndarray:
    """Days since 1970 as float, NaN for missing dates."""
    arr = pd.to_datetime(values).to_numpy(dtype="datetime64[ns]")
    out = arr.astype("datetime64[D]").astype(np.int64).astype(float)
    out[np.isnat(arr)] = np.nan
    return out


def _day(d: dt.date) -> float:
    return float((d - EPOCH).days)


def _open_balances(organization: Organization) -> pd.DataFrame:
    """Open invoices' balance and currency, straight from SQL (one query, any size)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, balance, currency FROM invoices_invoice "
            "WHERE organization_id = %s AND status = ANY(%s) AND balance > 0",
            [organization.pk, [str(s) for s in OPEN_STATUSES]],
        )
        rows = cursor.fetchall()
    return pd.DataFrame(rows, columns=["invoice_id", "balance", "currency"])


def week_rows(as_of: dt.date, result: fm.WeeklyForecast) -> list[dict]:
    rows = []
    for w in range(len(result.expected)):
        start = as_of + dt.timedelta(days=7 * w + 1)
        rows.append(
            {
                "week": w + 1,
                "start": start.isoformat(),
                "end": (start + dt.timedelta(days=6)).isoformat(),
                "expected": round(float(result.expected[w]), 2),
                "lower": round(float(result.lower[w]), 2),
                "upper": round(float(result.upper[w]), 2),
            }
        )
    return rows


def forecast_build(
    *, organization: Organization, as_of: dt.date | None = None, weeks: int = fm.WEEKS
) -> ForecastSnapshot:
    """Compute the forecast from every open invoice's conditional payment-date
    distribution and store it as the day's snapshot (replacing an earlier one that day)."""
    version = get_active(organization)
    model = load_active_model(organization) if version else None
    if version is None or model is None:
        raise NoActiveModel(organization)
    as_of = as_of or organization_today(organization)
    rates = rates_to_base(organization=organization, as_of=as_of)

    balances = _open_balances(organization)
    invoices, payments = ledger_frames(organization=organization)
    frame = invoices[["invoice_id", "issue_date"]].merge(balances, on="invoice_id")
    frame = frame[pd.to_datetime(frame["issue_date"]) <= pd.Timestamp(as_of)]
    rate = frame["currency"].map({k: float(v) for k, v in rates.items()})
    excluded: dict[str, str] = {}
    for currency, group in frame[rate.isna()].groupby("currency"):
        excluded[f"{currency} (no exchange rate to {organization.base_currency})"] = str(
            sum(group["balance"], Decimal("0.00"))
        )
    frame = frame[rate.notna()]
    amounts = frame["balance"].astype(float).to_numpy() * rate[rate.notna()].to_numpy()

    if len(frame):
        X = features_as_of(invoices, payments, as_of, frame["invoice_id"].to_numpy())
        age = _day(as_of) - _day_numbers(frame["issue_date"])
        cdf = model.cdf(X, fm.week_edges(age, weeks))
        probs = fm.conditional_week_probabilities(cdf)
        result = fm.widen_band(fm.weekly_cash(amounts, probs), backtest_ratios(organization))
    else:
        zeros = np.zeros(weeks)
        result = fm.WeeklyForecast(zeros, zeros.copy(), zeros.copy())

    snapshot, _ = ForecastSnapshot.objects.update_or_create(
        organization=organization,
        as_of=as_of,
        defaults={
            "computed_at": timezone.now(),
            "model_version": version,
            "currency": organization.base_currency,
            "weeks": week_rows(as_of, result),
            "open_invoices": len(frame),
            "open_balance": Decimal(str(round(float(amounts.sum()), 2))),
            "excluded": excluded,
        },
    )
    return snapshot


def backtest_ratios(organization: Organization) -> tuple[float, float] | None:
    """Actual/forecast percentiles from the latest backtest, to widen the live band."""
    run = ForecastBacktest.objects.filter(organization=organization).first()
    if run is None:
        return None
    cells = [w for origin in run.results for w in origin["weeks"]]
    return fm.residual_ratio_band(
        np.array([c["actual"] for c in cells]), np.array([c["model"] for c in cells])
    )


def forecast_get_or_build(*, organization: Organization, refresh: bool = False) -> ForecastSnapshot:
    today = organization_today(organization)
    if not refresh:
        snapshot = ForecastSnapshot.objects.filter(organization=organization, as_of=today).first()
        if snapshot is not None:
            return snapshot
    return forecast_build(organization=organization, as_of=today)


# ---------------------------------------------------------------- backtest
@dataclass
class OriginForecast:
    origin: dt.date
    actual: np.ndarray
    model: fm.WeeklyForecast
    due_date: np.ndarray
    customer_delay: np.ndarray


def naive_due_date(
    amounts: np.ndarray, due: np.ndarray, origin_day: float, weeks: int
) -> np.ndarray:
    """Every open invoice is paid on its due date (already overdue: in the first week)."""
    return fm.bucket_by_week(amounts, fm.week_index(due - origin_day, weeks), weeks)


def naive_customer_delay(
    amounts: np.ndarray, due: np.ndarray, delay: np.ndarray, origin_day: float, weeks: int
) -> np.ndarray:
    """Paid on due date + the customer's average delay (paid - due) over invoices settled
    before the origin; customers without history get the organization's average."""
    return fm.bucket_by_week(amounts, fm.week_index(due + delay - origin_day, weeks), weeks)


def customer_delays(frame: pd.DataFrame, origin_day: float) -> pd.Series:
    """Mean (paid - due) days per customer over invoices settled on or before the origin."""
    settled = frame[frame["paid"] <= origin_day]
    return (settled["paid"] - settled["due"]).groupby(settled["customer_id"]).mean()


def _frame(invoices: pd.DataFrame) -> pd.DataFrame:
    status = invoices["status"].astype(str)
    keep = ~status.isin(["void", "draft"])
    inv = invoices.loc[keep]
    return pd.DataFrame(
        {
            "invoice_id": inv["invoice_id"].to_numpy(),
            "customer_id": inv["customer_id"].to_numpy(),
            "issue": _day_numbers(inv["issue_date"]),
            "due": _day_numbers(inv["due_date"]),
            "paid": _day_numbers(inv["paid_date"]),
            "amount": pd.to_numeric(inv["amount"], errors="coerce").fillna(0.0).to_numpy(),
        }
    )


def forecast_origin(
    *,
    frame: pd.DataFrame,
    invoices: pd.DataFrame,
    payments: pd.DataFrame,
    model: PaymentModel,
    origin: dt.date,
    weeks: int = fm.WEEKS,
) -> OriginForecast:
    """Forecast made at the end of ``origin`` for the invoices open then, beside the naive
    forecasts and what was actually collected from those invoices week by week."""
    o = _day(origin)
    is_open = (frame["issue"] <= o) & ~(frame["paid"] <= o)
    open_ = frame[is_open]
    amounts = open_["amount"].to_numpy()
    paid = open_["paid"].to_numpy()
    actual = fm.bucket_by_week(
        np.where(np.isnan(paid), 0.0, amounts), fm.week_index(paid - o, weeks), weeks
    )
    due = open_["due"].to_numpy()
    due_forecast = naive_due_date(amounts, due, o, weeks)
    delays = customer_delays(frame, o)
    org_delay = float(delays.mean()) if len(delays) else 0.0
    delay = open_["customer_id"].map(delays).fillna(org_delay).to_numpy()
    delay_forecast = naive_customer_delay(amounts, due, delay, o, weeks)
    if len(open_):
        X = features_as_of(invoices, payments, origin, open_["invoice_id"].to_numpy())
        cdf = model.cdf(X, fm.week_edges(o - open_["issue"].to_numpy(), weeks))
        ours = fm.weekly_cash(amounts, fm.conditional_week_probabilities(cdf))
    else:
        zeros = np.zeros(weeks)
        ours = fm.WeeklyForecast(zeros, zeros.copy(), zeros.copy())
    return OriginForecast(origin, actual, ours, due_forecast, delay_forecast)


def model_as_of(
    *,
    features: pd.DataFrame,
    invoices: pd.DataFrame,
    origin: dt.date,
    template: PaymentModel,
    seed: int = 0,
) -> PaymentModel:
    """A model trained only on what was known at the end of ``origin``: invoices issued by
    then, with outcomes censored at ``origin`` (``training_labels``). It reuses the active
    model's AFT distribution and scale, so each origin costs one XGBoost fit, not a search."""
    issued = pd.to_datetime(invoices["issue_date"]) <= pd.Timestamp(origin)
    usable = issued & ~invoices["status"].astype(str).isin(["void", "draft"])
    sub = invoices.loc[usable]
    labels = training_labels(sub, origin)
    X = features.loc[labels.index]
    params = {
        **template.params,
        "distributions": [template.distribution],
        "sigmas": [template.sigma],
    }
    return PaymentModel.fit(X, labels, params=params, seed=seed)


def forecast_backtest_run(
    *,
    organization: Organization,
    origins: int = 13,
    weeks: int = fm.WEEKS,
    step_days: int = 7,
    end: dt.date | None = None,
    retrain: bool = True,
) -> ForecastBacktest:
    """Backtest at ``origins`` weekly origins, the latest one ``weeks`` weeks before
    ``end`` (default: the organization's today) so every forecast week has happened.

    ``retrain=True`` (default): at each origin a model is trained on data known then (no
    look-ahead). ``retrain=False``: the active model is used with as-of features, which
    is faster but optimistic, since that model saw those weeks' outcomes in training.
    Amounts are invoice totals in the base currency (as ``ledger_frames`` reports them).
    """
    started = time.perf_counter()
    version = get_active(organization)
    active = load_active_model(organization) if version else None
    if version is None or active is None:
        raise NoActiveModel(organization)
    end = end or organization_today(organization)
    invoices, payments = ledger_frames(organization=organization)
    frame = _frame(invoices)
    last_origin = end - dt.timedelta(days=7 * weeks)
    origin_dates = sorted(last_origin - dt.timedelta(days=step_days * k) for k in range(origins))
    train_features = features_at_issue(invoices, payments) if retrain else None

    per_origin: list[OriginForecast] = []
    for origin in origin_dates:
        if retrain:
            model = model_as_of(
                features=train_features, invoices=invoices, origin=origin, template=active
            )
        else:
            model = active
        per_origin.append(
            forecast_origin(
                frame=frame,
                invoices=invoices,
                payments=payments,
                model=model,
                origin=origin,
                weeks=weeks,
            )
        )

    actual = np.vstack([r.actual for r in per_origin])
    ours = np.vstack([r.model.expected for r in per_origin])
    lower = np.vstack([r.model.lower for r in per_origin])
    upper = np.vstack([r.model.upper for r in per_origin])
    due = np.vstack([r.due_date for r in per_origin])
    delay = np.vstack([r.customer_delay for r in per_origin])
    policy = (
        "retrained at each origin on data known then (active model's distribution and scale)"
        if retrain
        else f"active model {version.version} with as-of features (optimistic: trained on "
        "outcomes inside the backtest period)"
    )
    results = [
        {
            "origin": r.origin.isoformat(),
            "weeks": [
                {
                    "week": w + 1,
                    "actual": round(float(r.actual[w]), 2),
                    "model": round(float(r.model.expected[w]), 2),
                    "lower": round(float(r.model.lower[w]), 2),
                    "upper": round(float(r.model.upper[w]), 2),
                    "due_date": round(float(r.due_date[w]), 2),
                    "customer_delay": round(float(r.customer_delay[w]), 2),
                }
                for w in range(weeks)
            ],
        }
        for r in per_origin
    ]
    # The live forecast widens its band with the ratios of the whole run. How well that
    # works is measured out of sample: ratios from the earlier half of the origins, coverage
    # on the later half.
    half = len(per_origin) // 2
    ratios = fm.residual_ratio_band(actual[:half], ours[:half]) if half else None
    widened = fm.widen_band(fm.WeeklyForecast(ours[half:], lower[half:], upper[half:]), ratios)
    return ForecastBacktest.objects.create(
        organization=organization,
        currency=organization.base_currency,
        model_policy=policy,
        origins=len(origin_dates),
        wape_model=fm.wape(actual, ours),
        wape_due_date=fm.wape(actual, due),
        wape_customer_delay=fm.wape(actual, delay),
        coverage_80=fm.band_coverage(actual, lower, upper),
        coverage_80_widened=fm.band_coverage(actual[half:], widened.lower, widened.upper)
        if ratios
        else None,
        results=results,
        seconds=round(time.perf_counter() - started, 2),
    )
