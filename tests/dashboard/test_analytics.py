"""Home dashboard KPIs against hand-computed figures (see invoices/analytics.py for definitions)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from invoices.analytics import dashboard_summary, ledger_figures_by_currency
from invoices.models import ExchangeRate, InvoiceStatus, PaymentAllocation
from tests.factories import CustomerFactory, InvoiceFactory, PaymentFactory

D = Decimal


@pytest.fixture
def kpi_ledger(org, other_org, today):
    """Base USD; an EUR customer with a rate, a GBP one without. See the test for the sums."""

    def days(n: int) -> dt.date:
        return today + dt.timedelta(days=n)

    usd = CustomerFactory(organization=org, name="Dollar Co", currency="USD")
    eur = CustomerFactory(organization=org, name="Euro GmbH", currency="EUR")
    gbp = CustomerFactory(organization=org, name="Pound Ltd", currency="GBP")
    make = InvoiceFactory
    make(customer=usd, number="I1", issue_date=days(-10), due_date=days(20), total=D("1000"))
    i2 = make(
        customer=usd,
        number="I2",
        issue_date=days(-50),
        due_date=days(-20),
        total=D("500"),
        balance=D("200"),
        status=InvoiceStatus.PARTIALLY_PAID,
    )
    make(customer=usd, number="I3", issue_date=days(-120), due_date=days(-90), total=D("300"))
    make(customer=usd, number="I4", issue_date=days(-200), due_date=days(-100), total=D("400"))
    i5 = make(
        customer=usd,
        number="I5",
        issue_date=days(-100),
        due_date=days(-70),
        total=D("600"),
        balance=D("0"),
        status=InvoiceStatus.PAID,
        paid_date=days(-60),
    )
    make(customer=usd, number="I6", issue_date=days(-10), total=D("999"), status=InvoiceStatus.VOID)
    make(
        customer=usd,
        number="I7",
        issue_date=days(-130),
        due_date=days(-100),
        total=D("700"),
        balance=D("0"),
        status=InvoiceStatus.PAID,
        paid_date=days(-95),
    )
    make(customer=eur, number="I8", issue_date=days(-40), due_date=days(-35), total=D("100"))
    make(customer=gbp, number="I9", issue_date=days(-35), due_date=days(-5), total=D("250"))
    noon = dt.time(12, 0, tzinfo=dt.UTC)
    for invoice, amount, when in ((i2, D("300"), days(-10)), (i5, D("600"), days(-60))):
        payment = PaymentFactory(
            customer=usd, amount=amount, received_at=dt.datetime.combine(when, noon)
        )
        PaymentAllocation.objects.create(
            organization=org, payment=payment, invoice=invoice, amount=amount
        )
    ExchangeRate.objects.create(organization=org, currency="EUR", date=days(-30), rate=D("1.0"))
    ExchangeRate.objects.create(organization=org, currency="EUR", date=days(-5), rate=D("1.1"))
    # A rate dated after today must not be used.
    ExchangeRate.objects.create(organization=org, currency="EUR", date=days(5), rate=D("1.2"))
    # Another organization's invoices and rates never leak in.
    foreign = CustomerFactory(organization=other_org, currency="GBP")
    make(customer=foreign, number="X1", total=D("99999"))
    ExchangeRate.objects.create(organization=other_org, currency="GBP", date=days(-1), rate=D("2"))


def test_it_computes_kpis_and_aging_like_the_hand_calculation(org, today, kpi_ledger):
    summary = dashboard_summary(organization=org, today=today)
    # Open: I1 1000 + I2 200 + I3 300 + I4 400 + I8 100 EUR x 1.1 = 2010 USD (GBP left out).
    assert summary.open_balance == D("2010.00")
    aging = {bar.key: bar.amount for bar in summary.aging}
    assert aging == {
        "current": D("1000.00"),  # I1
        "d1_30": D("200.00"),  # I2, 20 days late
        "d31_60": D("110.00"),  # I8, 35 days late, in USD
        "d61_90": D("300.00"),  # I3, exactly 90 days late
        "d90_plus": D("400.00"),  # I4, 100 days late
    }
    assert summary.overdue_balance == D("1010.00")
    assert summary.overdue_pct == D("50.2")  # 1010 / 2010
    # Credit sales of the last 90 days: I1 1000 + I2 500 + I8 110 = 1610 → 2010/1610 x 90.
    assert summary.dso == D("112.4")
    # Beginning AR 90 days ago: I3 300 + I4 400 + I5 600 (paid later) = 1300; I7 was settled.
    # CEI = (1300 + 1610 - 2010) / (1300 + 1610 - 1000) = 900 / 1910.
    assert summary.cei == D("47.1")
    assert summary.open_count == 5 and summary.overdue_count == 4
    assert [row.currency for row in summary.unconverted] == ["GBP"]
    assert summary.unconverted[0].open_balance == D("250.00")
    assert summary.rates["EUR"] == (D("1.1"), today - dt.timedelta(days=5))
    assert [(c.name, c.overdue_base) for c in summary.top_overdue] == [
        ("Dollar Co", D("900.00")),
        ("Euro GmbH", D("110.00")),
    ]
    assert summary.top_overdue[0].days_overdue == 100


def test_it_aggregates_aging_in_one_query(org, today, kpi_ledger):
    with CaptureQueriesContext(connection) as queries:
        figures = ledger_figures_by_currency(organization=org, today=today)
    selects = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    # Aging and totals in one query; CEI's beginning AR in a second (cached apart on home).
    assert len(selects) == 2
    assert "CASE WHEN" in selects[0]
    assert {row.currency for row in figures} == {"USD", "EUR", "GBP"}


def test_it_renders_the_figures_and_the_missing_rate_warning(owner_client, kpi_ledger):
    body = owner_client.get(reverse("dashboard")).content.decode()
    assert 'data-kpi="open-balance">2,010.00 USD<' in body
    assert 'data-kpi="overdue-pct">50.2 %<' in body
    assert 'data-kpi="dso">112.4 days<' in body
    assert 'data-kpi="cei">47.1 %<' in body
    assert "currencies without an exchange rate" in body
    assert '<li data-unconverted="GBP"><strong>250.00 GBP</strong>' in body
    assert "<svg" in body and 'class="bar bar-d90_plus"' in body
    assert "Dollar Co" in body and "99,999" not in body


def test_it_shows_the_empty_state_with_next_steps_to_a_new_organization(owner_client, org):
    body = owner_client.get(reverse("dashboard")).content.decode()
    assert "No invoices yet" in body
    assert "import" in body.lower()
    assert 'data-kpi="open-balance"' not in body
    from django.core.management import get_commands

    if "seed_demo" in get_commands():
        assert "manage.py seed_demo --org org-a" in body


def test_it_leaves_kpis_undefined_rather_than_dividing_by_zero(org, today):
    customer = CustomerFactory(organization=org)
    InvoiceFactory(
        customer=customer,
        number="OLD",
        issue_date=today - dt.timedelta(days=400),
        due_date=today - dt.timedelta(days=370),
        total=D("10"),
        balance=D("0"),
        status=InvoiceStatus.PAID,
        paid_date=today - dt.timedelta(days=360),
    )
    summary = dashboard_summary(organization=org, today=today)
    assert summary.open_balance == D("0.00")
    assert summary.overdue_pct is None and summary.dso is None and summary.cei is None
    assert not summary.is_empty


def test_it_caches_the_summary_until_the_ledger_changes(
    owner_client, org, ledger, django_capture_on_commit_callbacks
):
    from invoices import services

    url = reverse("dashboard")
    assert 'data-kpi="open-balance">6,250.00 USD<' in owner_client.get(url).content.decode()
    # A write behind the services' back (as bulk seeding does) is not seen until expiry...
    InvoiceFactory(customer=ledger["acme"], number="RAW", total=D("1.00"))
    with CaptureQueriesContext(connection) as queries:
        body = owner_client.get(url).content.decode()
    assert 'data-kpi="open-balance">6,250.00 USD<' in body
    assert not any("CASE WHEN" in q["sql"] for q in queries.captured_queries)
    # ...but a change through a service expires the cached figures right after commit.
    with django_capture_on_commit_callbacks(execute=True):
        services.invoice_update(invoice=ledger["current"], po_number="PO-1")
    assert 'data-kpi="open-balance">6,251.00 USD<' in owner_client.get(url).content.decode()


def test_it_makes_the_cards_and_the_aging_chart_add_up_to_the_cent(org, today):
    # 0.01 EUR at 1.5 is 0.015 USD in each of two overdue buckets: rounded on their own
    # they show 0.02 + 0.02, so the Overdue card must say 0.04, not round(0.03) = 0.03.
    eur = CustomerFactory(organization=org, currency="EUR")
    ExchangeRate.objects.create(organization=org, currency="EUR", date=today, rate=D("1.5"))
    for number, late in (("E1", 10), ("E2", 40), ("E3", -5)):
        InvoiceFactory(
            customer=eur,
            number=number,
            issue_date=today - dt.timedelta(days=late + 30),
            due_date=today - dt.timedelta(days=late),
            total=D("0.01"),
        )
    summary = dashboard_summary(organization=org, today=today)
    bars = {bar.key: bar.amount for bar in summary.aging}
    assert bars["d1_30"] == bars["d31_60"] == bars["current"] == D("0.02")
    assert summary.overdue_balance == sum(v for k, v in bars.items() if k != "current")
    assert summary.open_balance == sum(bars.values()) == D("0.06")
