"""Reports API under /api/v1/reports/: one class per report, parameters as in the catalogue.

Money is a decimal string beside its currency; list reports page by keyset cursor like every
other list in the API.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from invoices.apis.common import CustomerRefSerializer, InvoiceRefSerializer
from invoices.models import Payment
from paypredict_project.api import ApiAuthMixin, CursorPagination
from predictions.models import Prediction
from predictions.reports.catalog import REPORTS

TAGS = ["reports"]
MONEY = {"max_digits": 18, "decimal_places": 2}
RATIO = {"max_digits": 7, "decimal_places": 1, "allow_null": True}


def _resolve(request, slug: str) -> dict:
    resolved, errors = REPORTS[slug].parse(request.organization, request.query_params)
    if errors:
        raise ValidationError(errors)
    return resolved


class AgingBucketSerializer(serializers.Serializer):
    bucket = serializers.ChoiceField(choices=["current", "1-30", "31-60", "61-90", "90+"])
    label = serializers.CharField()
    amount = serializers.DecimalField(**MONEY)
    count = serializers.IntegerField()


class CurrencySummarySerializer(serializers.Serializer):
    currency = serializers.CharField()
    converted = serializers.BooleanField(help_text="false: no exchange rate, not in the totals")
    rate_to_base = serializers.DecimalField(max_digits=20, decimal_places=10, allow_null=True)
    rate_date = serializers.DateField(allow_null=True)
    open_balance = serializers.DecimalField(**MONEY)
    overdue_balance = serializers.DecimalField(**MONEY)
    open_count = serializers.IntegerField()
    overdue_count = serializers.IntegerField()
    dso_days = serializers.DecimalField(**RATIO)
    cei_percent = serializers.DecimalField(**RATIO)
    overdue_percent = serializers.DecimalField(**RATIO)
    aging = AgingBucketSerializer(many=True)


class ArSummarySerializer(serializers.Serializer):
    as_of = serializers.DateField()
    base_currency = serializers.CharField()
    period_days = serializers.IntegerField(help_text="the window of DSO and CEI")
    open_balance = serializers.DecimalField(**MONEY)
    overdue_balance = serializers.DecimalField(**MONEY)
    overdue_percent = serializers.DecimalField(**RATIO)
    open_count = serializers.IntegerField()
    overdue_count = serializers.IntegerField()
    dso_days = serializers.DecimalField(**RATIO)
    cei_percent = serializers.DecimalField(**RATIO)
    aging = AgingBucketSerializer(many=True)
    by_currency = CurrencySummarySerializer(many=True)
    unconverted_currencies = serializers.ListField(child=serializers.CharField())


class ArSummaryApi(ApiAuthMixin, APIView):
    required_permissions = {"read": "read:invoices"}

    @extend_schema(tags=TAGS, responses=ArSummarySerializer, operation_id="reports_ar_summary")
    def get(self, request):
        """The home dashboard's figures in the base currency, and per currency."""
        result = REPORTS["ar-summary"].run(organization=request.organization)
        return Response(ArSummarySerializer(result).data)


class PaymentFiguresSerializer(serializers.Serializer):
    attempts = serializers.IntegerField()
    succeeded = serializers.IntegerField()
    failed = serializers.IntegerField()
    pending = serializers.IntegerField()
    chains = serializers.IntegerField(help_text="first attempts with their retries, counted once")
    amount_received = serializers.DecimalField(source="received", allow_null=True, **MONEY)
    success_rate_percent = serializers.DecimalField(source="success_rate", **RATIO)
    failure_rate_percent = serializers.DecimalField(source="failure_rate", **RATIO)

    class Meta:
        ref_name = "ReportPaymentFigures"


class ExtraCountSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()


class DailySummarySerializer(serializers.Serializer):
    date = serializers.DateField()
    base_currency = serializers.CharField()
    payments = PaymentFiguresSerializer()
    new_invoices = serializers.IntegerField()
    new_invoices_amount = serializers.DecimalField(**MONEY)
    unconverted_currencies = serializers.ListField(
        source="unconverted", child=serializers.CharField()
    )
    extra = ExtraCountSerializer(many=True, help_text="figures other apps add (new_disputes)")


class DailySummaryApi(ApiAuthMixin, APIView):
    required_permissions = {"read": "read:invoices"}

    @extend_schema(
        tags=TAGS,
        parameters=[REPORTS["daily-summary"].params],
        responses=DailySummarySerializer,
        operation_id="reports_daily_summary",
    )
    def get(self, request):
        """One local day: payments attempted, succeeded, failed, received; new invoices."""
        result = REPORTS["daily-summary"].run(
            organization=request.organization, **_resolve(request, "daily-summary")
        )
        return Response(DailySummarySerializer(result).data)


class FailedPaymentSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="code")
    received_at = serializers.DateTimeField()
    customer = CustomerRefSerializer()
    amount = serializers.DecimalField(**MONEY)
    currency = serializers.CharField()
    method = serializers.CharField()
    failure_code = serializers.CharField()
    failure_reason = serializers.CharField()
    processor = serializers.CharField()
    reference = serializers.CharField()
    retry_of = serializers.UUIDField(source="retry_of.code", allow_null=True)
    retried = serializers.BooleanField(help_text="a later attempt retries this one")


class FailedPaymentsPagination(CursorPagination):
    ordering = ("-received_at",)


class FailedPaymentsApi(ApiAuthMixin, GenericAPIView):
    required_permissions = {"read": "read:invoices"}
    pagination_class = FailedPaymentsPagination
    serializer_class = FailedPaymentSerializer
    queryset = Payment.objects.none()  # for the schema generator; get() reads the report

    @extend_schema(
        tags=TAGS,
        parameters=[REPORTS["failed-payments"].params],
        responses=FailedPaymentSerializer(many=True),
        operation_id="reports_failed_payments",
    )
    def get(self, request):
        """Failed payment attempts from ``from`` to ``to`` (local days), newest first."""
        rows = REPORTS["failed-payments"].run(
            organization=request.organization, **_resolve(request, "failed-payments")
        )
        page = self.paginate_queryset(rows)
        data = FailedPaymentSerializer(page, many=True, context={"request": request}).data
        return self.get_paginated_response(data)


class SlaBreachSerializer(serializers.Serializer):
    kind = serializers.CharField()
    id = serializers.CharField(source="code")
    reference = serializers.CharField()
    customer_id = serializers.CharField(source="customer_code")
    customer_name = serializers.CharField()
    status = serializers.CharField()
    opened_at = serializers.DateTimeField()
    sla_due_at = serializers.DateTimeField(source="due_at")
    hours_past_sla = serializers.SerializerMethodField()
    amount = serializers.DecimalField(allow_null=True, **MONEY)
    currency = serializers.CharField()

    def get_hours_past_sla(self, row) -> int:
        return row.hours_past(now=self.context["now"])


class SlaReportSerializer(serializers.Serializer):
    now = serializers.DateTimeField()
    available = serializers.ListField(
        child=serializers.CharField(), help_text="apps that provide SLA data (disputes, ...)"
    )
    message = serializers.CharField(help_text='"disputes not available" until that app exists')
    breaches = serializers.SerializerMethodField()

    @extend_schema(responses=SlaBreachSerializer(many=True))
    def get_breaches(self, report) -> list:
        return SlaBreachSerializer(report.rows, many=True, context={"now": report.now}).data


class SlaBreachesApi(ApiAuthMixin, APIView):
    required_permissions = {"read": "read:invoices"}

    @extend_schema(tags=TAGS, responses=SlaReportSerializer, operation_id="reports_sla_breaches")
    def get(self, request):
        """Items past their SLA (disputes), longest overdue first."""
        report = REPORTS["sla-breaches"].run(organization=request.organization)
        return Response(SlaReportSerializer(report).data)


class HighRiskSerializer(serializers.Serializer):
    invoice = InvoiceRefSerializer()
    customer = CustomerRefSerializer(source="invoice.customer")
    due_date = serializers.DateField(source="invoice.due_date")
    balance = serializers.DecimalField(source="invoice.balance", **MONEY)
    currency = serializers.CharField(source="invoice.currency")
    risk = serializers.SerializerMethodField(
        help_text="probability of not being paid within 30 days after due"
    )
    risk_level = serializers.CharField()
    p_paid_by_due = serializers.FloatField()
    expected_date = serializers.DateField()

    def get_risk(self, prediction) -> float:
        return round(prediction.risk_probability, 4)


class HighRiskPagination(CursorPagination):
    ordering = ("-risk_probability",)


class HighRiskApi(ApiAuthMixin, GenericAPIView):
    required_permissions = {"read": "read:predictions"}
    pagination_class = HighRiskPagination
    serializer_class = HighRiskSerializer
    queryset = Prediction.objects.none()  # for the schema generator; get() reads the report

    @extend_schema(
        tags=TAGS,
        parameters=[REPORTS["high-risk"].params],
        responses=HighRiskSerializer(many=True),
        operation_id="reports_high_risk",
    )
    def get(self, request):
        """Open invoices whose predicted risk is at least ``threshold``, riskiest first."""
        rows = REPORTS["high-risk"].run(
            organization=request.organization, **_resolve(request, "high-risk")
        )
        page = self.paginate_queryset(rows)
        data = HighRiskSerializer(page, many=True, context={"request": request}).data
        return self.get_paginated_response(data)
