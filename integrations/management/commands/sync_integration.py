from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from integrations.models import Connection, Provider, SyncStatus, SyncTrigger
from integrations.selectors import sync_run_summary
from integrations.services import ConnectFailed, connection_sync
from integrations.sync import SyncBusy
from paypredict_project.audit import acting_as
from paypredict_project.tenancy.commands import organization_from_option


class Command(BaseCommand):
    help = (
        "Run one incremental sync of an organization's QuickBooks or Xero connection in the "
        "foreground. The last line is a JSON object: status, per-entity created/updated/voided/"
        "skipped/errors, pages, requests, errors. Exit 1 when the run failed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--provider", required=True, choices=Provider.values)
        parser.add_argument(
            "--entity",
            action="append",
            default=None,
            help="only this entity (customers, invoices, payments, deleted); repeatable",
        )

    def handle(self, *args, **options):
        organization = organization_from_option(options["org"])
        connection = (
            Connection.objects.select_related("organization")
            .filter(organization=organization, provider=options["provider"])
            .first()
        )
        if connection is None:
            raise CommandError(
                f"{organization.slug} has no {options['provider']} connection; "
                "run connect_integration first"
            )
        try:
            with acting_as(None, label="sync_integration command"):
                run = connection_sync(
                    connection=connection, trigger=SyncTrigger.MANUAL, entities=options["entity"]
                )
        except (SyncBusy, ConnectFailed) as exc:
            raise CommandError(str(exc)) from exc
        summary = sync_run_summary(run=run)
        for error in run.errors[:20]:
            self.stderr.write(f"{error['entity']} {error['external_id']}: {error['message']}")
        self.stdout.write(json.dumps(summary))
        if run.status == SyncStatus.FAILED:
            raise CommandError(f"sync failed: {run.detail}")
