"""Liveness/readiness (/health), a detailed report (/health/detailed), Prometheus (/metrics)."""

from __future__ import annotations

import time
from typing import Any

from django.apps import apps
from django.core.cache import cache
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest


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


@require_GET
def health(request):
    database, redis_check = _check_database(), _check_redis()
    healthy = database["ok"] and redis_check["ok"]
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "database": database, "redis": redis_check},
        status=200 if healthy else 503,
    )


@require_GET
def health_detailed(request):
    checks = {
        "database": _check_database(),
        "redis": _check_redis(),
        "migrations": _check_migrations(),
        "celery": _check_celery(),
    }
    if checks["database"]["ok"]:
        checks["models"] = {"ok": True, "active": _model_versions()}
    # Celery workers being down degrades the product but does not make the web tier unready.
    essential = ("database", "redis", "migrations")
    healthy = all(checks[name]["ok"] for name in essential)
    body = {"status": "ok" if healthy else "unavailable", "checks": checks}
    return JsonResponse(body, status=200 if healthy else 503)


@require_GET
def metrics(request):
    """Prometheus text format: health gauges plus ledger sizes per organization."""
    registry = CollectorRegistry()
    up = Gauge(
        "paypredict_dependency_up",
        "1 when the dependency answers",
        ["dependency"],
        registry=registry,
    )
    up.labels("database").set(1 if _check_database()["ok"] else 0)
    up.labels("redis").set(1 if _check_redis()["ok"] else 0)
    _ledger_metrics(registry)
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def _ledger_metrics(registry: CollectorRegistry) -> None:
    from invoices.selectors import ledger_counts_by_organization

    invoices = Gauge(
        "paypredict_invoices",
        "Invoices by organization and status",
        ["organization", "status"],
        registry=registry,
    )
    open_balance = Gauge(
        "paypredict_open_balance",
        "Open AR balance by organization and currency",
        ["organization", "currency"],
        registry=registry,
    )
    try:
        counts = ledger_counts_by_organization()
    except Exception:  # the dependency gauge above already reports the outage
        return
    for row in counts["invoices"]:
        invoices.labels(row["organization__slug"], row["status"]).set(row["n"])
    for row in counts["balances"]:
        open_balance.labels(row["organization__slug"], row["currency"]).set(float(row["total"]))
