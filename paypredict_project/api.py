"""DRF foundations shared by every API: permissions, pagination, one error body.

Authentication is declared once (settings.REST_FRAMEWORK); whichever class
authenticates a request (session today, Auth0 JWT beside it) leaves
``request.organization`` and ``request.org_permissions`` set, and the
permission class below reads only those.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import json
import logging
import operator
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.db.models import Q
from django.http import Http404, JsonResponse
from django.views import defaults as django_defaults
from rest_framework import exceptions, filters, pagination, permissions, status
from rest_framework.pagination import Cursor
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class HasOrgPermission(permissions.BasePermission):
    """Requires an organization and the permission the view names for the method.

    Views declare ``required_permissions = {"read": "read:invoices", "write": "write:invoices"}``.
    """

    message = "no organization is selected for this user"

    def has_permission(self, request, view) -> bool:
        if not getattr(request, "organization", None):
            raise exceptions.PermissionDenied(
                "no organization is associated with these credentials"
            )
        needed = required_permission(view, request.method)
        if needed and needed not in request.org_permissions:
            raise exceptions.PermissionDenied(f"missing permission {needed}")
        return True


def required_permission(view, method: str) -> str | None:
    declared: dict[str, str] = getattr(view, "required_permissions", {})
    return declared.get("read" if method in SAFE_METHODS else "write")


class ApiAuthMixin:
    permission_classes = [permissions.IsAuthenticated, HasOrgPermission]


class RejectUnknownParams(filters.BaseFilterBackend):
    """A list API answers 400 naming any query parameter it does not know (a typo such as
    ``?stauts=open`` would otherwise return every row). Put it first in filter_backends."""

    always_allowed = frozenset({"ordering", "cursor", "page_size", "format"})

    def filter_queryset(self, request, queryset, view):
        filterset_class = getattr(view, "filterset_class", None)
        known = set(self.always_allowed)
        if filterset_class is not None:
            known |= set(filterset_class.base_filters)
        unknown = sorted(set(request.query_params) - known)
        if unknown:
            raise exceptions.ValidationError(
                {
                    name: [f"unknown query parameter; known: {', '.join(sorted(known))}"]
                    for name in unknown
                }
            )
        return queryset


class CursorPagination(pagination.CursorPagination):
    """Keyset pagination over the view's ordering plus a unique tie-breaker.

    DRF's own cursor keeps only the first ordering field and an offset, which on a field
    with many equal values (due_date on a million invoices) walks ever larger offsets.
    Here the cursor holds the values of every ordering field of the last row, the
    tie-breaker (``code`` where the model has one, so no integer key leaks into cursors)
    makes the order total, and the next page is a pure range condition that an index on
    (organization, field) can serve. It never counts rows.
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = "-created_at"
    invalid_cursor_message = "invalid or expired cursor"

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None or raw == "":
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if not 1 <= size <= self.max_page_size:
            raise exceptions.ValidationError(
                {self.page_size_query_param: [f"must be an integer from 1 to {self.max_page_size}"]}
            )
        return size

    def get_ordering(self, request, queryset, view) -> tuple[str, ...]:
        ordering = list(super().get_ordering(request, queryset, view))
        tie_breaker = "code" if _has_field(queryset.model, "code") else "pk"
        if not any(term.lstrip("-") in (tie_breaker, "pk", "id") for term in ordering):
            descending = ordering[-1].startswith("-") if ordering else False
            ordering.append(f"-{tie_breaker}" if descending else tie_breaker)
        return tuple(ordering)

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.page_size = self.get_page_size(request)
        self.base_url = request.build_absolute_uri()
        self.ordering = self.get_ordering(request, queryset, view)
        self.cursor = self.decode_cursor(request)
        reverse = bool(self.cursor and self.cursor.reverse)
        position = self.cursor.position if self.cursor else None

        order_by = [_flip(term) for term in self.ordering] if reverse else list(self.ordering)
        queryset = queryset.order_by(*order_by)
        if position is not None:
            if len(position) != len(self.ordering):
                raise exceptions.ValidationError(
                    {self.cursor_query_param: [self.invalid_cursor_message]}
                )
            queryset = queryset.filter(_after(order_by, position))
        try:
            rows = list(queryset[: self.page_size + 1])
        except (DjangoValidationError, ValueError, TypeError) as exc:
            # A hand-edited cursor whose values do not parse as the field's type.
            raise exceptions.ValidationError(
                {self.cursor_query_param: [self.invalid_cursor_message]}
            ) from exc
        has_more = len(rows) > self.page_size
        self.page = rows[: self.page_size]
        if reverse:
            self.page.reverse()
            self.has_previous, self.has_next = has_more, position is not None
        else:
            self.has_next, self.has_previous = has_more, position is not None
        return self.page

    def _link(self, instance, reverse: bool) -> str:
        values = [_cursor_value(_attr(instance, term.lstrip("-"))) for term in self.ordering]
        return self.encode_cursor(Cursor(offset=0, reverse=reverse, position=values))

    def get_next_link(self) -> str | None:
        if not self.has_next or not self.page:
            return None
        return self._link(self.page[-1], reverse=False)

    def get_previous_link(self) -> str | None:
        if not self.has_previous or not self.page:
            return None
        return self._link(self.page[0], reverse=True)

    def encode_cursor(self, cursor: Cursor) -> str:
        payload = {"p": cursor.position}
        if cursor.reverse:
            payload["r"] = 1
        raw = json.dumps(payload, separators=(",", ":")).encode()
        encoded = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        return replace_query_param(self.base_url, self.cursor_query_param, encoded)

    def decode_cursor(self, request) -> Cursor | None:
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        try:
            raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            payload = json.loads(raw)
            position = payload["p"]
            if not isinstance(position, list) or not all(
                isinstance(value, str | int) for value in position
            ):
                raise ValueError("cursor position must be a list of values")
            reverse = bool(payload.get("r", 0))
        except (ValueError, TypeError, KeyError, AttributeError, binascii.Error) as exc:
            raise exceptions.ValidationError(
                {self.cursor_query_param: [self.invalid_cursor_message]}
            ) from exc
        return Cursor(offset=0, reverse=reverse, position=position)

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                    "default": self.page_size,
                }
        return parameters


def _has_field(model, name: str) -> bool:
    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True


def _flip(term: str) -> str:
    return term[1:] if term.startswith("-") else f"-{term}"


def _attr(instance, name: str) -> Any:
    return instance.pk if name == "pk" else getattr(instance, name)


def _cursor_value(value: Any) -> str | int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)


def _after(order_by: list[str], position: list) -> Q:
    """Rows strictly after ``position`` in ``order_by``: (a > x) OR (a = x AND b > y) ...

    The leading ``a >= x`` is implied by the OR but stated on its own so the planner can
    turn it into an index range condition.
    """
    disjuncts = []
    equal_so_far = Q()
    for term, value in zip(order_by, position, strict=True):
        name = term.lstrip("-")
        op = "lt" if term.startswith("-") else "gt"
        disjuncts.append(equal_so_far & Q(**{f"{name}__{op}": value}))
        equal_so_far &= Q(**{name: value})
    first = order_by[0]
    leading = Q(
        **{f"{first.lstrip('-')}__{'lte' if first.startswith('-') else 'gte'}": position[0]}
    )
    return leading & functools.reduce(operator.or_, disjuncts)


class OrderingFilter(filters.OrderingFilter):
    """``?ordering=<field>`` or ``-<field>`` over the view's ``ordering_fields`` only.

    DRF's filter silently ignores unknown fields; an API consumer who mistypes a field
    should hear about it, so anything else is a 400 naming the allowed values.
    """

    def get_ordering(self, request, queryset, view):
        raw = request.query_params.get(self.ordering_param)
        if raw is None or raw.strip() == "":
            return self.get_default_ordering(view)
        allowed = self.allowed_values(view)
        value = raw.strip()
        if value not in allowed:
            raise exceptions.ValidationError(
                {
                    self.ordering_param: [
                        f"unknown ordering {value!r}; use one of {', '.join(allowed)}"
                    ]
                }
            )
        return (value,)

    @staticmethod
    def allowed_values(view) -> list[str]:
        fields = getattr(view, "ordering_fields", ())
        return [value for name in fields for value in (name, f"-{name}")]

    def get_schema_operation_parameters(self, view) -> list[dict]:
        default = ",".join(self.get_default_ordering(view) or ())
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": "Sort by one field; prefix with '-' for descending."
                + (f" Default: {default}." if default else ""),
                "schema": {"type": "string", "enum": self.allowed_values(view)},
            }
        ]


def _error_body(status_code: int, code: str, message: str, fields: Any = None) -> dict:
    body: dict[str, Any] = {"error": {"status": status_code, "code": code, "message": message}}
    if fields:
        body["error"]["fields"] = fields
    return body


def _first_message(detail: Any) -> str:
    """One line naming every problem ("total: ...; due_date: ..."), so a client sees all the
    bad fields at once; `fields` carries the same, structured."""
    if isinstance(detail, dict):
        parts = []
        for key, value in detail.items():
            prefix = "" if key in ("non_field_errors", "detail") else f"{key}: "
            parts.append(prefix + _first_message(value))
        return "; ".join(parts)
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """Every 4xx leaves the API as {"error": {"status", "code", "message", "fields"?}}."""
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else None
        if fields and NON_FIELD_ERRORS in fields:
            fields = {
                ("non_field_errors" if k == NON_FIELD_ERRORS else k): v for k, v in fields.items()
            }
        exc = exceptions.ValidationError(fields or {"non_field_errors": exc.messages})
    elif isinstance(exc, IntegrityError):
        # A unique constraint lost a race that full_clean() had checked a moment before.
        logger.warning("integrity error answered as 409: %s", exc)
        exc = Conflict()
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "not found")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or "permission denied")

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = _error_body(
            response.status_code, "invalid", _first_message(exc.detail), fields
        )
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else "error"
        response.data = _error_body(response.status_code, code, _first_message(exc.detail))
    return response


def error_response(status_code: int, code: str, message: str) -> Response:
    return Response(_error_body(status_code, code, message), status=status_code)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "the request conflicts with an existing record; retry or change it"
    default_code = "conflict"


def _is_api_path(request) -> bool:
    return request.path.startswith("/api/")


def handler404(request, exception=None):
    """Unknown URLs under /api/ answer in the API error body; pages keep Django's 404."""
    if _is_api_path(request):
        return JsonResponse(_error_body(404, "not_found", "no such API endpoint"), status=404)
    return django_defaults.page_not_found(request, exception)


def handler500(request):
    if _is_api_path(request):
        return JsonResponse(_error_body(500, "server_error", "internal server error"), status=500)
    return django_defaults.server_error(request)


# ---------------------------------------------------------------- OpenAPI
ERROR_COMPONENT = "Error"
ERROR_SCHEMA = {
    "type": "object",
    "description": "The one error body every 4xx (and 5xx) of the API answers with.",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "status": {"type": "integer", "description": "the HTTP status, repeated"},
                "code": {"type": "string", "description": "machine-readable, e.g. invalid"},
                "message": {"type": "string", "description": "the first problem, in words"},
                "fields": {
                    "type": "object",
                    "additionalProperties": True,
                    "description": "per-field messages (400 only), nested like the input",
                },
            },
            "required": ["status", "code", "message"],
        }
    },
    "required": ["error"],
}
_ERROR_DESCRIPTIONS = {
    "400": "Invalid input: query parameter or body (see error.fields)",
    "401": "Missing or invalid credentials",
    "403": "Authenticated, but without the permission or organization this needs",
    "404": "No such object in your organization",
    "409": "Conflicts with an existing record",
    "415": "Unsupported media type (send application/json)",
    "429": "Too many requests; see Retry-After",
}


def postprocess_error_responses(result, generator, request, public):
    """drf-spectacular hook: document the error body on every operation of the API.

    Which statuses apply follows from the operation's shape: every one can be refused
    (401/403/429); path parameters can miss (404); inputs can be invalid (400); bodies can
    have the wrong media type (415). Writes can also break a business rule (400).
    """
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components[ERROR_COMPONENT] = ERROR_SCHEMA
    ref = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            parameters = operation.get("parameters", [])
            codes = ["401", "403", "429"]
            if any(p.get("in") == "path" for p in parameters):
                codes.append("404")
            writes = method != "get"
            if writes or any(p.get("in") == "query" for p in parameters):
                codes.append("400")  # also a service rule, e.g. refunding a failed payment
            if writes:
                codes += ["409", "415"]
            responses = operation.setdefault("responses", {})
            for code in codes:
                responses.setdefault(
                    code,
                    {
                        "description": _ERROR_DESCRIPTIONS[code],
                        "content": {"application/json": {"schema": ref}},
                    },
                )
    return result


__all__ = [
    "ApiAuthMixin",
    "Conflict",
    "CursorPagination",
    "HasOrgPermission",
    "OrderingFilter",
    "error_response",
    "exception_handler",
    "handler404",
    "handler500",
    "postprocess_error_responses",
    "status",
]
