"""Xero connect flow: the consent redirect and the callback, which picks the tenant from
the connections endpoint."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET, require_POST

from integrations.http import ProviderError
from integrations.models import Provider
from integrations.oauth import TokenSet
from integrations.views import PERMISSION, ConnectError, oauth_finish, oauth_start
from integrations.xero.client import connections_list
from paypredict_project.tenancy.decorators import require_org_permission


@require_POST
@require_org_permission(PERMISSION)
def xero_connect(request: HttpRequest) -> HttpResponse:
    return oauth_start(request, Provider.XERO)


@require_GET
@require_org_permission(PERMISSION)
def xero_callback(request: HttpRequest) -> HttpResponse:
    def account(tokens: TokenSet) -> tuple[str, str]:
        try:
            tenants = connections_list(tokens.access_token)
        except ProviderError as exc:
            raise ConnectError(str(exc)) from exc
        if not tenants:
            raise ConnectError("the Xero sign-in granted no organisation")
        # The most recently authorised organisation is the one the admin just picked.
        tenant = max(tenants, key=lambda t: str(t.get("updatedDateUtc", "")))
        return str(tenant["tenantId"]), str(tenant.get("tenantName") or "")

    return oauth_finish(request, Provider.XERO, account)
