"""Log in and out of the dashboard through Auth0 (only when AUTH0_CLIENT_ID/SECRET are set)."""

from __future__ import annotations

import logging

from authlib.integrations.base_client import OAuthError
from django.conf import settings
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from requests import RequestException

from integrations.auth0 import jwks, tokens
from integrations.auth0.login import (
    LoginRefused,
    dashboard_login_enabled,
    logout_url,
    oidc_client,
    user_for_login,
)
from paypredict_project.tenancy.middleware import SESSION_KEY
from paypredict_project.tenancy.models import Membership

logger = logging.getLogger(__name__)

NEXT_KEY = "auth0_next"
LOGIN_FLAG = "auth0_login"


def _require_enabled() -> None:
    if not dashboard_login_enabled():
        raise Http404("Auth0 login is not configured")


def _login_error(request, reason: str, *, status: int = 400):
    logger.warning("Auth0 login failed: %s", reason)
    return render(request, "integrations/auth0_login_error.html", {"reason": reason}, status=status)


@require_GET
def auth0_login(request):
    _require_enabled()
    target = request.GET.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        request.session[NEXT_KEY] = target
    redirect_uri = settings.SITE_URL.rstrip("/") + reverse("auth0-callback")
    extra = {}
    organization = request.GET.get("organization", "")
    if organization.startswith("org_") and organization[4:].isalnum():
        extra["organization"] = organization  # Auth0 Organizations: log into this tenant
    try:
        return oidc_client().authorize_redirect(request, redirect_uri, **extra)
    except (RequestException, OAuthError, ValueError) as exc:
        return _login_error(request, f"cannot reach Auth0 ({exc.__class__.__name__})", status=502)


@require_GET
def auth0_callback(request):
    _require_enabled()
    if request.GET.get("error"):
        detail = request.GET.get("error_description") or request.GET["error"]
        return _login_error(request, f"Auth0 refused the login: {detail}")
    client = oidc_client()
    state = request.GET.get("state", "")
    state_data = client.framework.get_state_data(request.session, state) if state else None
    if state:
        client.framework.clear_state_data(request.session, state)
    if not state_data or not state_data.get("nonce"):
        return _login_error(
            request, "login state mismatch: this login link is stale or was not started here"
        )
    code = request.GET.get("code")
    if not code:
        return _login_error(request, "Auth0 returned no authorization code")
    try:
        token = client.fetch_access_token(
            code=code,
            redirect_uri=state_data["redirect_uri"],
            code_verifier=state_data.get("code_verifier"),
        )
    except OAuthError as exc:
        return _login_error(request, f"code exchange failed: {exc.error} {exc.description or ''}")
    except RequestException as exc:
        return _login_error(request, f"cannot reach Auth0 ({exc.__class__.__name__})", status=502)
    if not token.get("id_token"):
        return _login_error(request, "Auth0 returned no ID token (is the openid scope allowed?)")
    try:
        claims = tokens.id_token_validate(token["id_token"], nonce=state_data["nonce"])
    except tokens.TokenInvalid as exc:
        return _login_error(request, f"ID token rejected: {exc}")
    except jwks.JwksUnavailable as exc:
        return _login_error(request, str(exc), status=502)
    try:
        user = user_for_login(claims)
    except LoginRefused as exc:
        return render(
            request, "integrations/auth0_no_access.html", {"reason": str(exc)}, status=403
        )

    target = request.session.pop(NEXT_KEY, "") or settings.LOGIN_REDIRECT_URL
    auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    request.session[LOGIN_FLAG] = True
    _select_token_organization(request, user, claims.get("org_id"))
    return redirect(target)


def _select_token_organization(request, user, org_id) -> None:
    # Logging in through an Auth0 Organization opens that tenant, if the user belongs to it.
    if not isinstance(org_id, str) or not org_id:
        return
    membership = (
        Membership.objects.filter(user=user, organization__auth0_org_id=org_id)
        .select_related("organization")
        .first()
    )
    if membership:
        request.session[SESSION_KEY] = str(membership.organization.code)


@require_POST
def auth0_logout(request):
    """Ends the Django session and, for Auth0 logins, the Auth0 session too."""
    through_auth0 = bool(request.session.get(LOGIN_FLAG))
    auth_logout(request)
    if through_auth0 and dashboard_login_enabled() and settings.AUTH0_LOGOUT_URL:
        return_to = settings.SITE_URL.rstrip("/") + reverse("login")
        return redirect(logout_url(return_to=return_to))
    return redirect(settings.LOGOUT_REDIRECT_URL)
