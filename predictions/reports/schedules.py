"""Scheduled reports: create, compute the next run in the organization's time zone, send.

``report_schedules_send_due(now=...)`` is one pass of the beat job (every 5 minutes): each
due schedule runs its report, e-mails the CSV with a short HTML summary to those recipients
who are still members, records the run (sent, or failed with why) and moves ``next_run_at``
on. One schedule's failure never stops the others.

A scheduled daily summary covers the day just ended (yesterday, local); failed payments the
day (daily) or seven days (weekly) just ended; the others are as of the run.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.http import QueryDict
from django.template.loader import render_to_string
from django.utils import timezone

from paypredict_project.tenancy.models import Membership, Organization
from predictions.reports.catalog import REPORTS
from predictions.reports.exports import csv_text
from predictions.reports.models import Frequency, ReportRun, ReportSchedule, RunStatus

logger = logging.getLogger(__name__)
DUE_BATCH = 50


def schedule_next_run(
    *,
    organization: Organization,
    frequency: str,
    hour: int,
    weekday: int | None,
    after: dt.datetime,
) -> dt.datetime:
    """The first local ``hour``:00 (on ``weekday`` if weekly) strictly after ``after``."""
    tz = organization.tzinfo
    local = after.astimezone(tz)
    day = local.date()
    for _ in range(9):
        candidate = dt.datetime.combine(day, dt.time(hour), tzinfo=tz)
        weekday_ok = frequency == Frequency.DAILY or day.weekday() == weekday
        if weekday_ok and candidate > after:
            return candidate
        day += dt.timedelta(days=1)
    raise ValueError("no next run within nine days")  # unreachable for valid input


def _run_params(schedule: ReportSchedule, local_day: dt.date) -> dict:
    yesterday = local_day - dt.timedelta(days=1)
    if schedule.report == "daily-summary":
        return {"date": yesterday.isoformat()}
    if schedule.report == "failed-payments":
        days = 7 if schedule.frequency == Frequency.WEEKLY else 1
        start = yesterday - dt.timedelta(days=days - 1)
        return {"from": start.isoformat(), "to": yesterday.isoformat()}
    return dict(schedule.params)


@transaction.atomic
def report_schedule_create(
    *,
    organization: Organization,
    report: str,
    frequency: str,
    hour: int,
    weekday: int | None = None,
    recipients: list,
    params: dict | None = None,
    created_by=None,
) -> ReportSchedule:
    problems: dict[str, list[str]] = {}
    if report not in REPORTS:
        problems["report"] = [f"unknown report {report!r}"]
    if frequency not in Frequency.values:
        problems["frequency"] = ["must be daily or weekly"]
    if not 0 <= hour <= 23:
        problems["hour"] = ["must be 0 to 23"]
    if frequency == Frequency.WEEKLY and (weekday is None or not 0 <= weekday <= 6):
        problems["weekday"] = ["a weekly report needs a weekday, 0 (Monday) to 6"]
    members = set(
        Membership.objects.filter(organization=organization).values_list("user_id", flat=True)
    )
    if not recipients:
        problems["recipients"] = ["choose at least one member"]
    elif any(user.pk not in members for user in recipients):
        problems["recipients"] = ["recipients must be members of the organization"]
    if report in REPORTS and params:
        _, errors = REPORTS[report].parse(organization, QueryDict(mutable=True) | params)
        if errors:
            problems["params"] = [f"{k}: {' '.join(map(str, v))}" for k, v in errors.items()]
    if problems:
        raise ValidationError(problems)
    schedule = ReportSchedule.objects.create(
        organization=organization,
        report=report,
        params=params or {},
        frequency=frequency,
        hour=hour,
        weekday=weekday if frequency == Frequency.WEEKLY else None,
        created_by=created_by,
        next_run_at=schedule_next_run(
            organization=organization,
            frequency=frequency,
            hour=hour,
            weekday=weekday,
            after=timezone.now(),
        ),
    )
    schedule.recipients.set(recipients)
    return schedule


def _message(schedule: ReportSchedule, local_day: dt.date, emails: list[str]):
    organization = schedule.organization
    report = REPORTS[schedule.report]
    query = QueryDict(mutable=True)
    query.update(_run_params(schedule, local_day))
    resolved, errors = report.parse(organization, query)
    if errors:
        raise ValueError(f"invalid parameters: {errors}")
    result = report.run(organization=organization, **resolved)
    rows = list(report.rows(result))
    context = {
        "organization": organization,
        "report": report,
        "summary": report.summary(result),
        "rows": len(rows),
        "day": local_day,
        "url": f"{settings.SITE_URL.rstrip('/')}/reports/{report.slug}/",
    }
    subject = render_to_string("emails/report-subject.html", context).strip()
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("emails/report-body-text.html", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=emails,
    )
    message.attach_alternative(
        render_to_string("emails/report-body-html.html", context), "text/html"
    )
    filename = f"{report.slug}-{organization.slug}-{local_day.isoformat()}.csv"
    message.attach(filename, csv_text(report.columns, rows), "text/csv")
    return message, len(rows)


def report_schedule_run(*, schedule: ReportSchedule, now: dt.datetime) -> ReportRun:
    """Run one schedule now: send it, record the run, move next_run_at on."""
    organization = schedule.organization
    members = Membership.objects.filter(organization=organization).values("user_id")
    emails = sorted(
        schedule.recipients.filter(pk__in=members).exclude(email="").values_list("email", flat=True)
    )
    run = ReportRun(
        schedule=schedule, organization=organization, due_at=schedule.next_run_at, ran_at=now
    )
    run.recipients = emails
    try:
        if not emails:
            raise ValueError("no recipient is still a member with an e-mail address")
        message, run.rows = _message(schedule, now.astimezone(organization.tzinfo).date(), emails)
        message.send()
        run.status = RunStatus.SENT
    except Exception as exc:  # recorded with why; the next schedule still runs
        logger.warning("scheduled report %s failed: %s", schedule.code, exc)
        run.status = RunStatus.FAILED
        run.error = f"{type(exc).__name__}: {exc}"[:2000]
    run.save()
    schedule.next_run_at = schedule_next_run(
        organization=organization,
        frequency=schedule.frequency,
        hour=schedule.hour,
        weekday=schedule.weekday,
        after=now,
    )
    schedule.save(update_fields=["next_run_at"])
    return run


def report_schedules_send_due(*, now: dt.datetime | None = None) -> list[ReportRun]:
    """One pass of the beat job: every schedule due at ``now`` (all organizations)."""
    now = now or timezone.now()
    due = (
        ReportSchedule.objects.filter(active=True, next_run_at__lte=now)
        .select_related("organization")
        .order_by("next_run_at")[:DUE_BATCH]
    )
    return [report_schedule_run(schedule=schedule, now=now) for schedule in due]


def report_schedule_list(*, organization: Organization):
    return (
        ReportSchedule.objects.filter(organization=organization)
        .prefetch_related("recipients")
        .order_by("report", "id")
    )


def report_run_list(*, organization: Organization, limit: int = 30) -> list[ReportRun]:
    return list(
        ReportRun.objects.filter(organization=organization)
        .select_related("schedule")
        .order_by("-ran_at", "-id")[:limit]
    )
