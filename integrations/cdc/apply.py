"""Apply change events to the ledger: per source key in order, idempotently.

Per (organization, table, primary key) ``ChangeKey`` holds the last applied position
(source LSN, then ts_ms). An event at or before it changes nothing, so a replayed, duplicated
or late event is harmless and the result depends only on the newest event of each key. The
ledger payment is then derived from the newest rows of its ``payments`` key and its
``refunds`` keys, so refunds and payments may arrive in either order. A delete voids the
payment (status refunded, allocations removed), never deletes it. Everything we cannot read
or map goes to ``DeadLetter`` with the reason, and the stream moves on.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from integrations.cdc.envelope import BadEvent, ChangeEvent, Tombstone, parse_record
from integrations.cdc.mapping import MAPPINGS
from integrations.models import ChangeKey, DeadLetter
from invoices.models import Customer, Invoice, Source
from invoices.services.external import payment_upsert_external, payment_void_external
from paypredict_project.tenancy.models import Organization

APPLIED, STALE, TOMBSTONE, IGNORED, DEAD = "applied", "stale", "tombstone", "ignored", "dead"


def _text(raw: Any) -> str:
    if raw is None:
        return ""
    if isinstance(raw, bytes):
        return raw.decode("utf-8", "replace")
    if isinstance(raw, str):
        return raw
    return json.dumps(raw, default=str)


def dead_letter(
    organization: Organization, key: Any, value: Any, table: str, reason: str
) -> DeadLetter:
    return DeadLetter.objects.create(
        organization=organization,
        table=table[:64],
        key=_text(key),
        value=_text(value),
        reason=reason,
    )


def apply_record(organization: Organization, key: Any, value: Any, table: str = "") -> str:
    """Apply one stream record; answer applied, stale, tombstone, ignored or dead."""
    try:
        event = parse_record(key, value, table)
    except BadEvent as exc:
        dead_letter(organization, key, value, table, str(exc))
        return DEAD
    if isinstance(event, Tombstone):
        # Debezium's marker for log compaction after a delete; the delete itself was applied.
        return TOMBSTONE
    if event.op in ("t", "m"):
        # Truncates need a manual reconcile; logical-decoding messages are not used.
        return IGNORED
    if event.table not in MAPPINGS:
        dead_letter(organization, key, value, event.table, f"no mapping for table {event.table!r}")
        return DEAD
    try:
        with transaction.atomic():
            return _apply(organization, event)
    except (BadEvent, ValidationError) as exc:
        reason = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        dead_letter(organization, key, value, event.table, reason)
        return DEAD


def _key_id(event: ChangeEvent) -> str:
    key = json.loads(event.key)
    if isinstance(key, dict) and len(key) == 1:
        return str(next(iter(key.values())))
    return event.key


def _apply(organization: Organization, event: ChangeEvent) -> str:
    ChangeKey.objects.bulk_create(
        [ChangeKey(organization=organization, table=event.table, key=event.key, op="")],
        ignore_conflicts=True,
    )
    mark = ChangeKey.objects.select_for_update().get(
        organization=organization, table=event.table, key=event.key
    )
    if mark.op and event.position <= (mark.lsn, mark.ts_ms):
        return STALE
    normalize, link = MAPPINGS[event.table]
    if event.op == "d":
        if not mark.payment_external_id and event.table == "payments":
            mark.payment_external_id = _key_id(event)
        elif not mark.payment_external_id and event.before and event.before.get(link):
            mark.payment_external_id = str(event.before[link])
    else:
        mark.row = normalize(event.after)
        mark.payment_external_id = mark.row[link]
    mark.lsn, mark.ts_ms, mark.op = event.position[0], event.position[1], event.op
    mark.save()
    if mark.payment_external_id:
        sync_payment(organization, mark.payment_external_id)
    return APPLIED


def _customer(organization: Organization, ref: str) -> Customer:
    customers = Customer.objects.filter(organization=organization)
    customer = customers.filter(external_id=ref).first()
    if customer is None:
        try:
            customer = customers.filter(code=uuid.UUID(ref)).first()
        except ValueError:
            customer = None
    if customer is None:
        raise BadEvent(f"customer {ref!r} matches no customer's external id or code")
    return customer


def _allocations(
    organization: Organization, refs: list[list[str | None]], amount: Decimal
) -> list[tuple[Invoice, Decimal]]:
    numbers = [number for number, _ in refs]
    invoices = {
        i.number: i for i in Invoice.objects.filter(organization=organization, number__in=numbers)
    }
    missing = [n for n in numbers if n not in invoices]
    if missing:
        raise BadEvent(f"invoice {', '.join(missing)} not found")
    return [(invoices[n], Decimal(a) if a is not None else amount) for n, a in refs]


def _refunded(organization: Organization, payment_id: str, amount: Decimal) -> bool:
    """A live, succeeded refund of the whole amount refunds the payment (the ledger has no
    partial refunds yet: a partial one is kept on its ChangeKey only)."""
    refunds = ChangeKey.objects.filter(
        organization=organization, table="refunds", payment_external_id=payment_id
    ).exclude(op__in=("d", ""))
    return any(
        r.row and r.row["status"] == "succeeded" and Decimal(r.row["amount"]) >= amount
        for r in refunds
    )


def sync_payment(organization: Organization, payment_id: str) -> None:
    """Make the ledger payment match the newest source rows of its key and its refunds."""
    mark = ChangeKey.objects.filter(
        organization=organization, table="payments", payment_external_id=payment_id
    ).first()
    if mark is None or (mark.op != "d" and mark.row is None):
        return  # a refund seen before its payment: applied when the payment arrives
    if mark.op == "d":
        payment_void_external(
            organization=organization, source=Source.STREAM, external_id=payment_id
        )
        return
    row = mark.row
    amount = Decimal(row["amount"])
    customer = _customer(organization, row["customer_ref"])
    status = "refunded" if _refunded(organization, payment_id, amount) else row["status"]
    payment_upsert_external(
        organization=organization,
        source=Source.STREAM,
        external_id=payment_id,
        customer=customer,
        amount=amount,
        currency=row["currency"] or customer.currency,
        received_at=dt.datetime.fromisoformat(row["received_at"]),
        reference=row["reference"],
        allocations=_allocations(organization, row["invoice_refs"], amount),
        status=status,
        method=row["method"],
        processor=row["processor"],
        failure_code=row["failure_code"] if status == "failed" else "",
    )
