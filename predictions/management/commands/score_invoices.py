from __future__ import annotations

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError

from paypredict_project.tenancy.commands import organization_from_option
from predictions.services.refresh import predictions_refresh
from predictions.services.scoring import NoActiveModel


class Command(BaseCommand):
    help = (
        "Score the organization's open invoices with its active payment model, then rebuild "
        "the collections forecast and customer risk. Prints counts and timings; the last "
        "line is one JSON object."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument(
            "--force", action="store_true", help="rescore rows whose inputs did not change"
        )
        parser.add_argument("--chunk-size", type=int, default=50_000)
        parser.add_argument("--as-of", type=dt.date.fromisoformat, default=None)
        parser.add_argument(
            "--skip-derived",
            action="store_true",
            help="only score invoices (no forecast or customer risk refresh)",
        )

    def handle(self, *args, **options):
        if options["chunk_size"] < 1:
            raise CommandError(f"--chunk-size must be positive, got {options['chunk_size']}")
        organization = organization_from_option(options["org"])
        try:
            refresh = predictions_refresh(
                organization=organization,
                as_of=options["as_of"],
                chunk_size=options["chunk_size"],
                force=options["force"],
                derived=not options["skip_derived"],
            )
        except NoActiveModel as exc:
            raise CommandError(str(exc)) from exc
        result = refresh.score
        summary = result.as_dict()
        self.stdout.write(
            f"{organization.slug}: {result.open_invoices} open invoices, {result.scored} scored, "
            f"{result.skipped_unchanged} unchanged (skipped), {result.removed_stale} stale "
            f"predictions removed, model {result.model_version}, "
            f"{summary['seconds'].get('total', 0.0):.2f}s"
        )
        if refresh.forecast is not None and refresh.risk is not None:
            snapshot, risk = refresh.forecast, refresh.risk
            total = sum(w["expected"] for w in snapshot.weeks)
            self.stdout.write(
                f"forecast: {total:,.2f} {snapshot.currency} expected over 13 weeks; "
                f"customer risk: {risk.customers} customers "
                f"({risk.high} high, {risk.medium} medium, {risk.low} low)"
            )
            summary["forecast_13w"] = round(total, 2)
            summary["customers"] = {
                "graded": risk.customers,
                "high": risk.high,
                "medium": risk.medium,
                "low": risk.low,
            }
        self.stdout.write(json.dumps(summary))
