"""Load (and replace) an organization's demo data in bulk.

Rows go straight into the ledger tables with PostgreSQL COPY inside one transaction: a
million invoices through the per-row services would take hours. The generator already
computes balance, status and paid date exactly as ``invoice_recalculate`` would (balance =
total minus succeeded allocations; paid date = local date of the last succeeded payment),
and tests/invoices/test_demo.py checks those invariants in SQL over the loaded rows.

Bulk loading sends no ``invoice_changed`` / ``payment_changed`` signals (a million of them
would flood the consumers); like a CSV import it sends one ``ledger_imported`` after commit
(kind "demo"), so consumers refresh in bulk (predictions schedules one debounced
rescoring). Disputes ride in ``Invoice.attributes["dispute"]`` until the disputes app
imports them into its own model.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from invoices.demo import DemoChunk, DemoSpec, exchange_rates, generate
from invoices.models import (
    Customer,
    DemoPaymentAnomaly,
    ExchangeRate,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentAllocation,
    Source,
)
from invoices.signals import ledger_imported
from paypredict_project.audit import audit_record
from paypredict_project.tenancy.models import Organization

EPOCH = np.datetime64("1970-01-01", "D")


@dataclass
class DemoSeedResult:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    as_of: dt.date | None = None
    replaced: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(self.counts.values())


def demo_data_exists(*, organization: Organization) -> bool:
    return (
        Customer.objects.filter(organization=organization, source=Source.DEMO).exists()
        or Invoice.objects.filter(organization=organization, source=Source.DEMO).exists()
        or Payment.objects.filter(organization=organization, source=Source.DEMO).exists()
    )


def demo_seed(
    *,
    organization: Organization,
    customers: int,
    invoices: int,
    seed: int,
    as_of: dt.date | None = None,
    replace: bool = False,
    chunk_customers: int = 1000,
    progress: Callable[[str], None] | None = None,
) -> DemoSeedResult:
    """Generate and COPY two years of demo history for ``organization``.

    Refuses when the organization already has demo rows, unless ``replace`` (which deletes
    them first, in the same transaction).
    """
    started = time.monotonic()
    as_of = as_of or timezone.now().astimezone(organization.tzinfo).date()
    try:
        spec = DemoSpec(
            customers=customers,
            invoices=invoices,
            seed=seed,
            as_of=as_of,
            base_currency=organization.base_currency,
            time_zone=organization.time_zone,
            chunk_customers=chunk_customers,
        )
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc
    result = DemoSeedResult(as_of=as_of)
    counts = dict.fromkeys(
        (
            "customers",
            "invoices",
            "invoice_lines",
            "payments",
            "allocations",
            "planted_anomalies",
            "exchange_rates",
        ),
        0,
    )
    with transaction.atomic():
        # Serialise seeding of one organization: two concurrent runs would both pass the check.
        Organization.objects.select_for_update().filter(pk=organization.pk).first()
        if demo_data_exists(organization=organization):
            if not replace:
                raise ValidationError(
                    f"organization {organization.slug!r} already has demo data; "
                    "pass --replace to delete it and seed again"
                )
            result.replaced = demo_delete(organization=organization)
        with connection.cursor() as cursor:
            counts["exchange_rates"] = _copy_exchange_rates(cursor, organization, spec)
            customer_ids = _reserve_ids(cursor, Customer, customers)
            for chunk in generate(spec):
                for name, n in _copy_chunk(
                    cursor, organization, chunk, customer_ids, as_of=as_of
                ).items():
                    counts[name] += n
                if progress:
                    progress(
                        f"chunk {chunk.index + 1}: {counts['invoices']:,} invoices, "
                        f"{time.monotonic() - started:.1f}s"
                    )
        audit_record(
            organization=organization,
            action="demo.seed",
            object_type="organization",
            object_code=organization.slug,
            after={"seed": seed, "as_of": as_of.isoformat(), "replace": replace, **counts},
        )
        transaction.on_commit(
            lambda: ledger_imported.send(
                sender=demo_seed,
                organization_id=organization.pk,
                kind="demo",
                created=counts["invoices"],
                updated=0,
            )
        )
    result.counts = counts
    result.seconds = time.monotonic() - started
    return result


@transaction.atomic
def demo_delete(*, organization: Organization) -> dict[str, int]:
    """Delete the organization's demo customers, invoices and payments (and what hangs off
    them, following each foreign key's on_delete in SQL). Exchange rates are kept: they
    carry no source and may be shared with real data."""
    deleted: dict[str, int] = {}
    with connection.cursor() as cursor:
        for model in (Payment, Invoice, Customer):
            where = '"organization_id" = %s AND "source" = %s'
            _purge(cursor, model, where, [organization.pk, Source.DEMO], deleted)
    return deleted


# --- COPY --------------------------------------------------------------------------------


def _copy_chunk(
    cursor,
    organization: Organization,
    chunk: DemoChunk,
    customer_ids: np.ndarray,
    *,
    as_of: dt.date,
) -> dict[str, int]:
    moment = timezone.now()
    now = _const(moment.isoformat())
    # Seeding as of today would put some of today's events later than now: cap them at now.
    today = moment.astimezone(organization.tzinfo).date()
    until = int(moment.timestamp()) if as_of == today else None
    org_id = _const(organization.pk)
    demo = _const(Source.DEMO)
    c = chunk.customers
    _copy(
        cursor,
        Customer,
        {
            "id": _ints(customer_ids[c["key"].to_numpy()]),
            "code": _uuids(len(c)),
            "organization_id": org_id,
            "created_at": _stamps(c["created_at"], until=until),
            "updated_at": now,
            "source": demo,
            "name": _text(c["name"]),
            "email": _text(c["email"]),
            "phone": _text(c["phone"]),
            "contacts": _text(c["contacts"]),
            "currency": _text(c["currency"]),
            "payment_terms_days": _ints(c["payment_terms_days"]),
            "credit_limit": _money(c["credit_limit_cents"]),
            "credit_score": _ints(c["credit_score"]),
            "industry": _text(c["industry"]),
            "country": _text(c["country"]),
            "reminder_channel": _text(c["reminder_channel"]),
            "reminder_contact": _text(c["email"]),
            "reminder_language": _text(c["reminder_language"]),
            "do_not_remind": _bools(c["do_not_remind"]),
            "attributes": _text(c["attributes"]),
        },
    )
    inv = chunk.invoices
    invoice_ids = _reserve_ids(cursor, Invoice, len(inv))
    first_key = int(inv["key"].iloc[0]) if len(inv) else 0
    try:
        _copy(
            cursor,
            Invoice,
            {
                "id": _ints(invoice_ids),
                "code": _uuids(len(inv)),
                "organization_id": org_id,
                "created_at": _stamps(inv["created_at"], until=until),
                "updated_at": now,
                "customer_id": _ints(customer_ids[inv["customer"].to_numpy()]),
                "number": _text(inv["number"]),
                "source": demo,
                "issue_date": _days(inv["issue_date"]),
                "due_date": _days(inv["due_date"]),
                "currency": _text(inv["currency"]),
                "subtotal": _money(inv["subtotal_cents"]),
                "tax_total": _money(inv["tax_cents"]),
                "total": _money(inv["total_cents"]),
                "balance": _money(inv["balance_cents"]),
                "status": _text(inv["status"]),
                "disputed": _bools(inv["disputed"]),
                "po_number": _text(inv["po_number"]),
                "payment_terms_days": _ints(inv["payment_terms_days"]),
                "paid_date": _days(inv["paid_date"]),
                "attributes": _text(inv["attributes"]),
            },
        )
    except IntegrityError as exc:
        raise ValidationError(
            f"could not load demo invoices for {organization.slug!r}: {exc}. "
            "Demo invoice numbers (INV-YYYY-NNNNNN) may collide with invoices already there."
        ) from exc
    lines = chunk.lines
    _copy(
        cursor,
        InvoiceLine,
        {
            "invoice_id": _ints(invoice_ids[lines["invoice"].to_numpy() - first_key]),
            "position": _ints(lines["position"]),
            "description": _text(lines["description"]),
            "quantity": _ints(lines["quantity"]),
            "unit_price": _money(lines["unit_price_cents"]),
            "amount": _money(lines["amount_cents"]),
            "tax": _money(lines["tax_cents"]),
        },
    )
    pay = chunk.payments
    payment_ids = _reserve_ids(cursor, Payment, len(pay))
    retry = pay["retry_of"].to_numpy()
    refunded_at = pay["refunded_at"].to_numpy()
    _copy(
        cursor,
        Payment,
        {
            "id": _ints(payment_ids),
            "code": _uuids(len(pay)),
            "organization_id": org_id,
            "created_at": _stamps(pay["received_at"], until=until),
            # A refunded payment was last changed when it was refunded.
            "updated_at": _stamps(
                np.where(refunded_at >= 0, refunded_at, int(moment.timestamp())), until=until
            ),
            "customer_id": _ints(customer_ids[pay["customer"].to_numpy()]),
            "source": demo,
            "amount": _money(pay["amount_cents"]),
            "currency": _text(pay["currency"]),
            "received_at": _stamps(pay["received_at"], until=until),
            "method": _text(pay["method"]),
            "status": _text(pay["status"]),
            "failure_code": _text(pay["failure_code"]),
            "failure_reason": _text(pay["failure_reason"]),
            "processor": _text(pay["processor"]),
            "reference": _text(pay["reference"]),
            "retry_of_id": _ints(np.where(retry >= 0, payment_ids[np.maximum(retry, 0)], -1)),
        },
    )
    alloc = chunk.allocations
    alloc_payment = alloc["payment"].to_numpy()
    _copy(
        cursor,
        PaymentAllocation,
        {
            "organization_id": org_id,
            "payment_id": _ints(payment_ids[alloc_payment]),
            "invoice_id": _ints(invoice_ids[alloc["invoice"].to_numpy() - first_key]),
            "amount": _money(alloc["amount_cents"]),
            "created_at": _stamps(pay["received_at"].to_numpy()[alloc_payment], until=until),
        },
    )
    truth = chunk.anomalies
    _copy(
        cursor,
        DemoPaymentAnomaly,
        {
            "organization_id": org_id,
            "payment_id": _ints(payment_ids[truth["payment"].to_numpy()]),
            "kind": _text(truth["kind"]),
        },
    )
    return {
        "customers": len(c),
        "invoices": len(inv),
        "invoice_lines": len(lines),
        "payments": len(pay),
        "allocations": len(alloc),
        "planted_anomalies": len(truth),
    }


def _copy_exchange_rates(cursor, organization: Organization, spec: DemoSpec) -> int:
    """Rates go through a staging table so days the organization already has are kept."""
    rates = exchange_rates(spec)
    cursor.execute(
        "CREATE TEMP TABLE demo_rates (currency varchar(3), date date, rate numeric(20, 10)) "
        "ON COMMIT DROP"
    )
    rows = zip(
        _text(rates["currency"]),
        _days(rates["date"]),
        [f"{rate:.10f}" for rate in rates["rate"].tolist()],
        strict=True,
    )
    with cursor.copy("COPY demo_rates (currency, date, rate) FROM STDIN") as copy:
        copy.write("".join("\t".join(row) + "\n" for row in rows))
    table = ExchangeRate._meta.db_table
    cursor.execute(
        f'INSERT INTO "{table}" (organization_id, currency, date, rate) '
        "SELECT %s, currency, date, rate FROM demo_rates "
        "ON CONFLICT (organization_id, currency, date) DO NOTHING",
        [organization.pk],
    )
    inserted = cursor.rowcount
    cursor.execute("DROP TABLE demo_rates")
    return inserted


# Columns are lists of strings in PostgreSQL's COPY text format (tab-separated, \N = NULL):
# joining prepared strings is several times faster than any CSV writer.
NULL = "\\N"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


class _const(str):
    """One value repeated on every row."""

    def __new__(cls, value: object) -> _const:
        return super().__new__(cls, _literal(value))


def _copy(cursor, model: type[models.Model], columns: dict[str, list[str] | _const]) -> None:
    """COPY prepared columns into ``model``'s table.

    Fields the caller does not give (except the primary key) get the field's default, so a
    column another app adds later (with a default) does not break seeding.
    """
    data = {name: v for name, v in columns.items() if not isinstance(v, _const)}
    n = len(next(iter(data.values())))
    if n == 0:
        return
    constants = {name: v for name, v in columns.items() if isinstance(v, _const)}
    for f in model._meta.concrete_fields:
        # Ids nobody refers to come from the table's identity default.
        if f.column not in columns and f is not model._meta.pk:
            default = f.get_default()
            constants[f.column] = _const(NULL if default is None else default)
    names = [*data, *constants]
    suffix = "".join(f"\t{value}" for value in constants.values()) + "\n"
    body = suffix.join(map("\t".join, zip(*data.values(), strict=True))) + suffix
    quoted = ", ".join(f'"{name}"' for name in names)
    with cursor.copy(f'COPY "{model._meta.db_table}" ({quoted}) FROM STDIN') as copy:
        copy.write(body)


def _literal(value: object) -> str:
    if value == NULL:
        return NULL
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dict | list):
        value = json.dumps(value)
    return str(value).translate(_ESCAPES)


def _text(values: pd.Series | np.ndarray) -> list[str]:
    return [str(v).translate(_ESCAPES) for v in np.asarray(values).tolist()]


def _ints(values: pd.Series | np.ndarray) -> list[str]:
    """Integers; negative means NULL (ids and counts are never negative)."""
    return [str(v) if v >= 0 else NULL for v in np.asarray(values, dtype=np.int64).tolist()]


def _money(cents: pd.Series | np.ndarray) -> list[str]:
    # numeric accepts exponents: "12345e-2" is exactly 123.45, no float in between.
    return list(map("{}e-2".format, np.asarray(cents, dtype=np.int64).tolist()))


def _bools(values: pd.Series | np.ndarray) -> list[str]:
    return np.where(np.asarray(values, dtype=bool), "t", "f").tolist()


def _days(days: pd.Series | np.ndarray) -> list[str]:
    """Int days since 1970-01-01 as ISO dates; -1 is NULL. Looked up, not formatted."""
    values = np.asarray(days, dtype=np.int64)
    if values.size == 0:
        return []
    low = int(values[values >= 0].min()) if (values >= 0).any() else 0
    span = np.arange(low, max(int(values.max()), low) + 1)
    table = np.array([*(EPOCH + span.astype("timedelta64[D]")).astype(str).tolist(), NULL])
    return table[np.where(values >= 0, values - low, span.size)].tolist()


def _stamps(epoch_seconds: pd.Series | np.ndarray, *, until: int | None) -> list[str]:
    """UTC epoch seconds (capped at ``until`` when given) as timestamptz text."""
    seconds = np.asarray(epoch_seconds, dtype=np.int64)
    if until is not None:
        seconds = np.minimum(seconds, until)
    if seconds.size == 0:
        return []
    day_part = _days(seconds // 86400)
    clock = _CLOCK[seconds % 86400].tolist()
    return [f"{d} {t}+00" for d, t in zip(day_part, clock, strict=True)]


_CLOCK = np.array([f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400)])


def _uuids(n: int) -> list[str]:
    """Random version-4 UUIDs: codes identify rows, they are not part of the seeded data
    (two organizations seeded with the same seed must not collide)."""
    raw = np.frombuffer(os.urandom(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    text = raw.tobytes().hex()
    return [text[i : i + 32] for i in range(0, 32 * n, 32)]


def _reserve_ids(cursor, model: type[models.Model], n: int) -> np.ndarray:
    """Take ``n`` values from the table's id sequence, so rows can reference each other
    before they are written.

    One statement draws them; when no other session drew in between (the usual case) they
    are contiguous and only min/max travel back. Otherwise we draw again and fetch each
    value (the first batch becomes a gap, which sequences allow).
    """
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    sequence = [f'"{model._meta.db_table}"', n]
    draw = "SELECT nextval(pg_get_serial_sequence(%s, 'id')) AS v FROM generate_series(1, %s)"
    cursor.execute(f"SELECT min(v), max(v) FROM ({draw}) AS drawn", sequence)
    low, high = cursor.fetchone()
    if high - low + 1 == n:
        return np.arange(low, high + 1, dtype=np.int64)
    cursor.execute(draw, sequence)
    return np.fromiter((row[0] for row in cursor.fetchall()), dtype=np.int64, count=n)


# --- Delete ------------------------------------------------------------------------------


def _purge(
    cursor,
    model: type[models.Model],
    where: str,
    params: list[object],
    deleted: dict[str, int],
    depth: int = 0,
) -> None:
    """DELETE rows of ``model`` matching ``where``, first applying every reverse foreign
    key's on_delete (CASCADE, SET_NULL, PROTECT/RESTRICT) in SQL, as Django's collector
    would, but without loading a million rows into Python."""
    if depth > 6:
        raise ValidationError(f"foreign keys nest too deep below {model.__name__}")
    table = model._meta.db_table
    pk = model._meta.pk.column
    selected = f'SELECT "{pk}" FROM "{table}" WHERE {where}'
    for rel in model._meta.get_fields(include_hidden=True):
        if not (rel.auto_created and not rel.concrete and (rel.one_to_many or rel.one_to_one)):
            continue
        related, fk = rel.related_model, rel.field
        on_delete = fk.remote_field.on_delete
        condition = f'"{fk.column}" IN ({selected})'
        if on_delete is models.CASCADE:
            _purge(cursor, related, condition, params, deleted, depth + 1)
        elif on_delete is models.SET_NULL:
            cursor.execute(
                f'UPDATE "{related._meta.db_table}" SET "{fk.column}" = NULL WHERE {condition}',
                params,
            )
        elif on_delete in (models.PROTECT, models.RESTRICT):
            cursor.execute(
                f'SELECT count(*) FROM "{related._meta.db_table}" WHERE {condition}', params
            )
            (blocking,) = cursor.fetchone()
            if blocking:
                raise ValidationError(
                    f"cannot delete demo {model._meta.verbose_name_plural}: {blocking} "
                    f"{related._meta.verbose_name_plural} outside the demo data still "
                    "refer to them; delete those first"
                )
        elif on_delete is not models.DO_NOTHING:
            raise ValidationError(
                f"cannot delete demo data: {related.__name__}.{fk.name} uses an on_delete "
                "rule the bulk delete does not handle"
            )
    cursor.execute(f'DELETE FROM "{table}" WHERE {where}', params)
    label = model._meta.verbose_name_plural
    deleted[label] = deleted.get(label, 0) + cursor.rowcount
