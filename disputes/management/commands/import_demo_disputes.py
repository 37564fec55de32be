from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from disputes.classification import active_version, unclassified_ids
from disputes.services import disputes_import_demo, disputes_settle_demo_backlog
from paypredict_project.tenancy.commands import organization_from_option


class Command(BaseCommand):
    help = (
        "Turn the demo organization's dispute notes into Dispute rows (idempotent) and queue "
        "their classification. Without a dispute model yet, the Celery worker trains the base "
        "model (a few minutes on 2 cores) and re-classifies; until then the TF-IDF baseline's "
        "answers show, marked as such. bootstrap_demo runs this on every start."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")

    def handle(self, *args, **options):
        from disputes.tasks import classify_disputes, dispute_model_train_base

        organization = organization_from_option(options["org"])
        created = disputes_import_demo(organization=organization)
        if created:
            # Once, on the import: an old open demo dispute is settled history, not a queue.
            settled = disputes_settle_demo_backlog(organization=organization)
            self.stdout.write(f"demo backlog settled: {json.dumps(settled)}")
        pending = unclassified_ids(organization)
        self.stdout.write(f"{created} demo disputes imported, {len(pending)} to classify")
        if not pending:
            return
        # Without a model yet the TF-IDF baseline classifies at once; the worker then trains
        # the BERT model and re-classifies what the baseline answered.
        classify_disputes.delay(pending)
        if active_version(organization) is None:
            dispute_model_train_base.delay()
            self.stdout.write(
                "no dispute model yet: the TF-IDF baseline classifies now, the worker trains "
                "the BERT model and then re-classifies"
            )
