"""QuickBooks connect flow: the consent redirect and the callback carrying realmId."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET, require_POST

from integrations.models import Provider
from integrations.oauth import TokenSet
from integrations.views import PERMISSION, ConnectError, oauth_finish, oauth_start
from paypredict_project.tenancy.decorators import require_org_permission


@require_POST
@require_org_permission(PERMISSION)
def quickbooks_connect(request: HttpRequest) -> HttpResponse:
    return oauth_start(request, Provider.QUICKBOOKS)


@require_GET
@require_org_permission(PERMISSION)
def quickbooks_callback(request: HttpRequest) -> HttpResponse:
    realm = request.GET.get("realmId", "")

    def account(tokens: TokenSet) -> tuple[str, str]:
        if not realm.isdigit():
            raise ConnectError("the callback carried no QuickBooks company id (realmId)")
        return realm, ""

    return oauth_finish(request, Provider.QUICKBOOKS, account)
