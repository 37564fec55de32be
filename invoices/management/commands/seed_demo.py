from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from invoices.services.demo import demo_seed
from paypredict_project.audit import acting_as
from paypredict_project.tenancy.commands import organization_from_option


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--as-of must be a date as YYYY-MM-DD, got {value!r}") from exc


class Command(BaseCommand):
    help = (
        "Write two years of learnable demo history (customers, invoices with lines, payments "
        "with failures and retries, disputes, exchange rates) for an organization, in bulk."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--customers", type=int, required=True)
        parser.add_argument("--invoices", type=int, required=True)
        parser.add_argument("--seed", type=int, required=True, help="same seed, same data")
        parser.add_argument(
            "--as-of",
            default=None,
            help="last day of the history, YYYY-MM-DD (default: today in the org's time zone)",
        )
        parser.add_argument(
            "--replace", action="store_true", help="delete this org's demo data first"
        )
        parser.add_argument(
            "--chunk-customers",
            type=int,
            default=1000,
            help="customers generated and copied per batch (bounds memory)",
        )

    def handle(self, *args, **options) -> None:
        as_of = _date(options["as_of"]) if options["as_of"] else None
        if options["chunk_customers"] < 1:
            raise CommandError("--chunk-customers must be at least 1")
        organization = organization_from_option(options["org"])
        verbose = options["verbosity"] > 1
        try:
            with acting_as(label="seed_demo"):
                result = demo_seed(
                    organization=organization,
                    customers=options["customers"],
                    invoices=options["invoices"],
                    seed=options["seed"],
                    as_of=as_of,
                    replace=options["replace"],
                    chunk_customers=options["chunk_customers"],
                    progress=self.stdout.write if verbose else None,
                )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        if result.replaced:
            removed = ", ".join(f"{n:,} {name}" for name, n in result.replaced.items())
            self.stdout.write(f"deleted previous demo data: {removed}")
        counts = ", ".join(f"{n:,} {name.replace('_', ' ')}" for name, n in result.counts.items())
        self.stdout.write(
            f"seeded {organization.slug} as of {result.as_of}: {counts} "
            f"in {result.seconds:.1f}s ({result.rows / max(result.seconds, 1e-9):,.0f} rows/s)"
        )
