"""The Auth0 signing keys (JWKS): fetched over HTTPS, cached in Redis and in-process.

Keys live in two caches: a per-process dict (no Redis round trip on the hot path) and the
Django cache (one fetch serves the whole cluster). A token whose ``kid`` is in neither
triggers at most one refetch per ``REFETCH_INTERVAL`` seconds across the cluster: the
refetch is claimed with ``cache.add()``, which only one process can win, so a flood of
tokens with made-up ``kid`` values cannot hammer the JWKS endpoint (see CVE-2026-48524 for
what unbounded refetching does). A key Auth0 publishes during rotation is picked up by the
first token that uses it, without a restart.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

CACHE_TTL = 600  # seconds; auth0-python's JwksFetcher uses the same
REFETCH_INTERVAL = 30  # at most one forced refetch per this many seconds, cluster-wide
FAILURE_BACKOFF = 10  # after a failed fetch, wait this long before trying again
MAX_JWKS_BYTES = 64 * 1024
TIMEOUT = httpx.Timeout(5.0, connect=3.0)


class JwksUnavailable(Exception):
    """The key set could not be fetched or parsed; the token cannot be judged either way."""


@dataclass
class _Entry:
    keys: dict[str, dict[str, Any]]
    loaded_at: float


_local: dict[str, _Entry] = {}
_local_refetch_at: dict[str, float] = {}
_lock = threading.Lock()
_fetch_lock = threading.Lock()


def jwks_url() -> str:
    return settings.AUTH0_JWKS_URL


def signing_key_get(*, kid: str) -> dict[str, Any] | None:
    """The RSA signing JWK with this ``kid``, or None when Auth0 does not publish it."""
    url = jwks_url()
    keys = _keys_cached(url)
    if keys is None:
        # Cold start: threads of this process wait for one fetch instead of each fetching.
        with _fetch_lock:
            keys = _keys_cached(url)
            if keys is None:
                keys = _fetch_and_store(url)
    if kid in keys:
        return keys[kid]
    # Another process may already have refetched after a rotation: look in Redis first.
    shared = cache.get(_cache_key(url))
    if shared is not None and kid in shared:
        _local[url] = _Entry(shared, time.monotonic())
        return shared[kid]
    if not _refetch_allowed(url):
        return None
    return _fetch_and_store(url).get(kid)


def signing_key_refreshed(*, kid: str, current: dict[str, Any]) -> dict[str, Any] | None:
    """After a signature failure: refetch (rate-limited) and return the key if it changed.

    Auth0 does not reuse a kid for a new key, so this almost never helps; it exists so a key
    set replaced under the same kid (or a stale cache) heals itself without a restart.
    """
    url = jwks_url()
    shared = cache.get(_cache_key(url))
    if shared is not None and shared.get(kid) not in (None, current):
        _local[url] = _Entry(shared, time.monotonic())
        return shared[kid]
    if not _refetch_allowed(url):
        return None
    fresh = _fetch_and_store(url).get(kid)
    return fresh if fresh is not None and fresh != current else None


def cache_clear(url: str | None = None) -> None:
    """Forget the key set of ``url`` (default AUTH0_JWKS_URL) here and in Redis."""
    url = url or jwks_url()
    key = _cache_key(url)
    cache.delete_many([key, key + ":refetch", key + ":failed"])
    with _lock:
        _local.pop(url, None)
        _local_refetch_at.pop(url, None)


def local_cache_clear() -> None:
    """Forget the in-process copy (tests; operators never need this)."""
    with _lock:
        _local.clear()
        _local_refetch_at.clear()


def _cache_key(url: str) -> str:
    return "auth0:jwks:" + hashlib.sha256(url.encode()).hexdigest()[:32]


def _keys_cached(url: str) -> dict[str, dict[str, Any]] | None:
    entry = _local.get(url)
    if entry and time.monotonic() - entry.loaded_at < CACHE_TTL:
        return entry.keys
    shared = cache.get(_cache_key(url))
    if shared is not None:
        _local[url] = _Entry(shared, time.monotonic())
    return shared


def _refetch_allowed(url: str) -> bool:
    # The in-process check spares Redis during a flood; cache.add() is the cluster-wide gate.
    with _lock:
        last = _local_refetch_at.get(url)
        if last is not None and time.monotonic() - last < REFETCH_INTERVAL:
            return False
        _local_refetch_at[url] = time.monotonic()
    return cache.add(_cache_key(url) + ":refetch", 1, timeout=REFETCH_INTERVAL)


def _fetch_and_store(url: str) -> dict[str, dict[str, Any]]:
    failed_key = _cache_key(url) + ":failed"
    if cache.get(failed_key):
        raise JwksUnavailable(
            f"signing keys unavailable: the last fetch of {url} failed less than "
            f"{FAILURE_BACKOFF} s ago"
        )
    try:
        keys = _fetch(url)
    except JwksUnavailable:
        cache.set(failed_key, 1, timeout=FAILURE_BACKOFF)
        raise
    cache.set(_cache_key(url), keys, timeout=CACHE_TTL)
    _local[url] = _Entry(keys, time.monotonic())
    return keys


def _fetch(url: str) -> dict[str, dict[str, Any]]:
    _check_url(url)
    try:
        with (
            httpx.Client(timeout=TIMEOUT, follow_redirects=False) as client,
            client.stream("GET", url, headers={"Accept": "application/json"}) as response,
        ):
            if response.status_code != 200:
                raise JwksUnavailable(
                    f"signing keys unavailable: {url} answered HTTP {response.status_code}"
                )
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_JWKS_BYTES:
                    raise JwksUnavailable(
                        f"signing keys unavailable: {url} sent more than {MAX_JWKS_BYTES} bytes"
                    )
    except httpx.HTTPError as exc:
        logger.warning("JWKS fetch from %s failed: %s", url, exc)
        raise JwksUnavailable(f"signing keys unavailable: cannot reach {url}") from exc
    logger.info("fetched JWKS from %s", url)
    return parse_jwks(body, url=url)


def parse_jwks(body: bytes, *, url: str = "JWKS") -> dict[str, dict[str, Any]]:
    """Keep only RSA signing keys that carry a kid; anything else can never verify RS256."""
    import json

    try:
        document = json.loads(body)
    except ValueError as exc:
        raise JwksUnavailable(f"signing keys unavailable: {url} is not JSON") from exc
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise JwksUnavailable(f'signing keys unavailable: {url} has no "keys" list')
    keys: dict[str, dict[str, Any]] = {}
    for key in document["keys"]:
        if not isinstance(key, dict) or not isinstance(key.get("kid"), str):
            continue
        if key.get("kty") != "RSA" or key.get("use", "sig") != "sig":
            continue
        if key.get("alg", "RS256") != "RS256" or not key.get("n") or not key.get("e"):
            continue
        keys[key["kid"]] = {name: key[name] for name in ("kty", "kid", "n", "e") if name in key}
    return keys


def _check_url(url: str) -> None:
    """HTTPS only, except to a loopback address (local fakes in tests and development)."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if parts.scheme == "http" and loopback:
        return
    raise JwksUnavailable(f"signing keys unavailable: AUTH0_JWKS_URL must be https, got {url!r}")
