"""One exchange-rate rule for the dashboard, reports, forecast, risk and model features."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from invoices.analytics import exchange_rates_latest
from invoices.models import ExchangeRate
from invoices.selectors import exchange_rate_sql, exchange_rates_on
from predictions.services.currency import rates_to_base

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def rates(org, other_org):
    for currency, day, rate in (
        ("EUR", dt.date(2026, 1, 10), D("1.1")),
        ("EUR", dt.date(2026, 3, 10), D("1.2")),
        ("GBP", dt.date(2026, 6, 1), D("1.3")),
    ):
        ExchangeRate.objects.create(organization=org, currency=currency, date=day, rate=rate)
    ExchangeRate.objects.create(
        organization=other_org, currency="EUR", date=dt.date(2025, 1, 1), rate=D("9")
    )


DAYS = [dt.date(2025, 12, 1), dt.date(2026, 1, 10), dt.date(2026, 2, 1), dt.date(2026, 12, 1)]


@pytest.mark.parametrize("day", DAYS)
def test_it_applies_the_rule_the_same_way_in_python_and_in_sql(org, rates, day):
    python = exchange_rates_on(organization=org, on=day)
    expression = exchange_rate_sql(currency="%(currency)s", on="%(on)s::date")
    with connection.cursor() as cursor:
        for currency in ("USD", "EUR", "GBP", "JPY"):
            params = {"org": org.pk, "base": "USD", "currency": currency, "on": day}
            cursor.execute(f"SELECT {expression}", params)
            (sql_rate,) = cursor.fetchone()
            expected = python.get(currency, (None, None))[0]
            assert (sql_rate is None and expected is None) or D(str(sql_rate)) == expected


def test_it_uses_the_latest_rate_on_or_before_else_the_first_one_after(org, rates):
    early = exchange_rates_on(organization=org, on=dt.date(2025, 12, 1))
    assert early["EUR"] == (D("1.1"), dt.date(2026, 1, 10))  # older than the first rate
    mid = exchange_rates_on(organization=org, on=dt.date(2026, 2, 1))
    assert mid["EUR"] == (D("1.1"), dt.date(2026, 1, 10))
    assert mid["GBP"] == (D("1.3"), dt.date(2026, 6, 1))
    assert mid["USD"] == (D("1"), None) and "JPY" not in mid


@pytest.mark.parametrize("day", DAYS)
def test_it_gives_the_dashboard_and_the_forecast_the_same_rates(org, rates, day):
    dashboard = {c: r for c, (r, _) in exchange_rates_latest(organization=org, on=day).items()}
    assert dashboard == rates_to_base(organization=org, as_of=day)
