"""Dashboard login through Auth0 (OIDC authorization-code flow with PKCE), via authlib.

authlib runs the protocol: discovery from ``AUTH0_ISSUER/.well-known/openid-configuration``,
the authorize redirect with state, nonce and an S256 code challenge (all kept in the
session), and the code exchange. The ID token is then checked by ``tokens.id_token_validate``
(RS256 only, our issuer, audience = client id, nonce, exp) so the API and the dashboard share
one validator and one JWKS cache.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlencode

from authlib.integrations.django_client import DjangoOAuth2App, OAuth
from django.conf import settings
from django.contrib.auth import get_user_model

from paypredict_project.tenancy.models import Membership

HTTP_TIMEOUT = 10  # seconds, for discovery and the code exchange

_clients: dict[tuple[str, str, str], DjangoOAuth2App] = {}
_lock = threading.Lock()


class LoginRefused(Exception):
    """Auth0 vouched for someone who may not use PayPredict; ``str(exc)`` tells them why."""


def dashboard_login_enabled() -> bool:
    return bool(settings.AUTH0_CLIENT_ID and settings.AUTH0_CLIENT_SECRET and settings.AUTH0_ISSUER)


def oidc_client() -> DjangoOAuth2App:
    """One authlib client per configuration, so discovery is fetched once per process."""
    config = (settings.AUTH0_ISSUER, settings.AUTH0_CLIENT_ID, settings.AUTH0_CLIENT_SECRET)
    with _lock:
        client = _clients.get(config)
        if client is None:
            issuer, client_id, client_secret = config
            client = OAuth().register(
                "auth0",
                client_id=client_id,
                client_secret=client_secret,
                server_metadata_url=f"{issuer.rstrip('/')}/.well-known/openid-configuration",
                client_kwargs={
                    "scope": "openid profile email",
                    "code_challenge_method": "S256",
                    "default_timeout": HTTP_TIMEOUT,
                },
            )
            _clients[config] = client
    return client


def logout_url(*, return_to: str) -> str:
    query = urlencode({"client_id": settings.AUTH0_CLIENT_ID, "returnTo": return_to})
    return f"{settings.AUTH0_LOGOUT_URL}?{query}"


def user_for_login(claims: dict[str, Any]):
    """The PayPredict user these ID-token claims belong to, if they are a member somewhere.

    A user is found by ``sub`` (users first seen through an API token) or by e-mail, the key
    ``create_member`` uses; the e-mail only counts when Auth0 says it is verified, otherwise
    anyone could sign up with a colleague's address and inherit their memberships.
    """
    user_model = get_user_model()
    candidates = list(user_model.objects.filter(username=claims["sub"], is_active=True))
    email = claims.get("email")
    email = email.strip().lower() if isinstance(email, str) else ""
    email_verified = claims.get("email_verified") is True
    if email and email_verified:
        candidates += list(
            user_model.objects.filter(email__iexact=email, is_active=True)
            | user_model.objects.filter(username__iexact=email, is_active=True)
        )
    for user in candidates:
        if Membership.objects.filter(user=user).exists():
            return user
    if email and not email_verified:
        raise LoginRefused(
            f"Auth0 has not verified the e-mail address {email}; verify it, then log in again."
        )
    who = email or claims["sub"]
    raise LoginRefused(
        f"{who} has no access to any organization in PayPredict; ask your admin to add you."
    )
