"""A fixed-window rate limit on the shared Redis cache, for plain (non-DRF) views.

DRF's throttles cover the API; /health, /health/detailed and /metrics are plain views that a
load balancer or a scraper polls, so they get this small counter instead.
"""

from __future__ import annotations

import logging
import time

from django.core.cache import cache
from django.http import HttpRequest

logger = logging.getLogger(__name__)


def client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def rate_limit_hit(*, scope: str, key: str, limit: int, window_s: int = 60) -> bool:
    """Count one hit of `key` in `scope`; True while the window's count is within `limit`.

    A limit of 0 or less disables the check. An unreachable cache lets the hit through: the
    health check must be able to report that outage rather than fail on it.
    """
    if limit <= 0:
        return True
    bucket = int(time.time() // window_s)
    cache_key = f"ratelimit:{scope}:{key}:{bucket}"
    try:
        if cache.add(cache_key, 1, timeout=window_s + 1):
            return True
        return cache.incr(cache_key) <= limit
    except Exception:
        logger.warning("rate limit for %s not checked: cache unavailable", scope)
        return True
