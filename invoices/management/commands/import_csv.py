from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from invoices.imports import ImportFailed, csv_import, mapping_parse
from invoices.imports.mapping import KINDS
from paypredict_project.audit import acting_as
from paypredict_project.tenancy.commands import organization_from_option


class Command(BaseCommand):
    help = (
        "Import invoices, customers or payments from a CSV file into an organization. "
        "Rows are upserted by external id, so re-running the same file changes nothing. "
        "Row errors (row, column, reason) are printed and those rows skipped; the exit status "
        "is 0 unless the file or mapping is unusable, or --strict is given and a row failed."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=KINDS)
        parser.add_argument("file", type=Path)
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument(
            "--mapping",
            type=Path,
            default=None,
            help="mapping JSON (fields -> file columns, date formats, defaults); "
            "without it, columns are matched to our field names",
        )
        parser.add_argument(
            "--strict",
            action="store_true",
            help="import nothing and exit 1 when any row has an error",
        )
        parser.add_argument(
            "--max-errors", type=int, default=100, help="row errors to print (default 100)"
        )

    def handle(self, *args, **options):
        organization = organization_from_option(options["org"])
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        try:
            mapping = (
                mapping_parse(kind=options["kind"], source=options["mapping"])
                if options["mapping"]
                else None
            )
            with acting_as(None, label="import_csv command"):
                result = csv_import(
                    organization=organization,
                    kind=options["kind"],
                    file=path,
                    mapping=mapping,
                    file_name=path.name,
                    strict=options["strict"],
                )
        except ImportFailed as exc:
            raise CommandError(str(exc)) from exc

        self.stdout.write(
            f"{result.kind}: {result.rows} rows read, {result.created} created, "
            f"{result.updated} updated, {result.unchanged} unchanged, "
            f"{result.error_count} with errors ({result.duration:.2f}s)"
        )
        for key, value in result.extra.items():
            self.stdout.write(f"  {key.replace('_', ' ')}: {value}")
        shown = result.errors[: options["max_errors"]]
        for error in shown:
            self.stdout.write(f"row {error.row}, column {error.column or '-'}: {error.reason}")
        if result.error_count > len(shown):
            self.stdout.write(f"... and {result.error_count - len(shown)} more row errors")
        if options["strict"] and result.error_count:
            raise CommandError(
                f"--strict: {result.error_count} rows have errors; nothing was imported"
            )
