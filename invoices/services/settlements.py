"""Settlement batches: a processor payout or bank deposit and the payments it carries.

A payment's reconciliation status moves here to SETTLED when its batch settles, and back
(to RECONCILED or PENDING) when a batch is voided. One transaction and one audit entry per
write; ``settlement.settled`` goes to the outbox when a batch settles.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from invoices.models import (
    BATCH_SOURCES,
    ZERO,
    Payment,
    PaymentStatus,
    ReconciliationStatus,
    SettlementBatch,
    SettlementKind,
    SettlementSource,
    SettlementStatus,
)
from paypredict_project.audit import audit_record, model_update, snapshot
from paypredict_project.events.services import event_record
from paypredict_project.tenancy.models import Organization

CENT = Decimal("0.01")
# Fields a stream or an import may change on an existing batch (status moves have services).
UPDATABLE_FIELDS = (
    "kind",
    "processor",
    "reference",
    "gross",
    "fees",
    "net",
    "expected_settle_date",
)


def _money(name: str, value: Any, errors: dict[str, str]) -> Decimal | None:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        errors[name] = f"{value!r} is not an amount"
        return None
    if not amount.is_finite():
        errors[name] = f"{value!r} is not an amount"
        return None
    if amount < 0:
        errors[name] = "must not be negative"
        return None
    if amount != amount.quantize(CENT):
        errors[name] = "must have at most two decimal places"
        return None
    return amount.quantize(CENT)


def _amounts(gross: Any, fees: Any, net: Any) -> tuple[Decimal, Decimal, Decimal]:
    """gross, fees and net, checked together: net is gross less fees (derived when absent)."""
    errors: dict[str, str] = {}
    gross_value = _money("gross", gross, errors)
    fees_value = _money("fees", fees, errors)
    net_value = None if net is None else _money("net", net, errors)
    if gross_value is not None and fees_value is not None:
        if fees_value > gross_value:
            errors["fees"] = f"fees {fees_value} exceed the gross {gross_value}"
        elif net_value is not None and net_value != gross_value - fees_value:
            errors["net"] = (
                f"net {net_value} is not gross {gross_value} less fees {fees_value} "
                f"({gross_value - fees_value})"
            )
    if errors:
        raise ValidationError(errors)
    assert gross_value is not None and fees_value is not None
    return gross_value, fees_value, gross_value - fees_value


def _check_settled_at(settled_at: dt.datetime | None) -> None:
    if settled_at is None:
        return
    if not isinstance(settled_at, dt.datetime) or settled_at.tzinfo is None:
        raise ValidationError({"settled_at": "settled_at must be a datetime with a time zone"})


def _check_payments(batch: SettlementBatch, payments: list[Payment]) -> None:
    problems = []
    for payment in payments:
        label = f"payment {payment.code}"
        if payment.organization_id != batch.organization_id:
            problems.append(f"{label} belongs to another organization")
        elif payment.currency != batch.currency:
            problems.append(f"{label} is in {payment.currency}, the batch in {batch.currency}")
        elif payment.status != PaymentStatus.SUCCEEDED:
            problems.append(f"{label} is {payment.status}; only succeeded payments settle")
        elif payment.settlement_batch_id not in (None, batch.pk):
            problems.append(f"{label} is already in another settlement batch")
    if problems:
        raise ValidationError({"payments": problems})


def _settle_payments(batch: SettlementBatch) -> int:
    return Payment.objects.filter(settlement_batch=batch).update(
        reconciliation_status=ReconciliationStatus.SETTLED, updated_at=timezone.now()
    )


def _attach(batch: SettlementBatch, payments: list[Payment]) -> None:
    _check_payments(batch, payments)
    # Lock in key order so two batches claiming the same payments cannot deadlock.
    ids = sorted(p.pk for p in payments)
    locked = list(Payment.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    _check_payments(batch, locked)
    status_update: dict[str, Any] = {}
    if batch.status == SettlementStatus.SETTLED:
        status_update["reconciliation_status"] = ReconciliationStatus.SETTLED
    Payment.objects.filter(pk__in=ids).update(
        settlement_batch=batch, updated_at=timezone.now(), **status_update
    )


def _settled_event(batch: SettlementBatch) -> None:
    event_record(
        organization=batch.organization,
        type="settlement.settled",
        entity_id=batch.code,
        payload={
            "code": batch.code,
            "processor": batch.processor,
            "net": str(batch.net),
            "currency": batch.currency,
            "gross": str(batch.gross),
            "fees": str(batch.fees),
            "reference": batch.reference,
            "payments": batch.payments.count(),
        },
        occurred_at=batch.settled_at,
    )


@transaction.atomic
def settlement_batch_create(
    *,
    organization: Organization,
    processor: str,
    gross: Decimal,
    expected_settle_date: dt.date,
    fees: Decimal = ZERO,
    net: Decimal | None = None,
    currency: str | None = None,
    kind: str = SettlementKind.PAYOUT,
    reference: str = "",
    source: str = SettlementSource.MANUAL,
    external_id: str = "",
    settled_at: dt.datetime | None = None,
    payments: Iterable[Payment] = (),
) -> SettlementBatch:
    """A new batch; with ``settled_at`` it is settled at once and its payments become SETTLED."""
    if source not in BATCH_SOURCES:
        raise ValidationError({"source": f"{source!r} is not a settlement batch source"})
    gross, fees, net = _amounts(gross, fees, net)
    _check_settled_at(settled_at)
    batch = SettlementBatch(
        organization=organization,
        kind=kind,
        processor=processor.strip(),
        reference=reference,
        currency=(currency or organization.base_currency).upper(),
        gross=gross,
        fees=fees,
        net=net,
        expected_settle_date=expected_settle_date,
        settled_at=settled_at,
        status=SettlementStatus.SETTLED if settled_at else SettlementStatus.PENDING,
        source=source,
        external_id=external_id,
    )
    batch.full_clean()
    batch.save()
    _attach(batch, list(payments))
    audit_record(
        organization=organization,
        action="settlement.create",
        instance=batch,
        after={**snapshot(batch), "payments": [str(p.code) for p in payments]},
    )
    if batch.status == SettlementStatus.SETTLED:
        _settled_event(batch)
    return batch


@transaction.atomic
def settlement_batch_update(*, batch: SettlementBatch, fields: dict[str, Any]) -> SettlementBatch:
    """Change a batch's details (a corrected payout from the stream or an import)."""
    unknown = sorted(set(fields) - set(UPDATABLE_FIELDS))
    if unknown:
        raise ValidationError({name: "cannot be changed on a batch" for name in unknown})
    batch = SettlementBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.status == SettlementStatus.VOID:
        raise ValidationError({"status": "a void settlement batch cannot change"})
    changes = dict(fields)
    if {"gross", "fees", "net"} & set(changes):
        gross, fees, net = _amounts(
            changes.get("gross", batch.gross),
            changes.get("fees", batch.fees),
            changes.get("net"),
        )
        changes.update(gross=gross, fees=fees, net=net)
    model_update(instance=batch, fields=changes, action="settlement.update")
    return batch


@transaction.atomic
def settlement_batch_add_payments(
    *, batch: SettlementBatch, payments: Iterable[Payment]
) -> SettlementBatch:
    """Put payments in a batch (settled at once if the batch already is)."""
    batch = SettlementBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.status == SettlementStatus.VOID:
        raise ValidationError({"status": "a void settlement batch takes no payments"})
    payments = list(payments)
    _attach(batch, payments)
    audit_record(
        organization=batch.organization,
        action="settlement.add_payments",
        instance=batch,
        after={"payments": [str(p.code) for p in payments]},
    )
    return batch


@transaction.atomic
def settlement_batch_settle(
    *, batch: SettlementBatch, settled_at: dt.datetime | None = None
) -> SettlementBatch:
    """The money landed: the batch and every payment in it become SETTLED."""
    settled_at = settled_at or timezone.now()
    _check_settled_at(settled_at)
    batch = (
        SettlementBatch.objects.select_for_update().select_related("organization").get(pk=batch.pk)
    )
    if batch.status != SettlementStatus.PENDING:
        raise ValidationError({"status": f"a {batch.status} settlement batch cannot settle"})
    model_update(
        instance=batch,
        fields={"status": SettlementStatus.SETTLED, "settled_at": settled_at},
        action="settlement.settle",
    )
    _settle_payments(batch)
    _settled_event(batch)
    return batch


@transaction.atomic
def settlement_batch_void(*, batch: SettlementBatch) -> SettlementBatch:
    """Withdrawn at the source: the batch is kept as void and its payments released
    (back to RECONCILED if they were matched, else PENDING)."""
    batch = SettlementBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.status == SettlementStatus.VOID:
        return batch
    model_update(instance=batch, fields={"status": SettlementStatus.VOID}, action="settlement.void")
    released = Payment.objects.filter(settlement_batch=batch)
    now = timezone.now()
    released.filter(reconciled_at__isnull=False).update(
        settlement_batch=None, reconciliation_status=ReconciliationStatus.RECONCILED, updated_at=now
    )
    released.filter(Q(reconciled_at__isnull=True)).update(
        settlement_batch=None, reconciliation_status=ReconciliationStatus.PENDING, updated_at=now
    )
    return batch


@transaction.atomic
def settlement_batch_upsert(
    *, organization: Organization, source: str, external_id: str, **fields: Any
) -> tuple[SettlementBatch, bool]:
    """Create or update the batch known upstream as ``external_id`` (a change stream or an
    import applying the same row twice changes nothing). ``settled_at`` settles it;
    ``payments`` adds to it. Returns (batch, created)."""
    if not external_id:
        raise ValidationError({"external_id": "an upsert needs the source's id"})
    existing = (
        SettlementBatch.objects.select_for_update()
        .filter(organization=organization, source=source, external_id=external_id)
        .first()
    )
    if existing is None:
        batch = settlement_batch_create(
            organization=organization, source=source, external_id=external_id, **fields
        )
        return batch, True
    settled_at = fields.pop("settled_at", None)
    payments = list(fields.pop("payments", ()))
    fields.pop("currency", None)  # a batch keeps its currency
    changes = {k: v for k, v in fields.items() if getattr(existing, k) != v}
    if changes:
        existing = settlement_batch_update(batch=existing, fields=changes)
    if payments:
        existing = settlement_batch_add_payments(batch=existing, payments=payments)
    if settled_at and existing.status == SettlementStatus.PENDING:
        existing = settlement_batch_settle(batch=existing, settled_at=settled_at)
    return existing, False
