from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from ml.evaluation import NotEnoughDataError
from ml.registry import DEFAULT_TOLERANCE
from paypredict_project.tenancy.commands import organization_from_option
from predictions.management.commands._options import test_fraction_from_option
from predictions.services.training import payment_model_train


class Command(BaseCommand):
    help = (
        "Train the organization's payment model: evaluate on the time holdout, refit on all "
        "invoices, register the version and promote it only if it beats the active one."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--test-fraction", type=float, default=0.25)
        parser.add_argument(
            "--tolerance",
            type=float,
            default=DEFAULT_TOLERANCE,
            help="slack allowed per holdout metric when comparing with the active model",
        )
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, **options):
        fraction = test_fraction_from_option(options["test_fraction"])
        organization = organization_from_option(options["org"])
        try:
            version = payment_model_train(
                organization=organization,
                test_fraction=fraction,
                tolerance=options["tolerance"],
                seed=options["seed"],
            )
        except NotEnoughDataError as exc:
            raise CommandError(str(exc)) from exc
        m = version.metrics["model"]
        self.stdout.write(
            f"trained payment model {version.version} for {organization.slug}: "
            f"ROC-AUC {m['roc_auc']}, Brier {m['brier']}, MAE {m['mae_days']} days, "
            f"80% coverage {m['coverage_80']}"
        )
        self.stdout.write(
            f"{version.promotion['decision']}: {version.promotion['reason']} "
            f"(status {version.status})"
        )
        self.stdout.write(
            json.dumps(
                {
                    "version": version.version,
                    "status": version.status,
                    "decision": version.promotion["decision"],
                    "reason": version.promotion["reason"],
                    "rows": version.rows,
                    "model": m,
                }
            )
        )
