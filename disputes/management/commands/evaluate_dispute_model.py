from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from disputes.classification import CorpusError, dispute_model_evaluate, read_labelled_csv
from paypredict_project.tenancy.commands import organization_from_option


class Command(BaseCommand):
    help = (
        "Evaluate the active dispute classifier on a CSV with columns text,label (training the "
        "base model first when none exists). Prints one JSON object on the last line: accuracy, "
        "macro_f1, per_class, confusion, auto_routed_share, auto_routed_precision, "
        "baseline_macro_f1, model_version."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV file with columns text,label")
        parser.add_argument("--org", help="organization slug (its own model if it has one)")

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            rows = read_labelled_csv(path.read_bytes(), path.name)
        except CorpusError as exc:
            raise CommandError(str(exc)) from exc
        organization = organization_from_option(options["org"]) if options["org"] else None
        report = dispute_model_evaluate(rows=rows, organization=organization, log=self.stdout.write)
        self.stdout.write(
            f"{len(rows.texts)} messages: macro-F1 {report['macro_f1']:.3f} "
            f"(baseline {report['baseline_macro_f1']:.3f}), accuracy {report['accuracy']:.3f}, "
            f"auto-routed {report['auto_routed_share']:.0%}"
        )
        self.stdout.write(json.dumps(report))
