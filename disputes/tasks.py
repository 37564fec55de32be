"""Celery adapters of the disputes app: thin, each calls one function of
``disputes.classification``."""

from __future__ import annotations

import logging

from celery import shared_task

from paypredict_project.tenancy.models import Organization

logger = logging.getLogger(__name__)


@shared_task(name="disputes.classify_disputes", max_retries=0)
def classify_disputes(dispute_ids: list[int]) -> int:
    """Classify new disputes; many arriving together are classified in batches."""
    from disputes.classification import classify_disputes as classify

    return classify(dispute_ids=dispute_ids)


@shared_task(name="disputes.dispute_model_train_base", max_retries=0)
def dispute_model_train_base() -> str:
    """Train the shared base model (bootstrap runs this in the background), then classify
    whatever waited for it or was answered by the stand-in TF-IDF baseline meanwhile."""
    from disputes.classification import (
        baseline_classified_ids,
        dispute_model_train,
        unclassified_ids,
    )
    from disputes.classification import classify_disputes as classify

    version, decision = dispute_model_train(progress=False)
    classify(dispute_ids=unclassified_ids() + baseline_classified_ids())
    return f"{version.version}: {decision['decision']}"


@shared_task(name="disputes.dispute_model_retrain_all")
def dispute_model_retrain_all() -> int:
    from disputes.classification import needs_retraining

    count = 0
    for organization in Organization.objects.all():
        if needs_retraining(organization):
            dispute_model_retrain.delay(organization.pk)
            count += 1
    return count


@shared_task(name="disputes.dispute_model_retrain", max_retries=0)
def dispute_model_retrain(organization_id: int) -> str | None:
    from disputes.classification import dispute_model_train

    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        return None
    version, decision = dispute_model_train(organization=organization, progress=False)
    logger.info("dispute model %s for %s: %s", version.version, organization.slug, decision)
    return decision["decision"]
