"""How well payment risk finds anomalies: on the demo's planted ground truth (and on the
collectors' reviews, when there are any), beside a per-customer amount z-score baseline.

The detector is fitted exactly as ``payment_risk_train`` fits it (unsupervised, on the whole
history, no label seen) and each payment is scored as of its own time; the labels are read
only here, from the ledger's ``demo_payment_anomaly_kinds``.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score

from invoices import selectors as ledger
from ml.payment_risk import PaymentRiskModel, payment_risk_features
from paypredict_project.tenancy.models import Organization
from predictions.payment_risk import selectors
from predictions.payment_risk.models import ReviewStatus


def _at_threshold(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict:
    flagged = scores >= threshold
    hits = int((flagged & labels).sum())
    return {
        "precision": round(hits / flagged.sum(), 4) if flagged.any() else None,
        "recall": round(hits / labels.sum(), 4) if labels.any() else None,
        "average_precision": round(float(average_precision_score(labels, scores)), 4)
        if labels.any()
        else None,
        "share_flagged": round(float(flagged.mean()), 4),
    }


def payment_risk_evaluate(
    *, organization: Organization, threshold: float | None = None, seed: int = 0
) -> dict:
    threshold = (
        selectors.payment_risk_threshold(organization=organization)
        if threshold is None
        else threshold
    )
    payments, invoices = selectors.payment_risk_history(organization=organization)
    if len(payments) < 20:
        raise ValueError(f"{organization.slug} has too few payments to evaluate")
    features = payment_risk_features(payments, invoices)
    model = PaymentRiskModel.fit(features, seed=seed)
    scores = model.score(features).scores
    kinds = ledger.demo_payment_anomaly_kinds(organization=organization)
    kind = np.array([kinds.get(int(i), "") for i in features.index], dtype=object)
    labels = kind != ""
    result: dict = {
        "organization": organization.slug,
        "payments": len(features),
        "planted": int(labels.sum()),
        "threshold": threshold,
        "model": _at_threshold(labels, scores, threshold),
        "per_kind": {},
    }
    for name in sorted(set(kind) - {""}):
        mine = kind == name
        # Per kind: this kind's anomalies against the ordinary payments (other kinds aside).
        keep = mine | ~labels
        result["per_kind"][name] = {
            "planted": int(mine.sum()),
            "recall": round(float((scores[mine] >= threshold).mean()), 4),
            "average_precision": round(float(average_precision_score(mine[keep], scores[keep])), 4),
        }
    # Baseline: the customer's robust amount z-score alone, flagging the same share.
    baseline = features["amount_z_raw"].to_numpy()
    cut = np.quantile(baseline, 1 - result["model"]["share_flagged"])
    result["baseline_amount_z"] = _at_threshold(labels, baseline, max(cut, 1e-9))
    result["forest_only"] = {
        "average_precision": round(
            float(average_precision_score(labels, model.forest_scores(features))), 4
        )
        if labels.any()
        else None
    }
    result["reviews"] = _reviews(organization)
    return result


def _reviews(organization: Organization) -> dict:
    """Collectors' verdicts as labels: of the reviewed flags, how many were real."""
    reviewed = selectors.payment_risk_list(organization=organization).exclude(
        review_status=ReviewStatus.NONE
    )
    confirmed = reviewed.filter(review_status=ReviewStatus.PROBLEM).count()
    total = reviewed.count()
    return {
        "reviewed": total,
        "confirmed_problem": confirmed,
        "precision_on_reviewed": round(confirmed / total, 4) if total else None,
    }
