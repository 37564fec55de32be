"""Training and evaluation of the payment model for one organization.

Decision on the production artifact: the holdout evaluation trains on the early 75% of
issue dates only (that is what the reported metrics describe); the model that is then
registered is REFIT on all invoices with labels as known today, reusing the AFT
distribution and scale chosen during evaluation. The latest quarter of invoices is the
most relevant to tomorrow's invoices, and throwing it away would make the served model
systematically staler than the evaluated one. The registry stores the evaluation metrics
beside the version (they are the honest estimate for the refit model too) and the row
counts of both fits.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pandas as pd

from invoices.analytics import organization_today
from ml.evaluation import (
    MIN_PAID_INVOICES,
    NotEnoughDataError,
    check_enough_data,
    evaluate_payment,
)
from ml.features import features_at_issue, training_labels
from ml.models import ModelVersion
from ml.payment_model import PaymentModel
from ml.registry import DEFAULT_TOLERANCE, promote_if_better, register_candidate
from paypredict_project.tenancy.models import Organization
from predictions.selectors import ledger_frames

__all__ = [
    "MIN_PAID_INVOICES",
    "NotEnoughDataError",
    "payment_model_evaluate",
    "payment_model_train",
]

logger = logging.getLogger(__name__)


def _load(organization: Organization, as_of: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    invoices, payments = ledger_frames(organization=organization)
    # Invoices dated in the future (pre-billed) carry no information yet.
    invoices = invoices[invoices["issue_date"] <= pd.Timestamp(as_of)]
    check_enough_data(invoices)
    return invoices, payments


def payment_model_evaluate(
    *,
    organization: Organization,
    test_fraction: float = 0.25,
    as_of: dt.date | None = None,
    seed: int = 0,
    params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Time-split holdout evaluation of the payment model beside the four baselines."""
    as_of = as_of or organization_today(organization=organization)
    invoices, payments = _load(organization, as_of)
    report, _ = evaluate_payment(
        invoices, payments, test_fraction=test_fraction, as_of=as_of, seed=seed, params=params
    )
    return report


def payment_model_train(
    *,
    organization: Organization,
    test_fraction: float = 0.25,
    tolerance: float = DEFAULT_TOLERANCE,
    as_of: dt.date | None = None,
    seed: int = 0,
    params: dict[str, Any] | None = None,
) -> ModelVersion:
    """Evaluate on the time holdout, refit on everything, register the candidate and
    promote it if it beats the active version. Returns the (refreshed) candidate."""
    as_of = as_of or organization_today(organization=organization)
    invoices, payments = _load(organization, as_of)
    features = features_at_issue(invoices, payments)
    report, eval_model = evaluate_payment(
        invoices,
        payments,
        test_fraction=test_fraction,
        as_of=as_of,
        seed=seed,
        features=features,
        params=params,
    )
    labels = training_labels(invoices, as_of)
    production = PaymentModel.fit(
        features.loc[labels.index],
        labels,
        params={
            **(params or {}),
            "distributions": [eval_model.distribution],
            "sigmas": [eval_model.sigma],
        },
        seed=seed,
    )
    rows = {**report["rows"], "production": len(labels)}
    candidate = register_candidate(
        organization=organization,
        model=production,
        metrics=report,
        rows=rows,
        params=production.params,
    )
    decision = promote_if_better(candidate, tolerance=tolerance)
    logger.info(
        "payment model %s for %s: %s (%s)",
        candidate.version,
        organization.slug,
        decision["decision"],
        decision["reason"],
    )
    candidate.refresh_from_db()
    return candidate
