"""Helpers both adapters use to hand provider records to the ledger's services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from integrations.sync import MalformedRecord
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
