"""Promises to pay: recording one pauses dunning on its invoices until the promised date;
the first planning run after that date grades it kept or broken, and a broken promise
escalates its invoices to the next step and is recorded on the customer's audit trail."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from invoices.models import OPEN_STATUSES, Customer, Invoice, Payment, PaymentStatus
from paypredict_project.audit import audit_record, snapshot
from paypredict_project.tenancy.models import Organization
from reminders.models import PromiseStatus, PromiseToPay


@transaction.atomic
def promise_create(
    *,
    organization: Organization,
    customer: Customer,
    invoice: Invoice | None,
    promised_date: dt.date,
    amount: Decimal,
    today: dt.date,
    note: str = "",
    recorded_by=None,
) -> PromiseToPay:
    if invoice is not None and invoice.customer_id != customer.id:
        raise ValidationError({"invoice": "the invoice belongs to another customer"})
    if invoice is not None and invoice.status not in OPEN_STATUSES:
        raise ValidationError({"invoice": f"invoice {invoice.number} is {invoice.status}"})
    if promised_date < today:
        raise ValidationError({"promised_date": "must be today or later"})
    if amount <= 0:
        raise ValidationError({"amount": "must be greater than zero"})
    if invoice is not None and amount > invoice.balance:
        raise ValidationError(
            {"amount": f"must not exceed the open balance {invoice.balance} {invoice.currency}"}
        )
    promise = PromiseToPay.objects.create(
        organization=organization,
        customer=customer,
        invoice=invoice,
        promised_date=promised_date,
        amount=amount,
        currency=invoice.currency if invoice is not None else customer.currency,
        balance_at_promise=invoice.balance if invoice is not None else None,
        note=note,
        recorded_by=recorded_by if getattr(recorded_by, "pk", None) else None,
    )
    audit_record(
        organization=organization,
        action="promise.create",
        instance=promise,
        after=snapshot(promise),
    )
    return promise


@transaction.atomic
def promise_cancel(*, promise: PromiseToPay, today: dt.date) -> PromiseToPay:
    if promise.status != PromiseStatus.OPEN:
        raise ValidationError(f"the promise is {promise.status}, not open")
    promise.status, promise.resolved_on = PromiseStatus.CANCELLED, today
    promise.save(update_fields=["status", "resolved_on"])
    audit_record(organization=promise.organization, action="promise.cancel", instance=promise)
    return promise


def _kept(promise: PromiseToPay) -> bool:
    if promise.invoice_id is not None:
        invoice = Invoice.objects.only("status", "balance").get(pk=promise.invoice_id)
        target = (promise.balance_at_promise or invoice.balance) - promise.amount
        return invoice.status not in OPEN_STATUSES or invoice.balance <= target
    paid = Payment.objects.filter(
        organization_id=promise.organization_id,
        customer_id=promise.customer_id,
        status=PaymentStatus.SUCCEEDED,
        received_at__gte=promise.created_at,
    ).aggregate(total=Sum("amount"))["total"] or Decimal("0")
    return paid >= promise.amount


@dataclass
class Escalations:
    """Invoices (and whole customers) whose broken promise moves them to the next step."""

    invoice_ids: set[int] = field(default_factory=set)
    customers: set[int] = field(default_factory=set)

    def __contains__(self, invoice_id: object) -> bool:
        return invoice_id in self.invoice_ids


def promises_resolve_due(*, organization: Organization, today: dt.date) -> Escalations:
    """Grade every open promise whose date has passed; return what a broken one escalates."""
    escalations = Escalations()
    due = PromiseToPay.objects.filter(
        organization=organization, status=PromiseStatus.OPEN, promised_date__lt=today
    ).select_related("customer")
    for promise in due:
        with transaction.atomic():
            kept = _kept(promise)
            promise.status = PromiseStatus.KEPT if kept else PromiseStatus.BROKEN
            promise.resolved_on = today
            promise.escalated = not kept
            promise.save(update_fields=["status", "resolved_on", "escalated"])
            if not kept:
                _record_broken(promise)
        if not kept and promise.invoice_id is not None:
            escalations.invoice_ids.add(promise.invoice_id)
        elif not kept:
            escalations.customers.add(promise.customer_id)
    return escalations


def _record_broken(promise: PromiseToPay) -> None:
    audit_record(
        organization=promise.organization,
        action="customer.promise_broken",
        object_type="customer",
        object_code=str(promise.customer.code),
        after={
            "promise": str(promise.code),
            "promised_date": promise.promised_date.isoformat(),
            "amount": str(promise.amount),
            "currency": promise.currency,
            "recorded_at": timezone.now().isoformat(),
        },
    )
