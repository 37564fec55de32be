"""Celery adapters: each task loads its arguments and calls one service.

The periodic ones are scheduled in ``paypredict_project.celery.BEAT_SCHEDULE``; the
``*_all`` tasks fan out one task per organization so one big tenant does not hold up
the others and a failure stays local to its organization.
"""

from __future__ import annotations

import logging

from celery import shared_task

from paypredict_project.tenancy.models import Organization

logger = logging.getLogger(__name__)


def _organization(organization_id: int) -> Organization | None:
    return Organization.objects.filter(pk=organization_id).first()


@shared_task(name="predictions.payment_model_retrain_all")
def payment_model_retrain_all_task() -> int:
    ids = list(Organization.objects.values_list("pk", flat=True))
    for organization_id in ids:
        payment_model_retrain_task.delay(organization_id)
    return len(ids)


@shared_task(name="predictions.payment_model_retrain", max_retries=0)
def payment_model_retrain_task(organization_id: int) -> str | None:
    from predictions.services.training import payment_model_train

    organization = _organization(organization_id)
    if organization is None:
        return None
    try:
        version = payment_model_train(organization=organization)
    except ValueError as exc:  # too little history to train: nothing to do tonight
        logger.info("retrain skipped for %s: %s", organization.slug, exc)
        return None
    return str(version)


@shared_task(name="predictions.invoices_score_all")
def invoices_score_all_task() -> int:
    ids = list(Organization.objects.values_list("pk", flat=True))
    for organization_id in ids:
        invoices_score_task.delay(organization_id)
    return len(ids)


@shared_task(name="predictions.invoices_score")
def invoices_score_task(organization_id: int) -> dict | None:
    """Nightly full rescoring, then the forecast and customer risk that depend on it."""
    from predictions.services.refresh import predictions_refresh
    from predictions.services.scoring import NoActiveModel

    organization = _organization(organization_id)
    if organization is None:
        return None
    try:
        result = predictions_refresh(organization=organization)
    except NoActiveModel as exc:
        logger.info("%s", exc)
        return None
    return result.score.as_dict()


@shared_task(name="predictions.rescore_pending")
def rescore_pending_task(organization_id: int) -> int:
    """Debounced rescoring: scores every invoice collected since the task was scheduled."""
    from predictions.services.rescoring import rescore_pending_run

    organization = _organization(organization_id)
    if organization is None:
        return 0
    return rescore_pending_run(organization=organization)


@shared_task(name="predictions.customer_risk_snapshot_all")
def customer_risk_snapshot_all_task() -> int:
    from predictions.services.risk import customer_risk_refresh

    count = 0
    for organization in Organization.objects.all():
        count += customer_risk_refresh(organization=organization).customers
    return count


@shared_task(name="predictions.payment_risk_retrain_all")
def payment_risk_retrain_all_task() -> int:
    ids = list(Organization.objects.values_list("pk", flat=True))
    for organization_id in ids:
        payment_risk_retrain_task.delay(organization_id)
    return len(ids)


@shared_task(name="predictions.payment_risk_retrain", max_retries=0)
def payment_risk_retrain_task(organization_id: int) -> dict | None:
    """Nightly: refit the organization's payment-risk detector, then rescore its payments."""
    from predictions.payment_risk.services import payment_risk_score_all, payment_risk_train

    organization = _organization(organization_id)
    if organization is None:
        return None
    try:
        payment_risk_train(organization=organization)
    except ValueError as exc:  # too few payments yet
        logger.info("payment risk retrain skipped for %s: %s", organization.slug, exc)
        return None
    return payment_risk_score_all(organization=organization).as_dict()


@shared_task(name="predictions.payment_risk_score")
def payment_risk_score_task(organization_id: int) -> dict | None:
    """After a bulk import: score the organization's payments."""
    from predictions.payment_risk.services import NoRiskModel, payment_risk_score_all

    organization = _organization(organization_id)
    if organization is None:
        return None
    try:
        return payment_risk_score_all(organization=organization).as_dict()
    except NoRiskModel as exc:
        logger.info("%s", exc)
        return None


@shared_task(name="predictions.reports_send_due")
def reports_send_due_task() -> dict:
    """Every 5 minutes: e-mail the scheduled reports that are due (all organizations)."""
    from predictions.reports.schedules import report_schedules_send_due

    runs = report_schedules_send_due()
    return {
        "sent": sum(r.status == "sent" for r in runs),
        "failed": sum(r.status == "failed" for r in runs),
    }
