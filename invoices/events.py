"""The ledger's domain events: payloads of invoice.* and payment.* (see docs/events.md).

Services call these inside their transaction, so an event is published exactly when the
change commits (the outbox in paypredict_project.events).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from invoices.models import Invoice, Payment, PaymentStatus
from paypredict_project.events.services import event_record

PAYMENT_EVENT_TYPES = {
    PaymentStatus.SUCCEEDED: "payment.received",
    PaymentStatus.PENDING: "payment.received",
    PaymentStatus.FAILED: "payment.failed",
    PaymentStatus.REFUNDED: "payment.refunded",
}


CENT = Decimal("0.01")


def _money(value) -> str:
    # An in-memory instance may still hold the Decimal it was given ("500"); the column is 2dp.
    return str(Decimal(value).quantize(CENT))


def _customer(customer) -> dict[str, Any]:
    return {"code": customer.code, "name": customer.name}


def invoice_event(*, invoice: Invoice, type: str, **extra: Any) -> None:
    event_record(
        organization=invoice.organization,
        type=type,
        entity_id=invoice.code,
        payload={
            "code": invoice.code,
            "number": invoice.number,
            "customer": _customer(invoice.customer),
            "currency": invoice.currency,
            "total": _money(invoice.total),
            "balance": _money(invoice.balance),
            "status": invoice.status,
            "due_date": invoice.due_date,
            **extra,
        },
    )


def payment_event(*, payment: Payment) -> None:
    """payment.received / failed / refunded, from the payment's status."""
    event_record(
        organization=payment.organization,
        type=PAYMENT_EVENT_TYPES[payment.status],
        entity_id=payment.code,
        payload={
            "code": payment.code,
            "customer": _customer(payment.customer),
            "amount": _money(payment.amount),
            "currency": payment.currency,
            "status": payment.status,
            "method": payment.method,
            "received_at": payment.received_at,
            "reference": payment.reference,
            "processor": payment.processor,
            "failure_code": payment.failure_code,
            "failure_reason": payment.failure_reason,
            "invoices": [a.invoice.number for a in payment.allocations.select_related("invoice")],
        },
    )
