"""Customers: GET/POST /api/v1/customers, GET/PATCH /api/v1/customers/{id}."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from invoices import selectors, services
from invoices.apis.common import (
    JSONObjectField,
    LedgerApi,
    LedgerListApi,
    ObjectUrlField,
    StrictInputSerializer,
    no_nul_characters,
)
from invoices.filters import CustomerFilter
from invoices.models import Customer, ReminderChannel, Source

TAGS = ["customers"]


class ContactSerializer(StrictInputSerializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    role = serializers.CharField(max_length=80, required=False, allow_blank=True)

    class Meta:
        ref_name = "CustomerContact"


class CustomerOutputSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="code", read_only=True)
    url = ObjectUrlField("api:customer-detail")
    # Plain strings: stored values may be blank, which `format: email` would not allow.
    email = serializers.CharField(read_only=True)
    contacts = serializers.JSONField()
    attributes = serializers.JSONField()

    class Meta:
        model = Customer
        ref_name = "Customer"
        fields = [
            "id",
            "url",
            "name",
            "email",
            "phone",
            "contacts",
            "currency",
            "payment_terms_days",
            "credit_limit",
            "credit_score",
            "industry",
            "country",
            "reminder_channel",
            "reminder_contact",
            "reminder_language",
            "do_not_remind",
            "notes",
            "attributes",
            "risk_score",
            "risk_level",
            "source",
            "external_id",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class CustomerInputSerializer(StrictInputSerializer):
    """What a caller may set on a customer; every field but ``name`` is optional."""

    name = serializers.CharField(max_length=200)
    email = serializers.EmailField(required=False, allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    contacts = ContactSerializer(many=True, required=False, max_length=50)
    currency = serializers.RegexField(
        r"^[A-Za-z]{3}$",
        required=False,
        error_messages={"invalid": "must be a three-letter ISO 4217 code"},
    )
    payment_terms_days = serializers.IntegerField(min_value=0, max_value=3650, required=False)
    credit_limit = serializers.DecimalField(
        max_digits=18, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    credit_score = serializers.IntegerField(
        min_value=0, max_value=1000, required=False, allow_null=True
    )
    industry = serializers.CharField(max_length=80, required=False, allow_blank=True)
    country = serializers.CharField(max_length=8, required=False, allow_blank=True)
    reminder_channel = serializers.ChoiceField(choices=ReminderChannel.choices, required=False)
    reminder_contact = serializers.CharField(max_length=200, required=False, allow_blank=True)
    reminder_language = serializers.CharField(max_length=8, required=False, min_length=2)
    do_not_remind = serializers.BooleanField(required=False)
    notes = serializers.CharField(max_length=10_000, required=False, allow_blank=True)
    attributes = JSONObjectField(required=False)
    external_id = serializers.CharField(max_length=128, required=False, allow_blank=True)

    class Meta:
        ref_name = "CustomerInput"

    def validate_currency(self, value: str) -> str:
        return value.upper()

    def validate_contacts(self, value: list[dict]) -> list[dict]:
        no_nul_characters(value)
        return value


class CustomerListApi(LedgerListApi):
    filterset_class = CustomerFilter
    ordering_fields = ("name", "created_at", "updated_at")
    ordering = ("name",)

    OutputSerializer = CustomerOutputSerializer

    def scoped_queryset(self):
        return selectors.customer_list(organization=self.request.organization)

    @extend_schema(
        tags=TAGS,
        operation_id="customers_list",
        summary="List customers",
        responses=CustomerOutputSerializer(many=True),
    )
    def get(self, request):
        return self.list_response(CustomerListApi.OutputSerializer)


class CustomerCreateApi(LedgerApi):
    InputSerializer = CustomerInputSerializer
    OutputSerializer = CustomerOutputSerializer

    @extend_schema(
        tags=TAGS,
        operation_id="customers_create",
        summary="Create a customer",
        request=CustomerInputSerializer,
        responses={201: CustomerOutputSerializer},
    )
    def post(self, request):
        serializer = CustomerCreateApi.InputSerializer(
            data=request.data, context={"request": request}
        )
        serializer.is_valid(raise_exception=True)
        customer = services.customer_create(
            organization=request.organization, source=Source.API, **serializer.validated_data
        )
        output = CustomerCreateApi.OutputSerializer(customer, context={"request": request})
        return Response(output.data, status=status.HTTP_201_CREATED)


# /api/v1/customers: GET is CustomerListApi, POST is CustomerCreateApi.
class CustomerCollectionApi(CustomerListApi, CustomerCreateApi):
    pass


class CustomerDetailApi(LedgerApi):
    OutputSerializer = CustomerOutputSerializer

    @extend_schema(
        tags=TAGS,
        operation_id="customers_retrieve",
        summary="Get a customer",
        responses=CustomerOutputSerializer,
    )
    def get(self, request, id):
        customer = selectors.customer_get(organization=request.organization, code=id)
        output = CustomerDetailApi.OutputSerializer(customer, context={"request": request})
        return Response(output.data)


class CustomerUpdateApi(LedgerApi):
    class InputSerializer(CustomerInputSerializer):
        class Meta:
            ref_name = "CustomerUpdateInput"

    OutputSerializer = CustomerOutputSerializer

    @extend_schema(
        tags=TAGS,
        operation_id="customers_update",
        summary="Change some fields of a customer",
        request=InputSerializer,
        responses=CustomerOutputSerializer,
    )
    def patch(self, request, id):
        customer = selectors.customer_get(organization=request.organization, code=id)
        serializer = CustomerUpdateApi.InputSerializer(
            data=request.data, partial=True, context={"request": request}
        )
        serializer.is_valid(raise_exception=True)
        customer = services.customer_update(customer=customer, **serializer.validated_data)
        output = CustomerUpdateApi.OutputSerializer(customer, context={"request": request})
        return Response(output.data)


# /api/v1/customers/{id}: GET is CustomerDetailApi, PATCH is CustomerUpdateApi.
class CustomerResourceApi(CustomerDetailApi, CustomerUpdateApi):
    pass
