from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from ml.evaluation import NotEnoughDataError
from paypredict_project.tenancy.commands import organization_from_option
from predictions.management.commands._options import test_fraction_from_option
from predictions.services.training import payment_model_evaluate


def _fmt(value) -> str:
    return "   n/a" if value is None else f"{value:6.3f}"


class Command(BaseCommand):
    help = (
        "Evaluate the payment model on a time-based holdout (latest issue dates) beside the "
        "majority, customer-history, due-date, logistic and linear baselines. Prints a table, then "
        "one JSON object on the last line."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument(
            "--test-fraction",
            type=float,
            default=0.25,
            help="share of invoices, by latest issue date, held out (default 0.25)",
        )
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, **options):
        fraction = test_fraction_from_option(options["test_fraction"])
        organization = organization_from_option(options["org"])
        try:
            report = payment_model_evaluate(
                organization=organization, test_fraction=fraction, seed=options["seed"]
            )
        except NotEnoughDataError as exc:
            raise CommandError(str(exc)) from exc

        out = self.stdout
        split = report["split"]
        out.write(
            f"{organization.slug}: train {report['rows']['train']} invoices, test "
            f"{report['rows']['test']} (issued from {split['test_from']}), "
            f"AFT {report['model_info']['distribution']} sigma={report['model_info']['sigma']}"
        )
        out.write(f"{'':18}{'ROC-AUC':>8}{'Brier':>8}{'MAE d':>8}{'cov80':>8}")
        rows = [("model", report["model"]), *list(report["baselines"].items())]
        for name, m in rows:
            out.write(
                f"{name:18}{_fmt(m['roc_auc']):>8}{_fmt(m['brier']):>8}"
                f"{_fmt(m['mae_days']):>8}{_fmt(m['coverage_80']):>8}"
            )
        cold = report["cold_start"]
        m = cold["model"]
        out.write(
            f"{'cold start':18}{_fmt(m['roc_auc']):>8}{_fmt(m['brier']):>8}"
            f"{_fmt(m['mae_days']):>8}{_fmt(m['coverage_80']):>8}"
            f"  ({cold['rows']} test invoices of customers with nothing settled)"
        )
        summary = {k: report[k] for k in ("rows", "model", "baselines")}
        summary["calibration"] = report["calibration"]
        summary["cold_start"] = cold
        summary["split"] = split
        out.write(json.dumps(summary))
