"""CSV formula injection: every CSV the product writes neutralises formula-looking text."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse

from paypredict_project.csv_output import csv_cell, csv_writer
from tests.factories import CustomerFactory, InvoiceFactory, PaymentFactory

ROOT = Path(__file__).resolve().parent.parent
ATTACKS = ['=HYPERLINK("http://evil.example","click")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)"]


@pytest.mark.parametrize("text", [*ATTACKS, "\tTAB", "\rCR"])
def test_it_neutralises_text_that_a_spreadsheet_would_run(text):
    assert csv_cell(text) == "'" + text


def test_it_leaves_numbers_dates_and_plain_text_alone():
    assert csv_cell(Decimal("-12.50")) == "-12.50"
    assert csv_cell(-3) == "-3"
    assert csv_cell(dt.date(2026, 1, 2)) == "2026-01-02"
    assert csv_cell(True) == "true" and csv_cell(None) == ""
    assert csv_cell("Acme = best") == "Acme = best"


def test_it_writes_rows_through_the_same_rule():
    buffer = io.StringIO()
    csv_writer(buffer).writerow(["=1+1", Decimal("-1.00"), "ok"])
    assert buffer.getvalue() == "'=1+1,-1.00,ok\r\n"


# Product packages: a csv writer anywhere else would bypass the rule.
PRODUCT_PACKAGES = [
    p
    for p in ROOT.iterdir()
    if p.is_dir() and (p / "__init__.py").exists() and p.name not in ("tests", "bench")
]


def test_it_finds_no_csv_writer_outside_the_helper():
    offenders = []
    for package in PRODUCT_PACKAGES:
        for path in package.rglob("*.py"):
            if path.name == "csv_output.py" or "migrations" in path.parts:
                continue
            if re.search(r"csv\.(writer|DictWriter)\(", path.read_text()):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == [], "write CSV through paypredict_project.csv_output.csv_writer"


def _rows(response) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def hostile(org):
    customer = CustomerFactory(organization=org, name=ATTACKS[0], notes=ATTACKS[3])
    InvoiceFactory(customer=customer, number="INV-X", po_number=ATTACKS[1], total=Decimal("100.00"))
    PaymentFactory(customer=customer, reference=ATTACKS[2], amount=Decimal("75.00"))
    return customer


@pytest.mark.django_db
@pytest.mark.parametrize("route", ["invoice-export", "api:invoice-export"])
def test_it_neutralises_the_invoice_export(viewer_client, hostile, route):
    (row,) = _rows(viewer_client.get(reverse(route)))
    assert row["customer_name"] == "'" + ATTACKS[0]
    assert row["po_number"] == "'" + ATTACKS[1]
    assert row["total"] == "100.00"


@pytest.mark.django_db
@pytest.mark.parametrize("route", ["customer-export", "api:customer-export"])
def test_it_neutralises_the_customer_export(viewer_client, hostile, route):
    (row,) = _rows(viewer_client.get(reverse(route)))
    assert row["name"] == "'" + ATTACKS[0]
    assert row["notes"] == "'" + ATTACKS[3]


@pytest.mark.django_db
@pytest.mark.parametrize("route", ["payment-export", "api:payment-export"])
def test_it_neutralises_the_payment_export(viewer_client, hostile, route):
    (row,) = _rows(viewer_client.get(reverse(route)))
    assert row["customer_name"] == "'" + ATTACKS[0]
    assert row["reference"] == "'" + ATTACKS[2]
    assert row["amount"] == "75.00"
