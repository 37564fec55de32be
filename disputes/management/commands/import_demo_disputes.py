from __future__ import annotations

from django.core.management.base import BaseCommand

from disputes.classification import active_version, unclassified_ids
from disputes.services import disputes_import_demo
from paypredict_project.tenancy.commands import organization_from_option


class Command(BaseCommand):
    help = (
        "Turn the demo organization's dispute notes into Dispute rows (idempotent) and queue "
        "their classification. Without a dispute model yet, the Celery worker trains the base "
        "model first (a few minutes on 2 cores) and then classifies; until then disputes show "
        "'classifying…'. bootstrap_demo runs this on every start."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")

    def handle(self, *args, **options):
        from disputes.tasks import classify_disputes, dispute_model_train_base

        organization = organization_from_option(options["org"])
        created = disputes_import_demo(organization=organization)
        pending = unclassified_ids(organization)
        self.stdout.write(f"{created} demo disputes imported, {len(pending)} to classify")
        if not pending:
            return
        if active_version(organization) is None:
            dispute_model_train_base.delay()
            self.stdout.write(
                "no dispute model yet: the worker trains the base model, then classifies"
            )
        else:
            classify_disputes.delay(pending)
