"""Ledger services: payments and allocations move balances and statuses atomically.

Every rejection test also reads the database back: an error must leave nothing half-written.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from invoices import services
from invoices.models import (
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentAllocation,
    PaymentStatus,
)
from paypredict_project.tenancy.models import AuditLog
from tests.factories import CustomerFactory, InvoiceFactory

pytestmark = pytest.mark.django_db

FEB_1 = dt.datetime(2026, 2, 1, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def customer(org):
    return CustomerFactory(organization=org, name="Acme Tools", currency="USD")


def _invoice(customer, total="1000.00", **kwargs) -> Invoice:
    return InvoiceFactory(customer=customer, total=Decimal(total), **kwargs)


def _state(invoice: Invoice) -> tuple:
    invoice.refresh_from_db()
    return invoice.status, invoice.balance, invoice.paid_date


def _record(org, customer, amount, allocations, **kwargs) -> Payment:
    return services.payment_record(
        organization=org,
        customer=customer,
        amount=Decimal(amount),
        received_at=kwargs.pop("received_at", FEB_1),
        allocations=[(inv, Decimal(a)) for inv, a in allocations],
        **kwargs,
    )


def test_it_moves_an_invoice_from_open_to_partially_paid_to_paid(org, customer):
    invoice = _invoice(customer, "1000.00")
    assert _state(invoice) == (InvoiceStatus.OPEN, Decimal("1000.00"), None)

    _record(org, customer, "400.00", [(invoice, "400.00")])
    assert _state(invoice) == (InvoiceStatus.PARTIALLY_PAID, Decimal("600.00"), None)

    last = dt.datetime(2026, 3, 2, 10, 30, tzinfo=dt.UTC)
    _record(org, customer, "600.00", [(invoice, "600.00")], received_at=last)
    assert _state(invoice) == (InvoiceStatus.PAID, Decimal("0.00"), dt.date(2026, 3, 2))
    assert PaymentAllocation.objects.filter(invoice=invoice).count() == 2


def test_it_dates_the_payment_in_the_organizations_time_zone(org, customer):
    org.time_zone = "America/New_York"
    org.save()
    invoice = _invoice(customer, "50.00")
    # 02:00 UTC on 1 February is still 31 January in New York.
    _record(
        org,
        customer,
        "50.00",
        [(invoice, "50.00")],
        received_at=dt.datetime(2026, 2, 1, 2, 0, tzinfo=dt.UTC),
    )
    assert _state(invoice) == (InvoiceStatus.PAID, Decimal("0.00"), dt.date(2026, 1, 31))


def test_it_splits_one_payment_over_several_invoices(org, customer):
    first, second = _invoice(customer, "300.00"), _invoice(customer, "500.00")
    payment = _record(org, customer, "800.00", [(first, "300.00"), (second, "200.00")])
    assert _state(first)[:2] == (InvoiceStatus.PAID, Decimal("0.00"))
    assert _state(second)[:2] == (InvoiceStatus.PARTIALLY_PAID, Decimal("300.00"))
    assert sorted(payment.allocations.values_list("amount", flat=True)) == [
        Decimal("200.00"),
        Decimal("300.00"),
    ]


def test_it_rejects_over_allocation_of_a_payment_and_writes_nothing(org, customer):
    first, second = _invoice(customer, "100.00"), _invoice(customer, "100.00")
    with pytest.raises(ValidationError) as excinfo:
        _record(org, customer, "100.00", [(first, "60.00"), (second, "60.00")])
    assert "over-allocation: 120.00 allocated from a payment of 100.00" in str(excinfo.value)
    assert Payment.objects.count() == 0
    assert PaymentAllocation.objects.count() == 0
    assert _state(first) == (InvoiceStatus.OPEN, Decimal("100.00"), None)
    assert _state(second) == (InvoiceStatus.OPEN, Decimal("100.00"), None)
    assert not AuditLog.objects.filter(action="payment.record").exists()


def test_it_rejects_over_payment_of_an_invoice_and_writes_nothing(org, customer):
    invoice = _invoice(customer, "100.00")
    with pytest.raises(ValidationError) as excinfo:
        _record(org, customer, "150.00", [(invoice, "150.00")])
    message = str(excinfo.value)
    assert "over-allocation: 150.00 exceeds the 100.00 still open" in message
    assert invoice.number in message
    assert Payment.objects.count() == 0
    assert _state(invoice) == (InvoiceStatus.OPEN, Decimal("100.00"), None)


def test_it_rejects_allocation_to_another_organizations_invoice(org, other_org, customer):
    foreign = _invoice(CustomerFactory(organization=other_org, currency="USD"), "100.00")
    with pytest.raises(ValidationError) as excinfo:
        _record(org, customer, "100.00", [(foreign, "100.00")])
    assert excinfo.value.message_dict == {
        "allocations": ["invoice belongs to another organization"]
    }
    assert Payment.objects.count() == 0
    assert _state(foreign) == (InvoiceStatus.OPEN, Decimal("100.00"), None)


def test_it_rejects_allocation_across_currencies(org, customer):
    euro_invoice = _invoice(customer, "100.00", currency="EUR")
    with pytest.raises(ValidationError) as excinfo:
        _record(org, customer, "100.00", [(euro_invoice, "100.00")], currency="USD")
    assert excinfo.value.message_dict == {
        "allocations": [f"a USD payment cannot be applied to invoice {euro_invoice.number} in EUR"]
    }
    assert Payment.objects.count() == 0
    assert _state(euro_invoice) == (InvoiceStatus.OPEN, Decimal("100.00"), None)


def test_it_keeps_the_first_allocation_out_when_the_second_fails(org, customer):
    good = _invoice(customer, "100.00")
    void = _invoice(customer, "100.00", status=InvoiceStatus.VOID)
    with pytest.raises(ValidationError) as excinfo:
        _record(org, customer, "200.00", [(good, "100.00"), (void, "100.00")])
    assert f"invoice {void.number} is void" in str(excinfo.value)
    # The first invoice was locked, allocated and recalculated before the error: all undone.
    assert _state(good) == (InvoiceStatus.OPEN, Decimal("100.00"), None)
    assert Payment.objects.count() == 0
    assert PaymentAllocation.objects.count() == 0


@pytest.mark.parametrize(
    ("change", "expected_status"),
    [
        (
            lambda p: services.payment_mark_failed(
                payment=p, failure_code="R01", failure_reason="insufficient funds"
            ),
            PaymentStatus.FAILED,
        ),
        (lambda p: services.payment_refund(payment=p), PaymentStatus.REFUNDED),
    ],
    ids=["failed", "refunded"],
)
def test_it_reopens_balances_when_a_payment_fails_or_is_refunded(
    org, customer, change, expected_status
):
    paid, partly = _invoice(customer, "100.00"), _invoice(customer, "300.00")
    other = _record(org, customer, "100.00", [(partly, "100.00")])
    payment = _record(org, customer, "200.00", [(paid, "100.00"), (partly, "100.00")])
    assert _state(paid)[0] == InvoiceStatus.PAID
    assert _state(partly)[:2] == (InvoiceStatus.PARTIALLY_PAID, Decimal("100.00"))

    change(payment)

    payment.refresh_from_db()
    assert payment.status == expected_status
    assert _state(paid) == (InvoiceStatus.OPEN, Decimal("100.00"), None)
    # The other payment still counts.
    assert _state(partly)[:2] == (InvoiceStatus.PARTIALLY_PAID, Decimal("200.00"))
    assert other.allocations.get().amount == Decimal("100.00")


def test_it_reserves_balance_for_a_pending_payment_and_pays_when_it_succeeds(org, customer):
    invoice = _invoice(customer, "100.00")
    pending = _record(org, customer, "100.00", [(invoice, "100.00")], status="pending")
    # Pending money does not pay the invoice yet...
    assert _state(invoice) == (InvoiceStatus.OPEN, Decimal("100.00"), None)
    # ...but it holds the balance, so a second payment cannot take it too.
    with pytest.raises(ValidationError):
        _record(org, customer, "100.00", [(invoice, "100.00")])

    services.payment_mark_succeeded(payment=pending)
    assert _state(invoice) == (InvoiceStatus.PAID, Decimal("0.00"), FEB_1.date())


def test_it_applies_unallocated_cash_later(org, customer):
    invoice = _invoice(customer, "500.00")
    payment = _record(org, customer, "300.00", [])
    allocation = services.payment_allocate(payment=payment, invoice=invoice, amount="200.00")
    assert allocation.amount == Decimal("200.00")
    assert _state(invoice)[:2] == (InvoiceStatus.PARTIALLY_PAID, Decimal("300.00"))

    with pytest.raises(ValidationError) as excinfo:
        services.payment_allocate(payment=payment, invoice=invoice, amount="150.00")
    assert "over-allocation: 350.00 allocated from a payment of 300.00" in str(excinfo.value)
    assert _state(invoice)[:2] == (InvoiceStatus.PARTIALLY_PAID, Decimal("300.00"))
    assert PaymentAllocation.objects.get().amount == Decimal("200.00")


def test_it_refuses_to_allocate_a_failed_payment(org, customer):
    invoice = _invoice(customer, "100.00")
    payment = _record(org, customer, "100.00", [], status="failed", failure_code="card_declined")
    with pytest.raises(ValidationError) as excinfo:
        services.payment_allocate(payment=payment, invoice=invoice, amount="100.00")
    assert excinfo.value.message_dict == {"allocations": ["a failed payment cannot be allocated"]}
    assert _state(invoice) == (InvoiceStatus.OPEN, Decimal("100.00"), None)


def test_it_refuses_to_void_an_invoice_with_payments_applied(org, customer):
    invoice = _invoice(customer, "100.00")
    _record(org, customer, "40.00", [(invoice, "40.00")])
    with pytest.raises(ValidationError) as excinfo:
        services.invoice_void(invoice=invoice)
    assert "cannot be voided" in excinfo.value.message_dict["status"][0]
    assert _state(invoice)[:2] == (InvoiceStatus.PARTIALLY_PAID, Decimal("60.00"))


def test_it_voids_an_unpaid_invoice_and_then_refuses_payments(org, customer):
    invoice = _invoice(customer, "100.00")
    services.invoice_void(invoice=invoice)
    assert _state(invoice)[0] == InvoiceStatus.VOID
    with pytest.raises(ValidationError):
        _record(org, customer, "100.00", [(invoice, "100.00")])
    assert Payment.objects.count() == 0


def test_it_builds_an_invoice_from_lines(org, customer):
    invoice = services.invoice_create(
        organization=org,
        customer=customer,
        number="INV-LINES-1",
        issue_date=dt.date(2026, 1, 10),
        lines=[
            {"description": "Widgets", "quantity": Decimal("3"), "unit_price": Decimal("19.99")},
            {"description": "Setup", "unit_price": Decimal("100"), "tax": Decimal("8.25")},
        ],
    )
    assert (invoice.subtotal, invoice.tax_total, invoice.total, invoice.balance) == (
        Decimal("159.97"),
        Decimal("8.25"),
        Decimal("168.22"),
        Decimal("168.22"),
    )
    assert invoice.due_date == dt.date(2026, 2, 9)
    assert list(invoice.lines.values_list("position", "amount")) == [
        (1, Decimal("59.97")),
        (2, Decimal("100.00")),
    ]


def test_it_rejects_a_line_too_large_to_store_and_writes_nothing(org, customer):
    with pytest.raises(ValidationError) as excinfo:
        services.invoice_create(
            organization=org,
            customer=customer,
            number="INV-HUGE",
            issue_date=dt.date(2026, 1, 10),
            lines=[
                {"description": "ok", "unit_price": Decimal("1")},
                {
                    "description": "huge",
                    "quantity": Decimal("9999999999"),
                    "unit_price": Decimal("99999999999999"),
                },
            ],
        )
    assert excinfo.value.message_dict["lines"][0].startswith("line 2: amount")
    assert not Invoice.objects.filter(number="INV-HUGE").exists()
