"""Disputes API: list (queue filters), create, retrieve, and the actions resolve, reject,
confirm-category, assign. Reads need ``read:invoices``; writes ``manage:disputes``.
One class per operation; each calls the same service the dashboard calls."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from disputes import selectors, services
from disputes.models import CATEGORY_CHOICES, DisputeChannel, DisputeStatus, ResolutionKind
from invoices.apis.common import (
    CustomerRefSerializer,
    InvoiceRefSerializer,
    ObjectUrlField,
    ScopedCodeField,
    StrictInputSerializer,
)
from invoices.selectors import invoice_get, payment_get
from paypredict_project.api import ApiAuthMixin, CursorPagination

TAGS = ["disputes"]
PERMISSIONS = {"read": "read:invoices", "write": "manage:disputes"}


def _field_errors(error: ValidationError) -> serializers.ValidationError:
    """A service's ValidationError as a 400 naming the field."""
    if hasattr(error, "error_dict"):
        return serializers.ValidationError(error.message_dict)
    return serializers.ValidationError({"non_field_errors": error.messages})


class TopEntrySerializer(serializers.Serializer):
    label = serializers.CharField()
    p = serializers.FloatField()

    class Meta:
        ref_name = "DisputeTopCategory"


class DisputeOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="code")
    url = ObjectUrlField("api:dispute-detail")
    invoice = InvoiceRefSerializer(allow_null=True)
    customer = CustomerRefSerializer(allow_null=True)
    channel = serializers.ChoiceField(choices=DisputeChannel.choices)
    subject = serializers.CharField()
    text = serializers.CharField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=2, allow_null=True)
    currency = serializers.CharField()
    predicted_category = serializers.CharField()
    confidence = serializers.FloatField(allow_null=True)
    top3 = TopEntrySerializer(many=True)
    model_version = serializers.CharField()
    needs_review = serializers.BooleanField()
    category = serializers.CharField(help_text="confirmed by staff; empty until then")
    status = serializers.ChoiceField(choices=DisputeStatus.choices)
    assignee = serializers.EmailField(source="assignee.email", allow_null=True, default=None)
    resolution = serializers.CharField()
    resolution_amount = serializers.DecimalField(max_digits=18, decimal_places=2, allow_null=True)
    rejection_reason = serializers.CharField()
    opened_at = serializers.DateTimeField()
    sla_due_at = serializers.DateTimeField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    suggestion = serializers.JSONField()

    class Meta:
        ref_name = "Dispute"


def _response(request, dispute, code=status.HTTP_200_OK) -> Response:
    fresh = selectors.dispute_get(organization=request.organization, code=dispute.code)
    return Response(DisputeOutputSerializer(fresh, context={"request": request}).data, status=code)


class DisputeCursorPagination(CursorPagination):
    ordering = ("-opened_at", "-id")


FILTER_PARAMETERS = [
    OpenApiParameter("category", str, enum=[c for c, _ in CATEGORY_CHOICES]),
    OpenApiParameter("status", str, enum=["active", *DisputeStatus.values]),
    OpenApiParameter("assignee", str, description="member user id, or 'none'"),
    OpenApiParameter("sla_breached", bool),
    OpenApiParameter("needs_review", bool),
    OpenApiParameter("min_amount", OpenApiTypes.DECIMAL),
    OpenApiParameter("max_amount", OpenApiTypes.DECIMAL),
    OpenApiParameter("customer", str, description="customer name contains"),
]


class DisputeInputSerializer(StrictInputSerializer):
    invoice = ScopedCodeField(lookup=invoice_get, label_name="invoice", required=False)
    text = serializers.CharField(max_length=20_000)
    subject = serializers.CharField(max_length=255, required=False, allow_blank=True)
    amount = serializers.DecimalField(max_digits=18, decimal_places=2, min_value=0, required=False)
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", required=False)
    category = serializers.ChoiceField(choices=CATEGORY_CHOICES, required=False)

    class Meta:
        ref_name = "DisputeInput"


class DisputeCollectionApi(ApiAuthMixin, GenericAPIView):
    required_permissions = PERMISSIONS
    parser_classes = [JSONParser]
    pagination_class = DisputeCursorPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            from disputes.models import Dispute

            return Dispute.objects.none()
        return selectors.dispute_list(organization=self.request.organization)

    def get_serializer_class(self):
        return DisputeOutputSerializer

    @extend_schema(
        tags=TAGS,
        operation_id="disputes_list",
        parameters=FILTER_PARAMETERS,
        responses=DisputeOutputSerializer(many=True),
    )
    def get(self, request):
        """Disputes, newest first, filtered like the queue."""
        try:
            queryset = selectors.dispute_filter(self.get_queryset(), request.query_params)
        except ValueError as exc:
            name, _, message = str(exc).partition(": ")
            raise serializers.ValidationError({name: [message]}) from None
        page = self.paginate_queryset(queryset)
        data = DisputeOutputSerializer(page, many=True, context={"request": request}).data
        return self.get_paginated_response(data)

    @extend_schema(
        tags=TAGS,
        operation_id="disputes_create",
        request=DisputeInputSerializer,
        responses={201: DisputeOutputSerializer},
    )
    def post(self, request):
        """Open a dispute (linked to an invoice, or unlinked); it is classified in the
        background."""
        serializer = DisputeInputSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            dispute = services.dispute_open(
                organization=request.organization,
                channel=DisputeChannel.API,
                user=request.user,
                **data,
            )
        except ValidationError as error:
            raise _field_errors(error) from None
        return _response(request, dispute, status.HTTP_201_CREATED)


class DisputeDetailApi(ApiAuthMixin, APIView):
    required_permissions = PERMISSIONS

    @extend_schema(tags=TAGS, operation_id="disputes_retrieve", responses=DisputeOutputSerializer)
    def get(self, request, id):
        """One dispute with its classification and suggestion."""
        return _response(request, selectors.dispute_get(organization=request.organization, code=id))


class _ActionApi(ApiAuthMixin, APIView):
    required_permissions = PERMISSIONS
    parser_classes = [JSONParser]
    InputSerializer: type[serializers.Serializer]

    def act(self, request, dispute, data) -> None:
        raise NotImplementedError

    def post(self, request, id):
        dispute = selectors.dispute_get(organization=request.organization, code=id)
        serializer = self.InputSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        try:
            self.act(request, dispute, serializer.validated_data)
        except ValidationError as error:
            raise _field_errors(error) from None
        return _response(request, dispute)


class ResolveInput(StrictInputSerializer):
    resolution = serializers.ChoiceField(choices=ResolutionKind.choices)
    amount = serializers.DecimalField(max_digits=18, decimal_places=2, min_value=0, required=False)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    payment = ScopedCodeField(lookup=payment_get, label_name="payment", required=False)

    class Meta:
        ref_name = "DisputeResolveInput"


class DisputeResolveApi(_ActionApi):
    InputSerializer = ResolveInput

    @extend_schema(tags=TAGS, request=ResolveInput, responses=DisputeOutputSerializer)
    def post(self, request, id):
        """Resolve: credit_note / price_adjustment credit the amount, payment_applied applies
        the payment, written_off writes the invoice off — atomically with the status."""
        return super().post(request, id)

    def act(self, request, dispute, data):
        services.dispute_resolve(dispute=dispute, user=request.user, **data)


class RejectInput(StrictInputSerializer):
    reason = serializers.CharField(max_length=2000)

    class Meta:
        ref_name = "DisputeRejectInput"


class DisputeRejectApi(_ActionApi):
    InputSerializer = RejectInput

    @extend_schema(tags=TAGS, request=RejectInput, responses=DisputeOutputSerializer)
    def post(self, request, id):
        """Reject with a reason; the invoice's disputed flag clears with the last open one."""
        return super().post(request, id)

    def act(self, request, dispute, data):
        services.dispute_reject(dispute=dispute, reason=data["reason"], user=request.user)


class ConfirmInput(StrictInputSerializer):
    category = serializers.ChoiceField(choices=CATEGORY_CHOICES)

    class Meta:
        ref_name = "DisputeConfirmInput"


class DisputeConfirmCategoryApi(_ActionApi):
    InputSerializer = ConfirmInput

    @extend_schema(tags=TAGS, request=ConfirmInput, responses=DisputeOutputSerializer)
    def post(self, request, id):
        """Confirm or correct the category (a training label for the organization's model)."""
        return super().post(request, id)

    def act(self, request, dispute, data):
        services.dispute_confirm_category(
            dispute=dispute, category=data["category"], user=request.user
        )


class AssignInput(StrictInputSerializer):
    assignee = serializers.EmailField(allow_null=True, help_text="member e-mail; null unassigns")

    class Meta:
        ref_name = "DisputeAssignInput"


class DisputeAssignApi(_ActionApi):
    InputSerializer = AssignInput

    @extend_schema(tags=TAGS, request=AssignInput, responses=DisputeOutputSerializer)
    def post(self, request, id):
        """Assign to a member (an open dispute moves to in review)."""
        return super().post(request, id)

    def act(self, request, dispute, data):
        assignee = None
        if data["assignee"]:
            assignee = (
                get_user_model()
                .objects.filter(
                    email__iexact=data["assignee"],
                    memberships__organization=request.organization,
                )
                .first()
            )
            if assignee is None:
                raise ValidationError({"assignee": "not a member of this organization"})
        services.dispute_assign(disputes=[dispute], assignee=assignee, user=request.user)
