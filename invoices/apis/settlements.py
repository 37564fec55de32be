"""Settlement batches: list (filtered), get, create (admins and collectors)."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from invoices import selectors, services
from invoices.apis.common import (
    LedgerApi,
    LedgerListApi,
    ObjectUrlField,
    ScopedCodeField,
    StrictInputSerializer,
    get_by_code,
    ledger_date,
)
from invoices.filters import SettlementFilter
from invoices.models import BATCH_SOURCES, SettlementBatch, SettlementKind, SettlementSource

TAGS = ["settlements"]
MAX_PAYMENTS = 5000


class SettlementOutputSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="code", read_only=True)
    url = ObjectUrlField("api:settlement-detail")
    payment_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = SettlementBatch
        ref_name = "Settlement"
        fields = [
            "id",
            "url",
            "kind",
            "processor",
            "reference",
            "currency",
            "gross",
            "fees",
            "net",
            "status",
            "expected_settle_date",
            "settled_at",
            "source",
            "external_id",
            "payment_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class SettlementRefSerializer(serializers.Serializer):
    """How a payment names its batch."""

    id = serializers.UUIDField(source="code", read_only=True)
    url = ObjectUrlField("api:settlement-detail")
    processor = serializers.CharField(read_only=True)
    reference = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True)
    settled_at = serializers.DateTimeField(read_only=True, allow_null=True)

    class Meta:
        ref_name = "SettlementRef"


def _detail_response(request, batch: SettlementBatch, status_code: int = status.HTTP_200_OK):
    batch = selectors.settlement_batch_get(organization=request.organization, code=batch.code)
    data = SettlementOutputSerializer(batch, context={"request": request}).data
    return Response(data, status=status_code)


class SettlementListApi(LedgerListApi):
    filterset_class = SettlementFilter
    ordering_fields = ("expected_settle_date", "settled_at", "net", "created_at")
    ordering = ("-expected_settle_date",)

    OutputSerializer = SettlementOutputSerializer

    def scoped_queryset(self):
        return selectors.settlement_batch_list(organization=self.request.organization)

    @extend_schema(
        tags=TAGS,
        operation_id="settlements_list",
        summary="List settlement batches (processor payouts and bank deposits)",
        responses=SettlementOutputSerializer(many=True),
    )
    def get(self, request):
        return self.list_response(SettlementListApi.OutputSerializer)


class SettlementCreateApi(LedgerApi):
    class InputSerializer(StrictInputSerializer):
        kind = serializers.ChoiceField(choices=SettlementKind.choices, required=False)
        processor = serializers.CharField(max_length=64)
        reference = serializers.CharField(max_length=128, required=False, allow_blank=True)
        currency = serializers.RegexField(
            r"^[A-Za-z]{3}$",
            required=False,
            error_messages={"invalid": "must be a three-letter ISO 4217 code"},
        )
        gross = serializers.DecimalField(max_digits=18, decimal_places=2, min_value=Decimal("0"))
        fees = serializers.DecimalField(
            max_digits=18, decimal_places=2, min_value=Decimal("0"), required=False
        )
        net = serializers.DecimalField(
            max_digits=18,
            decimal_places=2,
            min_value=Decimal("0"),
            required=False,
            help_text="gross less fees; derived when absent, checked when given",
        )
        expected_settle_date = serializers.DateField(validators=[ledger_date])
        settled_at = serializers.DateTimeField(
            required=False,
            validators=[ledger_date],
            help_text="when the money landed; the batch and its payments become settled",
        )
        source = serializers.ChoiceField(
            choices=[(s.value, s.label) for s in BATCH_SOURCES], required=False
        )
        external_id = serializers.CharField(max_length=128, required=False, allow_blank=True)
        payments = serializers.ListField(
            child=ScopedCodeField(lookup=selectors.payment_get, label_name="payment"),
            required=False,
            max_length=MAX_PAYMENTS,
        )

        class Meta:
            ref_name = "SettlementInput"

        def validate_currency(self, value: str) -> str:
            return value.upper()

        def validate_processor(self, value: str) -> str:
            if not value.strip():
                raise serializers.ValidationError("must not be blank")
            return value

    @extend_schema(
        tags=TAGS,
        operation_id="settlements_create",
        summary="Record a settlement batch and the payments it carries",
        description="`net` must equal `gross` less `fees`. With `settled_at` the batch is "
        "settled at once and every payment in `payments` moves to reconciliation status "
        "`settled`. Payments must be succeeded, in the batch's currency and in no other batch.",
        request=InputSerializer,
        responses={201: SettlementOutputSerializer},
    )
    def post(self, request):
        serializer = SettlementCreateApi.InputSerializer(
            data=request.data, context={"request": request}
        )
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.setdefault("source", SettlementSource.MANUAL)
        batch = services.settlement_batch_create(organization=request.organization, **data)
        return _detail_response(request, batch, status.HTTP_201_CREATED)


# /api/v1/settlements: GET is SettlementListApi, POST is SettlementCreateApi.
class SettlementCollectionApi(SettlementListApi, SettlementCreateApi):
    pass


class SettlementDetailApi(LedgerApi):
    OutputSerializer = SettlementOutputSerializer

    @extend_schema(
        tags=TAGS,
        operation_id="settlements_retrieve",
        summary="Get a settlement batch",
        responses=SettlementOutputSerializer,
    )
    def get(self, request, id):
        batch = get_by_code(selectors.settlement_batch_list(organization=request.organization), id)
        output = SettlementDetailApi.OutputSerializer(batch, context={"request": request})
        return Response(output.data)
