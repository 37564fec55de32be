from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from paypredict_project.tenancy.commands import organization_from_option
from predictions.payment_risk.evaluation import payment_risk_evaluate


class Command(BaseCommand):
    help = (
        "Evaluate payment risk on the organization's planted demo anomalies (and collectors' "
        "reviews): precision, recall and average precision overall and per kind, share "
        "flagged, beside a per-customer amount z-score baseline. Last line: one JSON object."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument(
            "--threshold",
            type=float,
            default=None,
            help="score at or above which a payment counts as flagged (default: the "
            "organization's threshold)",
        )
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, **options):
        threshold = options["threshold"]
        if threshold is not None and not 0 < threshold < 1:
            raise CommandError(f"--threshold must be between 0 and 1, got {threshold}")
        organization = organization_from_option(options["org"])
        try:
            result = payment_risk_evaluate(
                organization=organization, threshold=threshold, seed=options["seed"]
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if not result["planted"]:
            self.stderr.write("no planted anomalies: seed the organization with seed_demo")
        m, b = result["model"], result["baseline_amount_z"]
        self.stdout.write(
            f"model: AP {m['average_precision']}, precision {m['precision']}, recall "
            f"{m['recall']}, {m['share_flagged']:.2%} flagged; amount z-score baseline: AP "
            f"{b['average_precision']}, precision {b['precision']}, recall {b['recall']}"
        )
        self.stdout.write(json.dumps(result))
