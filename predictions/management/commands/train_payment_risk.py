from __future__ import annotations

import json
import time

from django.core.management.base import BaseCommand, CommandError

from paypredict_project.tenancy.commands import organization_from_option
from predictions.payment_risk.services import payment_risk_score_all, payment_risk_train


class Command(BaseCommand):
    help = (
        "Train the organization's payment-risk detector on its payment history, make it "
        "active and score every payment. The last line is one JSON object."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--skip-scoring", action="store_true", help="train only")

    def handle(self, *args, **options):
        organization = organization_from_option(options["org"])
        started = time.monotonic()
        try:
            version = payment_risk_train(organization=organization, seed=options["seed"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        trained = time.monotonic()
        result = {"version": version.version, "status": version.status, "rows": version.rows}
        if not options["skip_scoring"]:
            result |= payment_risk_score_all(organization=organization).as_dict()
        result |= {
            "train_seconds": round(trained - started, 2),
            "score_seconds": round(time.monotonic() - trained, 2),
        }
        self.stdout.write(
            f"payment risk {version.version} ({version.status}) for {organization.slug}: "
            f"{result.get('flagged', '-')} of {result.get('scored', '-')} payments flagged"
        )
        self.stdout.write(json.dumps(result))
