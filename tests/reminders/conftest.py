from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from invoices.models import Invoice
from tests.factories import CustomerFactory, InvoiceFactory

TODAY = dt.date(2026, 6, 15)


@pytest.fixture
def today() -> dt.date:
    return TODAY


def make_invoice(customer, *, days_overdue: int, total: str = "1200.50", **kwargs) -> Invoice:
    due = TODAY - dt.timedelta(days=days_overdue)
    return InvoiceFactory(
        customer=customer,
        issue_date=due - dt.timedelta(days=30),
        due_date=due,
        total=Decimal(total),
        **kwargs,
    )


@pytest.fixture
def customer(org):
    return CustomerFactory(organization=org, name="Acme Retail", email="ap@acme.example")
