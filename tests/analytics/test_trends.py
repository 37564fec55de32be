"""Month-end AR trends rebuilt from the ledger's history, against a hand-worked ledger."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from invoices.analytics import dashboard_summary
from invoices.models import ExchangeRate, InvoiceStatus, PaymentAllocation, PaymentStatus
from invoices.trends import ar_trends, trend_dates
from tests.factories import CustomerFactory, InvoiceFactory, PaymentFactory

D = Decimal
TODAY = dt.date(2026, 6, 15)


def day(month: int, d: int) -> dt.date:
    return dt.date(2026, month, d)


def pay(invoice, amount, on, status=PaymentStatus.SUCCEEDED):
    payment = PaymentFactory(
        customer=invoice.customer,
        amount=amount,
        status=status,
        received_at=dt.datetime.combine(on, dt.time(12), tzinfo=dt.UTC),
    )
    PaymentAllocation.objects.create(
        organization=invoice.organization, payment=payment, invoice=invoice, amount=amount
    )


@pytest.fixture
def history(org, other_org):
    usd = CustomerFactory(organization=org, currency="USD")
    eur = CustomerFactory(organization=org, currency="EUR")
    i1 = InvoiceFactory(
        customer=usd,
        issue_date=day(1, 10),
        due_date=day(2, 9),
        total=D("1000"),
        balance=D("0"),
        status=InvoiceStatus.PAID,
        paid_date=day(4, 5),
    )
    pay(i1, D("400"), day(2, 20))
    pay(i1, D("600"), day(4, 5))
    i2 = InvoiceFactory(customer=usd, issue_date=day(3, 1), due_date=day(3, 31), total=D("500"))
    pay(i2, D("100"), day(3, 15), status=PaymentStatus.FAILED)  # never counts
    InvoiceFactory(customer=eur, issue_date=day(5, 20), due_date=day(6, 19), total=D("300"))
    ExchangeRate.objects.create(organization=org, currency="EUR", date=day(1, 1), rate=D("2"))
    InvoiceFactory(customer=usd, issue_date=day(2, 1), total=D("999"), status=InvoiceStatus.VOID)
    InvoiceFactory(
        customer=usd, issue_date=day(2, 1), total=D("888"), status=InvoiceStatus.WRITTEN_OFF
    )
    InvoiceFactory(customer=CustomerFactory(organization=other_org), issue_date=day(1, 2))


def test_it_takes_month_ends_and_today():
    dates = trend_dates(today=TODAY)
    assert len(dates) == 12
    assert dates[0] == dt.date(2025, 7, 31) and dates[-2] == day(5, 31) and dates[-1] == TODAY


@pytest.mark.django_db
def test_it_rebuilds_each_month_end_from_history(org, history):
    points = {p.month: p for p in ar_trends(organization=org, today=TODAY)}
    got = {m: (p.ar_balance, p.overdue_balance) for m, p in points.items()}
    assert got["2025-12"] == (D("0"), D("0"))
    assert got["2026-01"] == (D("1000"), D("0"))  # I1 issued, not due yet
    assert got["2026-02"] == (D("600"), D("600"))  # 400 paid on 20 Feb; due 9 Feb
    assert got["2026-03"] == (D("1100"), D("600"))  # I2 due on 31 Mar: not yet overdue
    assert got["2026-04"] == (D("500"), D("500"))  # I1 paid on 5 Apr
    assert got["2026-05"] == (D("1100"), D("500"))  # I3: 300 EUR x 2
    may = points["2026-05"]
    # Sales of (2 Mar, 31 May]: I3 only (I2 was issued on 1 Mar). DSO = 1100 / 600 x 90.
    assert may.dso == D("165.0")
    # Beginning AR on 2 Mar: I1's 600 + I2's 500. CEI = (1100 + 600 - 1100) / (1100 + 600 - 600).
    assert may.cei == D("54.5")
    assert may.overdue_pct == D("45.5")


@pytest.mark.django_db
def test_it_ends_on_the_dashboard_figures(org, history):
    last = ar_trends(organization=org, today=TODAY)[-1]
    summary = dashboard_summary(organization=org, today=TODAY)
    assert (last.ar_balance, last.overdue_balance) == (
        summary.open_balance,
        summary.overdue_balance,
    )
    assert (last.dso, last.cei, last.overdue_pct) == (summary.dso, summary.cei, summary.overdue_pct)


@pytest.mark.django_db
def test_it_shows_trends_and_risk_mix_on_home(viewer_client, outsider_client, history):
    html = viewer_client.get(reverse("dashboard")).content.decode()
    for key in ("ar_balance", "overdue_pct", "dso", "cei"):
        assert f'data-trend="{key}"' in html
    assert "<polyline" in html and "how it is computed" in html
    assert 'data-panel="risk-mix"' in html and 'data-panel="expected-collections"' in html
    # 500 USD + 600 (300 EUR x 2) open, none scored.
    assert 'data-risk="unscored"' in html and "1,100.00" in html
    outsider = outsider_client.get(reverse("dashboard")).content.decode()
    assert "1,100.00" not in outsider


@pytest.mark.django_db
def test_after_a_ledger_change_home_serves_the_latest_trends_while_a_refresh_catches_up(
    org, history, monkeypatch
):
    from invoices import tasks, trends
    from invoices.analytics import dashboard_summary_invalidate, organization_today

    today = organization_today(organization=org)
    first = trends.ar_trends_cached(organization=org)  # nothing computed today: in the request
    assert first == trends.ar_trends(organization=org, today=today)
    customer = CustomerFactory(organization=org, currency="USD")
    InvoiceFactory(customer=customer, issue_date=today, due_date=today, total=D("700"))
    dashboard_summary_invalidate(organization_id=org.id)  # what the ledger signals do

    queued = []
    monkeypatch.setattr(tasks.ar_trends_refresh_task, "delay", queued.append)
    assert trends.ar_trends_cached(organization=org) == first  # no wait: today's latest
    assert trends.ar_trends_cached(organization=org) == first
    assert queued == [org.id]  # one recomputation queued, not one per visit

    tasks.ar_trends_refresh_task(org.id)  # the worker runs it
    fresh = trends.ar_trends_cached(organization=org)
    # Equal to a full recomputation from the ledger, and it sees the new invoice.
    assert fresh == trends.ar_trends(organization=org, today=today)
    assert fresh[-1].ar_balance == first[-1].ar_balance + D("700")


@pytest.mark.django_db
def test_ceis_beginning_ar_is_served_from_the_latest_value_until_its_refresh(
    org, history, monkeypatch
):
    from invoices import analytics, tasks

    start = analytics.organization_today(organization=org) - dt.timedelta(days=90)
    first = analytics.beginning_ar_cached(organization=org, start=start)
    assert first == analytics.beginning_ar_by_currency(organization=org, start=start)
    # A back-dated change: an invoice of January, part paid in February, still open.
    invoice = InvoiceFactory(
        customer=CustomerFactory(organization=org, currency="USD"),
        issue_date=day(1, 5),
        due_date=day(2, 4),
        total=D("200"),
    )
    pay(invoice, D("50"), day(2, 1))
    analytics.dashboard_summary_invalidate(organization_id=org.id)

    queued = []
    monkeypatch.setattr(tasks.beginning_ar_refresh_task, "delay", lambda *a: queued.append(a))
    assert analytics.beginning_ar_cached(organization=org, start=start) == first
    assert analytics.beginning_ar_cached(organization=org, start=start) == first
    assert queued == [(org.id, start.isoformat())]

    tasks.beginning_ar_refresh_task(*queued[0])  # the worker runs it
    fresh = analytics.beginning_ar_cached(organization=org, start=start)
    assert fresh == analytics.beginning_ar_by_currency(organization=org, start=start)
    assert fresh["USD"] == first["USD"] + D("150")
