"""Xero Accounting API: OAuth app with the granular scopes, connections, paged lists.

Wire format: ../shared/INTEGRATIONS.md section 2 (``xero-tenant-id`` on every call,
If-Modified-Since plus ``page``/``pageSize`` with a ``pagination`` object, Microsoft JSON
dates ``/Date(ms+0000)/``, X-DayLimit-Remaining and 429s naming their limit).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import httpx
from django.conf import settings

from integrations.http import ApiClient, ApiStyle, ProviderError, RateLimit, retry_after_seconds
from integrations.models import Connection
from integrations.oauth import OAuthApp

# Apps created from March 2026 must use the granular scopes (no accounting.transactions).
SCOPES = (
    "offline_access",
    "accounting.invoices",
    "accounting.payments",
    "accounting.contacts",
)
MS_DATE = re.compile(r"/Date\((-?\d+)([+-]\d{2,4})?\)/")


def oauth_app() -> OAuthApp:
    return OAuthApp(
        provider="xero",
        client_id=settings.XERO_CLIENT_ID,
        client_secret=settings.XERO_CLIENT_SECRET,
        authorize_url=settings.XERO_OAUTH_AUTHORIZE_URL,
        token_url=settings.XERO_OAUTH_TOKEN_URL,
        revoke_url=settings.XERO_OAUTH_REVOKE_URL,
        scopes=SCOPES,
    )


def error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return " ".join(response.text.split())[:300] or response.reason_phrase
    if not isinstance(body, dict):
        return str(body)[:300]
    messages = [
        error.get("Message", "")
        for element in body.get("Elements") or []
        for error in element.get("ValidationErrors") or []
    ]
    head = body.get("Message") or body.get("Detail") or body.get("Title") or ""
    return "; ".join(filter(None, [str(head), *messages]))[:500] or str(body)[:300]


def rate_limit(response: httpx.Response) -> RateLimit:
    problem = response.headers.get("X-Rate-Limit-Problem", "").lower()
    return RateLimit(daily=problem.startswith("day"), retry_after=retry_after_seconds(response))


API_STYLE = ApiStyle(
    app=oauth_app,
    daily_limit=lambda: settings.XERO_DAILY_CALL_LIMIT,
    headers=lambda connection: {"xero-tenant-id": connection.account_id},
    rate_limit=rate_limit,
    error_text=error_text,
    day_remaining_header="X-DayLimit-Remaining",
)


def parse_ms_date(value: Any) -> dt.datetime:
    """``/Date(1546128000000+0000)/`` → aware UTC datetime (the number is UTC epoch ms)."""
    match = MS_DATE.fullmatch(str(value or ""))
    if match is None:
        raise ValueError(f"not a Xero date: {value!r}")
    return dt.datetime.fromtimestamp(int(match.group(1)) / 1000, dt.UTC)


def connections_list(access_token: str) -> list[dict[str, Any]]:
    """The tenants this token may access (GET /connections, outside the tenant header)."""
    url = f"{settings.XERO_API_BASE_URL.rstrip('/')}/connections"
    try:
        response = httpx.get(
            url,
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
            timeout=settings.INTEGRATIONS_HTTP_TIMEOUT_SECONDS,
        )
    except httpx.HTTPError as exc:
        raise ProviderError(f"cannot reach Xero connections: {exc}") from exc
    if response.status_code != 200:
        raise ProviderError(f"Xero connections: HTTP {response.status_code} {error_text(response)}")
    body = response.json()
    if not isinstance(body, list):
        raise ProviderError("Xero connections: the answer is not a list")
    return [c for c in body if isinstance(c, dict) and c.get("tenantType") == "ORGANISATION"]


class XeroClient:
    def __init__(self, connection: Connection, api: ApiClient | None = None) -> None:
        self.connection = connection
        self.api = api or ApiClient(connection, API_STYLE)

    def page(
        self,
        resource: str,
        *,
        since: dt.datetime | None,
        page: int,
        page_size: int,
        where: str = "",
    ) -> tuple[list[dict[str, Any]], dt.datetime | None, bool]:
        """One page of /Invoices, /Contacts or /Payments: (rows, server time, last page?)."""
        url = f"{settings.XERO_API_BASE_URL.rstrip('/')}/api.xro/2.0/{resource}"
        params = {"page": str(page), "pageSize": str(page_size)}
        if where:
            params["where"] = where
        if resource == "Contacts":
            params["includeArchived"] = "true"
        headers = {}
        if since is not None:
            headers["If-Modified-Since"] = since.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
        response = self.api.get(url, params=params, headers=headers)
        if response.status_code == 304:
            return [], None, True
        try:
            body = response.json(parse_float=Decimal)
        except ValueError as exc:
            raise ProviderError(f"{resource}: the answer is not JSON ({exc})") from exc
        rows = body.get(resource) if isinstance(body, dict) else None
        if not isinstance(rows, list):
            raise ProviderError(f"{resource}: the answer has no {resource} list")
        try:
            server_time = parse_ms_date(body.get("DateTimeUTC"))
        except ValueError:
            server_time = None
        pagination = body.get("pagination") or {}
        page_count = pagination.get("pageCount")
        last = not rows or len(rows) < page_size
        if isinstance(page_count, int):
            last = last or page >= page_count
        return rows, server_time, last
