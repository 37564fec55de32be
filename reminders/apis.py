"""Reminders API: list / retrieve reminders, approve / reject / send them, promises to pay.

Reads need ``read:invoices``; every action needs ``send:reminders``. One class per
operation; each calls the same service the review page calls.
"""

from __future__ import annotations

import django_filters as filters
from django.core.exceptions import ValidationError
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from invoices.analytics import organization_today
from invoices.apis.common import (
    CustomerRefSerializer,
    InvoiceRefSerializer,
    ObjectUrlField,
    ScopedCodeField,
    StrictInputSerializer,
    ledger_date,
)
from invoices.selectors import customer_get, invoice_get
from paypredict_project.api import ApiAuthMixin, CursorPagination, OrderingFilter, error_response
from reminders import selectors
from reminders.models import Drafter, PromiseToPay, Reminder, ReminderStatus
from reminders.services import promises, review
from reminders.services.sending import reminders_send_due

TAGS = ["reminders"]
PERMISSIONS = {"read": "read:invoices", "write": "send:reminders"}


class ReminderItemSerializer(serializers.Serializer):
    invoice = InvoiceRefSerializer()
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)
    currency = serializers.CharField()
    due_date = serializers.DateField()
    dropped = serializers.BooleanField(help_text="removed before sending (paid, disputed...)")
    paid_on = serializers.DateField(allow_null=True)

    class Meta:
        ref_name = "ReminderItem"


class ReminderOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="code")
    url = ObjectUrlField("api:reminder-detail")
    customer = CustomerRefSerializer()
    step = serializers.CharField(source="step_key", help_text='the policy step, e.g. "d+7"')
    step_name = serializers.CharField(source="step.name")
    planned_on = serializers.DateField()
    risk_level = serializers.CharField()
    tone = serializers.CharField()
    to = serializers.CharField(source="to_email")
    invoices = ReminderItemSerializer(source="items", many=True)
    subject = serializers.CharField()
    body_text = serializers.CharField()
    body_html = serializers.CharField()
    status = serializers.ChoiceField(choices=ReminderStatus.choices)
    auto_send = serializers.BooleanField()
    delivery_unknown = serializers.BooleanField()
    drafter = serializers.ChoiceField(choices=Drafter.choices)
    fallback_reason = serializers.CharField()
    sent_at = serializers.DateTimeField(allow_null=True)
    message_id = serializers.CharField()
    delivery_status = serializers.CharField()

    class Meta:
        ref_name = "Reminder"


class ReminderFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=ReminderStatus.choices)
    step = filters.CharFilter(field_name="step_key")
    customer = filters.UUIDFilter(field_name="customer__code")
    planned_on = filters.DateFilter()
    delivery_unknown = filters.BooleanFilter()

    class Meta:
        model = Reminder
        fields: list[str] = []


class ReminderCursorPagination(CursorPagination):
    ordering = ("-created_at",)


class ReminderListApi(ApiAuthMixin, GenericAPIView):
    required_permissions = PERMISSIONS
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = ReminderFilter
    pagination_class = ReminderCursorPagination
    ordering_fields = ["created_at", "planned_on"]
    ordering = ["-created_at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Reminder.objects.none()
        return selectors.reminder_list(organization=self.request.organization)

    def get_serializer_class(self):
        return ReminderOutputSerializer

    @extend_schema(tags=TAGS, responses=ReminderOutputSerializer(many=True))
    def get(self, request):
        """Reminders of the organization, newest first (filter by status, step, customer)."""
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        data = ReminderOutputSerializer(page, many=True, context={"request": request}).data
        return self.get_paginated_response(data)


def _reminder_response(request, reminder: Reminder) -> Response:
    fresh = selectors.reminder_get(organization=request.organization, code=reminder.code)
    return Response(ReminderOutputSerializer(fresh, context={"request": request}).data)


class ReminderDetailApi(ApiAuthMixin, APIView):
    required_permissions = PERMISSIONS

    @extend_schema(tags=TAGS, responses=ReminderOutputSerializer)
    def get(self, request, id):
        """One reminder with its invoices, text and delivery state."""
        return _reminder_response(
            request, selectors.reminder_get(organization=request.organization, code=id)
        )


class _ReminderActionApi(ApiAuthMixin, APIView):
    required_permissions = PERMISSIONS
    parser_classes = [JSONParser]

    def act(self, request, reminder: Reminder) -> None:
        raise NotImplementedError

    def post(self, request, id):
        reminder = selectors.reminder_get(organization=request.organization, code=id)
        try:
            self.act(request, reminder)
        except ValidationError as error:
            return error_response(status.HTTP_409_CONFLICT, "invalid_state", error.messages[0])
        return _reminder_response(request, reminder)


class ReminderApproveApi(_ReminderActionApi):
    @extend_schema(tags=TAGS, request=None, responses=ReminderOutputSerializer)
    def post(self, request, id):
        """Approve a draft for sending (409 when it is no longer a draft)."""
        return super().post(request, id)

    def act(self, request, reminder):
        review.reminder_approve(reminder=reminder, user=request.user)


class ReminderRejectApi(_ReminderActionApi):
    @extend_schema(tags=TAGS, request=None, responses=ReminderOutputSerializer)
    def post(self, request, id):
        """Reject a draft or approved reminder: the customer is not reminded at this step."""
        return super().post(request, id)

    def act(self, request, reminder):
        review.reminder_reject(reminder=reminder, user=request.user)


class ReminderSendApi(_ReminderActionApi):
    @extend_schema(tags=TAGS, request=None, responses=ReminderOutputSerializer)
    def post(self, request, id):
        """Send now (a draft is approved first). Invoices paid or disputed since drafting are
        dropped; with none left the reminder is cancelled. 409 if it cannot be sent."""
        return super().post(request, id)

    def act(self, request, reminder):
        if reminder.status == ReminderStatus.DRAFT:
            review.reminder_approve(reminder=reminder, user=request.user)
        elif reminder.status != ReminderStatus.APPROVED:
            raise ValidationError(f"the reminder is {reminder.status}; it cannot be sent")
        result = reminders_send_due(organization=request.organization, codes=[reminder.code])
        if result.busy:
            raise ValidationError("another send run is in progress; retry shortly")


# ---------------------------------------------------------------- promises to pay


class PromiseOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="code")
    customer = CustomerRefSerializer()
    invoice = InvoiceRefSerializer(allow_null=True)
    promised_date = serializers.DateField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)
    currency = serializers.CharField()
    status = serializers.CharField()
    note = serializers.CharField()
    resolved_on = serializers.DateField(allow_null=True)
    created_at = serializers.DateTimeField()

    class Meta:
        ref_name = "PromiseToPay"


class PromiseFilter(filters.FilterSet):
    customer = filters.UUIDFilter(field_name="customer__code")
    invoice = filters.UUIDFilter(field_name="invoice__code")
    status = filters.CharFilter()

    class Meta:
        model = PromiseToPay
        fields: list[str] = []


class PromiseCollectionApi(ApiAuthMixin, GenericAPIView):
    required_permissions = PERMISSIONS
    parser_classes = [JSONParser]
    filter_backends = [DjangoFilterBackend]
    filterset_class = PromiseFilter
    pagination_class = ReminderCursorPagination

    class InputSerializer(StrictInputSerializer):
        customer = ScopedCodeField(lookup=customer_get, label_name="customer", required=False)
        invoice = ScopedCodeField(lookup=invoice_get, label_name="invoice", required=False)
        promised_date = serializers.DateField(validators=[ledger_date])
        amount = serializers.DecimalField(max_digits=18, decimal_places=2)
        note = serializers.CharField(max_length=500, required=False, default="")

        class Meta:
            ref_name = "PromiseToPayInput"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return PromiseToPay.objects.none()
        return selectors.promise_list(organization=self.request.organization)

    def get_serializer_class(self):
        return PromiseOutputSerializer

    @extend_schema(tags=TAGS, responses=PromiseOutputSerializer(many=True))
    def get(self, request):
        """Promises to pay, newest first (filter by customer, invoice, status)."""
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        data = PromiseOutputSerializer(page, many=True, context={"request": request}).data
        return self.get_paginated_response(data)

    @extend_schema(tags=TAGS, request=InputSerializer, responses={201: PromiseOutputSerializer})
    def post(self, request):
        """Record a promise (an invoice's, or with only a customer all its open invoices):
        reminders for those invoices pause until the promised date."""
        data = self.InputSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        values = data.validated_data
        invoice = values.get("invoice")
        customer = invoice.customer if invoice else values.get("customer")
        if customer is None:
            raise serializers.ValidationError({"customer": ["give a customer or an invoice"]})
        promise = promises.promise_create(
            organization=request.organization,
            customer=customer,
            invoice=invoice,
            promised_date=values["promised_date"],
            amount=values["amount"],
            note=values["note"],
            today=organization_today(organization=request.organization),
            recorded_by=request.user,
        )
        body = PromiseOutputSerializer(promise, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)
