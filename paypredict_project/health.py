"""Liveness/readiness (/health), a detailed report (/health/detailed), Prometheus (/metrics).


Who may read what:
- /health is public and minimal (database and Redis up or not): load balancers poll it.
- /health/detailed and /metrics answer a bearer token (METRICS_TOKEN) or a client address in
  METRICS_ALLOWED_IPS; /health/detailed also a logged-in staff user. Nothing else.
- All three are rate-limited per client address (HEALTH_RATE_LIMIT per minute).
- /metrics never scans the ledger: the ledger gauges come from a snapshot that the
  ``paypredict.metrics_refresh`` beat job writes to the cache every minute.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import time
from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest

from paypredict_project.ratelimit import client_ip, rate_limit_hit

LEDGER_SNAPSHOT_KEY = "metrics:ledger-snapshot"
# Kept well beyond the refresh period so a slow beat leaves the last figures, with their age.
LEDGER_SNAPSHOT_TTL_S = 3600


def _check_database() -> dict[str, Any]:
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "not ready"
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}


def _check_redis() -> dict[str, Any]:
    started = time.perf_counter()
    try:
        client = cache._cache.get_client()  # the django-redis cache's raw client
        client.ping()
    except Exception as exc:
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}


def _check_celery() -> dict[str, Any]:
    from paypredict_project.celery import app

    try:
        replies = app.control.ping(timeout=1.0) or []
    except Exception as exc:
        return {"ok": False, "workers": [], "error": exc.__class__.__name__}
    workers = sorted(name for reply in replies for name in reply)
    return {"ok": bool(workers), "workers": workers}


def _check_migrations() -> dict[str, Any]:
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": not plan, "unapplied": [f"{m.app_label}.{m.name}" for m, _ in plan]}


def _model_versions() -> list[dict[str, Any]]:
    """Active model versions, once the ml registry exists."""
    try:
        model = apps.get_model("ml", "ModelVersion")
    except LookupError:
        return []
    rows = model.objects.filter(status="active").values(
        "organization__slug", "kind", "version", "trained_at"
    )
    return [{**row, "trained_at": row["trained_at"].isoformat()} for row in rows]


def _bearer_token_ok(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    if not token or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(presented.strip().encode(), token.encode())


def _address_allowed(request: HttpRequest) -> bool:
    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return False
    return any(
        address in ipaddress.ip_network(network, strict=False)
        for network in settings.METRICS_ALLOWED_IPS
    )


def monitoring_access(request: HttpRequest, *, staff_allowed: bool = False) -> bool:
    if _bearer_token_ok(request) or _address_allowed(request):
        return True
    user = getattr(request, "user", None)
    return staff_allowed and bool(user and user.is_authenticated and user.is_staff)


def rate_limited(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        allowed = rate_limit_hit(
            scope=view.__name__, key=client_ip(request), limit=settings.HEALTH_RATE_LIMIT
        )
        if not allowed:
            response = JsonResponse({"status": "rate_limited"}, status=429)
            response["Retry-After"] = "60"
            return response
        return view(request, *args, **kwargs)

    return wrapper


def _forbidden(what: str) -> HttpResponse:
    return HttpResponse(
        f"{what} needs a bearer token (METRICS_TOKEN) or an allowed client address "
        "(METRICS_ALLOWED_IPS).\n",
        status=403,
        content_type="text/plain; charset=utf-8",
    )


@require_GET
@rate_limited
def health(request):
    database, redis_check = _check_database(), _check_redis()
    healthy = database["ok"] and redis_check["ok"]
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "database": database, "redis": redis_check},
        status=200 if healthy else 503,
    )


@require_GET
@rate_limited
def health_detailed(request):
    if not monitoring_access(request, staff_allowed=True):
        return _forbidden("/health/detailed")
    checks = {
        "database": _check_database(),
        "redis": _check_redis(),
        "migrations": _check_migrations(),
        "celery": _check_celery(),
    }
    if checks["database"]["ok"]:
        checks["models"] = {"ok": True, "active": _model_versions()}
        checks["integrations"] = {"ok": True, "connections": _integration_syncs()}
    # Celery workers being down degrades the product but does not make the web tier unready.
    essential = ("database", "redis", "migrations")
    healthy = all(checks[name]["ok"] for name in essential)
    body = {"status": "ok" if healthy else "unavailable", "checks": checks}
    return JsonResponse(body, status=200 if healthy else 503)


def _integration_syncs() -> list[dict[str, Any]]:
    """Last sync per QuickBooks / Xero connection (the top layer wires apps in)."""
    from integrations.selectors import sync_health

    return sync_health()


@require_GET
@rate_limited
def metrics(request):
    """Prometheus text format: dependency gauges plus the ledger snapshot (no scan here)."""
    if not monitoring_access(request):
        return _forbidden("/metrics")
    registry = CollectorRegistry()
    up = Gauge(
        "paypredict_dependency_up",
        "1 when the dependency answers",
        ["dependency"],
        registry=registry,
    )
    up.labels("database").set(1 if _check_database()["ok"] else 0)
    up.labels("redis").set(1 if _check_redis()["ok"] else 0)
    _ledger_gauges(registry)
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def ledger_metrics_refresh() -> dict[str, Any]:
    """Compute the ledger gauges once (the beat job) and keep them in the cache for /metrics.

    Without METRICS_PER_ORGANIZATION only operator-wide sizes are kept: invoice counts by
    status, summed over organizations, and no money figures at all.
    """
    from invoices.selectors import ledger_counts_by_organization

    counts = ledger_counts_by_organization()
    if settings.METRICS_PER_ORGANIZATION:
        invoices = [
            {"labels": [row["organization__slug"], row["status"]], "value": row["n"]}
            for row in counts["invoices"]
        ]
        balances = [
            {"labels": [row["organization__slug"], row["currency"]], "value": float(row["total"])}
            for row in counts["balances"]
        ]
    else:
        by_status: dict[str, int] = {}
        for row in counts["invoices"]:
            by_status[row["status"]] = by_status.get(row["status"], 0) + row["n"]
        invoices = [{"labels": [status], "value": n} for status, n in sorted(by_status.items())]
        balances = []
    snapshot = {
        "per_organization": settings.METRICS_PER_ORGANIZATION,
        "computed_at": timezone.now().timestamp(),
        "invoices": invoices,
        "balances": balances,
    }
    cache.set(LEDGER_SNAPSHOT_KEY, snapshot, timeout=LEDGER_SNAPSHOT_TTL_S)
    return snapshot


def _ledger_gauges(registry: CollectorRegistry) -> None:
    try:
        snapshot = cache.get(LEDGER_SNAPSHOT_KEY)
    except Exception:  # the dependency gauge above already reports the outage
        return
    if not snapshot:
        return
    per_org = snapshot["per_organization"]
    Gauge(
        "paypredict_ledger_snapshot_timestamp_seconds",
        "When the ledger gauges were computed (the metrics_refresh beat job)",
        registry=registry,
    ).set(snapshot["computed_at"])
    invoices = Gauge(
        "paypredict_invoices",
        "Invoices by status" + (" and organization" if per_org else ""),
        ["organization", "status"] if per_org else ["status"],
        registry=registry,
    )
    for row in snapshot["invoices"]:
        invoices.labels(*row["labels"]).set(row["value"])
    if per_org:
        open_balance = Gauge(
            "paypredict_open_balance",
            "Open AR balance by organization and currency",
            ["organization", "currency"],
            registry=registry,
        )
        for row in snapshot["balances"]:
            open_balance.labels(*row["labels"]).set(row["value"])
