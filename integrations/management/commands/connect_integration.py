from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from integrations.models import Provider
from integrations.services import ConnectFailed, connection_connect_refresh_token
from paypredict_project.audit import acting_as
from paypredict_project.tenancy.commands import organization_from_option


class Command(BaseCommand):
    help = (
        "Connect an organization to QuickBooks Online (--realm-id) or Xero (--tenant-id) with a "
        "refresh token (e.g. from the provider's OAuth playground). The token is exchanged at "
        "once, so a bad one fails here; the rotated tokens are stored encrypted."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--provider", required=True, choices=Provider.values)
        parser.add_argument("--realm-id", default="", help="QuickBooks company id (realmId)")
        parser.add_argument("--tenant-id", default="", help="Xero tenant id (from /connections)")
        parser.add_argument("--refresh-token", required=True)

    def handle(self, *args, **options):
        organization = organization_from_option(options["org"])
        provider = options["provider"]
        account_id = (
            options["realm_id"] if provider == Provider.QUICKBOOKS else options["tenant_id"]
        )
        if not account_id:
            flag = "--realm-id" if provider == Provider.QUICKBOOKS else "--tenant-id"
            raise CommandError(f"{flag} is required for {provider}")
        try:
            with acting_as(None, label="connect_integration command"):
                connection = connection_connect_refresh_token(
                    organization=organization,
                    provider=provider,
                    account_id=account_id,
                    refresh_token=options["refresh_token"],
                )
        except ConnectFailed as exc:
            raise CommandError(f"could not connect {provider}: {exc}") from exc
        name = f" ({connection.account_name})" if connection.account_name else ""
        self.stdout.write(
            f"connected {organization.slug} to {connection.get_provider_display()} "
            f"{connection.account_id}{name}"
        )
