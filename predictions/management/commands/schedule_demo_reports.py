"""Idempotent: schedule the demo reports (a daily summary every morning, failed payments every
Monday) to the organization's admins, so `make run` shows scheduled e-mail at work."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from paypredict_project.tenancy.models import Organization, Role
from predictions.reports.models import ReportSchedule
from predictions.reports.schedules import report_schedule_create

DEMO_SCHEDULES = (
    {"report": "daily-summary", "frequency": "daily", "hour": 7},
    {"report": "failed-payments", "frequency": "weekly", "hour": 7, "weekday": 0},
)


class Command(BaseCommand):
    help = "Schedule a daily summary and a weekly failed-payments report to the org's admins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="organization slug")

    def handle(self, *args, **options) -> None:
        organization = Organization.objects.filter(slug=options["org"]).first()
        if organization is None:
            raise CommandError(f"no organization with slug {options['org']!r}")
        admins = list(
            get_user_model().objects.filter(
                memberships__organization=organization, memberships__role=Role.ADMIN
            )
        )
        if not admins:  # e.g. no demo logins on a non-embedded database: nothing to do
            self.stdout.write(f"{organization.slug} has no admin: no report scheduled")
            return
        for spec in DEMO_SCHEDULES:
            if ReportSchedule.objects.filter(
                organization=organization, report=spec["report"]
            ).exists():
                continue
            schedule = report_schedule_create(organization=organization, recipients=admins, **spec)
            self.stdout.write(
                f"scheduled {schedule.report} ({schedule.frequency}) next at "
                f"{schedule.next_run_at.astimezone(organization.tzinfo):%Y-%m-%d %H:%M %Z}"
            )
