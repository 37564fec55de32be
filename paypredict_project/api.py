"""DRF foundations shared by every API: permissions, pagination, one error body.

Authentication is declared once (settings.REST_FRAMEWORK); whichever class
authenticates a request (session today, Auth0 JWT beside it) leaves
``request.organization`` and ``request.org_permissions`` set, and the
permission class below reads only those.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, pagination, permissions, status
from rest_framework.response import Response
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


class CursorPagination(pagination.CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = "-created_at"


def _error_body(status_code: int, code: str, message: str, fields: Any = None) -> dict:
    body: dict[str, Any] = {"error": {"status": status_code, "code": code, "message": message}}
    if fields:
        body["error"]["fields"] = fields
    return body


def _first_message(detail: Any) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            prefix = "" if key in ("non_field_errors", "detail") else f"{key}: "
            return prefix + _first_message(value)
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """Every 4xx leaves the API as {"error": {"status", "code", "message", "fields"?}}."""
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else None
        exc = exceptions.ValidationError(fields or {"non_field_errors": exc.messages})
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


__all__ = [
    "ApiAuthMixin",
    "CursorPagination",
    "HasOrgPermission",
    "error_response",
    "exception_handler",
    "status",
]
