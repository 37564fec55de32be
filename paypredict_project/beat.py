"""Writes ``paypredict_project.celery.BEAT_SCHEDULE`` into django-celery-beat's tables.

Idempotent and respectful of edits: a job missing from the database is created with its
default crontab; a job already there (perhaps re-timed or disabled by an admin) is left
exactly as it is. Run at beat start-up (``beat_init``) and by ``manage.py sync_beat_schedule``.
"""

from __future__ import annotations

from django.db import transaction

CRONTAB_FIELDS = ("minute", "hour", "day_of_week", "day_of_month", "month_of_year")


@transaction.atomic
def beat_schedule_sync(
    schedule: dict[str, tuple[str, dict[str, str]]] | None = None,
) -> dict[str, list[str]]:
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    from paypredict_project.celery import BEAT_SCHEDULE

    schedule = BEAT_SCHEDULE if schedule is None else schedule
    created, kept = [], []
    for name, (task, cron) in schedule.items():
        unknown = set(cron) - set(CRONTAB_FIELDS)
        if unknown:
            raise ValueError(f"beat job {name!r}: unknown crontab fields {sorted(unknown)}")
        if PeriodicTask.objects.filter(name=name).exists():
            kept.append(name)
            continue
        values = {field: str(cron.get(field, "*")) for field in CRONTAB_FIELDS}
        crontab = CrontabSchedule.objects.filter(timezone="UTC", **values).first()
        if crontab is None:
            crontab = CrontabSchedule.objects.create(timezone="UTC", **values)
        PeriodicTask.objects.create(name=name, task=task, crontab=crontab)
        created.append(name)
    return {"created": created, "kept": kept}
