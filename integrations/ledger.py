"""Helpers both adapters use to hand provider records to the ledger's services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from integrations.sync import MalformedRecord
from invoices.models import Customer, Invoice
from paypredict_project.tenancy.models import Organization


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


def synced_customer(organization: Organization, source: str, external_id: str) -> Customer:
    customer = Customer.objects.filter(
        organization=organization, source=source, external_id=external_id
    ).first()
    if customer is None:
        raise MalformedRecord(f"customer {external_id} has not been synced")
    return customer


def synced_invoice(organization: Organization, source: str, external_id: str) -> Invoice:
    invoice = Invoice.objects.filter(
        organization=organization, source=source, external_id=external_id
    ).first()
    if invoice is None:
        raise MalformedRecord(f"invoice {external_id} has not been synced")
    return invoice
