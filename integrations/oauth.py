"""OAuth 2.0 for the accounting providers: authorize URL, code exchange, refresh, revoke.

Both QuickBooks and Xero use the authorization-code flow with HTTP Basic client
authentication at the token endpoint and rotate refresh tokens. The rotated token is saved
in its own committed transaction under a row lock on the connection, so two workers never
refresh one connection at once and a crash right after a refresh cannot lose the new token.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integrations import crypto
from integrations.models import Connection, ConnectionStatus

logger = logging.getLogger(__name__)

# Refresh a little before the provider's expiry so a token never dies between check and use.
EXPIRY_MARGIN = dt.timedelta(seconds=120)


class OAuthError(Exception):
    """The provider refused a token request, or could not be reached."""


class TokenRefused(OAuthError):
    """``invalid_grant``: the refresh token or code is no longer valid; the user must reconnect."""


@dataclass(frozen=True)
class OAuthApp:
    provider: str
    client_id: str
    client_secret: str
    authorize_url: str
    token_url: str
    revoke_url: str
    scopes: tuple[str, ...]
    # Intuit's revoke endpoint takes JSON {"token": ...}; RFC 7009 (Xero) takes a form.
    revoke_json: bool = False

    @property
    def configured(self) -> bool:
        return bool(self.client_id and self.client_secret)


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int | None
    scope: str

    def __repr__(self) -> str:  # never print a token, even in a traceback
        return f"TokenSet(expires_in={self.expires_in}, scope={self.scope!r})"


def authorize_url(app: OAuthApp, *, redirect_uri: str, state: str) -> str:
    query = {
        "client_id": app.client_id,
        "response_type": "code",
        "scope": " ".join(app.scopes),
        "redirect_uri": redirect_uri,
        "state": state,
    }
    return f"{app.authorize_url}?{urlencode(query)}"


def _basic(app: OAuthApp) -> str:
    raw = f"{app.client_id}:{app.client_secret}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def _token_request(app: OAuthApp, form: dict[str, str]) -> TokenSet:
    try:
        response = httpx.post(
            app.token_url,
            data=form,
            headers={"Authorization": _basic(app), "Accept": "application/json"},
            timeout=settings.INTEGRATIONS_HTTP_TIMEOUT_SECONDS,
        )
    except httpx.HTTPError as exc:
        raise OAuthError(f"cannot reach the {app.provider} token endpoint: {exc}") from exc
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200 or not isinstance(body, dict):
        error = body.get("error", "") if isinstance(body, dict) else ""
        reason = body.get("error_description", "") if isinstance(body, dict) else ""
        message = f"{app.provider} refused the token request: HTTP {response.status_code} {error}"
        if reason:
            message += f" ({reason})"
        raise (TokenRefused if error == "invalid_grant" else OAuthError)(message)
    try:
        return TokenSet(
            access_token=body["access_token"],
            refresh_token=body.get("refresh_token") or form.get("refresh_token", ""),
            expires_in=int(body.get("expires_in", 1800)),
            refresh_expires_in=(
                int(body["x_refresh_token_expires_in"])
                if "x_refresh_token_expires_in" in body
                else None
            ),
            scope=str(body.get("scope", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise OAuthError(f"{app.provider} token response lacks {exc}") from exc


def exchange_code(app: OAuthApp, *, code: str, redirect_uri: str) -> TokenSet:
    return _token_request(
        app, {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    )


def exchange_refresh_token(app: OAuthApp, *, refresh_token: str) -> TokenSet:
    return _token_request(app, {"grant_type": "refresh_token", "refresh_token": refresh_token})


def revoke(app: OAuthApp, *, token: str) -> bool:
    """Best effort: a provider that cannot be reached must not keep a user connected."""
    if not token or not app.revoke_url:
        return False
    try:
        body = {"json": {"token": token}} if app.revoke_json else {"data": {"token": token}}
        response = httpx.post(
            app.revoke_url,
            **body,
            headers={"Authorization": _basic(app), "Accept": "application/json"},
            timeout=settings.INTEGRATIONS_HTTP_TIMEOUT_SECONDS,
        )
    except httpx.HTTPError as exc:
        logger.warning("could not revoke the %s token: %s", app.provider, exc.__class__.__name__)
        return False
    return response.status_code in (200, 204)


def tokens_store(connection: Connection, tokens: TokenSet) -> None:
    """Write a token set onto the (locked or new) connection row, encrypted."""
    now = timezone.now()
    connection.access_token_encrypted = crypto.encrypt(tokens.access_token)
    connection.refresh_token_encrypted = crypto.encrypt(tokens.refresh_token)
    connection.access_expires_at = now + dt.timedelta(seconds=tokens.expires_in)
    if tokens.refresh_expires_in is not None:
        connection.refresh_expires_at = now + dt.timedelta(seconds=tokens.refresh_expires_in)
    if tokens.scope:
        connection.scopes = tokens.scope[:500]
    connection.status = ConnectionStatus.ACTIVE
    connection.last_error = ""


def access_token(connection: Connection, app: OAuthApp, *, force_refresh: bool = False) -> str:
    """A live access token for the connection, refreshing (and saving the rotated refresh
    token) when it expires within the margin, or when the provider just answered 401."""
    if not force_refresh and _fresh(connection):
        return crypto.decrypt(connection.access_token_encrypted)
    stale_cipher = connection.access_token_encrypted
    refused: TokenRefused | None = None
    # durable=True: the rotated token is committed before any use, even inside a sync.
    with transaction.atomic(durable=True):
        locked = Connection.objects.select_for_update().get(pk=connection.pk)
        # Another worker may have refreshed while we waited for the lock.
        refreshed_meanwhile = locked.access_token_encrypted != stale_cipher
        if not (refreshed_meanwhile and _fresh(locked)):
            try:
                tokens = exchange_refresh_token(
                    app, refresh_token=crypto.decrypt(locked.refresh_token_encrypted)
                )
            except TokenRefused as exc:
                refused = exc
                locked.status = ConnectionStatus.BROKEN
                locked.last_error = str(exc)
                locked.save(update_fields=["status", "last_error", "updated_at"])
            else:
                tokens_store(locked, tokens)
                locked.save()
                logger.info(
                    "refreshed the %s access token of connection %s", app.provider, locked.pk
                )
    _copy_tokens(locked, connection)
    if refused is not None:
        raise refused
    return crypto.decrypt(connection.access_token_encrypted)


def _fresh(connection: Connection) -> bool:
    expires = connection.access_expires_at
    return bool(
        connection.access_token_encrypted
        and expires is not None
        and expires - EXPIRY_MARGIN > timezone.now()
    )


def _copy_tokens(source: Connection, target: Connection) -> None:
    for name in (
        "access_token_encrypted",
        "refresh_token_encrypted",
        "access_expires_at",
        "refresh_expires_at",
        "status",
        "last_error",
        "scopes",
    ):
        setattr(target, name, getattr(source, name))
