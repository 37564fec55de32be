"""Upserts from accounting systems (QuickBooks Online, Xero): the ledger's side of a sync.

A synced row is keyed by (organization, source, external_id). Each function compares what the
source system says with the row and answers "created", "updated", "unchanged" or "voided", so a
re-run of the same data writes nothing. Balances still come only from allocations
(``invoice_recalculate``); a record deleted or voided at the source is voided here, never
deleted. Every write is audited and announced like any other ledger write.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from invoices.models import (
    ZERO,
    Customer,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    PaymentAllocation,
    PaymentStatus,
)
from invoices.services.customers import customer_create, customer_update
from invoices.services.invoices import (
    CENT,
    LineInput,
    _build_lines,
    invoice_create,
    invoice_recalculate,
)
from invoices.services.invoices import (
    _announce as _announce_invoice,
)
from invoices.services.payments import (
    _announce as _announce_payment,
)
from invoices.services.payments import (
    _lock_invoices,
    _validate_allocation,
    payment_record,
)
from paypredict_project.audit import audit_record, snapshot
from paypredict_project.tenancy.models import Organization

CREATED, UPDATED, UNCHANGED, VOIDED = "created", "updated", "unchanged", "voided"
ADJUSTMENT_LINE = "Other charges and rounding (from the source system)"


def customer_upsert_external(
    *, organization: Organization, source: str, external_id: str, name: str, **fields: Any
) -> tuple[Customer, str]:
    """Create the customer or update the fields the source owns (name, e-mail, phone, ...)."""
    customer = Customer.objects.filter(
        organization=organization, source=source, external_id=external_id
    ).first()
    if customer is None:
        created = customer_create(
            organization=organization, name=name, source=source, external_id=external_id, **fields
        )
        return created, CREATED
    changes = {
        key: value
        for key, value in {"name": name, **fields}.items()
        if getattr(customer, key) != value
    }
    if not changes:
        return customer, UNCHANGED
    return customer_update(customer=customer, **changes), UPDATED


def _lines_matching_total(
    lines: Iterable[LineInput], total: Decimal
) -> tuple[list[InvoiceLine], list[LineInput]]:
    """The source's lines, plus one adjustment line when they do not add up to its total
    (shipping, discounts after tax, rounding): the ledger total must equal the source's."""
    line_inputs = list(lines)
    built = _build_lines(line_inputs)
    computed = sum((line.amount + line.tax for line in built), ZERO)
    difference = (Decimal(total) - computed).quantize(CENT)
    if difference:
        line_inputs.append(
            {"description": ADJUSTMENT_LINE, "quantity": Decimal(1), "unit_price": difference}
        )
        built = _build_lines(line_inputs)
    return built, line_inputs


def _line_key(line: InvoiceLine) -> tuple:
    return (line.description, line.quantity, line.unit_price, line.amount, line.tax)


def _free_number(organization: Organization, number: str, source: str, external_id: str) -> str:
    """Invoice numbers are unique per organization; a number already used by another row (a
    CSV import, the other accounting system) gets the source's id appended."""
    taken = (
        Invoice.objects.filter(organization=organization, number=number)
        .exclude(source=source, external_id=external_id)
        .exists()
    )
    return f"{number} ({source} {external_id})" if taken else number


@transaction.atomic
def invoice_upsert_external(
    *,
    organization: Organization,
    source: str,
    external_id: str,
    customer: Customer,
    number: str,
    issue_date: dt.date,
    due_date: dt.date,
    currency: str,
    total: Decimal,
    lines: Iterable[LineInput] = (),
    draft: bool = False,
    po_number: str = "",
) -> tuple[Invoice, str]:
    """Create or update a synced invoice with its lines; the balance follows allocations."""
    built, line_inputs = _lines_matching_total(lines, total)
    number = _free_number(organization, number or external_id, source, external_id)
    due_date = max(due_date, issue_date)
    invoice = (
        Invoice.objects.select_for_update()
        .filter(organization=organization, source=source, external_id=external_id)
        .first()
    )
    if invoice is None:
        created = invoice_create(
            organization=organization,
            customer=customer,
            number=number,
            issue_date=issue_date,
            due_date=due_date,
            currency=currency,
            lines=line_inputs,
            status=InvoiceStatus.DRAFT if draft else InvoiceStatus.OPEN,
            source=source,
            external_id=external_id,
            po_number=po_number,
        )
        return created, CREATED
    return _invoice_apply(invoice, customer, number, issue_date, due_date, currency, built, draft)


def _invoice_apply(
    invoice: Invoice,
    customer: Customer,
    number: str,
    issue_date: dt.date,
    due_date: dt.date,
    currency: str,
    built: list[InvoiceLine],
    draft: bool,
) -> tuple[Invoice, str]:
    subtotal = sum((line.amount for line in built), ZERO)
    tax_total = sum((line.tax for line in built), ZERO)
    status = invoice.status
    if status == InvoiceStatus.DRAFT and not draft:
        status = InvoiceStatus.OPEN
    wanted = {
        "customer_id": customer.pk,
        "number": number,
        "issue_date": issue_date,
        "due_date": due_date,
        "currency": currency.upper(),
        "subtotal": subtotal,
        "tax_total": tax_total,
        "total": subtotal + tax_total,
        "status": status,
    }
    changes = {k: v for k, v in wanted.items() if getattr(invoice, k) != v}
    old_lines = [_line_key(line) for line in invoice.lines.all()]
    lines_changed = old_lines != [_line_key(line) for line in built]
    if not changes and not lines_changed:
        return invoice, UNCHANGED
    before = snapshot(invoice)
    for name, value in changes.items():
        setattr(invoice, name, value)
    if "total" in changes:
        invoice.balance = min(invoice.balance, invoice.total)
    invoice.full_clean(exclude=["customer"])
    invoice.save()
    if lines_changed:
        invoice.lines.all().delete()
        for line in built:
            line.invoice = invoice
        InvoiceLine.objects.bulk_create(built)
    invoice_recalculate(invoice=invoice)
    audit_record(
        organization=invoice.organization,
        action="invoice.sync_update",
        instance=invoice,
        before=before,
        after=snapshot(invoice),
    )
    return invoice, UPDATED


@transaction.atomic
def invoice_void_external(
    *, organization: Organization, source: str, external_id: str
) -> tuple[Invoice | None, str]:
    """Void a synced invoice deleted or voided at the source. Payments applied to it keep
    their cash as unapplied (the source unlinks them the same way)."""
    invoice = (
        Invoice.objects.select_for_update()
        .filter(organization=organization, source=source, external_id=external_id)
        .first()
    )
    if invoice is None:
        return None, UNCHANGED
    if invoice.status == InvoiceStatus.VOID:
        return invoice, UNCHANGED
    before = snapshot(invoice)
    detached = list(invoice.allocations.values_list("payment_id", flat=True))
    invoice.allocations.all().delete()
    invoice.status = InvoiceStatus.VOID
    invoice.balance = invoice.total
    invoice.paid_date = None
    invoice.save(update_fields=["status", "balance", "paid_date", "updated_at"])
    audit_record(
        organization=organization,
        action="invoice.sync_void",
        instance=invoice,
        before=before,
        after={**snapshot(invoice), "detached_payments": detached},
    )
    _announce_invoice(invoice)
    return invoice, VOIDED


def _allocations_replace(payment: Payment, wanted: dict[int, tuple[Invoice, Decimal]]) -> None:
    """Make the payment's allocations exactly ``wanted`` (invoice id -> amount): a payment the
    source moved from one invoice to another moves its allocation here."""
    current = {a.invoice_id: a for a in payment.allocations.all()}
    touched = set(current) | set(wanted)
    locked = _lock_invoices(Invoice(pk=pk) for pk in touched)
    # Shrink and drop first, so moving cash between two invoices never over-allocates.
    for invoice_id, allocation in current.items():
        if invoice_id not in wanted:
            allocation.delete()
        elif wanted[invoice_id][1] < allocation.amount:
            allocation.amount = wanted[invoice_id][1]
            allocation.save(update_fields=["amount"])
    total = sum((amount for _, amount in wanted.values()), ZERO)
    if total > payment.amount:
        raise ValidationError(
            {
                "allocations": f"over-allocation: {total} allocated "
                f"from a payment of {payment.amount}"
            }
        )
    for invoice_id, (_, amount) in wanted.items():
        invoice = locked[invoice_id]
        _validate_allocation(payment, invoice, amount)
        PaymentAllocation.objects.update_or_create(
            payment=payment,
            invoice=invoice,
            defaults={"amount": amount, "organization_id": payment.organization_id},
        )
    for invoice in locked.values():
        invoice_recalculate(invoice=invoice)


def _wanted_allocations(
    allocations: Iterable[tuple[Invoice, Decimal]],
) -> dict[int, tuple[Invoice, Decimal]]:
    wanted: dict[int, tuple[Invoice, Decimal]] = {}
    for invoice, amount in allocations:
        previous = wanted.get(invoice.pk, (invoice, ZERO))[1]
        wanted[invoice.pk] = (invoice, previous + Decimal(amount))
    return wanted


@transaction.atomic
def payment_upsert_external(
    *,
    organization: Organization,
    source: str,
    external_id: str,
    customer: Customer,
    amount: Decimal,
    currency: str,
    received_at: dt.datetime,
    reference: str = "",
    allocations: Iterable[tuple[Invoice, Decimal]] = (),
) -> tuple[Payment, str]:
    """Create or update a synced payment and make its allocations match the source's."""
    wanted = _wanted_allocations(allocations)
    payment = (
        Payment.objects.select_for_update()
        .filter(organization=organization, source=source, external_id=external_id)
        .first()
    )
    if payment is None:
        created = payment_record(
            organization=organization,
            customer=customer,
            amount=Decimal(amount),
            currency=currency,
            received_at=received_at,
            allocations=list(wanted.values()),
            source=source,
            external_id=external_id,
            reference=reference[:128],
        )
        return created, CREATED
    fields = {
        "customer_id": customer.pk,
        "amount": Decimal(amount),
        "currency": currency.upper(),
        "received_at": received_at,
        "reference": reference[:128],
        "status": PaymentStatus.SUCCEEDED,
    }
    changes = {k: v for k, v in fields.items() if getattr(payment, k) != v}
    current = {a.invoice_id: a.amount for a in payment.allocations.all()}
    target = {pk: amount for pk, (_, amount) in wanted.items()}
    if not changes and current == target:
        return payment, UNCHANGED
    before = snapshot(payment)
    for name, value in changes.items():
        setattr(payment, name, value)
    payment.full_clean(exclude=["customer", "retry_of"])
    payment.save()
    _allocations_replace(payment, wanted)
    audit_record(
        organization=organization,
        action="payment.sync_update",
        instance=payment,
        before={**before, "allocations": {str(k): str(v) for k, v in current.items()}},
        after={**snapshot(payment), "allocations": {str(k): str(v) for k, v in target.items()}},
    )
    _announce_payment(payment)
    return payment, UPDATED


@transaction.atomic
def payment_void_external(
    *, organization: Organization, source: str, external_id: str
) -> tuple[Payment | None, str]:
    """A payment deleted or voided at the source is a reversal: it stops counting (status
    refunded, allocations removed) and the invoices it paid re-open."""
    payment = (
        Payment.objects.select_for_update()
        .filter(organization=organization, source=source, external_id=external_id)
        .first()
    )
    if payment is None or payment.status == PaymentStatus.REFUNDED:
        return payment, UNCHANGED
    before = snapshot(payment)
    _allocations_replace(payment, {})
    payment.status = PaymentStatus.REFUNDED
    payment.failure_reason = f"voided or deleted in {source}"
    payment.save(update_fields=["status", "failure_reason", "updated_at"])
    audit_record(
        organization=organization,
        action="payment.sync_void",
        instance=payment,
        before=before,
        after=snapshot(payment),
    )
    _announce_payment(payment)
    return payment, VOIDED


def external_ids_to_pks(
    *, organization: Organization, model: type, source: str, external_ids: Iterable[str]
) -> dict[str, int]:
    """Ledger ids of synced rows, keyed by the source's id (one query for a whole page)."""
    rows = model.objects.filter(
        organization=organization, source=source, external_id__in=list(external_ids)
    ).values_list("external_id", "pk")
    return dict(rows)
