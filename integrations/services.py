"""Connect, disconnect and sync accounting connections (views, tasks and commands call these)."""

from __future__ import annotations

import logging

from django.db import transaction

from integrations import crypto, oauth
from integrations.models import (
    Connection,
    ConnectionStatus,
    Provider,
    SyncCursor,
    SyncedRecord,
    SyncRun,
    SyncTrigger,
)
from integrations.quickbooks import client as quickbooks_client
from integrations.quickbooks.sync import QuickBooksAdapter
from integrations.sync import sync_connection
from integrations.xero import client as xero_client
from integrations.xero.sync import XeroAdapter
from paypredict_project.audit import audit_record
from paypredict_project.tenancy.models import Organization

logger = logging.getLogger(__name__)


class ConnectFailed(Exception):
    """A connection could not be made; the message says why in the user's terms."""


def provider_app(provider: str) -> oauth.OAuthApp:
    if provider == Provider.QUICKBOOKS:
        return quickbooks_client.oauth_app()
    if provider == Provider.XERO:
        return xero_client.oauth_app()
    raise ValueError(f"unknown provider {provider!r}")


def provider_available(provider: str) -> bool:
    """Offered only with the app's client id and secret and an encryption key for tokens."""
    return provider_app(provider).configured and crypto.encryption_configured()


@transaction.atomic
def connection_save(
    *,
    organization: Organization,
    provider: str,
    account_id: str,
    tokens: oauth.TokenSet,
    account_name: str = "",
) -> Connection:
    """Store a fresh connection (or reconnect). Another company/tenant starts from scratch:
    the old cursors and versions describe a different book."""
    connection = (
        Connection.objects.select_for_update()
        .filter(organization=organization, provider=provider)
        .first()
    )
    if connection is None:
        connection = Connection(organization=organization, provider=provider)
    elif connection.account_id != account_id:
        SyncCursor.objects.filter(connection=connection).delete()
        SyncedRecord.objects.filter(connection=connection).delete()
    connection.account_id = account_id
    connection.account_name = account_name[:200]
    connection.paused_until = None
    oauth.tokens_store(connection, tokens)
    connection.save()
    audit_record(
        organization=organization,
        action=f"integration.connect.{provider}",
        object_type="integration",
        object_code=str(connection.code),
        after={"provider": provider, "account_id": account_id},
    )
    return connection


def connection_connect_refresh_token(
    *, organization: Organization, provider: str, account_id: str, refresh_token: str
) -> Connection:
    """Headless set-up: exchange the refresh token at once, so a bad one fails here."""
    app = provider_app(provider)
    if not app.configured:
        raise ConnectFailed(f"{provider} is not configured: set its CLIENT_ID and CLIENT_SECRET")
    if not crypto.encryption_configured():
        raise ConnectFailed("FIELD_ENCRYPTION_KEY is not set; tokens cannot be stored")
    try:
        tokens = oauth.exchange_refresh_token(app, refresh_token=refresh_token)
    except oauth.OAuthError as exc:
        raise ConnectFailed(str(exc)) from exc
    name = ""
    if provider == Provider.XERO:
        tenants = _xero_tenants(tokens)
        match = [t for t in tenants if t.get("tenantId") == account_id]
        if not match:
            raise ConnectFailed(
                f"tenant {account_id} is not among this token's Xero connections "
                f"({', '.join(t.get('tenantId', '?') for t in tenants) or 'none'})"
            )
        name = str(match[0].get("tenantName") or "")
    return connection_save(
        organization=organization,
        provider=provider,
        account_id=account_id,
        tokens=tokens,
        account_name=name,
    )


def _xero_tenants(tokens: oauth.TokenSet) -> list[dict]:
    from integrations.http import ProviderError

    try:
        return xero_client.connections_list(tokens.access_token)
    except ProviderError as exc:
        raise ConnectFailed(str(exc)) from exc


def connection_disconnect(*, connection: Connection) -> Connection:
    """Revoke the refresh token at the provider (best effort) and erase both tokens."""
    app = provider_app(connection.provider)
    try:
        token = crypto.decrypt(connection.refresh_token_encrypted)
    except crypto.SecretUnreadable:
        token = ""
    revoked = oauth.revoke(app, token=token)
    with transaction.atomic():
        connection = Connection.objects.select_for_update().get(pk=connection.pk)
        connection.access_token_encrypted = ""
        connection.refresh_token_encrypted = ""
        connection.access_expires_at = None
        connection.status = ConnectionStatus.DISCONNECTED
        connection.save()
        audit_record(
            organization=connection.organization,
            action=f"integration.disconnect.{connection.provider}",
            object_type="integration",
            object_code=str(connection.code),
            after={"revoked_at_provider": revoked},
        )
    return connection


def adapter_for(connection: Connection) -> QuickBooksAdapter | XeroAdapter:
    if connection.provider == Provider.QUICKBOOKS:
        return QuickBooksAdapter(connection)
    return XeroAdapter(connection)


def connection_sync(
    *, connection: Connection, trigger: str = SyncTrigger.MANUAL, entities: list[str] | None = None
) -> SyncRun:
    """Run one sync now (raises integrations.sync.SyncBusy if one is running)."""
    if connection.status == ConnectionStatus.DISCONNECTED:
        raise ConnectFailed(f"{connection.get_provider_display()} is disconnected")
    return sync_connection(
        connection=connection, adapter=adapter_for(connection), trigger=trigger, entities=entities
    )


def sync_enqueue(
    *, connection: Connection, trigger: str, entities: list[str] | None = None
) -> None:
    """Queue a sync on the worker once the current transaction commits."""
    from integrations.tasks import connection_sync_task

    transaction.on_commit(lambda: connection_sync_task.delay(connection.pk, trigger, entities))
