"""Quiet, correct logs: no traceback per permission denial, no start-up warnings, a favicon,
`make stop` says what it did, CSV exports stream under ASGI without Django's warning."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncRequestFactory
from django.urls import reverse

from invoices.exports import export_response
from tests.factories import CustomerFactory, InvoiceFactory

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_it_logs_a_permission_denial_in_one_line_without_a_traceback(viewer_client, org, caplog):
    invoice = InvoiceFactory(customer=CustomerFactory(organization=org))
    caplog.set_level(logging.INFO)
    response = viewer_client.post(reverse("invoice-void", args=[invoice.code]))
    assert response.status_code == 403
    assert "You cannot do this" in response.content.decode()
    assert [r for r in caplog.records if r.exc_info] == []
    denials = [r for r in caplog.records if r.getMessage().startswith("403 POST")]
    assert len(denials) == 1 and "lacks write:invoices" in denials[0].getMessage()
    assert not [r for r in caplog.records if r.name == "django.request"]


@pytest.mark.django_db
def test_it_answers_favicon_ico(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == "/static/favicon.svg"
    assert client.get(response["Location"]).status_code == 200


def test_it_starts_the_asgi_app_without_warnings():
    result = subprocess.run(
        [sys.executable, "-W", "always", "-c", "import paypredict_project.asgi"],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "paypredict_project.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr and "No directory at" not in result.stderr


def test_it_says_what_make_stop_did(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "paypredict_project.embedded", "stop"],
        env={**os.environ, "PAYPREDICT_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0
    assert "embedded Redis was not running" in result.stdout
    assert "embedded PostgreSQL was not running" in result.stdout


@pytest.mark.django_db
def test_it_streams_an_export_asynchronously_under_asgi(org):
    InvoiceFactory(customer=CustomerFactory(organization=org), number="INV-ASGI")
    request = AsyncRequestFactory().get("/invoices/export.csv")
    response = export_response(
        kind="invoices", organization=org, params=request.GET, request=request
    )
    assert response.is_async

    async def collect() -> bytes:
        return b"".join([chunk async for chunk in response.streaming_content])

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        body = async_to_sync(collect)().decode()
    assert body.startswith("external_id,number") and "INV-ASGI" in body
