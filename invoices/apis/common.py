"""Pieces every ledger API shares: base classes, scoped references, input guards.

One class per operation (HackSoft style). Where one URL carries two operations
(``GET /invoices`` lists, ``POST /invoices`` creates) the URL's class is a plain
combination of the two operation classes, each keeping its own nested serializers.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from django.db.models import Model, QuerySet
from django.http import Http404
from django.urls import reverse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import JSONParser
from rest_framework.views import APIView

from paypredict_project.api import (
    ApiAuthMixin,
    CursorPagination,
    OrderingFilter,
    RejectUnknownParams,
)

LEDGER_PERMISSIONS = {"read": "read:invoices", "write": "write:invoices"}

# Ledger dates outside this window are typos (or fuzzers) and would overflow date arithmetic.
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2999, 12, 31)


# Base classes carry no docstring: drf-spectacular would publish it on every operation.
class LedgerApi(ApiAuthMixin, APIView):
    required_permissions = LEDGER_PERMISSIONS
    # JSON in, JSON out: a form post is a 415, not a half-understood request.
    parser_classes = [JSONParser]


# A list operation: filters from invoices/filters.py, whitelisted ordering, keyset cursor.
# GenericAPIView (still an APIView) is used only for its filter/pagination hooks, which
# drf-spectacular also reads to document the query parameters.
class LedgerListApi(ApiAuthMixin, GenericAPIView):
    required_permissions = LEDGER_PERMISSIONS
    parser_classes = [JSONParser]
    filter_backends = [RejectUnknownParams, DjangoFilterBackend, OrderingFilter]
    pagination_class = CursorPagination

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            # Schema generation runs without an organization; it only needs the model.
            return self.filterset_class._meta.model.objects.none()
        return self.scoped_queryset()

    def scoped_queryset(self) -> QuerySet:
        raise NotImplementedError

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return self.OutputSerializer

    def list_response(self, serializer_class: type[serializers.Serializer]):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        data = serializer_class(page, many=True, context={"request": self.request}).data
        return self.get_paginated_response(data)


def get_by_code(queryset: QuerySet, code) -> Model:
    """One object of an already scoped queryset, or 404 (the same 404 for another org's)."""
    try:
        return queryset.get(code=code)
    except (queryset.model.DoesNotExist, ValueError):
        raise Http404(f"No {queryset.model._meta.verbose_name} matches the given id.") from None


@extend_schema_field(OpenApiTypes.UUID)
class ScopedCodeField(serializers.Field):
    """A reference by id (UUID ``code``) resolved inside the caller's organization.

    Another organization's id gets exactly the answer a random UUID gets, so a caller
    cannot learn that it exists.
    """

    def __init__(self, *, lookup: Callable[..., Model], label_name: str, **kwargs: Any):
        self.lookup = lookup
        self.label_name = label_name
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Model:
        try:
            code = serializers.UUIDField().to_internal_value(data)
        except serializers.ValidationError:
            raise serializers.ValidationError(f"{data!r} is not a valid id (a UUID)") from None
        organization = self.context["request"].organization
        try:
            return self.lookup(organization=organization, code=code)
        except Http404:
            raise serializers.ValidationError(f"{self.label_name} {code} not found") from None

    def to_representation(self, value: Model) -> str:
        return str(value.code)


def ledger_date(value: dt.date) -> None:
    if isinstance(value, dt.datetime):
        value = value.date()
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise serializers.ValidationError(
            f"must be between {EARLIEST_DATE.isoformat()} and {LATEST_DATE.isoformat()}"
        )


def no_nul_characters(value: Any) -> None:
    """PostgreSQL text and jsonb cannot hold U+0000; say so instead of failing on save."""
    if isinstance(value, str):
        if "\x00" in value:
            raise serializers.ValidationError("must not contain NUL (\\u0000) characters")
    elif isinstance(value, dict):
        for key, item in value.items():
            no_nul_characters(key)
            no_nul_characters(item)
    elif isinstance(value, list):
        for item in value:
            no_nul_characters(item)


@extend_schema_field({"type": "object", "additionalProperties": True})
class JSONObjectField(serializers.JSONField):
    """Free-form attributes: a JSON object, no NUL characters, at most ~16 kB."""

    default_error_messages = {"not_object": "must be a JSON object"}

    def to_internal_value(self, data: Any) -> dict:
        value = super().to_internal_value(data)
        if not isinstance(value, dict):
            self.fail("not_object")
        no_nul_characters(value)
        if len(json.dumps(value)) > 16_384:
            raise serializers.ValidationError("must be smaller than 16 kB")
        return value


class StrictInputSerializer(serializers.Serializer):
    """Rejects fields it does not know, naming them, instead of silently dropping them."""

    def to_internal_value(self, data: Any) -> Any:
        unknown = {}
        if isinstance(data, dict):
            names = sorted(set(data) - set(self.fields))
            unknown = {name: [self.unknown_field_message(name)] for name in names}
        # Unknown and invalid fields are reported together: one round trip fixes them all.
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**unknown, **exc.detail}) from None
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value

    def unknown_field_message(self, name: str) -> str:
        return "unknown field"


class StrictInputSerializerExtension(OpenApiSerializerExtension):
    """Tell the schema what StrictInputSerializer enforces: no properties beyond its fields."""

    target_class = StrictInputSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        schema["additionalProperties"] = False
        return schema


_PLACEHOLDER = "00000000-0000-0000-0000-000000000000"


@extend_schema_field(OpenApiTypes.URI)
class ObjectUrlField(serializers.Field):
    """The absolute URL of an object by its ``code``.

    Same result as DRF's HyperlinkedIdentityField, but the URL is reversed once per
    response and formatted per row: a 50-row invoice page has 100 URLs.
    """

    def __init__(self, view_name: str, **kwargs: Any):
        self.view_name = view_name
        kwargs.update(source="*", read_only=True)
        super().__init__(**kwargs)

    def to_representation(self, instance: Model) -> str:
        templates = self.context.setdefault("_url_templates", {})
        template = templates.get(self.view_name)
        if template is None:
            url = reverse(self.view_name, kwargs={"id": _PLACEHOLDER})
            template = self.context["request"].build_absolute_uri(url).replace(_PLACEHOLDER, "{}")
            templates[self.view_name] = template
        return template.format(instance.code)


class CustomerRefSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="code", read_only=True)
    url = ObjectUrlField("api:customer-detail")
    name = serializers.CharField(read_only=True)

    class Meta:
        ref_name = "CustomerRef"


class InvoiceRefSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="code", read_only=True)
    url = ObjectUrlField("api:invoice-detail")
    number = serializers.CharField(read_only=True)

    class Meta:
        ref_name = "InvoiceRef"


class PaymentRefSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="code", read_only=True)
    url = ObjectUrlField("api:payment-detail")
    status = serializers.CharField(read_only=True)
    received_at = serializers.DateTimeField(read_only=True)

    class Meta:
        ref_name = "PaymentRef"
