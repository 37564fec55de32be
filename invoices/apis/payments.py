"""Payments: list/record, get, allocate, and the status moves fail / refund / succeed."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from invoices import selectors, services
from invoices.apis.common import (
    CustomerRefSerializer,
    InvoiceRefSerializer,
    LedgerApi,
    LedgerListApi,
    ObjectUrlField,
    ScopedCodeField,
    StrictInputSerializer,
    get_by_code,
    ledger_date,
)
from invoices.apis.settlements import SettlementRefSerializer
from invoices.filters import PaymentFilter
from invoices.models import (
    ZERO,
    Payment,
    PaymentAllocation,
    PaymentMethod,
    PaymentStatus,
    SettlementSource,
    Source,
)
from paypredict_project import slots

TAGS = ["payments"]
MAX_ALLOCATIONS = 500
# Computed amounts leave as decimal strings, like every stored amount.
MONEY_FIELD = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True)


class PaymentAllocationSerializer(serializers.ModelSerializer):
    invoice = InvoiceRefSerializer(read_only=True)

    class Meta:
        model = PaymentAllocation
        ref_name = "PaymentAllocation"
        fields = ["invoice", "amount", "created_at"]
        read_only_fields = fields


class PaymentOutputSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="code", read_only=True)
    url = ObjectUrlField("api:payment-detail")
    customer = CustomerRefSerializer(read_only=True)
    retry_of = serializers.UUIDField(source="retry_of.code", read_only=True, allow_null=True)
    allocated_amount = serializers.SerializerMethodField()
    unallocated_amount = serializers.SerializerMethodField()
    allocations = PaymentAllocationSerializer(many=True, read_only=True)
    reconciliation_source = serializers.SerializerMethodField()
    settlement = SettlementRefSerializer(source="settlement_batch", read_only=True, allow_null=True)

    class Meta:
        model = Payment
        ref_name = "Payment"
        fields = [
            "id",
            "url",
            "customer",
            "amount",
            "currency",
            "allocated_amount",
            "unallocated_amount",
            "received_at",
            "method",
            "status",
            "failure_code",
            "failure_reason",
            "processor",
            "reference",
            "retry_of",
            "fee",
            "reconciliation_status",
            "reconciliation_source",
            "reconciled_at",
            "settlement",
            "source",
            "external_id",
            "allocations",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_fields(self):
        # Consumer apps add read-only fields through page slots (predictions: risk_score,
        # risk_flags); the ledger does not name them.
        return {**super().get_fields(), **slots.api_fields(slots.PAYMENT_API_FIELDS)}

    @staticmethod
    def _allocated(payment: Payment) -> Decimal:
        # Sums the prefetched allocations: no query per row.
        return sum((a.amount for a in payment.allocations.all()), ZERO)

    @extend_schema_field(
        serializers.ChoiceField(choices=SettlementSource.choices, allow_null=True, read_only=True)
    )
    def get_reconciliation_source(self, payment: Payment) -> str | None:
        # Null while pending: nobody has matched it yet.
        return payment.reconciliation_source or None

    @extend_schema_field(MONEY_FIELD)
    def get_allocated_amount(self, payment: Payment) -> str:
        return MONEY_FIELD.to_representation(self._allocated(payment))

    @extend_schema_field(MONEY_FIELD)
    def get_unallocated_amount(self, payment: Payment) -> str:
        return MONEY_FIELD.to_representation(payment.amount - self._allocated(payment))


def _queryset(request):
    return slots.prepare_queryset(
        slots.PAYMENT_API_FIELDS,
        selectors.payment_list(organization=request.organization)
        .select_related("retry_of", "settlement_batch")
        .prefetch_related("allocations__invoice"),
    )


def _detail_response(request, payment: Payment, status_code: int = status.HTTP_200_OK):
    payment = get_by_code(_queryset(request), payment.code)
    data = PaymentOutputSerializer(payment, context={"request": request}).data
    return Response(data, status=status_code)


class AllocationInputSerializer(StrictInputSerializer):
    invoice = ScopedCodeField(lookup=selectors.invoice_get, label_name="invoice")
    amount = serializers.DecimalField(max_digits=18, decimal_places=2, min_value=Decimal("0.01"))

    class Meta:
        ref_name = "AllocationInput"


class PaymentListApi(LedgerListApi):
    filterset_class = PaymentFilter
    ordering_fields = ("received_at", "amount", "created_at")
    ordering = ("-received_at",)

    OutputSerializer = PaymentOutputSerializer

    def scoped_queryset(self):
        return _queryset(self.request)

    @extend_schema(
        tags=TAGS,
        operation_id="payments_list",
        summary="List payments",
        responses=PaymentOutputSerializer(many=True),
    )
    def get(self, request):
        return self.list_response(PaymentListApi.OutputSerializer)


class PaymentRecordApi(LedgerApi):
    class InputSerializer(StrictInputSerializer):
        customer = ScopedCodeField(lookup=selectors.customer_get, label_name="customer")
        amount = serializers.DecimalField(
            max_digits=18, decimal_places=2, min_value=Decimal("0.01")
        )
        currency = serializers.RegexField(
            r"^[A-Za-z]{3}$",
            required=False,
            error_messages={"invalid": "must be a three-letter ISO 4217 code"},
        )
        received_at = serializers.DateTimeField(validators=[ledger_date])
        method = serializers.ChoiceField(choices=PaymentMethod.choices, required=False)
        status = serializers.ChoiceField(
            choices=[PaymentStatus.SUCCEEDED, PaymentStatus.PENDING, PaymentStatus.FAILED],
            required=False,
        )
        failure_code = serializers.CharField(max_length=64, required=False, allow_blank=True)
        failure_reason = serializers.CharField(max_length=255, required=False, allow_blank=True)
        processor = serializers.CharField(max_length=64, required=False, allow_blank=True)
        fee = serializers.DecimalField(
            max_digits=18, decimal_places=2, min_value=Decimal("0"), required=False
        )
        reference = serializers.CharField(max_length=128, required=False, allow_blank=True)
        external_id = serializers.CharField(max_length=128, required=False, allow_blank=True)
        allocations = AllocationInputSerializer(
            many=True, required=False, max_length=MAX_ALLOCATIONS
        )

        class Meta:
            ref_name = "PaymentInput"

        def validate_currency(self, value: str) -> str:
            return value.upper()

        def validate(self, attrs: dict) -> dict:
            if attrs.get("status") == PaymentStatus.FAILED and not attrs.get("failure_code"):
                raise serializers.ValidationError(
                    {"failure_code": ["a failed payment needs a failure code"]}
                )
            return attrs

    @extend_schema(
        tags=TAGS,
        operation_id="payments_create",
        summary="Record a payment and apply it to invoices",
        description="Balances and statuses of the invoices in `allocations` move in the "
        "same transaction; over-allocation, another currency or another organization's "
        "invoice rejects the whole payment.",
        request=InputSerializer,
        responses={201: PaymentOutputSerializer},
    )
    def post(self, request):
        serializer = PaymentRecordApi.InputSerializer(
            data=request.data, context={"request": request}
        )
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        allocations = [(a["invoice"], a["amount"]) for a in data.pop("allocations", [])]
        payment = services.payment_record(
            organization=request.organization,
            customer=data.pop("customer"),
            allocations=allocations,
            source=Source.API,
            **data,
        )
        return _detail_response(request, payment, status.HTTP_201_CREATED)


# /api/v1/payments: GET is PaymentListApi, POST is PaymentRecordApi.
class PaymentCollectionApi(PaymentListApi, PaymentRecordApi):
    pass


class PaymentDetailApi(LedgerApi):
    OutputSerializer = PaymentOutputSerializer

    @extend_schema(
        tags=TAGS,
        operation_id="payments_retrieve",
        summary="Get a payment with its allocations",
        responses=PaymentOutputSerializer,
    )
    def get(self, request, id):
        payment = get_by_code(_queryset(request), id)
        output = PaymentDetailApi.OutputSerializer(payment, context={"request": request})
        return Response(output.data)


class PaymentAllocateApi(LedgerApi):
    InputSerializer = AllocationInputSerializer

    @extend_schema(
        tags=TAGS,
        operation_id="payments_allocate",
        summary="Apply unapplied cash of a payment to an invoice",
        request=AllocationInputSerializer,
        responses={201: PaymentOutputSerializer},
    )
    def post(self, request, id):
        payment = selectors.payment_get(organization=request.organization, code=id)
        serializer = PaymentAllocateApi.InputSerializer(
            data=request.data, context={"request": request}
        )
        serializer.is_valid(raise_exception=True)
        services.payment_allocate(
            payment=payment,
            invoice=serializer.validated_data["invoice"],
            amount=serializer.validated_data["amount"],
        )
        return _detail_response(request, payment, status.HTTP_201_CREATED)


class PaymentFailApi(LedgerApi):
    class InputSerializer(StrictInputSerializer):
        failure_code = serializers.CharField(max_length=64)
        failure_reason = serializers.CharField(max_length=255, required=False, allow_blank=True)

        class Meta:
            ref_name = "PaymentFailInput"

    @extend_schema(
        tags=TAGS,
        operation_id="payments_fail",
        summary="Mark a pending or succeeded payment failed (balances re-open)",
        request=InputSerializer,
        responses=PaymentOutputSerializer,
    )
    def post(self, request, id):
        payment = selectors.payment_get(organization=request.organization, code=id)
        serializer = PaymentFailApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payment = services.payment_mark_failed(payment=payment, **serializer.validated_data)
        return _detail_response(request, payment)


class PaymentRefundApi(LedgerApi):
    @extend_schema(
        tags=TAGS,
        operation_id="payments_refund",
        summary="Refund a succeeded payment (balances re-open)",
        request=None,
        responses=PaymentOutputSerializer,
    )
    def post(self, request, id):
        payment = selectors.payment_get(organization=request.organization, code=id)
        payment = services.payment_refund(payment=payment)
        return _detail_response(request, payment)


class PaymentSucceedApi(LedgerApi):
    @extend_schema(
        tags=TAGS,
        operation_id="payments_succeed",
        summary="Mark a pending payment succeeded (its allocations now count as paid)",
        request=None,
        responses=PaymentOutputSerializer,
    )
    def post(self, request, id):
        payment = selectors.payment_get(organization=request.organization, code=id)
        payment = services.payment_mark_succeeded(payment=payment)
        return _detail_response(request, payment)
