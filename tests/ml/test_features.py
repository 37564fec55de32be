"""Point-in-time features and labels on small hand-made ledgers (pure, no database)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from ml.features import (
    FEATURE_COLUMNS,
    FEATURE_DESCRIPTIONS,
    INVOICE_COLUMNS,
    PAYMENT_COLUMNS,
    features_as_of,
    features_at_issue,
    training_labels,
)
from ml.synthetic import synthetic_ledger

D = pd.Timestamp


def ledger(rows, payments=()):
    inv = pd.DataFrame(
        [
            {
                "invoice_id": r[0],
                "customer_id": r[1],
                "issue_date": D(r[2]),
                "due_date": D(r[3]),
                "amount": float(r[4]),
                "currency": "USD",
                "paid_date": D(r[5]) if r[5] else pd.NaT,
                "disputed": bool(r[6]) if len(r) > 6 else False,
                "status": "paid" if r[5] else "open",
                "attributes": {},
            }
            for r in rows
        ],
        columns=INVOICE_COLUMNS,
    )
    pay = pd.DataFrame(
        [
            {"payment_id": i, "customer_id": c, "received_at": D(t), "status": s, "amount": a}
            for i, (c, t, s, a) in enumerate(payments)
        ],
        columns=PAYMENT_COLUMNS,
    )
    return inv, pay


BASE = [
    # id, customer, issue, due, amount, paid, disputed
    (1, "a", "2025-01-01", "2025-01-31", 100, "2025-01-20"),  # on time, 19 days
    (2, "a", "2025-02-01", "2025-03-03", 200, "2025-03-13", True),  # 10 days late
    (3, "a", "2025-03-01", "2025-03-31", 300, None),  # still open
    (4, "a", "2025-04-10", "2025-05-10", 400, "2025-05-01"),  # the invoice we look at
    (5, "b", "2025-01-05", "2025-02-04", 50, "2025-02-20"),  # another customer
]


def test_it_computes_customer_history_known_at_issue():
    inv, pay = ledger(BASE, [("a", "2025-03-20", "failed", 10.0)])

    X = features_at_issue(inv, pay)

    row = X.loc[4]
    assert list(X.columns) == FEATURE_COLUMNS
    assert row["prior_count"] == 2
    assert row["late_count"] == 1
    assert row["late_share"] == 0.5
    assert row["mean_days_late"] == 5.0
    assert row["last_days_late"] == 10.0
    assert row["mean_days_to_pay"] == pytest.approx((19 + 40) / 2)
    assert row["prior_disputes"] == 1
    assert row["prior_issued_count"] == 3
    assert row["open_count"] == 1 and row["open_amount"] == 300.0
    assert row["overdue_count"] == 1 and row["overdue_amount"] == 300.0
    assert row["failed_payments"] == 1
    assert row["days_since_last_payment"] == (D("2025-04-10") - D("2025-03-13")).days
    assert row["terms_days"] == 30
    typical = np.expm1(np.mean(np.log1p([100, 200, 300])))
    assert row["amount_ratio"] == pytest.approx(400 / typical)
    first = X.loc[1]
    assert first["prior_count"] == 0 and np.isnan(first["late_share"])


def test_it_does_not_change_training_features_when_later_data_changes():
    inv, pay = ledger(BASE)
    before = features_at_issue(inv, pay).loc[[2, 3, 4]]

    # After invoice 4's issue date: invoice 3 gets paid, invoice 4 is paid very late and
    # disputed, a new invoice is issued, a payment fails; invoice 2's late outcome changes
    # nothing for invoices issued before 2025-03-13 either.
    later = inv.copy()
    later.loc[later.invoice_id == 3, "paid_date"] = D("2025-06-15")
    later.loc[later.invoice_id == 4, ["paid_date", "disputed"]] = [D("2025-09-01"), True]
    extra, _ = ledger([(6, "a", "2025-05-01", "2025-05-31", 9999, "2025-05-02", True)])
    later = pd.concat([later, extra], ignore_index=True)
    pay_later = pd.concat(
        [pay, ledger([], [("a", "2025-04-11", "failed", 5.0)])[1]], ignore_index=True
    )

    after = features_at_issue(later, pay_later).loc[[2, 3, 4]]

    pd.testing.assert_frame_equal(before, after)


def test_it_does_not_use_a_payment_made_on_the_issue_day():
    # Settled the same day the next invoice is issued: not "strictly before", not history.
    inv, pay = ledger(
        [
            (1, "a", "2025-01-01", "2025-01-31", 100, "2025-02-10"),
            (2, "a", "2025-02-10", "2025-03-12", 100, None),
        ]
    )
    X = features_at_issue(inv, pay)
    assert X.loc[2, "prior_count"] == 0
    assert X.loc[2, "open_count"] == 1


def test_it_scores_as_of_a_date_with_the_invoice_left_out_of_its_own_balance():
    inv, pay = ledger(BASE)

    X = features_as_of(inv, pay, dt.date(2025, 4, 20), [3])

    row = X.loc[3]
    # history now includes invoice 4? no: it is paid only on 2025-05-01
    assert row["prior_count"] == 2
    assert row["open_count"] == 1  # invoice 4 (open on 04-20), not invoice 3 itself
    assert row["open_amount"] == 400.0
    assert row["overdue_count"] == 0  # invoice 3 is overdue, but it is the one scored
    assert row["prior_issued_count"] == 3
    with pytest.raises(ValueError, match="unknown invoice ids"):
        features_as_of(inv, pay, dt.date(2025, 4, 20), [99])


def test_it_labels_paid_open_and_censored_invoices():
    inv, _ = ledger(BASE)

    lab = training_labels(inv, dt.date(2025, 4, 30))

    assert lab.loc[1, ["lower_days", "upper_days", "paid_by_due"]].tolist() == [19, 19, 1]
    assert lab.loc[2, ["lower_days", "upper_days", "paid_by_due"]].tolist() == [40, 40, 0]
    # open and overdue: right-censored at 60 days, known late
    assert lab.loc[3, "lower_days"] == 60 and np.isinf(lab.loc[3, "upper_days"])
    assert lab.loc[3, "paid_by_due"] == 0
    # paid only after as_of: censored, on-time outcome not yet known
    assert lab.loc[4, "lower_days"] == 20 and np.isinf(lab.loc[4, "upper_days"])
    assert np.isnan(lab.loc[4, "paid_by_due"])


def test_it_floors_same_day_payments_for_the_log_scale():
    inv, _ = ledger([(1, "a", "2025-01-01", "2025-01-31", 10, "2025-01-01")])
    lab = training_labels(inv, dt.date(2025, 2, 1))
    assert lab.loc[1, "lower_days"] == 0.5 == lab.loc[1, "upper_days"]


def test_it_rejects_frames_missing_columns():
    inv, pay = ledger(BASE)
    with pytest.raises(ValueError, match="missing columns: due_date"):
        features_at_issue(inv.drop(columns=["due_date"]), pay)


def test_it_describes_every_feature_with_its_own_values():
    inv, pay = synthetic_ledger(customers=20, invoices=400, seed=3)
    X = features_at_issue(inv, pay)
    assert set(FEATURE_DESCRIPTIONS) == set(FEATURE_COLUMNS)
    row = X.fillna(0).iloc[-1].to_dict()
    for text in FEATURE_DESCRIPTIONS.values():
        assert "{" not in text.format(**row)


def test_it_computes_a_large_ledger_in_bulk_with_history_only_from_the_past():
    inv, pay = synthetic_ledger(customers=300, invoices=30_000, seed=4)
    X = features_at_issue(inv, pay)
    assert len(X) == 30_000
    # brute-force check on a sample: prior settled count per customer before issue
    sample = inv.sample(50, random_state=0)
    for _, r in sample.iterrows():
        same = inv[(inv.customer_id == r.customer_id) & (inv.paid_date < r.issue_date)]
        assert X.loc[r.invoice_id, "prior_count"] == len(same)
        late = (same.paid_date > same.due_date).sum()
        assert X.loc[r.invoice_id, "late_count"] == late
