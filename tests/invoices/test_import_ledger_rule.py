"""The import's SQL ledger paths agree with invoice_recalculate / status_for_balance."""

from __future__ import annotations

import pytest

from invoices.imports import csv_import
from invoices.models import Invoice
from invoices.services.invoices import invoice_recalculate

pytestmark = pytest.mark.django_db

INVOICES = (
    "external_id,customer,issue_date,total,currency,status\n"
    "A,C1,2026-01-05,100.00,USD,\n"
    "B,C1,2026-01-05,100.00,USD,\n"
    "C,C1,2026-01-05,100.00,USD,\n"
    "D,C1,2026-01-05,100.00,USD,draft\n"
)
PAYMENTS = (
    "external_id,customer,amount,currency,received_at,method,status,invoice\n"
    "P1,C1,60.00,USD,2026-02-01 10:00,card,succeeded,A\n"
    "P2,C1,100.00,USD,2026-02-02 11:00,ach,succeeded,B\n"
    "P3,C1,30.00,USD,2026-02-03,card,failed,C\n"
)


def _ledger(org) -> dict:
    return {
        invoice.external_id: (invoice.balance, invoice.status, invoice.paid_date)
        for invoice in Invoice.objects.filter(organization=org)
    }


def _recalculated(org) -> dict:
    return {
        invoice.external_id: (
            (done := invoice_recalculate(invoice=invoice)).balance,
            done.status,
            done.paid_date,
        )
        for invoice in Invoice.objects.filter(organization=org)
    }


def test_the_sql_recalculation_matches_invoice_recalculate(org, tmp_path):
    (tmp_path / "i.csv").write_text(INVOICES, encoding="utf-8")
    (tmp_path / "p.csv").write_text(PAYMENTS, encoding="utf-8")
    csv_import(organization=org, kind="invoices", file=tmp_path / "i.csv")
    csv_import(organization=org, kind="payments", file=tmp_path / "p.csv")
    after_payments = _ledger(org)
    # Re-importing the invoices keeps the balance the applied payments imply (csv_applied).
    csv_import(organization=org, kind="invoices", file=tmp_path / "i.csv")
    after_reimport = _ledger(org)

    expected = _recalculated(org)

    assert after_payments == expected
    assert after_reimport == expected
    assert {key: value[1] for key, value in expected.items()} == {
        "A": "partially_paid",
        "B": "paid",
        "C": "open",
        "D": "draft",
    }
