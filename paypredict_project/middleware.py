from __future__ import annotations

# Served from our own static files only: no CDN, so the policy can stay strict.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'"
)


class SecurityHeadersMiddleware:
    """Headers Django's SecurityMiddleware does not set itself."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=()"
        )
        return response


class ApiTrailingSlashMiddleware:
    """Every API route answers with and without a trailing slash, for every method.

    Routes are declared once, without the slash (``/api/v1/invoices``); a request for
    ``/api/v1/invoices/`` that resolves only without the slash is served by that route
    directly (no redirect, so a POST body is not lost). Apps added later get it for free.
    """

    prefix = "/api/"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if path.startswith(self.prefix) and path.endswith("/") and len(path) > len(self.prefix):
            request.path_info = _without_slash_if_only_that_resolves(path)
        return self.get_response(request)


def _without_slash_if_only_that_resolves(path: str) -> str:
    from django.urls import Resolver404, resolve

    try:
        resolve(path)
        return path
    except Resolver404:
        pass
    stripped = path.rstrip("/")
    try:
        resolve(stripped)
    except Resolver404:
        return path
    return stripped
