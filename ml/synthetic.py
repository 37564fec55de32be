"""Synthetic ledgers in the ``ml.features`` frame formats, for tests and benchmarks.

Vectorized (a million invoices in a couple of seconds) with learnable structure: each
customer has its own typical delay and spread, payment terms vary by customer, larger
invoices and month-end invoices are paid a little later, unreliable customers have
failed payments, and invoices still unpaid at ``as_of`` are open (censored).
This is NOT the product's demo data (``seed_demo`` writes that through the ledger).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from ml.features import INVOICE_COLUMNS, PAYMENT_COLUMNS


def synthetic_ledger(
    *,
    customers: int = 200,
    invoices: int = 5000,
    start: dt.date = dt.date(2024, 1, 1),
    days: int = 730,
    seed: int = 0,
    as_of: dt.date | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    # Customers: delay relative to due (days), spread, terms, typical amount.
    delay = rng.choice(
        [-10.0, -3.0, 0.0, 5.0, 15.0, 35.0], size=customers, p=[0.2, 0.25, 0.2, 0.15, 0.12, 0.08]
    )
    spread = rng.uniform(2.0, 10.0, size=customers)
    terms = rng.choice([15, 30, 30, 45, 60], size=customers)
    typical = np.exp(rng.normal(7.0, 1.0, size=customers))
    # Some customers drift (get worse) over time.
    drift = rng.choice([0.0, 0.0, 0.0, 10.0], size=customers)

    cust = rng.integers(0, customers, size=invoices)
    issue_off = np.sort(rng.integers(0, days, size=invoices))
    issue = np.datetime64(start, "D") + issue_off
    due_in = terms[cust]
    amount = typical[cust] * np.exp(rng.normal(0.0, 0.5, size=invoices))
    ratio = amount / typical[cust]
    dom = pd.DatetimeIndex(issue).day.to_numpy()
    month_end = (dom >= 25).astype(float)
    pay_after_due = (
        delay[cust]
        + drift[cust] * issue_off / days
        + 4.0 * np.log(ratio)
        + 3.0 * month_end
        + rng.normal(0.0, 1.0, size=invoices) * spread[cust]
    )
    to_pay = np.maximum(np.round(due_in + pay_after_due), 0).astype(int)
    paid = issue + to_pay
    as_of_d = np.datetime64(as_of or (start + dt.timedelta(days=days)), "D")
    is_paid = paid <= as_of_d
    paid_date = np.where(is_paid, paid, np.datetime64("NaT"))
    disputed = rng.random(invoices) < np.clip(0.03 + 0.004 * np.maximum(pay_after_due, 0), 0, 0.5)

    inv = pd.DataFrame(
        {
            "invoice_id": np.arange(1, invoices + 1),
            "customer_id": cust + 1,
            "issue_date": issue.astype("datetime64[ns]"),
            "due_date": (issue + due_in).astype("datetime64[ns]"),
            "amount": np.round(amount, 2),
            "currency": "USD",
            "paid_date": paid_date.astype("datetime64[ns]"),
            "disputed": disputed,
            "status": np.where(is_paid, "paid", "open"),
            "attributes": [{}] * invoices,
        }
    )[INVOICE_COLUMNS]

    # Payments: one succeeded payment per paid invoice; failed attempts for late payers.
    paid_idx = np.nonzero(is_paid)[0]
    fail_p = np.clip(0.02 + 0.01 * np.maximum(pay_after_due[paid_idx], 0), 0, 0.6)
    failed_idx = paid_idx[rng.random(len(paid_idx)) < fail_p]
    fail_days = paid[failed_idx] - rng.integers(1, 10, size=len(failed_idx))
    pay = pd.DataFrame(
        {
            "payment_id": np.arange(1, len(paid_idx) + len(failed_idx) + 1),
            "customer_id": np.concatenate([cust[paid_idx], cust[failed_idx]]) + 1,
            "received_at": np.concatenate([paid[paid_idx], fail_days]).astype("datetime64[ns]"),
            "status": ["succeeded"] * len(paid_idx) + ["failed"] * len(failed_idx),
            "amount": np.concatenate([amount[paid_idx], amount[failed_idx]]),
        }
    )[PAYMENT_COLUMNS]
    return inv, pay
