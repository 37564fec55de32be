"""The payment model on synthetic and IBM data (pure, no database)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml.evaluation import NotEnoughDataError, evaluate_payment
from ml.features import features_at_issue, training_labels
from ml.payment_model import PaymentModel
from ml.registry import ArtifactChecksumError
from ml.synthetic import synthetic_ledger
from tests.ml.ibm import IBM_CSV, ibm_frames

FAST = {"distributions": ["normal"], "sigmas": [0.3], "max_rounds": 300}


@pytest.fixture(scope="module")
def fitted():
    inv, pay = synthetic_ledger(customers=80, invoices=3000, seed=7)
    X = features_at_issue(inv, pay)
    labels = training_labels(inv, pd.Timestamp(inv["issue_date"].max()).date())
    return PaymentModel.fit(X, labels, params=FAST, seed=0), X, labels


def test_it_predicts_a_coherent_distribution(fitted):
    model, X, labels = fitted
    due = labels["due_in_days"].to_numpy()

    pred = model.predict(X, due_in_days=due)

    assert (pred["p_paid_by_due"] <= pred["p_paid_30"] + 1e-12).all()
    assert (pred["p_paid_30"] <= pred["p_paid_60"] + 1e-12).all()
    assert (pred["p_paid_60"] <= pred["p_paid_90"] + 1e-12).all()
    assert (pred["lower_days"] <= pred["median_days"]).all()
    assert (pred["median_days"] <= pred["upper_days"]).all()
    cdf = model.cdf(X.iloc[:50], np.array([5.0, 20.0, 40.0, 80.0, 200.0]))
    assert cdf.shape == (50, 5)
    assert (np.diff(cdf, axis=1) >= -1e-12).all()
    # The CDF at the due date is the calibrated paid-by-due probability.
    at_due = model.cdf(X.iloc[:50], due[:50].reshape(-1, 1))[:, 0]
    np.testing.assert_allclose(at_due, pred["p_paid_by_due"].to_numpy()[:50], atol=1e-6)
    # The median is where the CDF crosses one half.
    med = pred["median_days"].to_numpy()[:50].reshape(-1, 1)
    np.testing.assert_allclose(model.cdf(X.iloc[:50], med)[:, 0], 0.5, atol=1e-4)


def test_it_conditions_on_the_invoice_still_being_open(fitted):
    model, X, labels = fitted
    due = labels["due_in_days"].to_numpy()[:200]
    fresh = model.predict(X.iloc[:200], due_in_days=due)
    age = due + 20  # 20 days overdue and still unpaid

    late = model.predict(X.iloc[:200], due_in_days=due, age_days=age)

    assert (late["p_paid_by_due"] == 0).all()
    assert (late["lower_days"] >= age - 1e-9).all()
    assert (late["median_days"] >= fresh["median_days"] - 1e-9).all()


def test_it_explains_with_contributions_that_point_later_for_late_payers(fitted):
    model, X, _ = fitted
    contrib = model.contributions(X)

    assert list(contrib.columns) == [*model.feature_columns, "bias"]
    # contributions sum to minus the log-odds of paying on time
    m = model._matrix(X.iloc[:20])
    m.set_base_margin(model.linear.margin(X.iloc[:20][model.feature_columns].to_numpy(float)))
    logit = model.classifier.predict(m, output_margin=True)
    np.testing.assert_allclose(contrib.iloc[:20].sum(axis=1), -logit, atol=1e-3)
    # ...and the bias is the same for every row (no feature effect hides in it)
    assert contrib["bias"].std() < 1e-4
    # customers who paid most of their history late get a positive (later) push
    mostly_late = X["late_share"] > 0.8
    mostly_on_time = X["late_share"] < 0.1
    assert contrib.loc[mostly_late, "late_share"].mean() > 0
    assert contrib.loc[mostly_on_time, "late_share"].mean() < 0


def test_it_round_trips_the_artifact_and_refuses_a_tampered_one(fitted, tmp_path):
    model, X, labels = fitted
    saved = model.save(tmp_path / "v1")

    loaded = PaymentModel.load(saved["path"], saved["sha256"])

    due = labels["due_in_days"].to_numpy()[:100]
    pd.testing.assert_frame_equal(
        model.predict(X.iloc[:100], due_in_days=due), loaded.predict(X.iloc[:100], due_in_days=due)
    )
    text = Path(saved["path"]).read_text()
    assert '"survival:aft"' in text  # XGBoost's own JSON format
    with open(saved["path"], "a") as fh:
        fh.write(" ")
    with pytest.raises(ArtifactChecksumError, match="sha256"):
        PaymentModel.load(saved["path"], saved["sha256"])


def test_it_refuses_to_evaluate_without_enough_paid_invoices():
    inv, pay = synthetic_ledger(customers=5, invoices=30, seed=1)
    with pytest.raises(NotEnoughDataError, match=r"only \d+ paid invoices.*at least 50"):
        evaluate_payment(inv, pay)


@pytest.mark.skipif(not IBM_CSV.exists(), reason="shared IBM data not present")
def test_it_beats_the_baselines_on_the_ibm_time_holdout():
    inv, pay = ibm_frames()

    report, _ = evaluate_payment(inv, pay, test_fraction=0.25)

    m, b = report["model"], report["baselines"]
    assert report["rows"] == {"train": 1845, "test": 621}
    for name in ("majority", "customer_history", "due_date"):
        assert m["roc_auc"] > b[name]["roc_auc"]
        assert m["brier"] < b[name]["brier"]
        assert m["mae_days"] < b[name]["mae_days"]
    assert m["roc_auc"] >= b["logistic"]["roc_auc"] - 0.002
    assert m["brier"] <= b["logistic"]["brier"] + 0.002
    assert 0.75 <= m["coverage_80"] <= 0.85
    assert b["customer_history"]["roc_auc"] == pytest.approx(0.862, abs=0.002)


def test_it_gives_a_point_date_inside_the_interval_chosen_on_validation(fitted):
    model, X, labels = fitted
    due = labels["due_in_days"].to_numpy()[:300]
    pred = model.predict(X.iloc[:300], due_in_days=due)

    assert model.info["point_weight"] in (0.0, 0.25, 0.5, 0.75, 1.0)
    assert model.info["validation_point_mae"] > 0
    assert (pred["lower_days"] <= pred["point_days"] + 1e-9).all()
    assert (pred["point_days"] <= pred["upper_days"] + 1e-9).all()
    # Open past its point date: the conditional median takes over.
    age = pred["point_days"].to_numpy() + 5
    late = model.predict(X.iloc[:300], due_in_days=due, age_days=age)
    np.testing.assert_allclose(late["point_days"], late["median_days"])
    assert (late["point_days"] >= age - 1e-9).all()
