"""One HTTP client for both providers' APIs: bearer tokens, 401 refresh, 429/5xx backoff with
jitter, and the per-connection daily call budget.

Provider specifics (base URL, extra headers, how a 429 names its limit, how an error body
reads) come from a small ``ApiStyle`` each provider package defines.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from integrations import oauth
from integrations.models import Connection

logger = logging.getLogger(__name__)


class ProviderError(Exception):
    """The provider answered with an error we cannot retry away (after retries)."""

    def __init__(self, message: str, *, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class BudgetExhausted(Exception):
    """The connection's daily call budget is spent; the run stops and resumes later."""


@dataclass(frozen=True)
class RateLimit:
    """What a 429 said: which window, and how long to wait (None = not told)."""

    daily: bool
    retry_after: float | None


@dataclass
class ApiStyle:
    app: Callable[[], oauth.OAuthApp]
    daily_limit: Callable[[], int]
    headers: Callable[[Connection], dict[str, str]]
    rate_limit: Callable[[httpx.Response], RateLimit]
    error_text: Callable[[httpx.Response], str]
    # Header carrying the provider's remaining calls today, when it sends one.
    day_remaining_header: str = ""


def backoff_seconds(attempt: int, retry_after: float | None = None) -> float:
    """Full jitter (AWS architecture blog): uniform in [0, base * 2^attempt], capped; a
    Retry-After the provider sent is honoured, plus a little jitter so workers spread out."""
    cap = settings.INTEGRATIONS_BACKOFF_MAX_SECONDS
    base = settings.INTEGRATIONS_BACKOFF_BASE_SECONDS
    if retry_after is not None:
        return min(cap, retry_after + random.uniform(0, base))
    return random.uniform(0, min(cap, base * 2**attempt))


@dataclass
class ApiClient:
    connection: Connection
    style: ApiStyle
    sleep: Callable[[float], None] = time.sleep
    requests: int = 0
    waits: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.http = httpx.Client(timeout=settings.INTEGRATIONS_HTTP_TIMEOUT_SECONDS)

    def close(self) -> None:
        self.http.close()

    def get(self, url: str, *, params: dict | None = None, headers: dict | None = None):
        return self.request("GET", url, params=params, headers=headers)

    def request(
        self,
        method: str,
        url: str,
        *,
        params: dict | None = None,
        headers: dict | None = None,
        content: bytes | str | None = None,
    ) -> httpx.Response:
        app = self.style.app()
        refreshed = False
        attempt = 0
        while True:
            self._spend_budget()
            token = oauth.access_token(self.connection, app, force_refresh=False)
            all_headers = {
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                **self.style.headers(self.connection),
                **(headers or {}),
            }
            try:
                response = self.http.request(
                    method, url, params=params, headers=all_headers, content=content
                )
            except httpx.TransportError as exc:
                response = None
                failure = f"{exc.__class__.__name__}: {exc}"
            self.requests += 1
            if response is not None:
                self._note_day_remaining(response)
                if response.status_code == 401 and not refreshed:
                    # The access token died mid-run (revoked, clock skew): refresh once.
                    oauth.access_token(self.connection, app, force_refresh=True)
                    refreshed = True
                    continue
                if response.status_code < 400:
                    return response
                if response.status_code == 429:
                    limit = self.style.rate_limit(response)
                    if limit.daily:
                        self._pause(limit.retry_after)
                        raise BudgetExhausted("the provider's daily call limit is reached")
                    self._wait(attempt, limit.retry_after, "429")
                    attempt += 1
                    continue
                if response.status_code < 500:
                    raise ProviderError(
                        f"HTTP {response.status_code}: {self.style.error_text(response)}",
                        status=response.status_code,
                    )
                failure = f"HTTP {response.status_code}: {self.style.error_text(response)}"
            if attempt >= settings.INTEGRATIONS_MAX_RETRIES:
                raise ProviderError(f"gave up after {attempt + 1} attempts: {failure}")
            self._wait(attempt, None, failure)
            attempt += 1

    def _wait(self, attempt: int, retry_after: float | None, reason: str) -> None:
        if attempt >= settings.INTEGRATIONS_MAX_RETRIES:
            raise ProviderError(f"still rate limited after {attempt + 1} attempts ({reason})")
        seconds = backoff_seconds(attempt, retry_after)
        logger.info("%s: waiting %.2f s before retrying (%s)", self.connection, seconds, reason)
        self.waits.append(seconds)
        self.sleep(seconds)

    def _spend_budget(self) -> None:
        now = timezone.now()
        connection = self.connection
        if connection.paused_until and connection.paused_until > now:
            raise BudgetExhausted(
                f"paused by the provider's daily limit until {connection.paused_until:%H:%M} UTC"
            )
        today = now.date()
        if connection.budget_day != today:
            Connection.objects.filter(pk=connection.pk).update(budget_day=today, budget_used=0)
            connection.budget_day, connection.budget_used = today, 0
        if connection.budget_used >= self.style.daily_limit():
            raise BudgetExhausted(
                f"{connection.budget_used} calls made today, the daily budget is "
                f"{self.style.daily_limit()}"
            )
        Connection.objects.filter(pk=connection.pk).update(budget_used=F("budget_used") + 1)
        connection.budget_used += 1

    def _note_day_remaining(self, response: httpx.Response) -> None:
        name = self.style.day_remaining_header
        value = response.headers.get(name) if name else None
        if value is not None and value.strip().isdigit() and int(value) == 0:
            self._pause(None)

    def _pause(self, retry_after: float | None) -> None:
        now = timezone.now()
        if retry_after:
            until = now + dt.timedelta(seconds=retry_after)
        else:  # not told: wait for the next UTC day
            until = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), dt.UTC)
        Connection.objects.filter(pk=self.connection.pk).update(paused_until=until)
        self.connection.paused_until = until


def retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
