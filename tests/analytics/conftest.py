"""A small fixed ledger for the analytics tests, in New York time (UTC-5 in November), with
the figures each test expects worked out by hand in the docstrings and tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from invoices.models import ExchangeRate, PaymentMethod, PaymentStatus
from tests.factories import CustomerFactory, PaymentFactory

D = Decimal
UTC = dt.UTC


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def ny_org(org):
    org.time_zone = "America/New_York"
    org.save(update_fields=["time_zone"])
    return org


@pytest.fixture
def payments(ny_org, other_org):
    """Nine payments of org A received in local November 2026 and one just after it.

    P2 → P3 → P4 is one chain (two failed retries, then success). P5 is received at 04:30 UTC
    on the 11th, i.e. 23:30 on the 10th in New York. P9 is 23:59 local on the 30th; P10 is
    00:00 local on 1 December (outside November).
    """
    org = ny_org
    usd = CustomerFactory(organization=org, name="Dollar Co", currency="USD")
    eur = CustomerFactory(organization=org, name="Euro GmbH", currency="EUR")
    gbp = CustomerFactory(organization=org, name="=HYPERLINK(1)", currency="GBP")
    ExchangeRate.objects.create(
        organization=org, currency="EUR", date=dt.date(2026, 11, 1), rate=D("1.1")
    )
    card, ach, wire = PaymentMethod.CARD, PaymentMethod.ACH, PaymentMethod.WIRE
    ok, failed = PaymentStatus.SUCCEEDED, PaymentStatus.FAILED
    p = {}
    p[1] = PaymentFactory(
        customer=usd, amount=D("100"), method=card, status=ok, received_at=at(10, 15)
    )
    p[2] = PaymentFactory(
        customer=usd,
        amount=D("50"),
        method=card,
        status=failed,
        received_at=at(10, 16),
        failure_code="R01",
        failure_reason="Insufficient funds",
    )
    p[3] = PaymentFactory(
        customer=usd,
        amount=D("50"),
        method=card,
        status=failed,
        received_at=at(12, 16),
        failure_code="R01",
        failure_reason="Insufficient funds",
        retry_of=p[2],
    )
    p[4] = PaymentFactory(
        customer=usd, amount=D("50"), method=card, status=ok, received_at=at(14, 16), retry_of=p[3]
    )
    p[5] = PaymentFactory(
        customer=eur, amount=D("200"), method=wire, status=ok, received_at=at(11, 4, 30)
    )
    p[6] = PaymentFactory(
        customer=gbp,
        amount=D("30"),
        method=ach,
        status=failed,
        received_at=at(20, 12),
        failure_code="R02",
        failure_reason="Account closed",
    )
    p[7] = PaymentFactory(
        customer=usd,
        amount=D("70"),
        method=ach,
        status=PaymentStatus.PENDING,
        received_at=at(21, 16),
    )
    p[8] = PaymentFactory(
        customer=usd,
        amount=D("40"),
        method=card,
        status=PaymentStatus.REFUNDED,
        received_at=at(22, 16),
    )
    p[9] = PaymentFactory(
        customer=usd, amount=D("999"), method=card, status=ok, received_at=at(1, 4, 59, month=12)
    )
    p[10] = PaymentFactory(
        customer=usd, amount=D("5000"), method=card, status=ok, received_at=at(1, 5, month=12)
    )
    # Another organization's payment on the same day never counts.
    PaymentFactory(
        customer=CustomerFactory(organization=other_org),
        amount=D("777"),
        status=failed,
        received_at=at(10, 15),
    )
    return p
