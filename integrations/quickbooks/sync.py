"""QuickBooks → ledger: customers, invoices with lines, payments with their allocations, and
deletions (CDC tombstones), each through ``invoices.services``.

Versions are SyncTokens. A voided invoice stays readable in QuickBooks with zero amounts and
"Voided" at the start of its PrivateNote (INTEGRATIONS.md 1.9); a voided payment has a zero
total; deleted invoices and payments appear only in CDC with ``status: "Deleted"``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone

from integrations.ledger import LedgerAdapter, SyncedRows, iso_date, money, received_at
from integrations.models import Connection
from integrations.quickbooks.client import QuickBooksClient
from integrations.sync import MalformedRecord, Page
from invoices.models import Customer, Invoice, Source
from invoices.services.external import (
    ExternalInvoice,
    ExternalPayment,
    invoice_void_external,
    payment_void_external,
)
from invoices.services.invoices import LineInput

ENTITY_NAMES = {"customers": "Customer", "invoices": "Invoice", "payments": "Payment"}
# CDC looks back at most 30 days; a older mark re-reads only what CDC still has.
CDC_WINDOW = dt.timedelta(days=30)
SOURCE = Source.QUICKBOOKS


class QuickBooksAdapter(LedgerAdapter):
    source = SOURCE
    id_keys = {"customers": "Id", "invoices": "Id", "payments": "Id"}
    entities = ("customers", "invoices", "payments", "deleted")

    def __init__(self, connection: Connection, client: QuickBooksClient | None = None) -> None:
        self.connection = connection
        self.organization = connection.organization
        self.qbo = client or QuickBooksClient(connection)
        self.client = self.qbo.api
        self.page_size = min(settings.INTEGRATIONS_PAGE_SIZE, 1000)
        self.customers = SyncedRows(self.organization, SOURCE, Customer)
        self.invoices = SyncedRows(self.organization, SOURCE, Invoice)

    # ------------------------------------------------------------------ fetching
    def fetch(self, entity: str, *, since: dt.datetime | None, position: int) -> Page:
        if entity == "deleted":
            return self._fetch_deleted(since)
        rows, server_time = self.qbo.query(
            ENTITY_NAMES[entity], since=since, start=position + 1, max_results=self.page_size
        )
        return Page(
            records=rows,
            server_time=server_time,
            last=len(rows) < self.page_size,
            next_position=position + len(rows),
        )

    def _fetch_deleted(self, since: dt.datetime | None) -> Page:
        if since is None:
            # First pass: nothing synced yet can have been deleted. Start the mark now.
            return Page(records=[], server_time=None, last=True, next_position=0)
        since = max(since, timezone.now() - CDC_WINDOW + dt.timedelta(minutes=1))
        found, server_time = self.qbo.changes(["Invoice", "Payment"], since=since)
        tombstones = [
            {**row, "_entity": entity}
            for entity, rows in found.items()
            for row in rows
            if row.get("status") == "Deleted"
        ]
        return Page(records=tombstones, server_time=server_time, last=True, next_position=0)

    # ------------------------------------------------------------------ identity
    def identify(self, entity: str, record: dict[str, Any]) -> tuple[str, str]:
        if entity == "deleted":
            return f"{record['_entity']}:{record['Id']}", "deleted"
        return str(record["Id"]), str(record["SyncToken"])

    # ------------------------------------------------------------------ applying
    def _customer_fields(self, record: dict[str, Any]) -> dict[str, Any] | None:
        """The customer as the ledger takes it; None when it cannot be read (left to the
        one-by-one path, which records why)."""
        name = record.get("DisplayName") or record.get("CompanyName") or ""
        if not name or "Id" not in record:
            return None
        return {
            "external_id": str(record["Id"]),
            "name": str(name)[:200],
            "email": ((record.get("PrimaryEmailAddr") or {}).get("Address") or "")[:254],
            "phone": ((record.get("PrimaryPhone") or {}).get("FreeFormNumber") or "")[:40],
            "currency": _currency(record, self.organization.base_currency),
        }

    def _prime(self, entity: str, records: list[dict[str, Any]]) -> None:
        if entity == "invoices":
            self.customers.prime([str((r.get("CustomerRef") or {}).get("value")) for r in records])
        elif entity == "payments":
            self.invoices.prime(
                [
                    str(linked.get("TxnId"))
                    for r in records
                    for line in r.get("Line") or []
                    for linked in line.get("LinkedTxn") or []
                ]
            )

    def _invoice_item(self, record: dict[str, Any]) -> ExternalInvoice | None:
        """The invoice as the ledger takes it; None when QuickBooks shows it voided."""
        external_id = str(record["Id"])
        total = money(record.get("TotalAmt"), "TotalAmt")
        if _voided(record, total):
            return None
        customer = self.customers.get(_ref(record, "CustomerRef"))
        issue_date = iso_date(record.get("TxnDate"), "TxnDate")
        due = record.get("DueDate")
        return ExternalInvoice(
            external_id=external_id,
            customer=customer,
            number=str(record.get("DocNumber") or external_id)[:40],
            issue_date=issue_date,
            due_date=iso_date(due, "DueDate") if due else issue_date,
            currency=_currency(record, customer.currency),
            total=total,
            lines=_lines(record),
        )

    def _payment_item(self, record: dict[str, Any]) -> ExternalPayment | None:
        """The payment with its allocations; None when voided (a zero total)."""
        total = money(record.get("TotalAmt"), "TotalAmt")
        if total == 0:
            return None
        customer = self.customers.get(_ref(record, "CustomerRef"))
        allocations = []
        for line in record.get("Line") or []:
            for linked in line.get("LinkedTxn") or []:
                if linked.get("TxnType") == "Invoice":
                    invoice = self.invoices.get(str(linked["TxnId"]))
                    allocations.append((invoice, money(line.get("Amount"), "Line.Amount")))
        return ExternalPayment(
            external_id=str(record["Id"]),
            customer=customer,
            amount=total,
            currency=_currency(record, customer.currency),
            received_at=received_at(self.organization, iso_date(record.get("TxnDate"), "TxnDate")),
            reference=str(record.get("PaymentRefNum") or ""),
            allocations=allocations,
        )

    def _apply_deleted(self, record: dict[str, Any]) -> str:
        void = invoice_void_external if record["_entity"] == "Invoice" else payment_void_external
        _, action = void(
            organization=self.organization, source=SOURCE, external_id=str(record["Id"])
        )
        return action


def _ref(record: dict[str, Any], name: str) -> str:
    ref = record.get(name)
    if not isinstance(ref, dict) or not ref.get("value"):
        raise MalformedRecord(f"{name} is missing")
    return str(ref["value"])


def _currency(record: dict[str, Any], default: str) -> str:
    ref = record.get("CurrencyRef")
    value = ref.get("value") if isinstance(ref, dict) else None
    return str(value or default).upper()[:3]


def _voided(record: dict[str, Any], total: Decimal) -> bool:
    note = str(record.get("PrivateNote") or "")
    return total == 0 and note.startswith("Voided")


def _lines(record: dict[str, Any]) -> list[LineInput]:
    """Sales, description and group lines as ledger lines; discounts as negative lines; the
    transaction's tax on a line of its own. Sub-total lines repeat other lines and are skipped."""
    lines: list[LineInput] = []
    for line in record.get("Line") or []:
        kind = line.get("DetailType")
        if kind == "SubTotalLineDetail" or "Amount" not in line:
            continue
        amount = money(line["Amount"], "Line.Amount")
        description = str(line.get("Description") or "")
        if kind == "DiscountLineDetail":
            lines.append(
                {
                    "description": description or "Discount",
                    "quantity": Decimal(1),
                    "unit_price": -amount,
                }
            )
            continue
        detail = line.get("SalesItemLineDetail") or {}
        item = (detail.get("ItemRef") or {}).get("name") or ""
        quantity = money(detail["Qty"], "Qty") if "Qty" in detail else Decimal(1)
        price = money(detail["UnitPrice"], "UnitPrice") if "UnitPrice" in detail else amount
        if quantity < 0 or (quantity * price).quantize(Decimal("0.01")) != amount:
            quantity, price = Decimal(1), amount
        lines.append(
            {
                "description": (description or item or "Item")[:500],
                "quantity": quantity,
                "unit_price": price,
            }
        )
    tax = (record.get("TxnTaxDetail") or {}).get("TotalTax")
    if tax:
        tax_amount = money(tax, "TotalTax")
        if tax_amount > 0:
            lines.append(
                {
                    "description": "Tax",
                    "quantity": Decimal(1),
                    "unit_price": Decimal(0),
                    "tax": tax_amount,
                }
            )
    return lines
