"""Query parameters of the reports, validated once for the page, the CSV and the API."""

from __future__ import annotations

import datetime as dt

from rest_framework import serializers

from invoices.analytics import organization_today
from paypredict_project.tenancy.models import Organization
from predictions.selectors import high_risk_default_threshold

MAX_RANGE_DAYS = 366
FAILED_DEFAULT_DAYS = 30


class NoParams(serializers.Serializer):
    def resolve(self, organization: Organization) -> dict:
        return {}


class DailySummaryParams(serializers.Serializer):
    date = serializers.DateField(
        required=False, help_text="the local day to summarise (YYYY-MM-DD); default today"
    )

    def resolve(self, organization: Organization) -> dict:
        return {
            "day": self.validated_data.get("date") or organization_today(organization=organization)
        }


class DateRangeParams(serializers.Serializer):
    """``from`` and ``to`` (Python keywords, hence declared in get_fields), inclusive."""

    def get_fields(self) -> dict:
        return {
            "from": serializers.DateField(
                required=False, help_text=f"first local day; default {FAILED_DEFAULT_DAYS} days ago"
            ),
            "to": serializers.DateField(required=False, help_text="last local day; default today"),
        }

    def validate(self, attrs: dict) -> dict:
        start, end = attrs.get("from"), attrs.get("to")
        if start and end:
            if start > end:
                raise serializers.ValidationError({"from": ["must be on or before 'to'"]})
            if (end - start).days >= MAX_RANGE_DAYS:
                raise serializers.ValidationError(
                    {"to": [f"the range may span at most {MAX_RANGE_DAYS} days"]}
                )
        return attrs

    def resolve(self, organization: Organization) -> dict:
        today = organization_today(organization=organization)
        end = self.validated_data.get("to") or today
        start = self.validated_data.get("from") or min(
            end, today - dt.timedelta(days=FAILED_DEFAULT_DAYS - 1)
        )
        return {"start": start, "end": end}


class HighRiskParams(serializers.Serializer):
    threshold = serializers.FloatField(
        required=False,
        min_value=0.0,
        max_value=1.0,
        help_text=(
            "minimum risk, 0 to 1 (risk = 1 - probability of payment by the next milestone); "
            "default: the organization's high-risk grade (high_at_risk)"
        ),
    )

    def resolve(self, organization: Organization) -> dict:
        threshold = self.validated_data.get("threshold")
        if threshold is None:
            threshold = high_risk_default_threshold(organization=organization)
        return {"threshold": threshold}
