"""DRF authentication with Auth0 access tokens (``Authorization: Bearer <jwt>``).

A valid token leaves the request in the same shape the tenancy middleware gives session
users: ``request.organization`` (from the ``org_id`` claim) and ``request.org_permissions``
(from the ``permissions`` claim), so ``HasOrgPermission`` judges both alike. The ``admin``
permission implies every other one, as the admin role does for session users.

With AUTH0_AUDIENCE or AUTH0_JWKS_URL unset the class steps aside (returns None) and
session authentication stays the embedded default.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, status
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from integrations.auth0 import jwks, tokens
from paypredict_project import audit
from paypredict_project.tenancy.models import ROLE_PERMISSIONS, Organization, Role

DEFAULT_EMAIL_CLAIM = "https://paypredict.io/email"


class SigningKeysUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "signing_keys_unavailable"
    default_detail = "signing keys unavailable; try again shortly"


def api_tokens_enabled() -> bool:
    return bool(settings.AUTH0_AUDIENCE and settings.AUTH0_JWKS_URL and settings.AUTH0_ISSUER)


def permissions_from_claims(claims: dict[str, Any]) -> frozenset[str]:
    granted = claims.get("permissions", [])
    if not isinstance(granted, list) or not all(isinstance(p, str) for p in granted):
        raise exceptions.AuthenticationFailed(
            "malformed token: permissions must be a list of strings"
        )
    permissions = frozenset(granted)
    if "admin" in permissions:
        permissions |= ROLE_PERMISSIONS[Role.ADMIN]
    return permissions


def organization_from_claims(claims: dict[str, Any]) -> Organization:
    org_id = claims.get("org_id")
    if not isinstance(org_id, str) or not org_id:
        raise exceptions.PermissionDenied(
            "token has no org_id claim: request the token through an Auth0 Organization"
        )
    organization = Organization.objects.filter(auth0_org_id=org_id).first()
    if organization is None:
        raise exceptions.PermissionDenied(
            f"unknown organization {org_id[:64]!r}: no PayPredict organization has this "
            "auth0_org_id (create_org --auth0-org-id)"
        )
    return organization


def user_from_claims(claims: dict[str, Any]):
    """The user named by ``sub``, created on first sight (no password: tokens only)."""
    sub = claims["sub"]
    if len(sub) > 150:
        raise exceptions.AuthenticationFailed("malformed token: sub longer than 150 characters")
    email_claim = getattr(settings, "AUTH0_EMAIL_CLAIM", "") or DEFAULT_EMAIL_CLAIM
    email = claims.get(email_claim)
    email = email.strip().lower() if isinstance(email, str) and "@" in email else ""
    user_model = get_user_model()
    user = user_model.objects.filter(username=sub).first()
    if user is None:
        try:
            with transaction.atomic():
                user = user_model(username=sub, email=email)
                user.set_unusable_password()
                user.save()
        except IntegrityError:  # a concurrent request created it first
            user = user_model.objects.get(username=sub)
    elif email and user.email != email:
        user.email = email
        user.save(update_fields=["email"])
    if not user.is_active:
        raise exceptions.AuthenticationFailed(f"user {sub!r} is deactivated")
    return user


class Auth0JWTAuthentication(BaseAuthentication):
    """Bearer access tokens issued by Auth0 for the API named by AUTH0_AUDIENCE."""

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != b"bearer":
            return None
        if not api_tokens_enabled():
            # Say so, instead of "credentials were not provided" for a token that was.
            raise exceptions.AuthenticationFailed(
                "bearer tokens are not enabled on this server (Auth0 is not configured: set "
                "AUTH0_DOMAIN and AUTH0_AUDIENCE); use a dashboard session or configure Auth0"
            )
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                'malformed Authorization header: expected "Bearer <token>"'
            )
        raw = header[1]
        if len(raw) > tokens.MAX_TOKEN_BYTES:
            raise exceptions.AuthenticationFailed(
                f"token too large: more than {tokens.MAX_TOKEN_BYTES} bytes"
            )
        try:
            claims = tokens.access_token_validate(raw.decode("ascii"))
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("malformed token: not ASCII") from exc
        except tokens.TokenInvalid as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from exc
        except jwks.JwksUnavailable as exc:
            raise SigningKeysUnavailable(str(exc)) from exc

        permissions = permissions_from_claims(claims)
        organization = organization_from_claims(claims)
        user = user_from_claims(claims)
        for target in (request, request._request):
            target.organization = organization
            target.org_permissions = permissions
            target.membership = None
        # The audit middleware ran before DRF authenticated the token; name the real actor.
        # Its acting_as() resets the context variable when the request ends.
        audit.set_actor(user, user.email or user.username)
        return user, claims

    def authenticate_header(self, request):
        # A WWW-Authenticate header makes DRF answer 401 (not 403) to bad or missing tokens.
        sent_bearer = get_authorization_header(request)[:7].lower() == b"bearer "
        return 'Bearer realm="api"' if api_tokens_enabled() or sent_bearer else None


class Auth0JWTScheme(OpenApiAuthenticationExtension):
    """Declares the bearer scheme in the OpenAPI schema (/api/schema/, /api/docs/)."""

    target_class = Auth0JWTAuthentication
    name = "auth0Bearer"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "Auth0 access token (RS256) for the API named by AUTH0_AUDIENCE, "
            "carrying org_id and permissions. See docs/auth0.md.",
        }
