from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from paypredict_project.audit import acting_as
from paypredict_project.tenancy.commands import organization_from_option
from reminders.services.sending import reminders_send_due


class Command(BaseCommand):
    help = (
        "Send the organization's approved and auto-send reminders through the configured "
        "e-mail backend. The last line is one JSON object: sent, failed, dropped, cancelled."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")

    def handle(self, *args, **options):
        organization = organization_from_option(options["org"])
        with acting_as(label="send_reminders"):
            result = reminders_send_due(organization=organization)
        if result.busy:
            raise CommandError(f"another send run for {organization.slug} is in progress")
        if result.delivery_unknown:
            self.stdout.write(
                f"{result.delivery_unknown} reminders left in 'sending' by an interrupted run "
                "are flagged 'delivery unknown' for review (not re-sent)"
            )
        self.stdout.write(json.dumps(result.as_json()))
