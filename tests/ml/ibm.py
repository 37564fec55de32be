"""Read ../shared/data/ibm_ar.csv straight into the ml frames (no database).

Used by the pure ml tests and by the IBM evaluation helper script; the product path is
``import_csv`` + ``evaluate_payment_model`` (see docs/ml.md).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ml.features import INVOICE_COLUMNS, PAYMENT_COLUMNS

IBM_CSV = Path(__file__).resolve().parents[3] / "shared" / "data" / "ibm_ar.csv"


def ibm_frames(path: Path = IBM_CSV) -> tuple[pd.DataFrame, pd.DataFrame]:
    raw = pd.read_csv(path, dtype={"invoiceNumber": str, "customerID": str})
    date = lambda c: pd.to_datetime(raw[c], format="%m/%d/%Y")  # noqa: E731
    invoices = pd.DataFrame(
        {
            "invoice_id": raw["invoiceNumber"],
            "customer_id": raw["customerID"],
            "issue_date": date("InvoiceDate"),
            "due_date": date("DueDate"),
            "amount": raw["InvoiceAmount"].astype(float),
            "currency": "USD",
            "paid_date": date("SettledDate"),
            "disputed": raw["Disputed"].eq("Yes"),
            "status": "paid",
            "attributes": [
                {"paperless_bill": b, "country_code": str(c)}
                for b, c in zip(raw["PaperlessBill"], raw["countryCode"], strict=True)
            ],
        }
    )[INVOICE_COLUMNS]
    payments = pd.DataFrame({c: [] for c in PAYMENT_COLUMNS})
    return invoices, payments
