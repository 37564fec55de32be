"""Payment analytics API (F24): the figures of the payment analytics page as JSON."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from invoices.models import PaymentMethod
from invoices.payment_analytics import (
    MAX_DAYS,
    PERIODS,
    PaymentAnalytics,
    payment_analytics,
    payment_window_from,
)
from invoices.selectors import customer_list
from paypredict_project.api import ApiAuthMixin

MONEY = {"max_digits": 18, "decimal_places": 2, "allow_null": True}
RATIO = {"max_digits": 7, "decimal_places": 1, "allow_null": True}


class PaymentAnalyticsParams(serializers.Serializer):
    """Filters shared by the page and the API (``from``/``to`` are declared in get_fields)."""

    method = serializers.ChoiceField(choices=PaymentMethod.choices, required=False)
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", required=False)
    customer = serializers.UUIDField(required=False, help_text="customer id")
    period = serializers.ChoiceField(choices=PERIODS, required=False, default="day")

    def get_fields(self) -> dict:
        fields = super().get_fields()
        fields["from"] = serializers.DateField(required=False, help_text="default: 90 days ago")
        fields["to"] = serializers.DateField(required=False, help_text="default: today")
        return fields

    def validate(self, attrs: dict) -> dict:
        start, end = attrs.get("from"), attrs.get("to")
        if start and end and start > end:
            raise serializers.ValidationError({"from": ["must be on or before 'to'"]})
        if start and end and (end - start).days >= MAX_DAYS:
            raise serializers.ValidationError(
                {"to": [f"the range may span at most {MAX_DAYS} days"]}
            )
        return attrs

    def analytics(self, organization) -> PaymentAnalytics:
        data = self.validated_data
        customer = None
        if data.get("customer"):
            customer = (
                customer_list(organization=organization).filter(code=data["customer"]).first()
            )
            if customer is None:
                raise ValidationError({"customer": ["no such customer in this organization"]})
        window = payment_window_from(
            organization=organization,
            start=data.get("from"),
            end=data.get("to"),
            method=data.get("method", ""),
            currency=data.get("currency", ""),
            customer=customer,
        )
        return payment_analytics(window=window, period=data["period"])


class FiguresSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="the group: method, currency or period start")
    attempts = serializers.IntegerField()
    decided = serializers.IntegerField(help_text="attempts no longer pending")
    succeeded = serializers.IntegerField(help_text="succeeded or refunded attempts")
    failed = serializers.IntegerField()
    pending = serializers.IntegerField()
    chains = serializers.IntegerField(help_text="payments with their retries, counted once")
    chains_succeeded = serializers.IntegerField()
    received_count = serializers.IntegerField()
    amount_received = serializers.DecimalField(source="received", **MONEY)
    average_amount = serializers.DecimalField(source="average", **MONEY)
    success_rate_percent = serializers.DecimalField(source="success_rate", **RATIO)
    failure_rate_percent = serializers.DecimalField(source="failure_rate", **RATIO)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField()
    code = serializers.CharField()
    count = serializers.IntegerField()
    share_percent = serializers.DecimalField(source="share", **RATIO)


class PaymentAnalyticsSerializer(serializers.Serializer):
    start = serializers.DateField(source="window.start")
    end = serializers.DateField(source="window.end")
    period = serializers.CharField()
    base_currency = serializers.CharField()
    total = FiguresSerializer(help_text="amounts in the base currency")
    by_currency = FiguresSerializer(many=True, help_text="amounts in each currency")
    by_method = FiguresSerializer(many=True)
    trend = FiguresSerializer(many=True)
    failure_reasons = ReasonSerializer(many=True)
    by_hour = serializers.ListField(child=serializers.IntegerField(), help_text="local 0..23")
    by_weekday = serializers.ListField(child=serializers.IntegerField(), help_text="Mon..Sun")
    peak_hour = serializers.IntegerField(allow_null=True)
    peak_weekday = serializers.CharField(allow_null=True)
    unconverted_currencies = serializers.ListField(
        source="unconverted", child=serializers.CharField()
    )


class PaymentAnalyticsApi(ApiAuthMixin, APIView):
    required_permissions = {"read": "read:invoices"}

    @extend_schema(
        tags=["payments"],
        parameters=[PaymentAnalyticsParams],
        responses=PaymentAnalyticsSerializer,
        operation_id="payment_analytics",
    )
    def get(self, request):
        """Volume, success and failure rates, reasons, peaks, methods, currencies, trend."""
        params = PaymentAnalyticsParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        analytics = params.analytics(request.organization)
        return Response(PaymentAnalyticsSerializer(analytics).data)
