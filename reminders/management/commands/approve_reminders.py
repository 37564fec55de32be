from __future__ import annotations

import json
import uuid

from django.core.management.base import BaseCommand, CommandError

from paypredict_project.audit import acting_as
from paypredict_project.tenancy.commands import organization_from_option
from reminders.services.review import reminders_approve_bulk


def _code(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise CommandError(f"--id must be a reminder id (a UUID), got {value!r}") from exc


class Command(BaseCommand):
    help = (
        "Approve draft reminders for sending: every draft (--all) or the given ids. "
        'The last line is {"approved": n}.'
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--all", action="store_true", help="approve every draft")
        which.add_argument("--id", nargs="+", dest="ids", help="reminder ids (UUIDs)")

    def handle(self, *args, **options):
        organization = organization_from_option(options["org"])
        codes = None if options["all"] else [_code(value) for value in options["ids"]]
        with acting_as(label="approve_reminders"):
            approved = reminders_approve_bulk(organization=organization, codes=codes, user=None)
        if codes is not None and approved < len(codes):
            self.stderr.write(
                f"{len(codes) - approved} of the ids are not drafts of {organization.slug}"
            )
        self.stdout.write(json.dumps({"approved": approved}))
        if codes is not None and approved < len(codes):
            raise CommandError("some reminders were not approved")
