from __future__ import annotations

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError

from invoices.analytics import organization_today
from paypredict_project.audit import acting_as
from paypredict_project.tenancy.commands import organization_from_option
from reminders.services.planning import reminders_plan


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--today must be a date YYYY-MM-DD, got {value!r}") from exc


class Command(BaseCommand):
    help = (
        "Plan and draft the reminders due on a day (default: today in the organization's "
        "time zone). The last line is one JSON object: customers, drafted, skipped by "
        "reason, drafter counts and LLM fallbacks by reason."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--today", default=None, help="plan as of this day (YYYY-MM-DD)")

    def handle(self, *args, **options):
        organization = organization_from_option(options["org"])
        today = _date(options["today"]) if options["today"] else None
        today = today or organization_today(organization=organization)
        with acting_as(label="plan_reminders"):
            result = reminders_plan(organization=organization, today=today)
        self.stdout.write(
            f"{organization.slug} {today.isoformat()}: {result.drafted} reminders drafted for "
            f"{result.customers} customers ({result.holdout} held out)"
        )
        self.stdout.write(json.dumps(result.as_json()))
