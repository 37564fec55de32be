"""Helpers both adapters use to hand provider records to the ledger's services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from integrations.sync import MalformedRecord
from invoices.services.external import (
    ExternalInvoice,
    ExternalPayment,
    customer_upsert_external,
    customers_create_external,
    invoice_upsert_external,
    invoice_void_external,
    invoices_create_external,
    payment_upsert_external,
    payment_void_external,
    payments_create_external,
)
from paypredict_project.tenancy.models import Organization

T = TypeVar("T")


def money(value: Any, what: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise MalformedRecord(f"{what} is missing")
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise MalformedRecord(f"{what} is not a number: {value!r}") from exc
    if not amount.is_finite():
        raise MalformedRecord(f"{what} is not a number: {value!r}")
    return amount


def iso_date(value: Any, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise MalformedRecord(f"{what} is not a date: {value!r}") from exc


def received_at(organization: Organization, day: dt.date) -> dt.datetime:
    """A payment dated by day only: noon in the organization's zone, so the day survives."""
    return dt.datetime.combine(day, dt.time(12), organization.tzinfo)


class SyncedRows:
    """Ledger rows of one model synced from a source, looked up by the source's id, cached
    for the adapter's run (a page of payments names the same invoices many times)."""

    def __init__(self, organization: Organization, source: str, model: type) -> None:
        self.organization, self.source, self.model = organization, source, model
        self.cache: dict[str, Any] = {}

    def get(self, external_id: str) -> Any:
        row = self.cache.get(external_id)
        if row is None:
            row = self.model.objects.filter(
                organization=self.organization, source=self.source, external_id=external_id
            ).first()
            if row is None:
                noun = self.model._meta.verbose_name
                raise MalformedRecord(f"{noun} {external_id} has not been synced")
            self.cache[external_id] = row
        return row

    def prime(self, external_ids: list[str]) -> None:
        rows = self.model.objects.filter(
            organization=self.organization, source=self.source, external_id__in=external_ids
        )
        self.cache.update({row.external_id: row for row in rows})


def convertible(convert: Callable[[dict], T | None], records: list[dict]) -> list[T]:
    """The records that convert cleanly; the others (voids, malformed) are left out for the
    one-by-one path, which voids or records the error."""
    items = []
    for record in records:
        try:
            item = convert(record)
        except (MalformedRecord, KeyError, TypeError, ValueError, InvalidOperation):
            continue
        if item is not None:
            items.append(item)
    return items


class LedgerAdapter:
    """The ledger side both providers' adapters share: one record at a time through the
    upsert/void services, or a page of never-seen records through the batch services.
    Subclasses say how to read their records (``_customer_fields``, ``_invoice_item``,
    ``_payment_item``: None means voided/deleted) and which field holds each entity's id."""

    source: str
    organization: Organization
    id_keys: dict[str, str]
    customers: SyncedRows
    invoices: SyncedRows

    def _customer_fields(self, record: dict[str, Any]) -> dict[str, Any] | None: ...

    def _invoice_item(self, record: dict[str, Any]) -> ExternalInvoice | None: ...

    def _payment_item(self, record: dict[str, Any]) -> ExternalPayment | None: ...

    def _prime(self, entity: str, records: list[dict[str, Any]]) -> None:
        """Load the rows a page refers to in one query (optional)."""

    def apply(self, entity: str, record: dict[str, Any]) -> str:
        external_id = str(record[self.id_keys.get(entity, "Id")])
        where = {"organization": self.organization, "source": self.source}
        if entity == "customers":
            fields = self._customer_fields(record)
            if fields is None:
                raise MalformedRecord("the customer has no name")
            return customer_upsert_external(**where, **fields)[1]
        if entity == "invoices":
            invoice = self._invoice_item(record)
            if invoice is None:
                return invoice_void_external(**where, external_id=external_id)[1]
            return invoice_upsert_external(**where, **vars(invoice))[1]
        if entity == "payments":
            payment = self._payment_item(record)
            if payment is None:
                return payment_void_external(**where, external_id=external_id)[1]
            return payment_upsert_external(**where, **vars(payment))[1]
        return getattr(self, f"_apply_{entity}")(record)

    def apply_new(self, entity: str, records: list[dict[str, Any]]) -> list[str]:
        """Create never-seen records in one batch (see integrations.sync); voids and records
        that do not convert are left to ``apply``, which voids them or names the problem."""
        where = {"organization": self.organization, "source": self.source}
        self._prime(entity, records)
        if entity == "customers":
            fields = [f for f in map(self._customer_fields, records) if f is not None]
            customers_create_external(**where, customers=fields)
            return [row["external_id"] for row in fields]
        if entity == "invoices":
            invoices = convertible(self._invoice_item, records)
            invoices_create_external(**where, invoices=invoices)
            return [item.external_id for item in invoices]
        if entity == "payments":
            payments = convertible(self._payment_item, records)
            payments_create_external(**where, payments=payments)
            return [item.external_id for item in payments]
        return []
