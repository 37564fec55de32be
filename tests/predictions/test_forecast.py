from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from invoices.models import ExchangeRate, Invoice, InvoiceStatus
from ml import forecast as fm
from predictions.models import ForecastBacktest, ForecastSnapshot
from predictions.services.forecast import (
    _frame,
    forecast_backtest_run,
    forecast_build,
    forecast_origin,
)
from tests.predictions.conftest import TODAY


def test_it_conditions_weekly_probabilities_on_being_open_today():
    cdf = np.array([[0.5, 0.7, 0.9], [0.0, 0.25, 0.5]])
    probs = fm.conditional_week_probabilities(cdf)
    assert probs == pytest.approx(np.array([[0.4, 0.4], [0.25, 0.25]]))


def test_it_computes_expected_cash_and_the_80_percent_band_by_hand():
    probs = np.array([[0.4, 0.4], [0.25, 0.25]])
    result = fm.weekly_cash(np.array([100.0, 200.0]), probs)
    assert result.expected == pytest.approx([90.0, 90.0])
    sd = math.sqrt(100**2 * 0.4 * 0.6 + 200**2 * 0.25 * 0.75)  # 99.4987
    assert result.upper == pytest.approx([90 + 1.2815515655 * sd] * 2)
    assert result.lower == pytest.approx([0.0, 0.0])  # 90 - 127.5 floored at zero


def test_it_places_payments_in_weeks_after_the_origin():
    days = np.array([-5, 0, 1, 7, 8, 14, 91, 92, np.nan])
    assert list(fm.week_index(days, weeks=13)) == [0, 0, 0, 0, 1, 1, 12, -1, -1]


def test_it_computes_wape():
    assert fm.wape(np.array([100.0, 50.0]), np.array([90.0, 90.0])) == pytest.approx(50 / 150)
    assert fm.wape(np.array([0.0]), np.array([5.0])) is None


class ExponentialModel:
    """A memoryless time-to-pay model (mean 30 days): P(week w | open) is e^(-7w/30)(1-e^(-7/30))
    whatever the invoice's age, which makes the backtest arithmetic checkable by hand."""

    def cdf(self, X, days):
        return 1.0 - np.exp(-np.asarray(days, dtype=float) / 30.0)


def _crafted_frames():
    rows = [
        # id, customer, issue, due, amount, paid, status
        (1, 1, "2026-01-01", "2026-01-31", 100.0, "2026-02-03", "paid"),  # A: +3 days
        (2, 2, "2026-01-10", "2026-02-09", 200.0, "2026-02-20", "paid"),  # B: +20 days
        (3, 1, "2025-12-01", "2025-12-31", 80.0, "2026-01-20", "paid"),  # C: history, 20 late
        (4, 2, "2025-11-01", "2025-12-01", 60.0, "2025-12-06", "paid"),  # D: history, 5 late
        (5, 1, "2026-01-15", "2026-02-14", 50.0, None, "open"),  # E: never paid
    ]
    invoices = pd.DataFrame(
        {
            "invoice_id": [r[0] for r in rows],
            "customer_id": [r[1] for r in rows],
            "issue_date": pd.to_datetime([r[2] for r in rows]),
            "due_date": pd.to_datetime([r[3] for r in rows]),
            "amount": [r[4] for r in rows],
            "currency": "USD",
            "paid_date": pd.to_datetime([r[5] for r in rows]),
            "disputed": False,
            "status": [r[6] for r in rows],
            "attributes": [{} for _ in rows],
        }
    )
    payments = pd.DataFrame(
        columns=["payment_id", "customer_id", "received_at", "status", "amount"]
    )
    return invoices, payments


def test_it_backtests_one_origin_against_actual_and_naive_forecasts():
    invoices, payments = _crafted_frames()
    result = forecast_origin(
        frame=_frame(invoices),
        invoices=invoices,
        payments=payments,
        model=ExponentialModel(),
        origin=dt.date(2026, 1, 31),
        weeks=3,
    )
    # Open at the origin: A (100), B (200), E (50). A paid on day 3, B on day 20.
    assert list(result.actual) == [100.0, 0.0, 200.0]
    # Due date: A due on the origin -> week 0; B (+9) and E (+14) -> week 1.
    assert list(result.due_date) == [100.0, 250.0, 0.0]
    # Customer delay: customer 1 was 20 days late (C), customer 2 five (D).
    # A: +20 -> week 2; B: +14 -> week 1; E: +34 -> beyond 3 weeks.
    assert list(result.customer_delay) == [0.0, 200.0, 100.0]
    q = math.exp(-7 / 30)
    expected = [350 * q**w * (1 - q) for w in range(3)]
    assert result.model.expected == pytest.approx(expected)

    actual = result.actual
    assert fm.wape(actual, result.due_date) == pytest.approx(450 / 300)
    assert fm.wape(actual, result.customer_delay) == pytest.approx(400 / 300)
    model_error = sum(abs(a - f) for a, f in zip(actual, expected, strict=True)) / 300
    assert fm.wape(actual, result.model.expected) == pytest.approx(model_error)


@pytest.mark.django_db
def test_it_builds_the_13_week_forecast_in_base_currency(org, active_model):
    # One open invoice in EUR with a rate, one in GBP without: the GBP one is reported
    # as excluded, never added as if it were USD.
    customer = Invoice.objects.filter(organization=org).first().customer
    for number, currency in (("EUR-1", "EUR"), ("GBP-1", "GBP")):
        Invoice.objects.create(
            organization=org,
            customer=customer,
            number=number,
            issue_date=TODAY - dt.timedelta(days=5),
            due_date=TODAY + dt.timedelta(days=25),
            currency=currency,
            total=Decimal("1000.00"),
            balance=Decimal("1000.00"),
            status=InvoiceStatus.OPEN,
        )
    ExchangeRate.objects.create(
        organization=org, currency="EUR", date=TODAY - dt.timedelta(days=1), rate=Decimal("1.1")
    )
    snapshot = forecast_build(organization=org)

    assert snapshot.currency == "USD"
    assert len(snapshot.weeks) == 13
    assert snapshot.weeks[0]["start"] == (TODAY + dt.timedelta(days=1)).isoformat()
    assert snapshot.weeks[12]["end"] == (TODAY + dt.timedelta(days=91)).isoformat()
    open_usd = sum(
        Invoice.objects.filter(organization=org, status="open", currency="USD").values_list(
            "balance", flat=True
        )
    )
    assert snapshot.open_balance == open_usd + Decimal("1100.00")
    assert snapshot.excluded == {"GBP (no exchange rate to USD)": "1000.00"}
    expected = [w["expected"] for w in snapshot.weeks]
    assert sum(expected) <= float(snapshot.open_balance) + 0.01
    assert sum(expected) > 0.5 * float(snapshot.open_balance)
    for week in snapshot.weeks:
        assert week["lower"] <= week["expected"] <= week["upper"]
    # Same day again replaces the day's snapshot instead of adding one.
    forecast_build(organization=org)
    assert ForecastSnapshot.objects.filter(organization=org).count() == 1


@pytest.mark.django_db
def test_it_stores_a_backtest_whose_wape_matches_its_cells(org, active_model):
    run = forecast_backtest_run(
        organization=org, origins=2, weeks=4, end=TODAY - dt.timedelta(days=120), retrain=True
    )
    assert isinstance(run, ForecastBacktest)
    assert run.origins == 2 and len(run.results) == 2
    assert "retrained at each origin" in run.model_policy
    cells = [w for origin in run.results for w in origin["weeks"]]
    actual = np.array([c["actual"] for c in cells])
    assert actual.sum() > 0
    for key, stored in (
        ("model", run.wape_model),
        ("due_date", run.wape_due_date),
        ("customer_delay", run.wape_customer_delay),
    ):
        forecast = np.array([c[key] for c in cells])
        assert stored == pytest.approx(np.abs(actual - forecast).sum() / actual.sum(), rel=1e-4)
    origins = [dt.date.fromisoformat(r["origin"]) for r in run.results]
    assert origins == [TODAY - dt.timedelta(days=155), TODAY - dt.timedelta(days=148)]


def test_it_widens_the_band_by_backtest_ratios():
    actual = np.array([50.0, 100.0, 150.0] * 5)
    forecast = np.array([100.0] * 15)
    ratios = fm.residual_ratio_band(actual, forecast)
    assert ratios == pytest.approx((0.5, 1.5))
    narrow = fm.WeeklyForecast(np.array([200.0]), np.array([190.0]), np.array([210.0]))
    wide = fm.widen_band(narrow, ratios)
    assert (wide.lower[0], wide.upper[0]) == pytest.approx((100.0, 300.0))
    assert fm.residual_ratio_band(actual[:5], forecast[:5]) is None  # too few cells
