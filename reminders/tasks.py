"""Celery adapters for dunning. Scheduled in ``paypredict_project.celery.BEAT_SCHEDULE``;
the ``*_all`` tasks fan out one task per organization."""

from __future__ import annotations

from celery import shared_task

from paypredict_project.audit import acting_as
from paypredict_project.tenancy.models import Organization


def _organization(organization_id: int) -> Organization | None:
    return Organization.objects.filter(pk=organization_id).first()


def _fan_out(task) -> int:
    ids = list(Organization.objects.values_list("pk", flat=True))
    for organization_id in ids:
        task.delay(organization_id)
    return len(ids)


@shared_task(name="reminders.plan_all")
def reminders_plan_all_task() -> int:
    return _fan_out(reminders_plan_task)


@shared_task(name="reminders.plan", max_retries=0)
def reminders_plan_task(organization_id: int) -> dict | None:
    from invoices.analytics import organization_today
    from reminders.services.outcomes import reminder_outcomes_refresh
    from reminders.services.planning import reminders_plan

    organization = _organization(organization_id)
    if organization is None:
        return None
    today = organization_today(organization=organization)
    with acting_as(label="reminders.plan"):
        reminder_outcomes_refresh(organization=organization)
        return reminders_plan(organization=organization, today=today).as_json()


@shared_task(name="reminders.send_all")
def reminders_send_all_task() -> int:
    return _fan_out(reminders_send_task)


@shared_task(name="reminders.send", max_retries=0)
def reminders_send_task(organization_id: int) -> dict | None:
    from reminders.services.sending import reminders_send_due

    organization = _organization(organization_id)
    if organization is None:
        return None
    with acting_as(label="reminders.send"):
        return reminders_send_due(organization=organization).as_json()
