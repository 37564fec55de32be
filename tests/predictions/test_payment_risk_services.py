"""Payment risk: training, batch and per-payment scoring through the ledger's hooks,
reviews, the threshold, and the evaluation command."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from invoices.models import Payment, PaymentStatus
from invoices.services import payment_record, payment_refund
from ml.models import ModelKind, ModelStatus
from paypredict_project.tenancy.models import AuditLog
from predictions.models import PaymentRisk, ReviewStatus
from predictions.payment_risk.services import (
    payment_risk_review,
    payment_risk_threshold_set,
)
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_it_trains_an_active_model_and_scores_every_payment(org, risk_model):
    assert risk_model.kind == ModelKind.PAYMENT_RISK
    assert risk_model.status == ModelStatus.ACTIVE
    payments = Payment.objects.filter(organization=org).count()
    risks = PaymentRisk.objects.filter(organization=org)
    assert risks.count() == payments
    assert all(0 <= r.score <= 1 for r in risks)
    flagged = risks.filter(flagged=True)
    assert 0 < flagged.count() < 0.05 * payments
    assert all(r.reasons and r.reasons[0]["text"] for r in flagged)
    assert all(r.model_version_id == risk_model.pk for r in flagged)


def test_it_scores_a_new_payment_when_the_ledger_records_it(
    org, risk_model, django_capture_on_commit_callbacks
):
    payment = Payment.objects.filter(organization=org, status="succeeded").last()
    customer = payment.customer
    foreign = "GBP" if customer.currency != "GBP" else "EUR"
    with django_capture_on_commit_callbacks(execute=True):
        new = payment_record(
            organization=org,
            customer=customer,
            amount=payment.amount,
            currency=foreign,
            received_at=dt.datetime(2026, 11, 26, 15, tzinfo=dt.UTC),
            method="wire",
            processor="swift",
        )
    risk = PaymentRisk.objects.get(payment=new)
    assert "new_currency" in [r["code"] for r in risk.reasons]
    assert risk.features["new_currency"] == 1


def test_it_rescores_a_payment_refunded_soon_after(
    org, risk_model, django_capture_on_commit_callbacks
):
    customer = Payment.objects.filter(organization=org).last().customer
    with django_capture_on_commit_callbacks(execute=True):
        payment = payment_record(
            organization=org,
            customer=customer,
            amount=Decimal("120.00"),
            received_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2),
            method="card",
            processor="stripe",
        )
    before = PaymentRisk.objects.get(payment=payment).score
    with django_capture_on_commit_callbacks(execute=True):
        payment_refund(payment=payment)
    risk = PaymentRisk.objects.get(payment=payment)
    assert risk.features["quick_refund"] > 0.9
    assert risk.score > before
    assert "quick_refund" in [r["code"] for r in risk.reasons]


def test_it_leaves_the_ledger_write_alone_without_a_model(org, django_capture_on_commit_callbacks):
    customer = CustomerFactory(organization=org)
    with django_capture_on_commit_callbacks(execute=True):
        payment = payment_record(
            organization=org,
            customer=customer,
            amount=Decimal("10.00"),
            received_at=dt.datetime(2026, 11, 2, tzinfo=dt.UTC),
        )
    assert payment.status == PaymentStatus.SUCCEEDED
    assert not PaymentRisk.objects.filter(payment=payment).exists()


def test_it_records_a_review_with_who_and_when_and_keeps_it_across_rescoring(
    org, collector, risk_model
):
    risk = PaymentRisk.objects.filter(organization=org, flagged=True).first()
    payment_risk_review(risk=risk, status=ReviewStatus.PROBLEM, user=collector)
    call_command("score_payment_risk", "--org", org.slug, stdout=StringIO())
    risk.refresh_from_db()
    assert risk.review_status == ReviewStatus.PROBLEM
    assert risk.reviewed_by == collector and risk.reviewed_at is not None
    entry = AuditLog.objects.get(organization=org, action="payment_risk.confirmed_problem")
    assert entry.object_code == str(risk.payment.code)
    with pytest.raises(ValidationError):
        payment_risk_review(risk=risk, status="whatever", user=collector)


def test_it_reflags_payments_when_the_threshold_moves(org, risk_model):
    flagged_before = PaymentRisk.objects.filter(organization=org, flagged=True).count()
    flagged = payment_risk_threshold_set(organization=org, threshold=0.3)
    assert flagged > flagged_before
    assert flagged == PaymentRisk.objects.filter(organization=org, score__gte=0.3).count()
    with pytest.raises(ValidationError):
        payment_risk_threshold_set(organization=org, threshold=1.5)


def test_it_evaluates_on_the_planted_anomalies_beside_the_baseline(org, risk_ledger):
    out = StringIO()
    call_command("evaluate_payment_risk", "--org", org.slug, stdout=out)
    result = json.loads(out.getvalue().strip().splitlines()[-1])
    assert result["planted"] > 0
    assert result["model"]["average_precision"] > result["baseline_amount_z"]["average_precision"]
    assert result["model"]["share_flagged"] < 0.05
    assert set(result["per_kind"]) >= {"quick_refund", "new_currency", "duplicate"}


def test_its_commands_name_bad_input(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="create_org"):
        call_command("train_payment_risk", "--org", "nope")
    with pytest.raises(CommandError, match="threshold"):
        call_command("evaluate_payment_risk", "--org", "nope", "--threshold", "3")
