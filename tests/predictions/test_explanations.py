"""Reasons that agree: grouped contributions, one sentence per fact (pure, no database)."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from ml.features import FEATURE_COLUMNS, features_at_issue, training_labels
from ml.payment_model import PaymentModel
from ml.synthetic import synthetic_ledger
from predictions.services.explanations import (
    REASON_GROUPS,
    TOP_PER_DIRECTION,
    explain_rows,
    group_contributions,
    reason_text,
)

FAST = {"distributions": ["normal"], "sigmas": [0.3], "max_rounds": 300}

# Each fact a collector could read, as a pattern; a fact may be stated by one reason only.
FACTS = {
    "history": r"a customer for|new customer|settled invoices|invoice settled yet",
    "late share": r"invoices late",
    "delay": r"the due date",
    "other unpaid": r"unpaid invoice|owes nothing",
    "overdue": r"overdue",
    "disputes": r"disput",
    "failed payments": r"failed payment",
    "last payment": r"last payment|no payment received",
    "terms": r"terms",
    "amount": r"amount|size of the invoice",
    "issue day": r"issued on|when the invoice was issued",
    "channel": r"sent electronically|sent on paper|billing channel",
    "whole book": r"all invoices settled|of the organization",
}


@pytest.fixture(scope="module")
def explained():
    inv, pay = synthetic_ledger(customers=120, invoices=4000, seed=11)
    X = features_at_issue(inv, pay)
    labels = training_labels(inv, pd.Timestamp(inv["issue_date"].max()).date())
    model = PaymentModel.fit(X, labels, params=FAST, seed=0)
    due = labels["due_in_days"].to_numpy()
    p_late = 1.0 - model.predict(X, due_in_days=due)["p_paid_by_due"].to_numpy()
    contributions = model.contributions(X)
    return X, contributions, p_late, explain_rows(X, contributions, p_late)


def test_every_feature_belongs_to_exactly_one_reason_group():
    grouped = [f for features, _ in REASON_GROUPS.values() for f in features]
    assert sorted(grouped) == sorted(FEATURE_COLUMNS)
    assert len(grouped) == len(set(grouped))


def test_every_sentence_reads_only_its_own_group_and_never_prints_nan():
    for group, (features, _) in REASON_GROUPS.items():
        # reason_text hands the builder only its own group's values: a builder reading
        # another group's feature would raise KeyError here.
        assert "nan" not in reason_text(group, {}).lower()
        assert "nan" not in reason_text(group, {f: 3.0 for f in features}).lower()


def test_it_words_the_payment_record_in_one_sentence():
    values = {
        "prior_count": 259.0,
        "prior_issued_count": 276.0,
        "tenure_days": 730.0,
        "late_share": 0.4,
        "median_days_late": 32.0,
        "last3_days_late": 3.0,
    }
    assert reason_text("payment_record", values) == (
        "a customer for 24 months; paid 40% of its 259 settled invoices late, typically "
        "32 days after the due date; its last 3 were 3 days after the due date on average"
    )
    assert reason_text("payment_record", values, "later").endswith(
        "(worse than the average customer)"
    )
    new = {"prior_count": 0.0, "tenure_days": 10.0, "late_share": math.nan}
    assert reason_text("payment_record", new) == "new customer: no invoice settled yet"
    assert reason_text("payment_record", {**values, "median_days_late": -2.0}).endswith(
        "typically 2 days before the due date; its last 3 were 3 days after the due date on average"
    )


def test_no_two_reasons_of_an_invoice_contradict_or_repeat_a_fact(explained):
    X, _, _, reasons = explained
    assert len(reasons) == len(X) >= 3000
    assert sum(bool(r) for r in reasons) > 0.9 * len(reasons)
    for row in reasons:
        groups = [r["feature"] for r in row]
        assert len(groups) == len(set(groups)), row
        for fact, pattern in FACTS.items():
            stating = [r["text"] for r in row if re.search(pattern, r["text"])]
            assert len(stating) <= 1, (fact, row)
        assert sum(r["direction"] == "later" for r in row) <= TOP_PER_DIRECTION
        assert sum(r["direction"] == "earlier" for r in row) <= TOP_PER_DIRECTION


def test_direction_size_and_order_agree_with_the_numbers(explained):
    X, contributions, p_late, reasons = explained
    sums = group_contributions(contributions)
    for i in range(0, len(X), 7):
        row = reasons[i]
        points = []
        for reason in row:
            if reason["feature"] == "payment_record" and "new customer" not in reason["text"]:
                better = reason["text"].endswith("(better than the average customer)")
                assert better == (reason["direction"] == "earlier"), reason
            impact = sums.iloc[i][reason["feature"]]
            assert reason["impact"] == pytest.approx(impact, abs=1e-4)
            # the group's summed contribution is the sum of its features' contributions
            features = REASON_GROUPS[reason["feature"]][0]
            assert impact == pytest.approx(contributions.iloc[i][features].sum())
            pts = int(re.fullmatch(r"likely late ([+-]\d+) pts", reason["effect"]).group(1))
            assert (reason["direction"] == "later") == (pts > 0) == (impact > 0)
            p = p_late[i] if 0.005 < p_late[i] < 0.995 else None
            if p is not None:
                logit = math.log(p / (1 - p))
                expected = (p - 1 / (1 + math.exp(-(logit - impact)))) * 100
                assert pts == round(expected)
            points.append(abs(pts))
        assert points == sorted(points, reverse=True)


def test_it_explains_an_empty_frame():
    X = pd.DataFrame(columns=FEATURE_COLUMNS, dtype=float)
    contributions = pd.DataFrame(columns=[*FEATURE_COLUMNS, "bias"], dtype=float)
    assert explain_rows(X, contributions, np.array([])) == []
