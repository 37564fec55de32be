from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from invoices.analytics import organization_today
from invoices.models import InvoiceStatus
from tests.factories import CustomerFactory, InvoiceFactory

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def today(org) -> dt.date:
    return organization_today(organization=org)


@pytest.fixture
def ledger(org, today):
    """A small ledger of org A: two customers, invoices open / overdue / paid / disputed."""
    acme = CustomerFactory(organization=org, name="Acme Corp", email="ap@acme.example")
    globex = CustomerFactory(organization=org, name="Globex", email="billing@globex.example")
    invoices = {
        "current": InvoiceFactory(
            customer=acme,
            number="INV-CUR",
            issue_date=today - dt.timedelta(days=5),
            due_date=today + dt.timedelta(days=25),
            total=Decimal("1000.00"),
        ),
        "late": InvoiceFactory(
            customer=acme,
            number="INV-LATE",
            issue_date=today - dt.timedelta(days=60),
            due_date=today - dt.timedelta(days=30),
            total=Decimal("250.00"),
            disputed=True,
        ),
        "paid": InvoiceFactory(
            customer=globex,
            number="INV-PAID",
            issue_date=today - dt.timedelta(days=40),
            due_date=today - dt.timedelta(days=10),
            total=Decimal("400.00"),
            balance=Decimal("0.00"),
            status=InvoiceStatus.PAID,
            paid_date=today - dt.timedelta(days=12),
        ),
        "globex_open": InvoiceFactory(
            customer=globex,
            number="INV-GLX",
            issue_date=today - dt.timedelta(days=3),
            due_date=today + dt.timedelta(days=27),
            total=Decimal("5000.00"),
        ),
    }
    return {"acme": acme, "globex": globex, **invoices}


@pytest.fixture
def foreign_ledger(other_org):
    """Org B's objects: nothing of them may show up for org A, and vice versa."""
    customer = CustomerFactory(organization=other_org, name="Secret Customer B")
    invoice = InvoiceFactory(customer=customer, number="B-SECRET-1", total=Decimal("777.00"))
    return {"customer": customer, "invoice": invoice}
