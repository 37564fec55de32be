from __future__ import annotations

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
