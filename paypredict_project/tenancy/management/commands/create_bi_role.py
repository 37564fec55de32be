from __future__ import annotations

from django.core.management.base import BaseCommand

from paypredict_project.readonly import bi_role_rotate, reader_connection_url
from paypredict_project.tenancy.commands import organization_from_option


class Command(BaseCommand):
    help = (
        "Create the organization's read-only BI login, or give it a new password. It reads "
        "only the vw_* views (docs/bi.md), only this organization's rows. The connection "
        "string is printed once: the password is stored nowhere."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")

    def handle(self, *args, **options):
        organization = organization_from_option(options["org"])
        role, password = bi_role_rotate(organization=organization)
        self.stdout.write(f"BI login {role.role_name} for {organization.slug} (read-only).")
        self.stdout.write("Connection string (shown once; run again to rotate the password):")
        self.stdout.write(reader_connection_url(role, password))
