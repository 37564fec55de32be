from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from paypredict_project.tenancy.commands import require_migrated
from paypredict_project.tenancy.services import organization_create


class Command(BaseCommand):
    help = "Create an organization (tenant)."

    def add_arguments(self, parser):
        parser.add_argument("--slug", required=True, help="URL-safe identifier, e.g. acme")
        parser.add_argument("--name", required=True, help="display name")
        parser.add_argument("--auth0-org-id", default=None, help="Auth0 Organization id (org_...)")
        parser.add_argument("--base-currency", default="USD", help="ISO 4217 code, default USD")
        parser.add_argument("--time-zone", default="UTC", help="IANA time zone, default UTC")

    def handle(self, *args, **options):
        require_migrated()
        try:
            organization = organization_create(
                slug=options["slug"],
                name=options["name"],
                base_currency=options["base_currency"],
                time_zone=options["time_zone"],
                auth0_org_id=options["auth0_org_id"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"created organization {organization.slug} ({organization.code})")
