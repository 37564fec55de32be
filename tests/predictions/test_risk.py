from __future__ import annotations

import datetime as dt

import pytest

from predictions.models import CustomerRisk, CustomerRiskSnapshot, RiskThresholds
from predictions.selectors import customer_risk_summary
from predictions.services.risk import customer_risk_refresh
from predictions.services.scoring import invoices_score
from tests.predictions.conftest import TODAY

pytestmark = pytest.mark.django_db


def test_it_scores_slow_customers_above_prompt_ones(org, active_model, ledger):
    invoices_score(organization=org)
    result = customer_risk_refresh(organization=org)

    assert result.customers == 6
    risk = {r.customer_id: r for r in CustomerRisk.objects.filter(organization=org)}
    for k in (0, 1):
        prompt, slow = risk[ledger[f"prompt{k}"].pk], risk[ledger[f"slow{k}"].pk]
        assert 0 <= prompt.score < slow.score <= 100
        assert prompt.open_balance == 6000  # 1000 + 2000 + 3000 open
    assert result.high + result.medium + result.low == 6


def test_it_explains_the_score_with_drivers_in_words(org, active_model, ledger):
    invoices_score(organization=org)
    customer_risk_refresh(organization=org)
    slow = CustomerRisk.objects.get(customer=ledger["slow0"])
    texts = [d["text"] for d in slow.drivers]
    assert any("of its open balance (6,000 USD on 3 invoices)" in t for t in texts)
    # The slow customer paid all of its history late; none of it settled in the last year
    # is on time.
    assert any(t.startswith("paid ") and "late" in t for t in texts)
    weights = [d["weight"] for d in slow.drivers]
    assert weights == sorted(weights, reverse=True)


def test_it_keeps_one_snapshot_per_customer_per_day_and_shows_the_trend(org, active_model, ledger):
    invoices_score(organization=org)
    customer_risk_refresh(organization=org, as_of=TODAY - dt.timedelta(days=40))
    customer_risk_refresh(organization=org)
    customer_risk_refresh(organization=org)  # same day again: replaced, not added
    customer = ledger["slow0"]
    assert CustomerRiskSnapshot.objects.filter(customer=customer).count() == 2

    CustomerRiskSnapshot.objects.filter(
        customer=customer, date=TODAY - dt.timedelta(days=40)
    ).update(score=10.0)
    summary = customer_risk_summary(customer=customer)
    assert [p["date"] for p in summary["trend"]] == [TODAY - dt.timedelta(days=40), TODAY]
    assert summary["change_30d"] == pytest.approx(summary["score"] - 10.0)


def test_it_grades_customers_on_the_editable_thresholds(org, active_model, ledger):
    invoices_score(organization=org)
    RiskThresholds.objects.filter(organization=org).update(
        customer_high_score=0.0, customer_medium_score=0.0
    )
    result = customer_risk_refresh(organization=org)
    assert result.high == 6


def test_it_keeps_the_ledgers_copy_of_the_customer_risk_in_step(org, active_model, ledger):
    from invoices.models import Customer

    invoices_score(organization=org)
    customer_risk_refresh(organization=org)
    slow = Customer.objects.get(pk=ledger["slow0"].pk)
    risk = CustomerRisk.objects.get(customer=slow)
    assert float(slow.risk_score) == pytest.approx(risk.score, abs=0.01)
    assert slow.risk_level == risk.level

    # A customer that is no longer graded has its copy cleared, not left stale.
    Customer.objects.filter(pk=slow.pk).update(risk_level="high")
    orphan = Customer.objects.create(organization=org, name="No history", risk_level="high")
    customer_risk_refresh(organization=org)
    orphan.refresh_from_db()
    assert (orphan.risk_score, orphan.risk_level) == (None, "")
    assert Customer.objects.get(pk=slow.pk).risk_level == risk.level
