"""The Integrations page: admin only, connect through OAuth (state checked), run now,
disconnect, runs with counts and errors, freshness, /health/detailed."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from integrations.models import Connection, ConnectionStatus, SyncRun
from integrations.services import connection_sync
from integrations.tasks import connection_sync_task

pytestmark = pytest.mark.django_db
PAGE = "/integrations/"


@pytest.fixture
def queued(monkeypatch):
    calls = []
    monkeypatch.setattr(connection_sync_task, "delay", lambda *args: calls.append(args))
    return calls


def test_only_admins_see_the_page(owner_client, collector_client, viewer_client, fake_qbo):
    assert owner_client.get(PAGE).status_code == 200
    assert collector_client.get(PAGE).status_code == 403
    assert viewer_client.get(PAGE).status_code == 403
    assert viewer_client.post("/integrations/quickbooks/connect/").status_code == 403


def test_quickbooks_connect_flow_checks_state(
    owner_client, org, fake_qbo, queued, django_capture_on_commit_callbacks
):
    start = owner_client.post("/integrations/quickbooks/connect/")
    assert start.status_code == 302
    query = parse_qs(urlsplit(start["Location"]).query)
    assert query["scope"] == ["com.intuit.quickbooks.accounting"] and query["state"][0]
    # The fake consent screen approves and redirects back with code, state and realmId.
    consent = httpx.get(start["Location"], follow_redirects=False)
    back = urlsplit(consent.headers["Location"])
    forged = owner_client.get(f"{back.path}?code=x&state=forged&realmId=1")
    assert forged.status_code == 302 and not Connection.objects.exists()

    owner_client.post("/integrations/quickbooks/connect/")  # a fresh state
    start = owner_client.post("/integrations/quickbooks/connect/")
    consent = httpx.get(start["Location"], follow_redirects=False)
    back = urlsplit(consent.headers["Location"])
    with django_capture_on_commit_callbacks(execute=True):
        done = owner_client.get(f"{back.path}?{back.query}")
    assert done.status_code == 302
    connection = Connection.objects.get(organization=org, provider="quickbooks")
    assert connection.account_id == fake_qbo.realm and connection.status == ConnectionStatus.ACTIVE
    assert queued == [(connection.pk, "manual", None)]  # the first sync starts at once


def test_xero_connect_picks_the_tenant_and_asks_narrow_scopes(owner_client, org, fake_xero, queued):
    start = owner_client.post("/integrations/xero/connect/")
    scopes = parse_qs(urlsplit(start["Location"]).query)["scope"][0].split()
    assert "accounting.transactions" not in scopes
    assert {
        "accounting.invoices",
        "accounting.payments",
        "accounting.contacts",
        "offline_access",
    } <= set(scopes)
    consent = httpx.get(start["Location"], follow_redirects=False)
    back = urlsplit(consent.headers["Location"])
    owner_client.get(f"{back.path}?{back.query}")
    connection = Connection.objects.get(organization=org, provider="xero")
    assert connection.account_id == fake_xero.tenant
    assert connection.account_name == "Fake Xero Org (Demo)"


def test_page_shows_runs_errors_freshness_and_actions(
    owner_client, outsider_client, org, fake_qbo, qbo_connection, queued,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    cust = fake_qbo.add_customer("Acme")
    fake_qbo.add_invoice(cust, number="OK-1", lines=[("Work", 1, "10.00")])
    bad = fake_qbo.add_invoice(cust, number="BAD-1", lines=[("Work", 1, "10.00")])
    fake_qbo.rows["Invoice"][bad]["CustomerRef"] = {"value": "4242"}
    connection_sync(connection=qbo_connection)
    html = owner_client.get(PAGE).content.decode()
    assert re.search(r"Last synced <strong>0\s+minutes ago</strong>", html)
    assert "customer 4242 has not been synced" in html
    assert "1 invoices" in html
    # Another organization sees none of it and cannot act on it.
    other = outsider_client.get(PAGE).content.decode()
    assert "4242" not in other
    assert outsider_client.post(f"/integrations/{qbo_connection.code}/sync/").status_code == 404
    assert (
        outsider_client.post(f"/integrations/{qbo_connection.code}/disconnect/").status_code == 404
    )

    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(f"/integrations/{qbo_connection.code}/sync/")
    assert queued == [(qbo_connection.pk, "manual", None)]
    owner_client.post(f"/integrations/{qbo_connection.code}/disconnect/")
    qbo_connection.refresh_from_db()
    assert qbo_connection.status == ConnectionStatus.DISCONNECTED
    assert SyncRun.objects.filter(connection=qbo_connection).count() == 1  # history kept


def test_health_detailed_reports_the_last_sync(
    client, settings, org, fake_qbo, qbo_connection, owner
):
    connection_sync(connection=qbo_connection)
    owner.is_staff = True
    owner.save()
    client.force_login(owner)
    body = client.get("/health/detailed").json()
    (row,) = body["checks"]["integrations"]["connections"]
    assert row["provider"] == "quickbooks" and row["last_run_status"] == "succeeded"
    assert row["last_success_at"]
