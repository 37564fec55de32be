from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from invoices.models import Invoice, InvoiceStatus
from ml.registry import load_active_model
from predictions.models import Prediction, PredictionHistory, RiskThresholds
from predictions.selectors import ledger_frames
from predictions.services.explanations import REASON_GROUPS, reason_text
from predictions.services.scoring import (
    NoActiveModel,
    invoices_score,
    organization_today,
    risk_levels,
)
from tests.predictions.conftest import TODAY

pytestmark = pytest.mark.django_db


def test_it_scores_open_invoices_only(org, active_model):
    open_ids = set(
        Invoice.objects.filter(organization=org, status=InvoiceStatus.OPEN).values_list(
            "pk", flat=True
        )
    )
    result = invoices_score(organization=org)

    assert result.open_invoices == len(open_ids) == 18
    assert result.scored == 18
    predictions = Prediction.objects.filter(organization=org)
    assert set(predictions.values_list("invoice_id", flat=True)) == open_ids
    assert not predictions.filter(invoice__status=InvoiceStatus.PAID).exists()
    for p in predictions.select_related("invoice"):
        assert p.model_version_id == active_model.pk
        assert p.as_of == TODAY
        assert 0.0 <= p.p_paid_by_due <= p.p_paid_30 <= p.p_paid_60 <= p.p_paid_90 <= 1.0
        assert p.lower_date <= p.expected_date <= p.upper_date
        assert p.expected_date >= TODAY
        assert p.risk_level in ("low", "medium", "high")
    assert PredictionHistory.objects.filter(organization=org).count() == 18


def test_it_matches_the_model_output_row_for_row(org, active_model):
    invoices_score(organization=org)
    invoice = Invoice.objects.filter(organization=org, status=InvoiceStatus.OPEN).first()
    model = load_active_model(org)
    frames = ledger_frames(organization=org)
    from ml.features import features_as_of

    X = features_as_of(*frames, TODAY, [invoice.pk])
    import numpy as np

    expected = model.predict(
        X,
        due_in_days=np.array([(invoice.due_date - invoice.issue_date).days]),
        age_days=np.array([(TODAY - invoice.issue_date).days]),
    ).iloc[0]
    stored = Prediction.objects.get(invoice=invoice)
    assert stored.p_paid_by_due == pytest.approx(expected["p_paid_by_due"], abs=1e-5)
    assert stored.expected_date == max(
        invoice.issue_date + dt.timedelta(days=round(expected["point_days"])), TODAY
    )


def test_it_expects_slow_payers_to_pay_later_than_prompt_ones(org, active_model, ledger):
    invoices_score(organization=org)

    def youngest(customer):
        return Prediction.objects.get(
            invoice__customer=customer, invoice__issue_date=TODAY - dt.timedelta(days=10)
        )

    for k in (0, 1):
        prompt, slow = youngest(ledger[f"prompt{k}"]), youngest(ledger[f"slow{k}"])
        assert prompt.expected_date < slow.expected_date
        assert prompt.p_paid_by_due > slow.p_paid_by_due + 0.05


def test_it_skips_unchanged_rows_and_rescores_changed_ones(org, active_model, ledger):
    invoices_score(organization=org)
    again = invoices_score(organization=org)
    assert again.scored == 0
    assert again.skipped_unchanged == 18

    # A late settlement now on record changes the customer's history: its 3 open invoices
    # rescore, the others are skipped.
    Invoice.objects.create(
        organization=org,
        customer=ledger["prompt0"],
        number="LATE-1",
        issue_date=TODAY - dt.timedelta(days=200),
        due_date=TODAY - dt.timedelta(days=170),
        total=Decimal("900.00"),
        balance=Decimal("0.00"),
        status=InvoiceStatus.PAID,
        # Settled more than 90 days ago: the organization-wide 90-day features (which
        # would touch every invoice) stay the same; only this customer's history changes.
        paid_date=TODAY - dt.timedelta(days=100),
    )
    third = invoices_score(organization=org)
    assert third.scored == 3
    assert third.skipped_unchanged == 15
    assert invoices_score(organization=org, force=True).scored == 18
    # Rescoring that moved nothing material adds no history rows (only the 18 first
    # predictions and the 3 that changed with the new settlement, if they moved).
    assert PredictionHistory.objects.filter(organization=org).count() <= 21


def test_it_drops_the_current_prediction_when_an_invoice_is_paid(org, active_model):
    invoices_score(organization=org)
    invoice = Invoice.objects.filter(organization=org, status=InvoiceStatus.OPEN).first()
    Invoice.objects.filter(pk=invoice.pk).update(
        status=InvoiceStatus.PAID, balance=Decimal("0.00"), paid_date=TODAY
    )
    result = invoices_score(organization=org)
    assert result.removed_stale == 1
    assert not Prediction.objects.filter(invoice=invoice).exists()
    # The history still shows what was predicted for it.
    assert PredictionHistory.objects.filter(invoice=invoice).count() == 1


def test_it_refuses_without_an_active_model(org, ledger, model_dir):
    with pytest.raises(
        NoActiveModel, match=re.escape("run `manage.py train_payment_model --org org-a`")
    ):
        invoices_score(organization=org)


def test_it_explains_with_grouped_reasons_that_match_the_feature_values(org, active_model):
    invoices_score(organization=org)
    model = load_active_model(org)
    frames = ledger_frames(organization=org)
    from ml.features import features_as_of

    for prediction in Prediction.objects.filter(organization=org)[:6]:
        X = features_as_of(*frames, TODAY, [prediction.invoice_id])
        row = X.iloc[0].to_dict()
        assert prediction.factors, "every prediction names at least one reason"
        assert len([f for f in prediction.factors if f["direction"] == "later"]) <= 3
        assert len([f for f in prediction.factors if f["direction"] == "earlier"]) <= 3
        groups = [f["feature"] for f in prediction.factors]
        assert len(groups) == len(set(groups)), "each reason group once"
        contributions = model.contributions(X).iloc[0]
        for factor in prediction.factors:
            features = REASON_GROUPS[factor["feature"]][0]
            summed = contributions[features].sum()
            assert factor["text"] == reason_text(factor["feature"], row, factor["direction"])
            assert factor["impact"] == pytest.approx(summed, abs=1e-3)
            assert (factor["direction"] == "later") == (summed > 0)
            assert re.fullmatch(r"likely late [+-]\d+ pts", factor["effect"])


def test_it_applies_edited_risk_thresholds(org, active_model):
    invoices_score(organization=org)
    probabilities = list(Prediction.objects.values_list("risk_probability", flat=True))
    thresholds = RiskThresholds.objects.get(organization=org)
    assert (thresholds.high_at_risk, thresholds.medium_at_risk) == (0.5, 0.2)

    # Everything becomes high risk once the bar is at zero.
    thresholds.high_at_risk = 0.0
    thresholds.medium_at_risk = 0.0
    thresholds.save()
    invoices_score(organization=org, force=True)
    assert set(Prediction.objects.values_list("risk_level", flat=True)) == {"high"}

    thresholds.high_at_risk = 1.0
    thresholds.medium_at_risk = 1.0
    thresholds.save()
    invoices_score(organization=org, force=True)
    assert set(Prediction.objects.values_list("risk_level", flat=True)) == {"low"}
    assert len(probabilities) == 18


def test_it_grades_levels_on_the_probability_of_being_at_risk():
    t = RiskThresholds(high_at_risk=0.5, medium_at_risk=0.2)
    import numpy as np

    levels = risk_levels(np.array([0.0, 0.19, 0.2, 0.49, 0.5, 0.95]), t)
    assert list(levels) == ["low", "low", "medium", "medium", "high", "high"]


def test_it_separates_likely_late_from_at_risk_and_prices_the_risk(org, active_model, ledger):
    invoices_score(organization=org)
    today = organization_today(org)
    rows = Prediction.objects.filter(organization=org).select_related("invoice")
    assert rows.count() == 18
    for p in rows:
        invoice = p.invoice
        assert p.p_late == pytest.approx(1.0 - p.p_paid_by_due, abs=1e-5)
        # At risk = not paid within 30 days after due (once past due: the next 30 days).
        if invoice.due_date >= today:
            assert p.risk_probability == pytest.approx(1.0 - p.p_paid_30, abs=1e-5)
        else:
            assert p.p_late == pytest.approx(1.0)
        assert p.risk_probability <= p.p_late + 1e-6
        expected = (invoice.balance * Decimal(str(p.risk_probability))).quantize(Decimal("0.01"))
        assert abs(p.money_at_risk - expected) <= Decimal("0.02")
    # Slow payers (30 days late on average) carry more risk than prompt ones.
    slow = rows.filter(invoice__customer__name__startswith="Slow")
    prompt = rows.filter(invoice__customer__name__startswith="Prompt")
    assert min(p.risk_probability for p in slow) > max(p.risk_probability for p in prompt)


def test_it_rewrites_rows_scored_before_a_scoring_revision(org, active_model, monkeypatch):
    from predictions.services import scoring

    invoices_score(organization=org)
    assert invoices_score(organization=org).skipped_unchanged == 18
    monkeypatch.setattr(scoring, "SCORING_REVISION", scoring.SCORING_REVISION + 1)
    assert invoices_score(organization=org).scored == 18
