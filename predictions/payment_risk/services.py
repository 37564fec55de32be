"""Writes for payment risk: train the organization's detector, score payments (all, or one
as it arrives), review a flag, set the threshold."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from invoices.models import Payment
from ml.models import ModelKind, ModelVersion
from ml.payment_risk import (
    FEATURES,
    PaymentRiskModel,
    payment_risk_features,
    payment_risk_features_one,
)
from ml.registry import get_active, load_model, promote_if_better, register_candidate
from paypredict_project.audit import audit_record
from paypredict_project.tenancy.models import Organization
from predictions.payment_risk import selectors
from predictions.payment_risk.models import PaymentRisk, PaymentRiskSettings, ReviewStatus

# Reasons are worded for every payment scoring at least this (or the threshold, if lower),
# so the payment page can say why a payment sits just under the line too.
EXPLAIN_FROM = 0.3
BATCH = 5000
# Values shown on the payment page beside the model's features.
CONTEXT = ("first_payment", "usual_amount", "owed", "refund_hours")


class NoRiskModel(Exception):
    """The organization has no active payment-risk model yet (train_payment_risk)."""


@dataclass
class RiskScoreResult:
    scored: int
    flagged: int
    version: str

    def as_dict(self) -> dict:
        return {"scored": self.scored, "flagged": self.flagged, "version": self.version}


def payment_risk_train(*, organization: Organization, seed: int = 0) -> ModelVersion:
    """Fit the detector on the organization's whole payment history and make it active
    (unsupervised: nothing to hold out; the newest history wins)."""
    payments, invoices = selectors.payment_risk_history(organization=organization)
    if len(payments) < 20:
        raise ValueError(
            f"{organization.slug} has {len(payments)} payments; payment risk needs at least 20"
        )
    features = payment_risk_features(payments, invoices)
    model = PaymentRiskModel.fit(features, seed=seed)
    scores = model.score(features).scores
    metrics = {
        "model": {},
        "history": {
            "payments": len(payments),
            "share_at_default_threshold": round(float((scores >= 0.5).mean()), 4),
        },
    }
    version = register_candidate(
        organization=organization,
        model=model,
        metrics=metrics,
        rows={"train": len(payments)},
        params=model.params,
        kind=ModelKind.PAYMENT_RISK,
    )
    promote_if_better(version)
    version.refresh_from_db()
    return version


def _active(organization: Organization) -> tuple[ModelVersion, PaymentRiskModel]:
    version = get_active(organization, ModelKind.PAYMENT_RISK)
    if version is None:
        raise NoRiskModel(
            f"{organization.slug} has no payment-risk model: run train_payment_risk --org "
            f"{organization.slug}"
        )
    return version, load_model(version)


def _feature_json(row: pd.Series) -> dict:
    values = {name: row[name] for name in (*FEATURES, *CONTEXT)}
    return {k: (None if not math.isfinite(v) else round(float(v), 4)) for k, v in values.items()}


def _rows(
    organization: Organization,
    version: ModelVersion,
    model: PaymentRiskModel,
    features: pd.DataFrame,
    threshold: float,
) -> list[PaymentRisk]:
    scored = model.score(features, explain_above=min(EXPLAIN_FROM, threshold))
    now = timezone.now()
    return [
        PaymentRisk(
            organization=organization,
            payment_id=int(payment_id),
            score=round(float(score), 4),
            flagged=bool(score >= threshold),
            reasons=[reason.as_dict() for reason in reasons],
            features=_feature_json(features.iloc[i]),
            model_version=version,
            scored_at=now,
        )
        for i, (payment_id, score, reasons) in enumerate(
            zip(features.index, scored.scores, scored.reasons, strict=True)
        )
    ]


def _save(rows: list[PaymentRisk]) -> None:
    # Rescoring keeps a collector's review: only the score fields are overwritten.
    PaymentRisk.objects.bulk_create(
        rows,
        batch_size=BATCH,
        update_conflicts=True,
        unique_fields=["payment"],
        update_fields=["score", "flagged", "reasons", "features", "model_version", "scored_at"],
    )


def payment_risk_score_all(*, organization: Organization) -> RiskScoreResult:
    """Score every payment of the organization, each as of its own time (batch)."""
    version, model = _active(organization)
    threshold = selectors.payment_risk_threshold(organization=organization)
    payments, invoices = selectors.payment_risk_history(organization=organization)
    features = payment_risk_features(payments, invoices)
    rows = _rows(organization, version, model, features, threshold)
    with transaction.atomic():
        _save(rows)
    return RiskScoreResult(
        scored=len(rows), flagged=sum(r.flagged for r in rows), version=version.version
    )


def payment_risk_score_payment(*, payment: Payment) -> PaymentRisk | None:
    """Score one payment as it arrives (or changes: a refund): the customer's history up to
    it and the organization's processor counts. None when no model is active yet."""
    organization = payment.organization
    try:
        version, model = _active(organization)
    except NoRiskModel:
        return None
    payments, invoices = selectors.payment_risk_history(
        organization=organization, customer_ids=[payment.customer_id], until=payment.received_at
    )
    features = payment_risk_features_one(
        payments,
        payment.pk,
        invoices,
        processor_counts=selectors.payment_processor_counts(organization=organization),
    )
    threshold = selectors.payment_risk_threshold(organization=organization)
    (row,) = _rows(organization, version, model, features, threshold)
    _save([row])
    return PaymentRisk.objects.get(payment=payment)


def payment_risk_score_changed(*, organization_id: int, payment_id: int) -> PaymentRisk | None:
    """The ledger's after-commit hook lands here (predictions/apps.py)."""
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        return None
    payment = selectors.payment_get_for_risk(organization=organization, payment_id=payment_id)
    if payment is None:
        return None
    return payment_risk_score_payment(payment=payment)


@transaction.atomic
def payment_risk_review(*, risk: PaymentRisk, status: str, user) -> PaymentRisk:
    """A collector's verdict on a flag: reviewed and fine, or a confirmed problem (kept as a
    label for the evaluation)."""
    if status not in (ReviewStatus.FINE, ReviewStatus.PROBLEM):
        raise ValidationError(
            {"status": f"must be {ReviewStatus.FINE} or {ReviewStatus.PROBLEM}, not {status!r}"}
        )
    risk = PaymentRisk.objects.select_for_update().get(pk=risk.pk)
    before = {"review_status": risk.review_status}
    risk.review_status = status
    risk.reviewed_by = user
    risk.reviewed_at = timezone.now()
    risk.save(update_fields=["review_status", "reviewed_by", "reviewed_at"])
    audit_record(
        organization=risk.organization,
        action=f"payment_risk.{status}",
        object_type="payment",
        object_code=str(risk.payment.code),
        before=before,
        after={"review_status": status, "score": risk.score},
    )
    return risk


@transaction.atomic
def payment_risk_threshold_set(*, organization: Organization, threshold: float) -> int:
    """Set the organization's threshold and re-flag its scored payments; returns how many
    are flagged now."""
    if not 0.01 <= threshold <= 0.99:
        raise ValidationError({"threshold": "must be between 0.01 and 0.99"})
    settings, _ = PaymentRiskSettings.objects.get_or_create(organization=organization)
    before = {"threshold": settings.threshold}
    settings.threshold = threshold
    settings.save(update_fields=["threshold", "updated_at"])
    risks = PaymentRisk.objects.filter(organization=organization)
    risks.filter(score__gte=threshold, flagged=False).update(flagged=True)
    risks.filter(score__lt=threshold, flagged=True).update(flagged=False)
    audit_record(
        organization=organization,
        action="payment_risk.threshold",
        object_type="organization",
        object_code=organization.slug,
        before=before,
        after={"threshold": threshold},
    )
    return risks.filter(flagged=True).count()
