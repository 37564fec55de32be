"""Customer profile: days late per paid invoice; the demo schedules command."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from invoices.models import InvoiceStatus
from predictions.reports.models import ReportSchedule
from tests.factories import CustomerFactory, InvoiceFactory


@pytest.mark.django_db
def test_it_charts_days_late_per_paid_invoice(viewer_client, outsider_client, org):
    customer = CustomerFactory(organization=org)
    for number, due, paid in (
        ("P1", dt.date(2026, 1, 31), dt.date(2026, 2, 10)),  # 10 days late
        ("P2", dt.date(2026, 3, 31), dt.date(2026, 3, 26)),  # 5 days early
        ("P3", dt.date(2026, 5, 31), dt.date(2026, 7, 1)),  # 31 days late
    ):
        InvoiceFactory(
            customer=customer,
            number=number,
            issue_date=due - dt.timedelta(days=30),
            due_date=due,
            balance=Decimal("0"),
            status=InvoiceStatus.PAID,
            paid_date=paid,
        )
    InvoiceFactory(customer=customer, number="OPEN1")  # open: not in the chart
    url = reverse("customer-detail", args=[customer.code])
    html = viewer_client.get(url).content.decode()
    assert 'data-section="days-late"' in html
    assert html.count("<circle") >= 3
    assert "P3: due 2026-05-31, paid 2026-07-01, +31 days" in html
    assert "P2: due 2026-03-31, paid 2026-03-26, -5 days" in html
    assert "OPEN1: due" not in html
    assert outsider_client.get(url).status_code == 404


@pytest.mark.django_db
def test_it_schedules_the_demo_reports_once(org, owner):
    call_command("schedule_demo_reports", org=org.slug)
    call_command("schedule_demo_reports", org=org.slug)
    schedules = ReportSchedule.objects.filter(organization=org)
    assert sorted(schedules.values_list("report", flat=True)) == [
        "daily-summary",
        "failed-payments",
    ]
    assert [list(s.recipients.all()) for s in schedules] == [[owner], [owner]]
    with pytest.raises(CommandError):
        call_command("schedule_demo_reports", org="nope")
