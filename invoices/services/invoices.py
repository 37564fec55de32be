from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, TypedDict

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Sum

from invoices.events import invoice_event
from invoices.models import (
    CLOSED_STATUSES,
    FIXED_STATUSES,
    ZERO,
    Customer,
    Invoice,
    InvoiceCredit,
    InvoiceLine,
    InvoiceStatus,
    PaymentAllocation,
    PaymentStatus,
    status_for_balance,
)
from invoices.signals import invoice_changed
from paypredict_project.audit import audit_record, model_update, snapshot
from paypredict_project.tenancy.models import Organization

CENT = Decimal("0.01")
# Money columns are Decimal(18, 2): anything from 10^16 up cannot be stored.
MONEY_LIMIT = Decimal(10) ** 16

# Statuses an invoice may be moved to by hand; paid / partially paid follow from allocations.


class LineInput(TypedDict, total=False):
    description: str
    quantity: Decimal
    unit_price: Decimal
    tax: Decimal


def _build_lines(lines: Iterable[LineInput]) -> list[InvoiceLine]:
    built = []
    for position, line in enumerate(lines, start=1):
        quantity = Decimal(line.get("quantity", 1))
        unit_price = Decimal(line["unit_price"])
        tax = Decimal(line.get("tax", ZERO)).quantize(CENT)
        if quantity < 0:
            raise ValidationError({"lines": f"line {position}: quantity must not be negative"})
        if tax < 0:
            raise ValidationError({"lines": f"line {position}: tax must not be negative"})
        amount = (quantity * unit_price).quantize(CENT)
        if abs(amount) >= MONEY_LIMIT or tax >= MONEY_LIMIT:
            raise ValidationError(
                {"lines": f"line {position}: amount {amount} exceeds 16 digits before the point"}
            )
        built.append(
            InvoiceLine(
                position=position,
                description=line["description"],
                quantity=quantity,
                unit_price=unit_price,
                amount=amount,
                tax=tax,
            )
        )
    return built


@transaction.atomic
def invoice_create(
    *,
    organization: Organization,
    customer: Customer,
    number: str,
    issue_date: dt.date,
    due_date: dt.date | None = None,
    currency: str | None = None,
    lines: Iterable[LineInput] = (),
    total: Decimal | None = None,
    status: str = InvoiceStatus.OPEN,
    **fields: Any,
) -> Invoice:
    """Create an invoice from its lines (total = lines + tax) or from a bare total."""
    if customer.organization_id != organization.id:
        raise ValidationError({"customer": "customer belongs to another organization"})
    if status not in (InvoiceStatus.DRAFT, InvoiceStatus.OPEN):
        raise ValidationError({"status": "a new invoice is draft or open"})
    built_lines = _build_lines(lines)
    if built_lines:
        subtotal = sum((line.amount for line in built_lines), ZERO)
        tax_total = sum((line.tax for line in built_lines), ZERO)
        computed = subtotal + tax_total
        if total is not None and Decimal(total) != computed:
            raise ValidationError(
                {"total": f"total {total} does not equal lines plus tax {computed}"}
            )
        total = computed
    elif total is None:
        raise ValidationError({"total": "give either lines or a total"})
    else:
        total = Decimal(total)
        tax_total = Decimal(fields.pop("tax_total", ZERO))
        subtotal = total - tax_total
    terms = fields.pop("payment_terms_days", None) or customer.payment_terms_days
    invoice = Invoice(
        organization=organization,
        customer=customer,
        number=number,
        issue_date=issue_date,
        due_date=due_date or issue_date + dt.timedelta(days=terms),
        currency=(currency or customer.currency).upper(),
        subtotal=subtotal,
        tax_total=tax_total,
        total=total,
        balance=total,
        status=status,
        payment_terms_days=terms,
        **fields,
    )
    # Checked here so the error names the field; full_clean() would report the unique
    # constraint as a non-field error.
    if Invoice.objects.filter(organization=organization, number=number).exists():
        raise ValidationError({"number": f"invoice number {number} already exists"})
    invoice.full_clean()
    invoice.save()
    for line in built_lines:
        line.invoice = invoice
    InvoiceLine.objects.bulk_create(built_lines)
    audit_record(
        organization=organization,
        action="invoice.create",
        instance=invoice,
        after=snapshot(invoice),
    )
    invoice_event(invoice=invoice, type="invoice.created")
    _announce(invoice)
    return invoice


INVOICE_EDITABLE_FIELDS = ("due_date", "po_number", "disputed", "attributes", "payment_terms_days")


@transaction.atomic
def invoice_update(*, invoice: Invoice, **fields: Any) -> Invoice:
    unknown = set(fields) - set(INVOICE_EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(
            {name: "this field cannot be changed after the invoice is created" for name in unknown}
        )
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    invoice, changed = model_update(instance=invoice, fields=fields, action="invoice.update")
    if not changed:
        return invoice  # a repeated request (a double submit) changes nothing
    invoice_event(invoice=invoice, type="invoice.updated", changed=sorted(changed))
    _announce(invoice)
    return invoice


def _close(invoice: Invoice, status: str, action: str) -> Invoice:
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status in (*CLOSED_STATUSES, InvoiceStatus.PAID):
        raise ValidationError(
            {"status": f"a {invoice.get_status_display().lower()} invoice cannot be {action}"}
        )
    model_update(
        instance=invoice, fields={"status": status}, action=f"invoice.{status}", clean=False
    )
    if status == InvoiceStatus.VOID:
        invoice_event(invoice=invoice, type="invoice.voided")
    else:
        invoice_event(invoice=invoice, type="invoice.updated", changed=["status"])
    _announce(invoice)
    return invoice


@transaction.atomic
def invoice_void(*, invoice: Invoice) -> Invoice:
    if invoice.allocations.exists():
        raise ValidationError(
            {
                "status": "an invoice with payments applied cannot be voided; "
                "refund or reallocate the payments first"
            }
        )
    return _close(invoice, InvoiceStatus.VOID, "voided")


@transaction.atomic
def invoice_write_off(*, invoice: Invoice) -> Invoice:
    return _close(invoice, InvoiceStatus.WRITTEN_OFF, "written off")


def invoice_recalculate(*, invoice: Invoice) -> Invoice:
    """Recompute balance, status and paid date from succeeded allocations and credit notes.

    The caller holds the invoice row lock.
    """
    applied = PaymentAllocation.objects.filter(
        invoice=invoice, payment__status=PaymentStatus.SUCCEEDED
    ).aggregate(total=Sum("amount"), last=Max("payment__received_at"))
    paid = applied["total"] or ZERO
    credited = invoice_credited(invoice=invoice)
    was_paid = invoice.status == InvoiceStatus.PAID
    if paid + credited > invoice.total:
        raise ValidationError(
            {
                "amount": f"invoice {invoice.number} would be over-paid "
                f"({paid} applied and {credited} credited to a total of {invoice.total})"
            }
        )
    invoice.balance = invoice.total - paid - credited
    invoice.status = status_for_balance(
        total=invoice.total, balance=invoice.balance, current=invoice.status
    )
    if invoice.status == InvoiceStatus.PAID and applied["last"]:
        tz = invoice.organization.tzinfo
        invoice.paid_date = applied["last"].astimezone(tz).date()
    elif invoice.status != InvoiceStatus.PAID:
        invoice.paid_date = None
    invoice.save(update_fields=["balance", "status", "paid_date", "updated_at"])
    if invoice.status == InvoiceStatus.PAID and not was_paid:
        invoice_event(invoice=invoice, type="invoice.paid", paid_date=invoice.paid_date)
    _announce(invoice)
    return invoice


def invoice_credited(*, invoice: Invoice) -> Decimal:
    return (
        InvoiceCredit.objects.filter(invoice=invoice).aggregate(total=Sum("amount"))["total"]
        or ZERO
    )


@transaction.atomic
def invoice_credit_note(
    *, invoice: Invoice, amount: Decimal, reason: str = "", reference: str = ""
) -> InvoiceCredit:
    """Issue a credit note: the balance drops by ``amount`` (never below zero) in the same
    transaction as the caller's other writes."""
    invoice = Invoice.objects.select_for_update().select_related("organization").get(pk=invoice.pk)
    amount = Decimal(amount).quantize(CENT)
    if amount <= 0:
        raise ValidationError({"amount": "a credit note amount must be positive"})
    if invoice.status in FIXED_STATUSES:
        raise ValidationError(
            {"amount": f"a {invoice.get_status_display().lower()} invoice cannot be credited"}
        )
    if amount > invoice.balance:
        raise ValidationError(
            {"amount": f"credit {amount} exceeds the balance {invoice.balance} of {invoice.number}"}
        )
    credit = InvoiceCredit.objects.create(
        organization=invoice.organization,
        invoice=invoice,
        amount=amount,
        reason=reason[:255],
        reference=reference[:128],
    )
    before = snapshot(invoice, ["balance", "status"])
    invoice_recalculate(invoice=invoice)
    audit_record(
        organization=invoice.organization,
        action="invoice.credit_note",
        instance=invoice,
        before=before | {"credit": None},
        after=snapshot(invoice, ["balance", "status"]) | {"credit": str(amount)},
    )
    return credit


def invoice_set_disputed(*, invoice: Invoice, disputed: bool) -> Invoice:
    """The disputed flag, set by whoever tracks disputes (the ledger does not know them)."""
    if invoice.disputed == disputed:
        return invoice
    return invoice_update(invoice=invoice, disputed=disputed)


def _announce(invoice: Invoice) -> None:
    """Tell subscribers (predictions, reminders, live feed) after the transaction commits."""
    transaction.on_commit(
        lambda: invoice_changed.send(
            sender=Invoice, invoice_id=invoice.pk, organization_id=invoice.organization_id
        )
    )
