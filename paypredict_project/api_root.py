"""GET /api/v1/: the endpoints of the API, read from the URL resolver (so it never goes stale)."""

from __future__ import annotations

import re
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

API_PREFIX = "api/v1/"
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")
_METHODS = ("get", "post", "put", "patch", "delete")


def api_endpoints() -> list[dict[str, Any]]:
    """Each API route once: path (with {placeholders}), name and the HTTP methods it serves."""
    endpoints = []
    for prefix, pattern in _walk(get_resolver().url_patterns, ""):
        if not prefix.startswith(API_PREFIX) or prefix == API_PREFIX:
            continue
        view_class = getattr(pattern.callback, "view_class", None)
        methods = [m.upper() for m in _METHODS if view_class and hasattr(view_class, m)]
        path = "/" + _CONVERTER.sub(r"{\1}", prefix)
        endpoints.append({"path": path, "name": pattern.name or "", "methods": methods})
    return sorted(endpoints, key=lambda endpoint: endpoint["path"])


def _walk(patterns, prefix: str):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route, pattern


class ApiRootApi(APIView):
    # A map of the API, no data: readable before logging in, like the schema.
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(tags=["api"], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        """The API's endpoints, its schema and its docs. Every path also answers with a
        trailing slash."""
        return Response(
            {
                "version": "v1",
                "schema": request.build_absolute_uri("/api/schema/"),
                "docs": request.build_absolute_uri("/api/docs/"),
                "endpoints": api_endpoints(),
            }
        )
