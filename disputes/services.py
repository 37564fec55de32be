"""Writes to disputes. The dashboard, the API, the inbound e-mail webhook, tasks and commands
call these; nothing else writes a Dispute.

Every function is one transaction: the dispute row, its event, the invoice's disputed flag
and any ledger effect of a resolution (credit note, payment applied, write-off) commit
together or not at all. Ledger changes go through ``invoices.services`` only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from disputes.models import (
    ACTIVE_STATUSES,
    Dispute,
    DisputeChannel,
    DisputeEvent,
    DisputeSlaPolicy,
    DisputeStatus,
    ResolutionKind,
)
from invoices import services as ledger
from invoices.models import Customer, Invoice, Payment
from ml.dispute_labels import DISPUTE_LABELS
from paypredict_project.audit import audit_record
from paypredict_project.tenancy.models import Organization

# Hours to resolve, per category, unless the organization sets its own (DisputeSlaPolicy).
# Money-moving categories get longer; a missing document is quick to fix.
DEFAULT_SLA_HOURS: dict[str, int] = {
    "pricing_error": 120,
    "quantity_mismatch": 120,
    "damaged_or_defective": 168,
    "not_received": 72,
    "duplicate_billing": 48,
    "already_paid": 48,
    "tax_or_fees": 120,
    "terms_or_discount": 120,
    "late_delivery": 168,
    "billing_details": 48,
}
# Before the classifier has spoken, the clock runs on the shortest default.
UNCLASSIFIED_SLA_HOURS = min(DEFAULT_SLA_HOURS.values())

# Resolutions that lower the invoice balance by the resolution amount (a credit note).
CREDITING_RESOLUTIONS = (ResolutionKind.CREDIT_NOTE, ResolutionKind.PRICE_ADJUSTMENT)


def sla_hours(*, organization: Organization, category: str) -> int:
    if not category:
        return UNCLASSIFIED_SLA_HOURS
    policy = DisputeSlaPolicy.objects.filter(organization=organization, category=category).first()
    return policy.hours if policy else DEFAULT_SLA_HOURS[category]


def _sla_due(dispute: Dispute) -> dt.datetime:
    hours = sla_hours(organization=dispute.organization, category=dispute.effective_category)
    return dispute.opened_at + dt.timedelta(hours=hours)


def _actor_label(user) -> str:
    return getattr(user, "email", "") or (str(user) if user else "system")


def _event(dispute: Dispute, action: str, user=None, **detail: Any) -> None:
    DisputeEvent.objects.create(
        organization_id=dispute.organization_id,
        dispute=dispute,
        actor=user if getattr(user, "pk", None) else None,
        actor_label=_actor_label(user),
        action=action,
        detail={k: (str(v) if isinstance(v, Decimal) else v) for k, v in detail.items()},
    )
    audit_record(
        organization=dispute.organization,
        action=f"dispute.{action}",
        instance=dispute,
        after={k: (str(v) if isinstance(v, Decimal) else v) for k, v in detail.items()},
    )


def _check_category(category: str, field: str = "category") -> None:
    if category and category not in DISPUTE_LABELS:
        raise ValidationError({field: f"unknown category {category!r}"})


def _lock(dispute: Dispute) -> Dispute:
    # Lock the dispute row only (invoice and customer may be null: no outer-join lock).
    return (
        Dispute.objects.select_for_update(of=("self",))
        .select_related("organization", "invoice", "customer")
        .get(pk=dispute.pk)
    )


def _require_active(dispute: Dispute, action: str) -> None:
    if not dispute.is_active:
        raise ValidationError(
            {"status": f"a {dispute.get_status_display().lower()} dispute cannot be {action}"}
        )


def _attach_invoice(dispute: Dispute, invoice: Invoice) -> None:
    """Link and flag the invoice; the partial unique index refuses a second active one."""
    if invoice.organization_id != dispute.organization_id:
        raise ValidationError({"invoice": "invoice belongs to another organization"})
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    other = Dispute.objects.filter(invoice=invoice, status__in=ACTIVE_STATUSES).exclude(
        pk=dispute.pk
    )
    if other.exists():
        raise ValidationError(
            {"invoice": f"invoice {invoice.number} already has an open dispute; update that one"}
        )
    dispute.invoice = invoice
    dispute.customer_id = invoice.customer_id
    if not dispute.currency:
        dispute.currency = invoice.currency
    if dispute.amount is not None and dispute.amount > invoice.total:
        raise ValidationError(
            {
                "amount": f"disputed amount {dispute.amount} exceeds "
                f"the invoice total {invoice.total}"
            }
        )
    ledger.invoice_set_disputed(invoice=invoice, disputed=True)


def _enqueue_classification(dispute: Dispute) -> None:
    from disputes.tasks import classify_disputes

    transaction.on_commit(lambda: classify_disputes.delay([dispute.pk]))


@transaction.atomic
def dispute_open(
    *,
    organization: Organization,
    text: str,
    channel: str = DisputeChannel.DASHBOARD,
    invoice: Invoice | None = None,
    customer: Customer | None = None,
    amount: Decimal | None = None,
    currency: str = "",
    category: str = "",
    subject: str = "",
    sender: str = "",
    opened_at: dt.datetime | None = None,
    user=None,
    classify: bool = True,
) -> Dispute:
    """Open a dispute (linked to an invoice, or unlinked for a collector to link) and set the
    invoice's disputed flag. A category given by staff counts as confirmed."""
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "describe the dispute"})
    if channel not in DisputeChannel.values:
        raise ValidationError({"channel": f"unknown channel {channel!r}"})
    _check_category(category)
    if amount is not None and Decimal(amount) < 0:
        raise ValidationError({"amount": "a disputed amount cannot be negative"})
    if customer is not None and customer.organization_id != organization.id:
        raise ValidationError({"customer": "customer belongs to another organization"})
    now = timezone.now()
    dispute = Dispute(
        organization=organization,
        customer=customer,
        channel=channel,
        subject=subject[:255],
        sender=sender[:255],
        text=text,
        amount=Decimal(amount).quantize(Decimal("0.01")) if amount is not None else None,
        currency=(currency or "").upper(),
        category=category,
        category_confirmed_by=user if category and getattr(user, "pk", None) else None,
        category_confirmed_at=now if category else None,
        opened_at=opened_at or now,
    )
    if invoice is not None:
        if customer is not None and invoice.customer_id != customer.pk:
            raise ValidationError({"customer": "the invoice belongs to another customer"})
        _attach_invoice(dispute, invoice)
    dispute.sla_due_at = _sla_due(dispute)
    dispute.full_clean(exclude=["invoice", "customer", "organization"])
    try:
        with transaction.atomic():
            dispute.save()
    except IntegrityError:
        # Two collectors opening one at the same moment: the index decides, the error says so.
        raise ValidationError({"invoice": "this invoice already has an open dispute"}) from None
    _event(
        dispute,
        "open",
        user,
        channel=channel,
        invoice=invoice.number if invoice else None,
        amount=dispute.amount,
        category=category or None,
    )
    if classify:
        _enqueue_classification(dispute)
    return dispute


@transaction.atomic
def dispute_link_invoice(*, dispute: Dispute, invoice: Invoice, user=None) -> Dispute:
    """Link an unlinked dispute (e.g. from e-mail) to its invoice."""
    dispute = _lock(dispute)
    _require_active(dispute, "linked")
    if dispute.invoice_id is not None:
        raise ValidationError({"invoice": "this dispute is already linked to an invoice"})
    _attach_invoice(dispute, invoice)
    dispute.save(update_fields=["invoice", "customer", "currency", "updated_at"])
    _event(dispute, "link", user, invoice=invoice.number)
    return dispute


@transaction.atomic
def dispute_record_classifications(
    *, results: Iterable[tuple[Dispute, Any]], model_version: str, threshold: float
) -> int:
    """Store the classifier's answers (objects with label, confidence, top3). Below the
    threshold a dispute keeps ``needs_review``; the SLA follows the predicted category
    unless staff already confirmed one."""
    now = timezone.now()
    count = 0
    for dispute, prediction in results:
        dispute = _lock(dispute)
        dispute.predicted_category = prediction.label
        dispute.confidence = round(float(prediction.confidence), 4)
        dispute.top3 = prediction.top3
        dispute.model_version = model_version
        dispute.classified_at = now
        dispute.needs_review = not dispute.category and prediction.confidence < threshold
        if dispute.is_active:
            dispute.sla_due_at = _sla_due(dispute)
        dispute.save()
        _event(
            dispute,
            "classify",
            None,
            category=prediction.label,
            confidence=dispute.confidence,
            model_version=model_version,
            needs_review=dispute.needs_review,
        )
        count += 1
    return count


@transaction.atomic
def dispute_confirm_category(*, dispute: Dispute, category: str, user=None) -> Dispute:
    """Staff confirm (same as predicted) or correct (different) the category; the learning
    loop trains on these."""
    if category not in DISPUTE_LABELS:
        raise ValidationError({"category": f"unknown category {category!r}"})
    dispute = _lock(dispute)
    previous = dispute.effective_category
    dispute.category = category
    dispute.category_confirmed_by = user if getattr(user, "pk", None) else None
    dispute.category_confirmed_at = timezone.now()
    dispute.needs_review = False
    if dispute.is_active:
        dispute.sla_due_at = _sla_due(dispute)
    dispute.save()
    action = "confirm" if category == dispute.predicted_category else "correct"
    _event(dispute, action, user, category=category, previous=previous or None)
    return dispute


@transaction.atomic
def dispute_assign(*, disputes: Iterable[Dispute], assignee, user=None) -> int:
    """Assign (or unassign with ``assignee=None``) active disputes; an open one moves to
    in review. Closed disputes in the selection are refused, naming them."""
    locked = [_lock(d) for d in sorted(disputes, key=lambda d: d.pk)]
    closed = [str(d.code) for d in locked if not d.is_active]
    if closed:
        raise ValidationError({"disputes": f"closed disputes cannot be assigned: {closed}"})
    for dispute in locked:
        if (
            assignee is not None
            and not assignee.memberships.filter(organization_id=dispute.organization_id).exists()
        ):
            raise ValidationError({"assignee": "the assignee is not a member of this organization"})
        dispute.assignee = assignee
        if assignee is not None and dispute.status == DisputeStatus.OPEN:
            dispute.status = DisputeStatus.IN_REVIEW
        dispute.save(update_fields=["assignee", "status", "updated_at"])
        _event(dispute, "assign", user, assignee=_actor_label(assignee) if assignee else None)
    return len(locked)


def _close(dispute: Dispute, status: str, at: dt.datetime | None = None) -> None:
    dispute.status = status
    dispute.resolved_at = at or timezone.now()
    if dispute.invoice_id is not None:
        still_open = (
            Dispute.objects.filter(invoice_id=dispute.invoice_id, status__in=ACTIVE_STATUSES)
            .exclude(pk=dispute.pk)
            .exists()
        )
        if not still_open:
            ledger.invoice_set_disputed(invoice=dispute.invoice, disputed=False)


def _payment_unapplied(payment: Payment) -> Decimal:
    applied = payment.allocations.aggregate(total=Sum("amount"))["total"] or Decimal("0")
    return payment.amount - applied


def _resolve_on_ledger(
    dispute: Dispute, resolution: str, amount: Decimal | None, payment: Payment | None
) -> Decimal | None:
    """Apply the resolution to the ledger; returns the amount it moved."""
    invoice = dispute.invoice
    if resolution in CREDITING_RESOLUTIONS:
        if amount is None or amount <= 0:
            raise ValidationError({"amount": "a credit needs a positive amount"})
        ledger.invoice_credit_note(
            invoice=invoice,
            amount=amount,
            reason=f"Dispute resolved: {ResolutionKind(resolution).label}",
            reference=f"dispute:{dispute.code}",
        )
        return amount
    if resolution == ResolutionKind.PAYMENT_APPLIED:
        if payment is None:
            raise ValidationError({"payment": "choose the payment to apply"})
        if payment.organization_id != dispute.organization_id:
            raise ValidationError({"payment": "payment belongs to another organization"})
        if amount is None:
            amount = min(invoice.balance, _payment_unapplied(payment))
        ledger.payment_allocate(payment=payment, invoice=invoice, amount=amount)
        return amount
    if resolution == ResolutionKind.WRITTEN_OFF:
        amount = Invoice.objects.get(pk=invoice.pk).balance
        ledger.invoice_write_off(invoice=invoice)
    return amount


@transaction.atomic
def dispute_resolve(
    *,
    dispute: Dispute,
    resolution: str,
    amount: Decimal | None = None,
    note: str = "",
    payment: Payment | None = None,
    user=None,
    at: dt.datetime | None = None,
) -> Dispute:
    """Resolve: the ledger effect (credit note, payment applied, write-off) and the status
    change commit together; the invoice's disputed flag clears with the last open one.
    ``at`` back-dates the resolution time (demo history only; default now)."""
    if resolution not in ResolutionKind.values:
        raise ValidationError({"resolution": f"unknown resolution {resolution!r}"})
    dispute = _lock(dispute)
    _require_active(dispute, "resolved")
    amount = Decimal(amount).quantize(Decimal("0.01")) if amount is not None else None
    if amount is not None and amount < 0:
        raise ValidationError({"amount": "must not be negative"})
    if dispute.invoice_id is None and resolution not in (
        ResolutionKind.DOCUMENTS_SENT,
        ResolutionKind.REPLACEMENT,
    ):
        raise ValidationError({"invoice": "link the dispute to its invoice first"})
    if dispute.invoice_id is not None:
        amount = _resolve_on_ledger(dispute, resolution, amount, payment)
    dispute.resolution = resolution
    dispute.resolution_amount = amount
    dispute.resolution_note = note
    _close(dispute, DisputeStatus.RESOLVED, at)
    dispute.save()
    _event(
        dispute,
        "resolve",
        user,
        resolution=resolution,
        amount=amount,
        payment=str(payment.code) if payment else None,
        note=note or None,
    )
    return dispute


@transaction.atomic
def dispute_reject(
    *, dispute: Dispute, reason: str, user=None, at: dt.datetime | None = None
) -> Dispute:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "say why the dispute is rejected"})
    dispute = _lock(dispute)
    _require_active(dispute, "rejected")
    dispute.rejection_reason = reason
    _close(dispute, DisputeStatus.REJECTED, at)
    dispute.save()
    _event(dispute, "reject", user, reason=reason)
    return dispute


@transaction.atomic
def dispute_store_suggestion(*, dispute: Dispute, suggestion: dict[str, Any]) -> Dispute:
    dispute = _lock(dispute)
    dispute.suggestion = suggestion
    dispute.save(update_fields=["suggestion", "updated_at"])
    return dispute


@transaction.atomic
def dispute_sla_set(*, organization: Organization, category: str, hours: int) -> None:
    """Set an organization's SLA for one category; open disputes of it get the new clock."""
    if category not in DISPUTE_LABELS:
        raise ValidationError({"category": f"unknown category {category!r}"})
    if hours <= 0:
        raise ValidationError({"hours": "must be positive"})
    DisputeSlaPolicy.objects.update_or_create(
        organization=organization, category=category, defaults={"hours": hours}
    )
    for dispute in Dispute.objects.filter(
        organization=organization, status__in=ACTIVE_STATUSES
    ).select_related("organization"):
        if dispute.effective_category == category:
            dispute.sla_due_at = _sla_due(dispute)
            dispute.save(update_fields=["sla_due_at", "updated_at"])


DEMO_RESOLUTIONS = {
    "voided": ResolutionKind.CREDIT_NOTE,
    "short_paid": ResolutionKind.WRITTEN_OFF,
    "paid_in_full": ResolutionKind.DOCUMENTS_SENT,
}


@transaction.atomic
def disputes_import_demo(*, organization: Organization) -> int:
    """Turn the demo generator's dispute notes (``Invoice.attributes["dispute"]``) into
    Dispute rows, once per invoice. The generator's category is kept only as
    ``demo_category`` (ground truth for evaluation), never as a confirmed label. The ledger
    already carries the history (flags, voids, short payments), so rows are bulk-written."""
    done = set(
        Dispute.objects.filter(organization=organization, channel=DisputeChannel.DEMO).values_list(
            "invoice_id", flat=True
        )
    )
    invoices = Invoice.objects.filter(
        organization=organization, attributes__has_key="dispute"
    ).only("pk", "customer_id", "currency", "attributes")
    tz = organization.tzinfo
    rows = []
    for invoice in invoices.iterator(chunk_size=2000):
        if invoice.pk in done:
            continue
        note = invoice.attributes["dispute"]
        opened = dt.datetime.combine(dt.date.fromisoformat(note["opened_on"]), dt.time(9), tz)
        resolved = note.get("status") == "resolved"
        category = note.get("category", "")
        rows.append(
            Dispute(
                organization=organization,
                invoice_id=invoice.pk,
                customer_id=invoice.customer_id,
                channel=DisputeChannel.DEMO,
                text=note["text"],
                amount=Decimal(str(note["amount"])) if note.get("amount") else None,
                currency=invoice.currency,
                demo_category=category,
                status=DisputeStatus.RESOLVED if resolved else DisputeStatus.OPEN,
                resolution=DEMO_RESOLUTIONS.get(note.get("resolution") or "", ""),
                resolution_note="demo history" if resolved else "",
                opened_at=opened,
                resolved_at=(
                    dt.datetime.combine(dt.date.fromisoformat(note["resolved_on"]), dt.time(17), tz)
                    if resolved and note.get("resolved_on")
                    else None
                ),
                sla_due_at=opened + dt.timedelta(hours=UNCLASSIFIED_SLA_HOURS),
            )
        )
    Dispute.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


# How a team that works its queue settles old disputes, per (demo ground-truth) category:
# (resolution, whether it credits the disputed amount) or a rejection reason. Demo history
# only: these rows are never confirmed labels, so nothing here reaches the classifier.
DEMO_SETTLEMENTS: dict[str, tuple[str, str]] = {
    "pricing_error": ("resolve", ResolutionKind.PRICE_ADJUSTMENT),
    "quantity_mismatch": ("resolve", ResolutionKind.CREDIT_NOTE),
    "damaged_or_defective": ("resolve", ResolutionKind.REPLACEMENT),
    "not_received": ("resolve", ResolutionKind.DOCUMENTS_SENT),
    "duplicate_billing": ("reject", "Two separate deliveries; both delivery notes sent."),
    "already_paid": ("reject", "No matching payment received; remittance advice requested."),
    "tax_or_fees": ("resolve", ResolutionKind.CREDIT_NOTE),
    "terms_or_discount": ("reject", "Paid after the discount window; terms restated."),
    "late_delivery": ("resolve", ResolutionKind.PRICE_ADJUSTMENT),
    "billing_details": ("resolve", ResolutionKind.DOCUMENTS_SENT),
}
# The live queue: demo disputes opened in the last few days stay open, plus a few older
# ones so that the "SLA breached" filter has something real to show.
DEMO_OPEN_DAYS = 7
DEMO_KEEP_BREACHED = 4


def _demo_settle_one(dispute: Dispute, at: dt.datetime) -> str:
    kind, value = DEMO_SETTLEMENTS.get(dispute.demo_category, ("resolve", "documents_sent"))
    if kind == "reject":
        dispute_reject(dispute=dispute, reason=value, at=at)
        return "rejected"
    amount = None
    if value in CREDITING_RESOLUTIONS:
        balance = Invoice.objects.get(pk=dispute.invoice_id).balance
        amount = min(dispute.amount or Decimal(0), balance)
        if amount <= 0:  # nothing left to credit: the documents settle it
            value, amount = ResolutionKind.DOCUMENTS_SENT, None
    note = "Settled with the customer (demo history)."
    try:
        dispute_resolve(dispute=dispute, resolution=value, amount=amount, note=note, at=at)
    except ValidationError:
        # The invoice can no longer be credited (closed meanwhile): the documents settle it.
        dispute_resolve(dispute=dispute, resolution=ResolutionKind.DOCUMENTS_SENT, note=note, at=at)
    return "resolved"


def disputes_settle_demo_backlog(
    *, organization: Organization, now: dt.datetime | None = None
) -> dict[str, int]:
    """Resolve or reject the demo's old open disputes through the services (credit notes
    reduce balances, the disputed flags clear), leaving a believable open queue: the last
    DEMO_OPEN_DAYS days' disputes and DEMO_KEEP_BREACHED older ones. Each one settles in its
    own transaction, back-dated to within (or a little past) its SLA."""
    now = now or timezone.now()
    old = list(
        Dispute.objects.filter(
            organization=organization,
            channel=DisputeChannel.DEMO,
            status__in=ACTIVE_STATUSES,
            invoice__isnull=False,
            opened_at__lt=now - dt.timedelta(days=DEMO_OPEN_DAYS),
        ).order_by("-opened_at", "pk")
    )
    counts = {"resolved": 0, "rejected": 0, "kept_open": 0}
    for dispute in old[DEMO_KEEP_BREACHED:]:
        hours = sla_hours(organization=organization, category=dispute.demo_category)
        # 40%..130% of the SLA: most settled in time, some late, as in a real team.
        at = min(
            dispute.opened_at + dt.timedelta(hours=hours * (0.4 + (dispute.pk % 10) / 11)), now
        )
        counts[_demo_settle_one(dispute, at)] += 1
    counts["kept_open"] = Dispute.objects.filter(
        organization=organization, channel=DisputeChannel.DEMO, status__in=ACTIVE_STATUSES
    ).count()
    return counts
