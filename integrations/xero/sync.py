"""Xero → ledger: contacts, ACCREC invoices with line items, payments on invoices, and
ACCRECCREDIT credit notes with their allocations to invoices.

Versions are UpdatedDateUTC. VOIDED / DELETED invoices and DELETED payments (reversals) are
voided in the ledger; DRAFT / SUBMITTED invoices are ledger drafts. A batch payment over two
invoices arrives as one payment per invoice. A credit note's ``Allocations`` become the ledger's
credits on those invoices; a VOIDED or DELETED credit note (or an allocation marked
``IsDeleted``) takes its credit off again.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings

from integrations.ledger import LedgerAdapter, SyncedRows, money, received_at
from integrations.models import Connection
from integrations.sync import Page
from integrations.xero.client import XeroClient, parse_ms_date
from invoices.models import Customer, Invoice, Source
from invoices.services.external import (
    ExternalInvoice,
    ExternalPayment,
    credit_note_upsert_external,
)
from invoices.services.invoices import LineInput

SOURCE = Source.XERO
RESOURCES = {
    "customers": ("Contacts", "ContactID", ""),
    "invoices": ("Invoices", "InvoiceID", 'Type=="ACCREC"'),
    "payments": ("Payments", "PaymentID", 'PaymentType=="ACCRECPAYMENT"'),
    "credit_notes": ("CreditNotes", "CreditNoteID", 'Type=="ACCRECCREDIT"'),
}
DRAFT_STATUSES = ("DRAFT", "SUBMITTED")
VOID_STATUSES = ("VOIDED", "DELETED")


class XeroAdapter(LedgerAdapter):
    source = SOURCE
    id_keys = {
        "customers": "ContactID",
        "invoices": "InvoiceID",
        "payments": "PaymentID",
        "credit_notes": "CreditNoteID",
    }
    entities = ("customers", "invoices", "payments", "credit_notes")

    def __init__(self, connection: Connection, client: XeroClient | None = None) -> None:
        self.connection = connection
        self.organization = connection.organization
        self.xero = client or XeroClient(connection)
        self.client = self.xero.api
        self.page_size = min(settings.INTEGRATIONS_PAGE_SIZE, 1000)
        self.customers = SyncedRows(self.organization, SOURCE, Customer)
        self.invoices = SyncedRows(self.organization, SOURCE, Invoice)

    def fetch(self, entity: str, *, since: dt.datetime | None, position: int) -> Page:
        resource, _, where = RESOURCES[entity]
        rows, server_time, last = self.xero.page(
            resource, since=since, page=position + 1, page_size=self.page_size, where=where
        )
        return Page(records=rows, server_time=server_time, last=last, next_position=position + 1)

    def identify(self, entity: str, record: dict[str, Any]) -> tuple[str, str]:
        _, key, _ = RESOURCES[entity]
        return str(record[key]), str(record["UpdatedDateUTC"])

    def _customer_fields(self, record: dict[str, Any]) -> dict[str, Any] | None:
        name = str(record.get("Name") or "").strip()
        if not name or "ContactID" not in record:
            return None
        return {
            "external_id": str(record["ContactID"]),
            "name": name[:200],
            "email": str(record.get("EmailAddress") or "")[:254],
            "currency": str(record.get("DefaultCurrency") or self.organization.base_currency)[:3],
        }

    def _prime(self, entity: str, records: list[dict[str, Any]]) -> None:
        if entity == "invoices":
            self.customers.prime([str((r.get("Contact") or {}).get("ContactID")) for r in records])
        elif entity == "payments":
            self.invoices.prime([str((r.get("Invoice") or {}).get("InvoiceID")) for r in records])
        elif entity == "credit_notes":
            self.invoices.prime(
                [
                    str((a.get("Invoice") or {}).get("InvoiceID"))
                    for r in records
                    for a in r.get("Allocations") or []
                ]
            )

    def _invoice_item(self, record: dict[str, Any]) -> ExternalInvoice | None:
        """The invoice as the ledger takes it; None when VOIDED or DELETED."""
        external_id = str(record["InvoiceID"])
        status = record.get("Status")
        if status in VOID_STATUSES:
            return None
        contact = record.get("Contact") or {}
        customer = self.customers.get(str(contact.get("ContactID", "")))
        issue_date = parse_ms_date(record["Date"]).date()
        due = record.get("DueDate")
        return ExternalInvoice(
            external_id=external_id,
            customer=customer,
            number=str(record.get("InvoiceNumber") or external_id)[:40],
            issue_date=issue_date,
            due_date=parse_ms_date(due).date() if due else issue_date,
            currency=str(record.get("CurrencyCode") or customer.currency)[:3],
            total=money(record.get("Total"), "Total"),
            lines=_lines(record),
            draft=status in DRAFT_STATUSES,
            po_number=str(record.get("Reference") or "")[:64],
        )

    def _payment_item(self, record: dict[str, Any]) -> ExternalPayment | None:
        """The payment on its one invoice; None when DELETED (a reversal)."""
        if record.get("Status") == "DELETED":
            return None
        invoice = self.invoices.get(str((record.get("Invoice") or {}).get("InvoiceID", "")))
        amount = money(record.get("Amount"), "Amount")
        return ExternalPayment(
            external_id=str(record["PaymentID"]),
            customer=invoice.customer,
            amount=amount,
            currency=invoice.currency,
            received_at=received_at(self.organization, parse_ms_date(record["Date"]).date()),
            reference=str(record.get("Reference") or ""),
            allocations=[(invoice, amount)],
        )

    def _apply_credit_notes(self, record: dict[str, Any]) -> str:
        """The credit note's allocations to invoices as ledger credits (none when voided)."""
        allocations: list[tuple[Invoice, Decimal]] = []
        if record.get("Status") not in VOID_STATUSES:
            for allocation in record.get("Allocations") or []:
                if allocation.get("IsDeleted"):
                    continue
                invoice_id = str((allocation.get("Invoice") or {}).get("InvoiceID", ""))
                amount = money(allocation.get("Amount"), "Allocations.Amount")
                allocations.append((self.invoices.get(invoice_id), amount))
        number = str(record.get("CreditNoteNumber") or record["CreditNoteID"])
        return credit_note_upsert_external(
            organization=self.organization,
            source=SOURCE,
            external_id=str(record["CreditNoteID"]),
            allocations=allocations,
            reason=f"Xero credit note {number}",
        )


def _lines(record: dict[str, Any]) -> list[LineInput]:
    inclusive = record.get("LineAmountTypes") == "Inclusive"
    lines: list[LineInput] = []
    for item in record.get("LineItems") or []:
        amount = money(item.get("LineAmount", 0), "LineAmount")
        tax = money(item.get("TaxAmount", 0), "TaxAmount")
        net = amount - tax if inclusive else amount
        quantity = money(item["Quantity"], "Quantity") if "Quantity" in item else Decimal(1)
        price = money(item["UnitAmount"], "UnitAmount") if "UnitAmount" in item else net
        if quantity < 0 or (quantity * price).quantize(Decimal("0.01")) != net:
            quantity, price = Decimal(1), net
        lines.append(
            {
                "description": str(item.get("Description") or "Item")[:500],
                "quantity": quantity,
                "unit_price": price,
                "tax": max(tax, Decimal(0)),
            }
        )
    return lines
