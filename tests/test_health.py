from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from paypredict_project.health import ledger_metrics_refresh
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


TOKEN = "metrics-test-token"
BEARER = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}


@pytest.fixture
def metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_IPS = []
    settings.METRICS_PER_ORGANIZATION = False


@pytest.mark.django_db
def test_it_details_migrations_and_celery(client, metrics_token):
    body = client.get("/health/detailed", **BEARER).json()
    checks = body["checks"]
    assert checks["migrations"] == {"ok": True, "unapplied": []}
    # No worker runs under the test suite: reported, but not fatal for the web tier.
    assert checks["celery"]["ok"] is False
    assert checks["celery"]["workers"] == []
    assert body["status"] == "ok"
    assert cache.get("anything-missing") is None


@pytest.mark.django_db
def test_it_exposes_operator_wide_ledger_sizes_without_business_figures(client, metrics_token):
    InvoiceFactory(customer__organization__slug="metrics-org", total="250.00")
    ledger_metrics_refresh()
    response = client.get("/metrics", **BEARER)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert 'paypredict_dependency_up{dependency="database"} 1.0' in text
    assert 'paypredict_invoices{status="open"} 1.0' in text
    assert "metrics-org" not in text and "paypredict_open_balance" not in text


@pytest.mark.django_db
def test_it_adds_per_organization_figures_only_when_enabled(client, metrics_token, settings):
    settings.METRICS_PER_ORGANIZATION = True
    InvoiceFactory(customer__organization__slug="metrics-org", total="250.00")
    ledger_metrics_refresh()
    text = client.get("/metrics", **BEARER).content.decode()
    assert 'paypredict_invoices{organization="metrics-org",status="open"} 1.0' in text
    assert 'paypredict_open_balance{currency="USD",organization="metrics-org"} 250.0' in text


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/metrics", "/health/detailed"])
def test_it_refuses_monitoring_endpoints_to_anonymous_callers(client, metrics_token, path):
    InvoiceFactory(customer__organization__slug="metrics-org", total="250.00")
    ledger_metrics_refresh()
    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer wrong"}, {"HTTP_AUTHORIZATION": TOKEN}):
        response = client.get(path, **headers)
        assert response.status_code == 403
        assert b"metrics-org" not in response.content


@pytest.mark.django_db
def test_it_refuses_metrics_when_no_token_or_address_is_configured(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = []
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403


@pytest.mark.django_db
def test_it_lets_an_allowed_address_scrape_without_a_token(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.168.1.9").status_code == 403


@pytest.mark.django_db
def test_it_lets_staff_but_not_an_org_admin_read_the_detailed_health(
    client, owner_client, owner, metrics_token
):
    assert owner_client.get("/health/detailed").status_code == 403
    owner.is_staff = True
    owner.save(update_fields=["is_staff"])
    assert owner_client.get("/health/detailed").status_code == 200


@pytest.mark.django_db
def test_it_scrapes_without_scanning_the_ledger(client, metrics_token):
    InvoiceFactory()
    ledger_metrics_refresh()
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/metrics", **BEARER).status_code == 200
    assert [q["sql"] for q in queries] == ["SELECT 1"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/health", "/health/detailed", "/metrics"])
def test_it_rate_limits_health_and_metrics_per_address(client, metrics_token, settings, path):
    settings.HEALTH_RATE_LIMIT = 2
    statuses = [client.get(path, **BEARER).status_code for _ in range(3)]
    assert statuses[:2] == [200, 200] or statuses[:2] == [503, 503]
    assert statuses[2] == 429
    # Another address has its own budget.
    assert client.get(path, REMOTE_ADDR="10.9.9.9", **BEARER).status_code != 429


def test_it_rejects_post_on_health(client):
    assert client.post("/health").status_code == 405
