"""Payment risk API: the flagged-payments report and the review action.

The risk fields of payment objects themselves (``risk_score``, ``risk_flags``) ride on the
ledger's payment API through the ``payment_api.fields`` slot (page_slots.py).
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from invoices.apis.common import CustomerRefSerializer, PaymentRefSerializer, StrictInputSerializer
from paypredict_project.api import ApiAuthMixin, CursorPagination
from predictions.payment_risk import selectors
from predictions.payment_risk.models import PaymentRisk, ReviewStatus
from predictions.payment_risk.page_slots import RiskFlagSerializer
from predictions.payment_risk.services import payment_risk_review

TAGS = ["payment risk"]


class PaymentRiskOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="code")
    payment = PaymentRefSerializer()
    customer = CustomerRefSerializer(source="payment.customer")
    amount = serializers.DecimalField(source="payment.amount", max_digits=18, decimal_places=2)
    currency = serializers.CharField(source="payment.currency")
    received_at = serializers.DateTimeField(source="payment.received_at")
    status = serializers.CharField(source="payment.status")
    risk_score = serializers.FloatField(source="score")
    flagged = serializers.BooleanField()
    risk_flags = RiskFlagSerializer(source="reasons", many=True)
    review_status = serializers.ChoiceField(choices=ReviewStatus.choices)
    reviewed_by = serializers.EmailField(source="reviewed_by.email", allow_null=True)
    reviewed_at = serializers.DateTimeField(allow_null=True)
    scored_at = serializers.DateTimeField()

    class Meta:
        ref_name = "PaymentRisk"


class FlaggedCursorPagination(CursorPagination):
    ordering = ("-score",)


class FlaggedPaymentsReportApi(ApiAuthMixin, GenericAPIView):
    """Payments flagged as anomalous (or scoring at least ``threshold``), riskiest first."""

    required_permissions = {"read": "read:invoices"}
    pagination_class = FlaggedCursorPagination

    class FilterSerializer(StrictInputSerializer):
        start = serializers.DateField(required=False, help_text="received on or after (date)")
        end = serializers.DateField(required=False, help_text="received on or before (date)")
        threshold = serializers.FloatField(required=False, min_value=0.0, max_value=1.0)
        cursor = serializers.CharField(required=False)
        page_size = serializers.IntegerField(required=False)

        class Meta:
            ref_name = "FlaggedPaymentsFilter"

        def to_internal_value(self, data):
            # "from"/"to" are Python keywords: accept them as the query names.
            data = {{"from": "start", "to": "end"}.get(k, k): v for k, v in data.items()}
            return super().to_internal_value(data)

        def unknown_field_message(self, name: str) -> str:
            return f"unknown parameter {name!r}; use from, to, threshold"

    def get_queryset(self):
        return PaymentRisk.objects.none()

    @extend_schema(
        tags=TAGS,
        operation_id="reports_flagged_payments",
        summary="Flagged payments report",
        parameters=[
            OpenApiParameter("from", dt.date, description="received on or after"),
            OpenApiParameter("to", dt.date, description="received on or before"),
            OpenApiParameter("threshold", float, description="min score (default: flagged)"),
        ],
        responses=PaymentRiskOutputSerializer(many=True),
    )
    def get(self, request):
        params = self.FilterSerializer(data=request.query_params.dict())
        params.is_valid(raise_exception=True)
        tz = request.organization.tzinfo
        start, end = params.validated_data.get("start"), params.validated_data.get("end")
        if start and end and end < start:
            raise ValidationError({"to": ["must not be before from"]})
        risks = selectors.payment_risk_flagged(
            organization=request.organization,
            start=dt.datetime.combine(start, dt.time(), tz) if start else None,
            end=dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tz) if end else None,
            threshold=params.validated_data.get("threshold"),
        )
        page = self.paginate_queryset(risks)
        data = PaymentRiskOutputSerializer(page, many=True, context={"request": request}).data
        return self.get_paginated_response(data)


class PaymentRiskReviewApi(ApiAuthMixin, APIView):
    """Record a collector's verdict on a payment's risk flag."""

    required_permissions = {"read": "read:invoices", "write": "write:invoices"}

    class InputSerializer(StrictInputSerializer):
        status = serializers.ChoiceField(
            choices=[ReviewStatus.FINE.value, ReviewStatus.PROBLEM.value]
        )

        class Meta:
            ref_name = "PaymentRiskReviewInput"

    @extend_schema(
        tags=TAGS,
        operation_id="payments_risk_review",
        summary="Review a payment's risk flag",
        request=InputSerializer,
        responses=PaymentRiskOutputSerializer,
    )
    def post(self, request, id):
        risk = selectors.payment_risk_get(organization=request.organization, payment_code=id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            risk = payment_risk_review(
                risk=risk, status=data.validated_data["status"], user=request.user
            )
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from exc
        risk = selectors.payment_risk_get(organization=request.organization, payment_code=id)
        return Response(PaymentRiskOutputSerializer(risk, context={"request": request}).data)
