from __future__ import annotations

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError

from paypredict_project.tenancy.commands import organization_from_option
from predictions.services.forecast import forecast_backtest_run
from predictions.services.scoring import NoActiveModel


class Command(BaseCommand):
    help = (
        "Backtest the collections forecast: forecasts made at past weekly origins against "
        "what was actually collected, with WAPE beside the naive 'paid on due date' and "
        "'customer's average delay' forecasts. Stores the run; last line is JSON."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--origins", type=int, default=13)
        parser.add_argument("--weeks", type=int, default=13)
        parser.add_argument(
            "--end",
            type=dt.date.fromisoformat,
            default=None,
            help="last day of observed data (default: today); the latest origin is "
            "--weeks weeks before it",
        )
        parser.add_argument(
            "--no-retrain",
            action="store_true",
            help="use the active model at every origin (faster, optimistic: it was trained "
            "on outcomes inside the backtest period)",
        )

    def handle(self, *args, **options):
        if options["origins"] < 1 or options["weeks"] < 1:
            raise CommandError("--origins and --weeks must be positive")
        organization = organization_from_option(options["org"])
        try:
            run = forecast_backtest_run(
                organization=organization,
                origins=options["origins"],
                weeks=options["weeks"],
                end=options["end"],
                retrain=not options["no_retrain"],
            )
        except NoActiveModel as exc:
            raise CommandError(str(exc)) from exc

        def pct(value):
            return "n/a" if value is None else f"{value:.1%}"

        self.stdout.write(
            f"{organization.slug}: {run.origins} origins x {options['weeks']} weeks "
            f"({run.model_policy}), {run.seconds:.1f}s"
        )
        self.stdout.write(
            f"WAPE model {pct(run.wape_model)}, due date {pct(run.wape_due_date)}, "
            f"customer delay {pct(run.wape_customer_delay)}; "
            f"80% band coverage {pct(run.coverage_80)} (independent-invoice band), "
            f"{pct(run.coverage_80_widened)} (widened by backtest ratios, out of sample)"
        )
        self.stdout.write(
            json.dumps(
                {
                    "origins": run.origins,
                    "weeks": options["weeks"],
                    "currency": run.currency,
                    "model_policy": run.model_policy,
                    "wape": {
                        "model": run.wape_model,
                        "due_date": run.wape_due_date,
                        "customer_delay": run.wape_customer_delay,
                    },
                    "coverage_80": run.coverage_80,
                    "coverage_80_widened_out_of_sample": run.coverage_80_widened,
                    "seconds": run.seconds,
                }
            )
        )
