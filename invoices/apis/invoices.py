"""Invoices: list/create, get/update, void, write off."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from invoices import selectors, services
from invoices.apis.common import (
    CustomerRefSerializer,
    JSONObjectField,
    LedgerApi,
    LedgerListApi,
    ObjectUrlField,
    PaymentRefSerializer,
    ScopedCodeField,
    StrictInputSerializer,
    get_by_code,
    ledger_date,
    no_nul_characters,
)
from invoices.filters import InvoiceFilter
from invoices.models import Invoice, InvoiceLine, InvoiceStatus, PaymentAllocation, Source

TAGS = ["invoices"]
MAX_LINES = 500


class InvoiceLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = InvoiceLine
        ref_name = "InvoiceLine"
        fields = ["position", "description", "quantity", "unit_price", "amount", "tax"]
        read_only_fields = fields


class InvoiceOutputSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="code", read_only=True)
    url = ObjectUrlField("api:invoice-detail")
    customer = CustomerRefSerializer(read_only=True)
    amount_paid = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True)
    lines = InvoiceLineSerializer(many=True, read_only=True)
    attributes = serializers.JSONField(read_only=True)

    class Meta:
        model = Invoice
        ref_name = "Invoice"
        fields = [
            "id",
            "url",
            "number",
            "customer",
            "status",
            "currency",
            "issue_date",
            "due_date",
            "paid_date",
            "subtotal",
            "tax_total",
            "total",
            "balance",
            "amount_paid",
            "disputed",
            "po_number",
            "payment_terms_days",
            "source",
            "external_id",
            "attributes",
            "lines",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class InvoiceAllocationSerializer(serializers.ModelSerializer):
    payment = PaymentRefSerializer(read_only=True)

    class Meta:
        model = PaymentAllocation
        ref_name = "InvoiceAllocation"
        fields = ["payment", "amount", "created_at"]
        read_only_fields = fields


class InvoiceDetailOutputSerializer(InvoiceOutputSerializer):
    allocations = InvoiceAllocationSerializer(many=True, read_only=True)

    class Meta(InvoiceOutputSerializer.Meta):
        ref_name = "InvoiceDetail"
        fields = [*InvoiceOutputSerializer.Meta.fields, "allocations"]
        read_only_fields = fields


class InvoiceLineInputSerializer(StrictInputSerializer):
    description = serializers.CharField(max_length=500)
    quantity = serializers.DecimalField(
        max_digits=14, decimal_places=4, min_value=0, required=False
    )
    unit_price = serializers.DecimalField(max_digits=18, decimal_places=4)
    tax = serializers.DecimalField(max_digits=18, decimal_places=2, min_value=0, required=False)

    class Meta:
        ref_name = "InvoiceLineInput"


def _detail_queryset(request):
    return selectors.invoice_list(organization=request.organization).prefetch_related(
        "lines", "allocations__payment"
    )


def _detail_response(request, invoice: Invoice, status_code: int = status.HTTP_200_OK):
    invoice = get_by_code(_detail_queryset(request), invoice.code)
    data = InvoiceDetailOutputSerializer(invoice, context={"request": request}).data
    return Response(data, status=status_code)


class InvoiceListApi(LedgerListApi):
    filterset_class = InvoiceFilter
    ordering_fields = ("issue_date", "due_date", "total", "balance", "number", "created_at")
    ordering = ("-issue_date",)

    OutputSerializer = InvoiceOutputSerializer

    def scoped_queryset(self):
        return selectors.invoice_list(organization=self.request.organization).prefetch_related(
            "lines"
        )

    @extend_schema(
        tags=TAGS,
        operation_id="invoices_list",
        summary="List invoices",
        responses=InvoiceOutputSerializer(many=True),
    )
    def get(self, request):
        return self.list_response(InvoiceListApi.OutputSerializer)


class InvoiceCreateApi(LedgerApi):
    LineInputSerializer = InvoiceLineInputSerializer

    class InputSerializer(StrictInputSerializer):
        customer = ScopedCodeField(lookup=selectors.customer_get, label_name="customer")
        number = serializers.CharField(max_length=64)
        issue_date = serializers.DateField(validators=[ledger_date])
        due_date = serializers.DateField(required=False, validators=[ledger_date])
        currency = serializers.RegexField(
            r"^[A-Za-z]{3}$",
            required=False,
            error_messages={"invalid": "must be a three-letter ISO 4217 code"},
        )
        status = serializers.ChoiceField(
            choices=[InvoiceStatus.DRAFT, InvoiceStatus.OPEN], required=False
        )
        lines = InvoiceLineInputSerializer(many=True, required=False, max_length=MAX_LINES)
        total = serializers.DecimalField(
            max_digits=18, decimal_places=2, min_value=0, required=False
        )
        tax_total = serializers.DecimalField(
            max_digits=18, decimal_places=2, min_value=0, required=False
        )
        po_number = serializers.CharField(max_length=64, required=False, allow_blank=True)
        payment_terms_days = serializers.IntegerField(min_value=0, max_value=3650, required=False)
        disputed = serializers.BooleanField(required=False)
        external_id = serializers.CharField(max_length=128, required=False, allow_blank=True)
        attributes = JSONObjectField(required=False)

        class Meta:
            ref_name = "InvoiceInput"

        def validate_currency(self, value: str) -> str:
            return value.upper()

        def validate_number(self, value: str) -> str:
            no_nul_characters(value)
            return value.strip()

        def validate(self, attrs: dict) -> dict:
            if attrs.get("lines") and "tax_total" in attrs:
                raise serializers.ValidationError(
                    {"tax_total": ["comes from the lines' tax; give it only with a bare total"]}
                )
            if "due_date" in attrs and attrs["due_date"] < attrs["issue_date"]:
                raise serializers.ValidationError({"due_date": ["must be on or after issue_date"]})
            return attrs

    @extend_schema(
        tags=TAGS,
        operation_id="invoices_create",
        summary="Create an invoice from lines (or a bare total)",
        description="Give `lines` (total = lines + tax) or a bare `total`. "
        "`customer` is the customer's id.",
        request=InputSerializer,
        responses={201: InvoiceDetailOutputSerializer},
    )
    def post(self, request):
        serializer = InvoiceCreateApi.InputSerializer(
            data=request.data, context={"request": request}
        )
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        invoice = services.invoice_create(
            organization=request.organization,
            customer=data.pop("customer"),
            source=Source.API,
            lines=[dict(line) for line in data.pop("lines", [])],
            **data,
        )
        return _detail_response(request, invoice, status.HTTP_201_CREATED)


# /api/v1/invoices: GET is InvoiceListApi, POST is InvoiceCreateApi.
class InvoiceCollectionApi(InvoiceListApi, InvoiceCreateApi):
    pass


class InvoiceDetailApi(LedgerApi):
    OutputSerializer = InvoiceDetailOutputSerializer

    @extend_schema(
        tags=TAGS,
        operation_id="invoices_retrieve",
        summary="Get an invoice with its lines and the payments applied to it",
        responses=InvoiceDetailOutputSerializer,
    )
    def get(self, request, id):
        invoice = get_by_code(_detail_queryset(request), id)
        output = InvoiceDetailApi.OutputSerializer(invoice, context={"request": request})
        return Response(output.data)


class InvoiceUpdateApi(LedgerApi):
    class InputSerializer(StrictInputSerializer):
        due_date = serializers.DateField(required=False, validators=[ledger_date])
        po_number = serializers.CharField(max_length=64, required=False, allow_blank=True)
        disputed = serializers.BooleanField(required=False)
        payment_terms_days = serializers.IntegerField(min_value=0, max_value=3650, required=False)
        attributes = JSONObjectField(required=False)

        class Meta:
            ref_name = "InvoiceUpdateInput"

        def unknown_field_message(self, name: str) -> str:
            return (
                "this field cannot be changed after the invoice is created; "
                f"editable fields: {', '.join(self.fields)}"
            )

    @extend_schema(
        tags=TAGS,
        operation_id="invoices_update",
        summary="Change the editable fields of an invoice",
        description="Amounts, customer and number are fixed once created; void the "
        "invoice and create a new one instead.",
        request=InputSerializer,
        responses=InvoiceDetailOutputSerializer,
    )
    def patch(self, request, id):
        invoice = selectors.invoice_get(organization=request.organization, code=id)
        serializer = InvoiceUpdateApi.InputSerializer(
            data=request.data, partial=True, context={"request": request}
        )
        serializer.is_valid(raise_exception=True)
        invoice = services.invoice_update(invoice=invoice, **serializer.validated_data)
        return _detail_response(request, invoice)


# /api/v1/invoices/{id}: GET is InvoiceDetailApi, PATCH is InvoiceUpdateApi.
class InvoiceResourceApi(InvoiceDetailApi, InvoiceUpdateApi):
    pass


class InvoiceVoidApi(LedgerApi):
    @extend_schema(
        tags=TAGS,
        operation_id="invoices_void",
        summary="Void an invoice (only without payments applied)",
        request=None,
        responses=InvoiceDetailOutputSerializer,
    )
    def post(self, request, id):
        invoice = selectors.invoice_get(organization=request.organization, code=id)
        invoice = services.invoice_void(invoice=invoice)
        return _detail_response(request, invoice)


class InvoiceWriteOffApi(LedgerApi):
    @extend_schema(
        tags=TAGS,
        operation_id="invoices_write_off",
        summary="Write off the open balance of an invoice",
        request=None,
        responses=InvoiceDetailOutputSerializer,
    )
    def post(self, request, id):
        invoice = selectors.invoice_get(organization=request.organization, code=id)
        invoice = services.invoice_write_off(invoice=invoice)
        return _detail_response(request, invoice)
