from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from paypredict_project.tenancy.commands import organization_from_option
from predictions.payment_risk.services import NoRiskModel, payment_risk_score_all


class Command(BaseCommand):
    help = (
        "Score every payment of the organization with its active payment-risk model (each "
        "as of its own time). The last line is one JSON object."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")

    def handle(self, *args, **options):
        organization = organization_from_option(options["org"])
        try:
            result = payment_risk_score_all(organization=organization)
        except NoRiskModel as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(result.as_dict()))
