"""Permission checks for the HTML dashboard, in the same vocabulary as the API.

``request.org_permissions`` is set by the tenancy middleware from the chosen membership,
so a view check and an API check read the same set.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render, resolve_url
from django_htmx.http import HttpResponseClientRedirect

logger = logging.getLogger(__name__)


def require_org_permission(permission: str) -> Callable:
    """Anonymous → login (an HTMX request gets a client redirect, so the login page is not
    swapped into a table); no organization → a 403 page saying so; missing permission → 403."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                if getattr(request, "htmx", False):
                    login = resolve_url(settings.LOGIN_URL)
                    return HttpResponseClientRedirect(f"{login}?next={request.path}")
                return redirect_to_login(request.get_full_path())
            if getattr(request, "organization", None) is None:
                return render(request, "dashboard/no_organization.html", status=403)
            if permission not in getattr(request, "org_permissions", frozenset()):
                # An expected answer, not an error: one log line, no traceback.
                logger.info(
                    "403 %s %s: %s lacks %s", request.method, request.path, request.user, permission
                )
                response = render(request, "403.html", status=403)
                response._has_been_logged = True  # Django's request logger would add a line
                return response
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
