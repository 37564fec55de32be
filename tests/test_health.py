from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache

from tests.factories import InvoiceFactory


@pytest.mark.django_db
def test_it_reports_healthy_when_database_and_redis_answer(client):
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["redis"]["ok"] is True


@pytest.mark.django_db
def test_it_returns_503_when_redis_is_unreachable(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            # A port nothing listens on: a real connection attempt that is refused.
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.5},
        }
    }
    response = client.get("/health")
    assert response.status_code == 503
    assert response.json()["redis"] == {"ok": False, "error": "ConnectionError"}


def test_it_returns_503_when_the_database_is_unreachable():
    # A real connection to a port where no PostgreSQL listens, in a fresh process.
    script = (
        "import django, json; django.setup();"
        "from django.test import Client;"
        "r = Client().get('/health'); print(json.dumps([r.status_code, r.json()]))"
    )
    env = {
        **os.environ,
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/nothing",
        "DATABASE_POOL": "false",
        "DJANGO_SETTINGS_MODULE": "paypredict_project.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parent.parent,
    )
    status, body = json.loads(result.stdout.strip().splitlines()[-1])
    assert status == 503
    assert body["database"] == {"ok": False, "error": "OperationalError"}
    assert body["redis"]["ok"] is True


@pytest.mark.django_db
def test_it_details_migrations_and_celery(client):
    body = client.get("/health/detailed").json()
    checks = body["checks"]
    assert checks["migrations"] == {"ok": True, "unapplied": []}
    # No worker runs under the test suite: reported, but not fatal for the web tier.
    assert checks["celery"]["ok"] is False
    assert checks["celery"]["workers"] == []
    assert body["status"] == "ok"
    assert cache.get("anything-missing") is None


@pytest.mark.django_db
def test_it_exposes_prometheus_metrics_with_ledger_sizes(client):
    InvoiceFactory(customer__organization__slug="metrics-org", total="250.00")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert 'paypredict_dependency_up{dependency="database"} 1.0' in text
    assert 'paypredict_invoices{organization="metrics-org",status="open"} 1.0' in text
    assert 'paypredict_open_balance{currency="USD",organization="metrics-org"} 250.0' in text


def test_it_rejects_post_on_health(client):
    assert client.post("/health").status_code == 405
