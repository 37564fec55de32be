"""Predictions API: per-invoice predictions, rescoring, customer risk, forecast, models.

One class per operation. Reads need ``read:predictions``; rescoring changes stored rows
and needs ``write:invoices``; the model registry is for admins (``admin``).
"""

from __future__ import annotations

import django_filters as filters
from django.http import Http404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from invoices.apis.common import CustomerRefSerializer, InvoiceRefSerializer
from invoices.selectors import customer_get, invoice_get
from paypredict_project.api import ApiAuthMixin, CursorPagination, OrderingFilter, error_response
from predictions import selectors
from predictions.models import Prediction, RiskLevel
from predictions.services.forecast import forecast_get_or_build
from predictions.services.scoring import NoActiveModel, invoice_rescore

TAGS = ["predictions"]
READ = {"read": "read:predictions", "write": "write:invoices"}


class FactorSerializer(serializers.Serializer):
    feature = serializers.CharField(
        help_text="reason group (payment_record, history, amount, other_balance, ...); "
        "each appears at most once"
    )
    text = serializers.CharField()
    direction = serializers.ChoiceField(choices=["later", "earlier"])
    impact = serializers.FloatField(
        help_text="the group's summed shift in the log-odds of paying late; positive = later"
    )
    effect = serializers.CharField(
        help_text='percentage points the reason adds to "likely late", e.g. "likely late +12 pts"'
    )

    class Meta:
        ref_name = "PredictionFactor"


class IntervalSerializer(serializers.Serializer):
    level = serializers.FloatField(default=0.8)
    lower = serializers.DateField(source="lower_date")
    upper = serializers.DateField(source="upper_date")

    class Meta:
        ref_name = "PredictionInterval"


class PredictionOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="code")
    invoice = InvoiceRefSerializer()
    customer = CustomerRefSerializer(source="invoice.customer")
    due_date = serializers.DateField(source="invoice.due_date")
    balance = serializers.DecimalField(source="invoice.balance", max_digits=18, decimal_places=2)
    currency = serializers.CharField(source="invoice.currency")
    model_version = serializers.CharField(source="model_version.version")
    scored_at = serializers.DateTimeField()
    as_of = serializers.DateField()
    p_paid_by_due = serializers.FloatField()
    p_paid_30 = serializers.FloatField(help_text="P(paid within 30 days after due)")
    p_paid_60 = serializers.FloatField()
    p_paid_90 = serializers.FloatField()
    expected_date = serializers.DateField(help_text="median predicted payment date")
    interval = serializers.SerializerMethodField()
    p_late = serializers.FloatField(
        help_text="likely late: P(paid after the due date); 1 once past due and unpaid"
    )
    risk_level = serializers.ChoiceField(choices=RiskLevel.choices)
    risk_probability = serializers.FloatField(
        help_text="at risk: P(not paid within 30 days after due; once past due, within the "
        "next 30 days), the basis of risk_level"
    )
    money_at_risk = serializers.DecimalField(
        max_digits=18,
        decimal_places=2,
        help_text="expected money at risk: balance x risk_probability, in base_currency",
    )
    base_currency = serializers.CharField(source="organization.base_currency")
    factors = FactorSerializer(many=True)

    class Meta:
        ref_name = "Prediction"

    @extend_schema(responses=IntervalSerializer)
    def get_interval(self, obj: Prediction) -> dict:
        return {"level": 0.8, "lower": obj.lower_date, "upper": obj.upper_date}


class PredictionFilter(filters.FilterSet):
    risk_level = filters.MultipleChoiceFilter(choices=RiskLevel.choices)
    customer = filters.UUIDFilter(field_name="invoice__customer__code")
    due_after = filters.DateFilter(field_name="invoice__due_date", lookup_expr="gte")
    due_before = filters.DateFilter(field_name="invoice__due_date", lookup_expr="lte")
    expected_after = filters.DateFilter(field_name="expected_date", lookup_expr="gte")
    expected_before = filters.DateFilter(field_name="expected_date", lookup_expr="lte")

    class Meta:
        model = Prediction
        fields: list[str] = []


class PredictionCursorPagination(CursorPagination):
    ordering = ("-money_at_risk",)


class PredictionListApi(ApiAuthMixin, GenericAPIView):
    required_permissions = READ
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = PredictionFilter
    pagination_class = PredictionCursorPagination
    ordering_fields = [
        "money_at_risk",
        "risk_probability",
        "p_late",
        "expected_date",
        "p_paid_by_due",
        "scored_at",
    ]
    ordering = ["-money_at_risk"]
    OutputSerializer = PredictionOutputSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Prediction.objects.none()
        return selectors.prediction_list(organization=self.request.organization)

    def get_serializer_class(self):
        return self.OutputSerializer

    @extend_schema(tags=TAGS, responses=PredictionOutputSerializer(many=True))
    def get(self, request):
        """Current predictions of open invoices, most expected money at risk first."""
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        data = self.OutputSerializer(page, many=True, context={"request": request}).data
        return self.get_paginated_response(data)


class PredictionDetailApi(ApiAuthMixin, APIView):
    required_permissions = READ
    OutputSerializer = PredictionOutputSerializer

    @extend_schema(tags=TAGS, responses=PredictionOutputSerializer)
    def get(self, request, invoice_id):
        """The invoice's current prediction with its interval and factors."""
        invoice = invoice_get(organization=request.organization, code=invoice_id)
        prediction = selectors.prediction_for_invoice(
            organization=request.organization, invoice=invoice
        )
        if prediction is None:
            raise Http404("this invoice has no prediction (not open, or not scored yet)")
        return Response(self.OutputSerializer(prediction, context={"request": request}).data)


class PredictionRescoreApi(ApiAuthMixin, APIView):
    required_permissions = {"read": "read:predictions", "write": "write:invoices"}
    OutputSerializer = PredictionOutputSerializer

    @extend_schema(tags=TAGS, request=None, responses=PredictionOutputSerializer)
    def post(self, request, invoice_id):
        """Rescore one invoice now (synchronously) and return the new prediction."""
        invoice = invoice_get(organization=request.organization, code=invoice_id)
        try:
            prediction = invoice_rescore(organization=request.organization, invoice=invoice)
        except NoActiveModel as exc:
            return error_response(status.HTTP_409_CONFLICT, "no_active_model", str(exc))
        if prediction is None:
            return error_response(
                status.HTTP_409_CONFLICT,
                "invoice_not_open",
                f"invoice {invoice.number} is {invoice.status}: only open invoices are scored",
            )
        return Response(self.OutputSerializer(prediction, context={"request": request}).data)


class CustomerRiskApi(ApiAuthMixin, APIView):
    required_permissions = READ

    class TrendSerializer(serializers.Serializer):
        date = serializers.DateField()
        score = serializers.FloatField()
        level = serializers.CharField()

        class Meta:
            ref_name = "CustomerRiskTrendPoint"

    class DriverSerializer(serializers.Serializer):
        text = serializers.CharField()
        weight = serializers.FloatField()

        class Meta:
            ref_name = "CustomerRiskDriver"

    class OutputSerializer(serializers.Serializer):
        customer = CustomerRefSerializer()
        score = serializers.FloatField(allow_null=True, help_text="0 (safe) to 100 (risky)")
        level = serializers.CharField(allow_null=True)
        as_of = serializers.DateField(allow_null=True)
        open_balance = serializers.DecimalField(max_digits=18, decimal_places=2, allow_null=True)
        currency = serializers.CharField()
        drivers = serializers.ListField(child=serializers.DictField())
        trend = serializers.ListField(child=serializers.DictField())
        change_30d = serializers.FloatField(allow_null=True)

        class Meta:
            ref_name = "CustomerRisk"

    @extend_schema(tags=TAGS, responses=OutputSerializer)
    def get(self, request, id):
        """The customer's risk score, level, drivers and daily trend (last 90 days)."""
        customer = customer_get(organization=request.organization, code=id)
        risk = selectors.customer_risk_summary(customer=customer)
        return Response(self.OutputSerializer(risk, context={"request": request}).data)


class ForecastApi(ApiAuthMixin, APIView):
    required_permissions = READ

    class WeekSerializer(serializers.Serializer):
        week = serializers.IntegerField()
        start = serializers.DateField()
        end = serializers.DateField()
        expected = serializers.FloatField()
        lower = serializers.FloatField(help_text="10th percentile")
        upper = serializers.FloatField(help_text="90th percentile")

        class Meta:
            ref_name = "ForecastWeek"

    class OutputSerializer(serializers.Serializer):
        as_of = serializers.DateField()
        computed_at = serializers.DateTimeField()
        currency = serializers.CharField()
        model_version = serializers.CharField(source="model_version.version")
        open_invoices = serializers.IntegerField()
        open_balance = serializers.DecimalField(max_digits=18, decimal_places=2)
        band = serializers.SerializerMethodField()
        weeks = serializers.ListField(child=serializers.DictField())
        excluded = serializers.DictField()

        class Meta:
            ref_name = "Forecast"

        def get_band(self, obj) -> float:
            return 0.8

    @extend_schema(tags=TAGS, responses=OutputSerializer)
    def get(self, request):
        """Expected collections per week for the next 13 weeks in the base currency, with
        an 80% band."""
        if "refresh" in request.query_params:
            # A GET never recomputes: that is a write (POST forecast/refresh, write:invoices).
            raise ValidationError(
                {"refresh": ["a GET never recomputes the forecast; POST /api/v1/forecast/refresh"]}
            )
        return forecast_response(request, refresh=False)


class ForecastRefreshApi(ApiAuthMixin, APIView):
    # Recomputing rewrites today's snapshot: the dashboard's refresh button needs the same.
    required_permissions = READ

    @extend_schema(tags=TAGS, request=None, responses=ForecastApi.OutputSerializer)
    def post(self, request):
        """Recompute today's forecast from the current open invoices and return it."""
        return forecast_response(request, refresh=True)


def forecast_response(request, *, refresh: bool) -> Response:
    try:
        snapshot = forecast_get_or_build(organization=request.organization, refresh=refresh)
    except NoActiveModel as exc:
        return error_response(status.HTTP_409_CONFLICT, "no_active_model", str(exc))
    return Response(ForecastApi.OutputSerializer(snapshot).data)


class ModelVersionListApi(ApiAuthMixin, APIView):
    required_permissions = {"read": "admin", "write": "admin"}

    class OutputSerializer(serializers.Serializer):
        kind = serializers.CharField()
        version = serializers.CharField()
        status = serializers.CharField()
        trained_at = serializers.DateTimeField()
        promoted_at = serializers.DateTimeField(allow_null=True)
        rows = serializers.DictField()
        feature_list = serializers.ListField(child=serializers.CharField())
        metrics = serializers.DictField()
        promotion = serializers.DictField()

        class Meta:
            ref_name = "ModelVersion"

    @extend_schema(
        tags=TAGS,
        responses=OutputSerializer(many=True),
        parameters=[OpenApiParameter("kind", str, enum=["payment", "dispute"])],
    )
    def get(self, request):
        """Model versions with their holdout metrics and promotion decisions (admins)."""
        kind = request.query_params.get("kind") or None
        versions = selectors.model_version_list(organization=request.organization, kind=kind)
        return Response({"results": self.OutputSerializer(versions, many=True).data})
