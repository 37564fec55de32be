from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client


@pytest.mark.django_db
def test_it_sets_security_headers(client):
    response = client.get("/login/")
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert "camera=()" in response["Permissions-Policy"]


@pytest.mark.django_db
def test_it_enforces_csrf_on_forms(owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post("/logout/")
    assert response.status_code == 403


@pytest.mark.django_db
def test_it_serves_htmx_from_our_own_static_files(client):
    page = client.get("/login/").content.decode()
    assert "/static/django_htmx/htmx" in page
    assert "cdn" not in page.lower() and "unpkg" not in page.lower()


def _settings_under(env: dict[str, str]) -> dict:
    """The security settings a fresh process computes from this environment."""
    names = [
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_REDIRECT_EXEMPT",
    ]
    script = (
        "import json; from django.conf import settings;"
        f"print(json.dumps({{n: getattr(settings, n) for n in {names!r}}}))"
    )
    clean = {k: v for k, v in os.environ.items() if k not in names and k != "SITE_URL"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**clean, "DJANGO_SETTINGS_MODULE": "paypredict_project.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parent.parent,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_it_turns_on_secure_cookies_hsts_and_ssl_redirect_for_an_https_site():
    values = _settings_under({"SITE_URL": "https://ar.example.com"})
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] == 31536000
    assert values["SECURE_REDIRECT_EXEMPT"] == ["^health$"]


def test_it_keeps_them_off_for_a_local_http_site_and_honours_explicit_values():
    local = _settings_under({"SITE_URL": "http://127.0.0.1:8000", "SECURE_HSTS_SECONDS": ""})
    assert local["SESSION_COOKIE_SECURE"] is False and local["SECURE_SSL_REDIRECT"] is False
    assert local["SECURE_HSTS_SECONDS"] == 0
    opted_out = _settings_under(
        {"SITE_URL": "https://ar.example.com", "SECURE_SSL_REDIRECT": "false"}
    )
    assert opted_out["SECURE_SSL_REDIRECT"] is False and opted_out["SESSION_COOKIE_SECURE"]
