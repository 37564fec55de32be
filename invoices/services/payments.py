from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from invoices.events import payment_event
from invoices.models import (
    FIXED_STATUSES,
    ZERO,
    Customer,
    Invoice,
    Payment,
    PaymentAllocation,
    PaymentStatus,
    ReconciliationStatus,
    SettlementSource,
    Source,
)
from invoices.services.invoices import invoice_credited, invoice_recalculate
from invoices.signals import payment_changed
from paypredict_project.audit import audit_record, model_update, snapshot
from paypredict_project.tenancy.models import Organization

# Allocations of these payments hold on to invoice balance (pending ones reserve it).
COUNTED_STATUSES = (PaymentStatus.SUCCEEDED, PaymentStatus.PENDING)


def _validate_allocation(payment: Payment, invoice: Invoice, amount: Decimal) -> None:
    if invoice.organization_id != payment.organization_id:
        raise ValidationError({"allocations": "invoice belongs to another organization"})
    if invoice.currency != payment.currency:
        raise ValidationError(
            {
                "allocations": f"a {payment.currency} payment cannot be applied to "
                f"invoice {invoice.number} in {invoice.currency}"
            }
        )
    if invoice.status in FIXED_STATUSES:
        raise ValidationError(
            {"allocations": f"invoice {invoice.number} is {invoice.get_status_display().lower()}"}
        )
    if amount <= 0:
        raise ValidationError({"allocations": "an allocation amount must be positive"})
    reserved = (
        PaymentAllocation.objects.filter(invoice=invoice, payment__status__in=COUNTED_STATUSES)
        .exclude(payment=payment)
        .aggregate(total=Sum("amount"))["total"]
        or ZERO
    )
    open_amount = invoice.total - reserved - invoice_credited(invoice=invoice)
    if amount > open_amount:
        raise ValidationError(
            {
                "allocations": f"over-allocation: {amount} exceeds the {open_amount} "
                f"still open on invoice {invoice.number}"
            }
        )


def _lock_invoices(invoices: Iterable[Invoice]) -> dict[int, Invoice]:
    # Lock in primary-key order so two payments touching the same invoices cannot deadlock.
    ids = sorted({invoice.pk for invoice in invoices})
    locked = Invoice.objects.select_for_update().select_related("organization").filter(pk__in=ids)
    return {invoice.pk: invoice for invoice in locked.order_by("pk")}


def _apply(payment: Payment, allocations: list[tuple[Invoice, Decimal]]) -> list[Invoice]:
    applied_before = payment.allocations.aggregate(total=Sum("amount"))["total"] or ZERO
    requested = sum((amount for _, amount in allocations), ZERO)
    if applied_before + requested > payment.amount:
        raise ValidationError(
            {
                "allocations": f"over-allocation: {applied_before + requested} "
                f"allocated from a payment of {payment.amount}"
            }
        )
    locked = _lock_invoices(invoice for invoice, _ in allocations)
    touched = []
    for invoice, amount in allocations:
        invoice = locked[invoice.pk]
        _validate_allocation(payment, invoice, amount)
        allocation, created = PaymentAllocation.objects.get_or_create(
            payment=payment,
            invoice=invoice,
            defaults={"amount": amount, "organization_id": payment.organization_id},
        )
        if not created:
            allocation.amount += amount
            allocation.save(update_fields=["amount"])
        touched.append(invoice)
    return touched


@transaction.atomic
def payment_record(
    *,
    organization: Organization,
    customer: Customer,
    amount: Decimal,
    received_at: dt.datetime,
    currency: str | None = None,
    allocations: Iterable[tuple[Invoice, Decimal]] = (),
    status: str = PaymentStatus.SUCCEEDED,
    **fields: Any,
) -> Payment:
    """Record a payment and apply it to invoices; balances and statuses move atomically."""
    if customer.organization_id != organization.id:
        raise ValidationError({"customer": "customer belongs to another organization"})
    if received_at.tzinfo is None:
        raise ValidationError({"received_at": "received_at must carry a time zone"})
    payment = Payment(
        organization=organization,
        customer=customer,
        amount=Decimal(amount),
        currency=(currency or customer.currency).upper(),
        received_at=received_at,
        status=status,
        **fields,
    )
    payment.full_clean()
    payment.save()
    allocations = [(invoice, Decimal(value)) for invoice, value in allocations]
    if allocations and status in (PaymentStatus.FAILED, PaymentStatus.REFUNDED):
        raise ValidationError({"allocations": f"a {status} payment cannot be allocated"})
    for invoice in _apply(payment, allocations):
        invoice_recalculate(invoice=invoice)
    if allocations:
        _reconcile_if_applied(payment, source=_RECONCILED_BY.get(payment.source, "manual"))
    audit_record(
        organization=organization,
        action="payment.record",
        instance=payment,
        after={
            **snapshot(payment),
            "allocations": [{"invoice": str(i.code), "amount": str(a)} for i, a in allocations],
        },
    )
    payment_event(payment=payment)
    _announce(payment)
    return payment


@transaction.atomic
def payment_allocate(
    *,
    payment: Payment,
    invoice: Invoice,
    amount: Decimal,
    source: str = SettlementSource.MANUAL,
    reason: str = "",
) -> PaymentAllocation:
    """Apply unapplied cash of an existing payment to an invoice.

    ``source`` says who matched it (a collector, cash application, an import); ``reason``
    why (cash application's match rule), kept in the audit entry."""
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status not in COUNTED_STATUSES:
        raise ValidationError({"allocations": f"a {payment.status} payment cannot be allocated"})
    (touched,) = _apply(payment, [(invoice, Decimal(amount))])
    invoice_recalculate(invoice=touched)
    _reconcile_if_applied(payment, source=source)
    audit_record(
        organization=payment.organization,
        action="payment.allocate",
        instance=payment,
        after={
            "invoice": str(invoice.code),
            "amount": str(amount),
            "source": source,
            **({"reason": reason} if reason else {}),
        },
    )
    _announce(payment)
    return PaymentAllocation.objects.get(payment=payment, invoice=touched)


# The reconciliation source of cash applied when the payment is recorded, by payment source.
_RECONCILED_BY = {
    Source.CSV: SettlementSource.CSV,
    Source.QUICKBOOKS: SettlementSource.QUICKBOOKS,
    Source.XERO: SettlementSource.XERO,
    Source.STREAM: SettlementSource.STREAM,
}


def _reconcile_if_applied(payment: Payment, *, source: str) -> None:
    """PENDING → RECONCILED once the whole amount is applied to invoices (a settled payment
    stays settled: the deposit is the later step)."""
    if source not in SettlementSource.values:
        raise ValidationError({"source": f"unknown reconciliation source {source!r}"})
    if payment.reconciliation_status != ReconciliationStatus.PENDING:
        return
    applied = payment.allocations.aggregate(total=Sum("amount"))["total"] or ZERO
    if applied < payment.amount:
        return
    payment.reconciliation_status = ReconciliationStatus.RECONCILED
    payment.reconciliation_source = source
    payment.reconciled_at = timezone.now()
    payment.save(
        update_fields=[
            "reconciliation_status",
            "reconciliation_source",
            "reconciled_at",
            "updated_at",
        ]
    )


def _change_status(
    payment: Payment, status: str, allowed_from: tuple[str, ...], **fields: Any
) -> Payment:
    payment = Payment.objects.select_for_update().select_related("organization").get(pk=payment.pk)
    if payment.status not in allowed_from:
        raise ValidationError({"status": f"a {payment.status} payment cannot become {status}"})
    model_update(
        instance=payment,
        fields={"status": status, **fields},
        action=f"payment.{status}",
        clean=False,
    )
    invoices = _lock_invoices(a.invoice for a in payment.allocations.select_related("invoice"))
    for invoice in invoices.values():
        invoice_recalculate(invoice=invoice)
    payment_event(payment=payment)
    _announce(payment)
    return payment


@transaction.atomic
def payment_mark_succeeded(*, payment: Payment) -> Payment:
    return _change_status(payment, PaymentStatus.SUCCEEDED, (PaymentStatus.PENDING,))


@transaction.atomic
def payment_mark_failed(
    *, payment: Payment, failure_code: str, failure_reason: str = ""
) -> Payment:
    """A pending charge declined, or a settled ACH debit returned: balances re-open."""
    if not failure_code:
        raise ValidationError({"failure_code": "a failed payment needs a failure code"})
    return _change_status(
        payment,
        PaymentStatus.FAILED,
        (PaymentStatus.PENDING, PaymentStatus.SUCCEEDED),
        failure_code=failure_code,
        failure_reason=failure_reason,
    )


@transaction.atomic
def payment_refund(*, payment: Payment) -> Payment:
    return _change_status(payment, PaymentStatus.REFUNDED, (PaymentStatus.SUCCEEDED,))


def _announce(payment: Payment) -> None:
    transaction.on_commit(
        lambda: payment_changed.send(
            sender=Payment, payment_id=payment.pk, organization_id=payment.organization_id
        )
    )
