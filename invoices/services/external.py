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
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Sum
from django.utils import timezone

from invoices.models import (
    FIXED_STATUSES,
    ZERO,
    Customer,
    Invoice,
    InvoiceCredit,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    PaymentAllocation,
    PaymentStatus,
    status_for_balance,
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
    COUNTED_STATUSES as COUNTED,
)
from invoices.services.payments import (
    _announce as _announce_payment,
)
from invoices.services.payments import (
    _lock_invoices,
    _validate_allocation,
    payment_record,
)
from invoices.signals import ledger_imported
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
    status: str = PaymentStatus.SUCCEEDED,
    **extra: str,
) -> tuple[Payment, str]:
    """Create or update a synced payment and make its allocations match the source's.

    ``status`` and ``extra`` (method, processor, failure_code, failure_reason) let a source
    that knows them (a payment system's change stream) set them; a failed or refunded payment
    holds no allocations, so its invoices stay open."""
    if status not in COUNTED:
        allocations = ()
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
            status=status,
            **extra,
        )
        return created, CREATED
    fields = {
        "customer_id": customer.pk,
        "amount": Decimal(amount),
        "currency": currency.upper(),
        "received_at": received_at,
        "reference": reference[:128],
        "status": status,
        **extra,
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


# ---------------------------------------------------------------------- bulk first sync
# A first sync brings thousands of rows no ledger row matches yet. Creating them one by one
# through invoice_create / payment_record costs dozens of queries each; these create a whole
# page with one INSERT per table under the same rules, one audit row and one
# ``ledger_imported`` announcement (as the CSV import does). Anything they refuse raises
# before writing, and the caller retries the page row by row to name the refused record.


@dataclass(frozen=True)
class ExternalInvoice:
    external_id: str
    customer: Customer
    number: str
    issue_date: dt.date
    due_date: dt.date
    currency: str
    total: Decimal
    lines: list[LineInput] = field(default_factory=list)
    draft: bool = False
    po_number: str = ""


@dataclass(frozen=True)
class ExternalPayment:
    external_id: str
    customer: Customer
    amount: Decimal
    currency: str
    received_at: dt.datetime
    reference: str = ""
    allocations: list[tuple[Invoice, Decimal]] = field(default_factory=list)


def _record_batch(
    organization: Organization, source: str, entity: str, kind: str, created: list
) -> None:
    """One audit row and one ``ledger_imported`` announcement for a created batch."""
    audit_record(
        organization=organization,
        action=f"{entity}.sync_create_batch",
        object_type=entity,
        object_code=source,
        after={"created": len(created), "external_ids": [r.external_id for r in created[:50]]},
    )
    count = len(created)
    transaction.on_commit(
        lambda: ledger_imported.send(
            sender=ExternalInvoice,
            organization_id=organization.id,
            kind=kind,
            created=count,
            updated=0,
        )
    )


@transaction.atomic
def invoices_create_external(
    *, organization: Organization, source: str, invoices: list[ExternalInvoice]
) -> list[Invoice]:
    numbers = {item.number or item.external_id for item in invoices}
    taken = set(
        Invoice.objects.filter(organization=organization, number__in=numbers).values_list(
            "number", flat=True
        )
    )
    rows: list[tuple[Invoice, list[InvoiceLine]]] = []
    for item in invoices:
        if item.customer.organization_id != organization.id:
            raise ValidationError({"customer": "customer belongs to another organization"})
        if Decimal(item.total) < 0:
            raise ValidationError({"total": f"invoice {item.external_id}: negative total"})
        built, _ = _lines_matching_total(item.lines, item.total)
        number = item.number or item.external_id
        if number in taken:
            number = f"{number} ({source} {item.external_id})"
        taken.add(number)
        subtotal = sum((line.amount for line in built), ZERO)
        tax_total = sum((line.tax for line in built), ZERO)
        invoice = Invoice(
            organization=organization,
            customer=item.customer,
            number=number,
            source=source,
            external_id=item.external_id,
            issue_date=item.issue_date,
            due_date=max(item.due_date, item.issue_date),
            currency=item.currency.upper(),
            subtotal=subtotal,
            tax_total=tax_total,
            total=subtotal + tax_total,
            balance=subtotal + tax_total,
            status=InvoiceStatus.DRAFT if item.draft else InvoiceStatus.OPEN,
            payment_terms_days=item.customer.payment_terms_days,
            po_number=item.po_number,
        )
        rows.append((invoice, built))
    created = Invoice.objects.bulk_create([invoice for invoice, _ in rows])
    lines = []
    for invoice, built in rows:
        for line in built:
            line.invoice = invoice
            lines.append(line)
    InvoiceLine.objects.bulk_create(lines, batch_size=5000)
    _record_batch(organization, source, "invoice", "invoices", created)
    return created


@transaction.atomic
def payments_create_external(
    *, organization: Organization, source: str, payments: list[ExternalPayment]
) -> list[Payment]:
    touched = {invoice.pk for item in payments for invoice, _ in item.allocations}
    locked = _lock_invoices(Invoice(pk=pk) for pk in touched)
    reserved = dict(
        PaymentAllocation.objects.filter(invoice_id__in=touched, payment__status__in=COUNTED)
        .values_list("invoice_id")
        .annotate(total=Sum("amount"))
        .values_list("invoice_id", "total")
    )
    for invoice_id, credited in _credited(touched).items():
        reserved[invoice_id] = reserved.get(invoice_id, ZERO) + credited
    new_payments, allocations = [], []
    for item in payments:
        wanted = _wanted_allocations(item.allocations)
        if item.customer.organization_id != organization.id:
            raise ValidationError({"customer": "customer belongs to another organization"})
        if sum((amount for _, amount in wanted.values()), ZERO) > Decimal(item.amount):
            raise ValidationError({"allocations": f"payment {item.external_id}: over-allocated"})
        payment = Payment(
            organization=organization,
            customer=item.customer,
            source=source,
            external_id=item.external_id,
            amount=Decimal(item.amount),
            currency=item.currency.upper(),
            received_at=item.received_at,
            reference=item.reference[:128],
            status=PaymentStatus.SUCCEEDED,
        )
        if payment.amount <= 0:
            raise ValidationError(
                {"amount": f"payment {item.external_id}: amount must be positive"}
            )
        for invoice_id, (_, amount) in wanted.items():
            invoice = locked[invoice_id]
            # The same checks payment_record makes, against what this batch already reserved.
            if invoice.currency != payment.currency or invoice.status in FIXED_STATUSES:
                _validate_allocation(payment, invoice, amount)
            if amount <= 0 or reserved.get(invoice_id, ZERO) + amount > invoice.total:
                raise ValidationError(
                    {"allocations": f"over-allocation of invoice {invoice.number}"}
                )
            reserved[invoice_id] = reserved.get(invoice_id, ZERO) + amount
            allocations.append((payment, invoice, amount))
        new_payments.append(payment)
    Payment.objects.bulk_create(new_payments)
    PaymentAllocation.objects.bulk_create(
        [
            PaymentAllocation(
                organization=organization, payment=payment, invoice=invoice, amount=amount
            )
            for payment, invoice, amount in allocations
        ]
    )
    _recalculate_bulk(organization, locked)
    _record_batch(organization, source, "payment", "payments", new_payments)
    return new_payments


def _credited(invoice_ids: set[int]) -> dict[int, Decimal]:
    return dict(
        InvoiceCredit.objects.filter(invoice_id__in=invoice_ids)
        .values_list("invoice_id")
        .annotate(total=Sum("amount"))
        .values_list("invoice_id", "total")
    )


def _recalculate_bulk(organization: Organization, invoices: dict[int, Invoice]) -> None:
    """invoice_recalculate for many locked invoices at once (one read, one write)."""
    applied = {
        row["invoice_id"]: row
        for row in PaymentAllocation.objects.filter(
            invoice_id__in=list(invoices), payment__status=PaymentStatus.SUCCEEDED
        )
        .values("invoice_id")
        .annotate(total=Sum("amount"), last=Max("payment__received_at"))
    }
    credited = _credited(set(invoices))
    tz = organization.tzinfo
    for pk, invoice in invoices.items():
        row = applied.get(pk, {"total": ZERO, "last": None})
        invoice.balance = invoice.total - (row["total"] or ZERO) - credited.get(pk, ZERO)
        invoice.status = status_for_balance(
            total=invoice.total, balance=invoice.balance, current=invoice.status
        )
        paid = invoice.status == InvoiceStatus.PAID and row["last"]
        invoice.paid_date = row["last"].astimezone(tz).date() if paid else None
        invoice.updated_at = timezone.now()
    Invoice.objects.bulk_update(
        list(invoices.values()), ["balance", "status", "paid_date", "updated_at"], batch_size=2000
    )


@transaction.atomic
def customers_create_external(
    *, organization: Organization, source: str, customers: list[dict[str, Any]]
) -> list[Customer]:
    """Batch twin of customer_upsert_external for customers new to the ledger; each dict
    holds external_id, name and optional email, phone, currency."""
    rows = []
    for fields in customers:
        unknown = set(fields) - {"external_id", "name", "email", "phone", "currency"}
        if unknown:
            raise TypeError(f"unknown customer fields: {', '.join(sorted(unknown))}")
        customer = Customer(organization=organization, source=source, **fields)
        customer.clean_fields(exclude=["organization"])
        rows.append(customer)
    created = Customer.objects.bulk_create(rows)
    _record_batch(organization, source, "customer", "customers", created)
    return created


def credit_reference(source: str, external_id: str) -> str:
    """How a synced credit note's rows are found again: InvoiceCredit.reference."""
    return f"{source}:credit:{external_id}"[:128]


@transaction.atomic
def credit_note_upsert_external(
    *,
    organization: Organization,
    source: str,
    external_id: str,
    allocations: Iterable[tuple[Invoice, Decimal]],
    reason: str = "",
) -> str:
    """Make the ledger's credits of one synced credit note exactly ``allocations`` (invoice,
    amount applied to it). An empty list (a voided or deleted credit note, or one not yet
    allocated) removes its credits, so the invoices' balances come back; the audit trail
    keeps what was there. Answers created / updated / unchanged / voided."""
    wanted = _wanted_allocations(allocations)
    for invoice, amount in wanted.values():
        if invoice.organization_id != organization.id:
            raise ValidationError({"invoice": "invoice belongs to another organization"})
        if amount <= 0:
            raise ValidationError({"amount": f"credit note {external_id}: amount must be positive"})
    reference = credit_reference(source, external_id)
    current = {
        credit.invoice_id: credit
        for credit in InvoiceCredit.objects.select_for_update().filter(
            organization=organization, reference=reference
        )
    }
    if {pk: c.amount for pk, c in current.items()} == {pk: a for pk, (_, a) in wanted.items()}:
        return UNCHANGED
    locked = _lock_invoices(Invoice(pk=pk) for pk in set(current) | set(wanted))
    before = {str(locked[pk].number): str(c.amount) for pk, c in current.items()}
    # Drop or shrink first, so moving a credit between invoices never over-credits one.
    for invoice_id, credit in current.items():
        if invoice_id not in wanted or wanted[invoice_id][1] != credit.amount:
            credit.delete()
    for invoice_id, (_, amount) in wanted.items():
        if invoice_id in current and current[invoice_id].amount == amount:
            continue
        invoice = locked[invoice_id]
        if invoice.status == InvoiceStatus.VOID:
            raise ValidationError({"invoice": f"credit on the void invoice {invoice.number}"})
        InvoiceCredit.objects.create(
            organization=organization,
            invoice=invoice,
            amount=amount,
            reason=reason[:255],
            reference=reference,
        )
    for invoice in locked.values():
        if invoice.status != InvoiceStatus.VOID:
            invoice_recalculate(invoice=invoice)  # raises if the credit over-pays it
    action = CREATED if not current else (VOIDED if not wanted else UPDATED)
    audit_record(
        organization=organization,
        action=f"invoice.sync_credit_{action}",
        object_type="credit_note",
        object_code=reference,
        before={"credits": before},
        after={"credits": {str(inv.number): str(a) for inv, a in wanted.values()}},
    )
    return action
