from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from paypredict_project.tenancy.commands import require_migrated
from paypredict_project.tenancy.models import Organization, Role
from paypredict_project.tenancy.selectors import organization_get_by_slug
from paypredict_project.tenancy.services import membership_create


class Command(BaseCommand):
    help = "Add a user (created on first sight, keyed by e-mail) to an organization with a role."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--email", required=True)
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--password", default=None, help="set a password for Django login")

    def handle(self, *args, **options):
        require_migrated()
        try:
            organization = organization_get_by_slug(slug=options["org"])
            membership = membership_create(
                organization=organization,
                email=options["email"],
                role=options["role"],
                password=options["password"],
            )
        except (Organization.DoesNotExist, ValidationError) as exc:
            message = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            raise CommandError(message) from exc
        self.stdout.write(
            f"{membership.user.email} is {membership.role} of {membership.organization.slug}"
        )
