"""The shipped IBM accounts-receivable mapping imports the whole public file cleanly."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from invoices.imports import csv_import, mapping_parse
from invoices.imports.mapping import SHIPPED_MAPPINGS_DIR
from invoices.models import Customer, Invoice, InvoiceStatus, Source

REPO = Path(__file__).resolve().parents[2]
IBM_FILE = (REPO / ".." / "shared" / "data" / "ibm_ar.csv").resolve()

pytestmark = pytest.mark.skipif(not IBM_FILE.exists(), reason=f"{IBM_FILE} not present")


def _file_rows() -> list[dict[str, str]]:
    with IBM_FILE.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _import(org):
    mapping = mapping_parse(kind="invoices", source=SHIPPED_MAPPINGS_DIR / "ibm_ar.json")
    return csv_import(organization=org, kind="invoices", file=IBM_FILE, mapping=mapping)


def test_it_imports_the_whole_ibm_file_as_paid_invoices(org):
    result = _import(org)

    assert result.errors == []
    assert result.error_count == 0
    assert (result.rows, result.created, result.updated) == (2466, 2466, 0)
    invoices = Invoice.objects.filter(organization=org)
    assert invoices.count() == 2466
    assert invoices.filter(status=InvoiceStatus.PAID, balance=0).count() == 2466
    assert invoices.filter(source=Source.CSV, currency="USD").count() == 2466
    assert Customer.objects.filter(organization=org).count() == 100


def test_it_keeps_dates_amounts_disputes_and_attributes_of_the_file(org):
    _import(org)
    rows = _file_rows()

    first = rows[0]
    invoice = Invoice.objects.get(organization=org, external_id=first["invoiceNumber"])
    assert invoice.number == "0000611365"  # leading zeros kept
    assert invoice.issue_date == dt.date(2013, 1, 2)
    assert invoice.due_date == dt.date(2013, 2, 1)
    assert invoice.paid_date == dt.date(2013, 1, 15)
    assert invoice.total == Decimal("55.94")
    assert invoice.attributes == {"paperless_bill": "Paper"}
    assert invoice.customer.external_id == "0379-NEVHP"
    assert invoice.customer.name == "0379-NEVHP"
    assert invoice.customer.country == "391"
    assert set(invoice.customer.attributes) == {"paperless_date"}

    disputed_in_file = sum(row["Disputed"] == "Yes" for row in rows)
    assert Invoice.objects.filter(organization=org, disputed=True).count() == disputed_in_file
    paid_dates = {
        row["invoiceNumber"]: dt.datetime.strptime(row["SettledDate"], "%m/%d/%Y").date()
        for row in rows
    }
    stored = dict(Invoice.objects.filter(organization=org).values_list("number", "paid_date"))
    assert stored == paid_dates
    total_in_file = sum(Decimal(row["InvoiceAmount"]) for row in rows)
    assert sum(Invoice.objects.filter(organization=org).values_list("total", flat=True)) == (
        total_in_file
    )


def test_it_never_stores_the_outcome_columns(org):
    _import(org)

    for attributes in Invoice.objects.filter(organization=org).values_list("attributes", flat=True):
        assert not {"DaysToSettle", "DaysLate", "days_to_settle", "days_late"} & set(attributes)
    for attributes in Customer.objects.filter(organization=org).values_list(
        "attributes", flat=True
    ):
        assert not {"DaysToSettle", "DaysLate"} & set(attributes)


def test_it_changes_nothing_when_the_file_is_imported_again(org):
    _import(org)
    before = dict(Invoice.objects.filter(organization=org).values_list("id", "updated_at"))

    again = _import(org)

    assert (again.created, again.updated, again.unchanged, again.error_count) == (0, 0, 2466, 0)
    assert again.extra.get("customers_created") == 0
    assert again.extra.get("customers_updated") == 0
    after = dict(Invoice.objects.filter(organization=org).values_list("id", "updated_at"))
    assert after == before
