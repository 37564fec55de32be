"""The Integrations page (admin only): connect / disconnect QuickBooks and Xero, run a sync
now, and every run's counts and errors. The OAuth start/callback steps shared by both
providers live here too; each provider's views module adds only what differs."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from integrations import oauth
from integrations.models import Connection, ConnectionStatus, Provider, SyncTrigger
from integrations.selectors import connections_for, last_successful_sync, sync_runs_recent
from integrations.services import (
    connection_disconnect,
    connection_save,
    provider_app,
    provider_available,
    sync_enqueue,
)
from paypredict_project.tenancy.decorators import require_org_permission

logger = logging.getLogger(__name__)
PERMISSION = "manage:integrations"
STATE_KEY = "integrations_oauth_state"


@require_GET
@require_org_permission(PERMISSION)
def integrations_page(request: HttpRequest) -> HttpResponse:
    connections = connections_for(organization=request.organization)
    providers = []
    for provider in Provider:
        connection = connections.get(provider.value)
        providers.append(
            {
                "key": provider.value,
                "label": provider.label,
                "available": provider_available(provider.value),
                "connection": connection,
                "connected": connection is not None
                and connection.status != ConnectionStatus.DISCONNECTED,
                "last_success": last_successful_sync(connection=connection) if connection else None,
            }
        )
    context = {"providers": providers, "runs": sync_runs_recent(organization=request.organization)}
    return render(request, "integrations/integrations.html", context)


def _connection(request: HttpRequest, code) -> Connection:
    return get_object_or_404(Connection, organization=request.organization, code=code)


@require_POST
@require_org_permission(PERMISSION)
def sync_now(request: HttpRequest, code) -> HttpResponse:
    connection = _connection(request, code)
    if connection.status != ConnectionStatus.ACTIVE:
        messages.error(request, f"{connection.get_provider_display()} needs reconnecting first.")
    else:
        sync_enqueue(connection=connection, trigger=SyncTrigger.MANUAL)
        messages.success(
            request, f"{connection.get_provider_display()} sync queued; refresh in a moment."
        )
    return redirect("integrations")


@require_POST
@require_org_permission(PERMISSION)
def disconnect(request: HttpRequest, code) -> HttpResponse:
    connection = _connection(request, code)
    connection_disconnect(connection=connection)
    messages.success(
        request,
        f"Disconnected {connection.get_provider_display()}: the tokens are revoked and erased; "
        "synced invoices stay in the ledger.",
    )
    return redirect("integrations")


def redirect_uri(provider: str) -> str:
    return settings.SITE_URL.rstrip("/") + reverse(f"{provider}-callback")


def oauth_start(request: HttpRequest, provider: str) -> HttpResponse:
    """Send the admin to the provider's consent screen with a one-time state."""
    if not provider_available(provider):
        messages.error(request, f"{Provider(provider).label} is not configured on this server.")
        return redirect("integrations")
    state = secrets.token_urlsafe(24)
    request.session[STATE_KEY] = {"provider": provider, "state": state}
    app = provider_app(provider)
    return redirect(oauth.authorize_url(app, redirect_uri=redirect_uri(provider), state=state))


def oauth_finish(
    request: HttpRequest,
    provider: str,
    account_for: Callable[[oauth.TokenSet], tuple[str, str]],
) -> HttpResponse:
    """Check the state, exchange the code, find the company/tenant and store the tokens."""
    expected = request.session.pop(STATE_KEY, None) or {}
    label = Provider(provider).label
    if request.GET.get("error"):
        messages.error(request, f"{label} did not connect: {request.GET['error'][:100]}.")
        return redirect("integrations")
    state = request.GET.get("state", "")
    if expected.get("provider") != provider or not secrets.compare_digest(
        str(expected.get("state", "")), state
    ):
        logger.warning("%s OAuth callback with a wrong or missing state", provider)
        messages.error(request, f"{label} connection refused: the sign-in link was not ours.")
        return redirect("integrations")
    try:
        tokens = oauth.exchange_code(
            provider_app(provider),
            code=request.GET.get("code", ""),
            redirect_uri=redirect_uri(provider),
        )
        account_id, account_name = account_for(tokens)
    except (oauth.OAuthError, ConnectError) as exc:
        messages.error(request, f"{label} did not connect: {exc}")
        return redirect("integrations")
    connection_save(
        organization=request.organization,
        provider=provider,
        account_id=account_id,
        tokens=tokens,
        account_name=account_name,
    )
    connection = Connection.objects.get(organization=request.organization, provider=provider)
    sync_enqueue(connection=connection, trigger=SyncTrigger.MANUAL)
    messages.success(request, f"Connected {label}; the first sync is running.")
    return redirect("integrations")


class ConnectError(Exception):
    """The provider's callback lacked what we need (company id, tenant)."""
