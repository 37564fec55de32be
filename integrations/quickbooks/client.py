"""QuickBooks Online Accounting API v3: OAuth app, error bodies, 429s, query and CDC calls.

Wire format: ../shared/INTEGRATIONS.md section 1 (query paging with 1-based STARTPOSITION and
MAXRESULTS <= 1000, the ``time`` envelope, Fault bodies, 429s in JSON or XML without
Retry-After, CDC tombstones with ``status: "Deleted"``).
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

MINOR_VERSION = "75"
SCOPES = ("com.intuit.quickbooks.accounting",)
MAX_RESULTS = 1000


def oauth_app() -> OAuthApp:
    return OAuthApp(
        provider="quickbooks",
        client_id=settings.QUICKBOOKS_CLIENT_ID,
        client_secret=settings.QUICKBOOKS_CLIENT_SECRET,
        authorize_url=settings.QUICKBOOKS_OAUTH_AUTHORIZE_URL,
        token_url=settings.QUICKBOOKS_OAUTH_TOKEN_URL,
        revoke_url=settings.QUICKBOOKS_OAUTH_REVOKE_URL,
        scopes=SCOPES,
        revoke_json=True,
    )


def error_text(response: httpx.Response) -> str:
    """The Fault's messages (JSON ``Fault`` or lower-case ``fault``, or XML), plus intuit_tid."""
    tid = response.headers.get("intuit_tid", "")
    suffix = f" [intuit_tid {tid}]" if tid else ""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        fault = body.get("Fault") or body.get("fault") or {}
        errors = fault.get("Error") or fault.get("error") or []
        parts = [
            " ".join(
                str(e.get(k) or e.get(k.lower()) or "") for k in ("code", "Message", "Detail")
            ).strip()
            for e in errors
            if isinstance(e, dict)
        ]
        if parts:
            return "; ".join(parts) + suffix
    text = re.sub(r"<[^>]+>", " ", response.text)
    return (" ".join(text.split())[:300] or response.reason_phrase) + suffix


def rate_limit(response: httpx.Response) -> RateLimit:
    # QuickBooks limits per minute and concurrency only; Retry-After is not promised.
    return RateLimit(daily=False, retry_after=retry_after_seconds(response))


API_STYLE = ApiStyle(
    app=oauth_app,
    daily_limit=lambda: settings.QUICKBOOKS_DAILY_CALL_LIMIT,
    headers=lambda connection: {},
    rate_limit=rate_limit,
    error_text=error_text,
)


def parse_time(value: str) -> dt.datetime:
    """``2025-06-01T10:15:00-07:00`` / ``...123Z`` (ISO-8601 with an offset)."""
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp without an offset: {value!r}")
    return parsed


def format_time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


class QuickBooksClient:
    def __init__(self, connection: Connection, api: ApiClient | None = None) -> None:
        self.connection = connection
        self.api = api or ApiClient(connection, API_STYLE)

    @property
    def base(self) -> str:
        root = settings.QUICKBOOKS_API_BASE_URL.rstrip("/")
        return f"{root}/v3/company/{self.connection.account_id}"

    def _json(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        response = self.api.get(
            f"{self.base}/{path}", params={**params, "minorversion": MINOR_VERSION}
        )
        try:
            body = response.json(parse_float=Decimal)
        except ValueError as exc:
            raise ProviderError(f"{path}: the answer is not JSON ({exc})") from exc
        if not isinstance(body, dict):
            raise ProviderError(f"{path}: unexpected answer {str(body)[:200]}")
        if "Fault" in body:  # 200 with a Fault inside (batch-style answers)
            raise ProviderError(f"{path}: {error_text(response)}")
        return body

    def query(
        self, entity: str, *, since: dt.datetime | None, start: int, max_results: int
    ) -> tuple[list[dict[str, Any]], dt.datetime | None]:
        """One page of ``entity`` changed at or after ``since``, oldest change first."""
        conditions = ["Active IN (true, false)"] if entity == "Customer" else []
        if since is not None:
            conditions.append(f"MetaData.LastUpdatedTime >= '{format_time(since)}'")
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        statement = (
            f"SELECT * FROM {entity}{where} ORDERBY MetaData.LastUpdatedTime "
            f"STARTPOSITION {start} MAXRESULTS {min(max_results, MAX_RESULTS)}"
        )
        body = self._json("query", {"query": statement})
        response = body.get("QueryResponse")
        if not isinstance(response, dict):
            raise ProviderError(f"query {entity}: the answer has no QueryResponse")
        rows = response.get(entity, [])
        if not isinstance(rows, list):
            raise ProviderError(f"query {entity}: {entity} is not a list")
        return rows, _server_time(body)

    def changes(
        self, entities: list[str], *, since: dt.datetime
    ) -> tuple[dict[str, list[dict[str, Any]]], dt.datetime | None]:
        """Change data capture: every entity changed since ``since`` (at most 30 days back)."""
        body = self._json(
            "cdc", {"entities": ",".join(entities), "changedSince": format_time(since)}
        )
        found: dict[str, list[dict[str, Any]]] = {}
        for block in body.get("CDCResponse") or []:
            for response in block.get("QueryResponse") or []:
                for entity in entities:
                    found.setdefault(entity, []).extend(response.get(entity) or [])
        return found, _server_time(body)


def _server_time(body: dict[str, Any]) -> dt.datetime | None:
    value = body.get("time")
    try:
        return parse_time(value) if isinstance(value, str) else None
    except ValueError:
        return None
