"""Connecting from the command line, token storage, the per-connection lock, and a sync
process killed mid-run (SIGKILL) then re-run."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection as db_connection

from integrations.models import Connection, ConnectionStatus, SyncCursor, SyncRun, SyncStatus
from integrations.services import connection_disconnect, connection_sync
from integrations.sync import SyncBusy, connection_lock
from invoices.models import Invoice, Payment
from tests.fakes.quickbooks_server import populate_quickbooks

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_connect_command_exchanges_the_token_and_stores_it_encrypted(org, fake_qbo, capsys):
    given = fake_qbo.oauth.refresh_token
    call_command(
        "connect_integration",
        "--org", org.slug, "--provider", "quickbooks",
        "--realm-id", fake_qbo.realm, "--refresh-token", given,
    )  # fmt: skip
    connection = Connection.objects.get(organization=org, provider="quickbooks")
    assert "connected org-a to QuickBooks Online" in capsys.readouterr().out
    rotated = fake_qbo.oauth.refresh_token
    assert rotated != given  # exchanged at once, and the rotation kept
    raw = Connection.objects.filter(pk=connection.pk).values().get()
    stored = " ".join(str(v) for v in raw.values())
    assert rotated not in stored and given not in stored
    assert not any(token in stored for token in fake_qbo.oauth.access_tokens)


def test_connect_command_with_a_bad_token_fails_clearly(org, fake_qbo):
    with pytest.raises(CommandError, match="invalid_grant"):
        call_command(
            "connect_integration",
            "--org", org.slug, "--provider", "quickbooks",
            "--realm-id", fake_qbo.realm, "--refresh-token", "RT-not-a-real-one",
        )  # fmt: skip
    assert not Connection.objects.filter(organization=org).exists()


def test_xero_connect_checks_the_tenant(org, fake_xero):
    with pytest.raises(CommandError, match="is not among this token's Xero connections"):
        call_command(
            "connect_integration",
            "--org", org.slug, "--provider", "xero",
            "--tenant-id", "not-my-tenant", "--refresh-token", fake_xero.oauth.refresh_token,
        )  # fmt: skip
    call_command(
        "connect_integration",
        "--org", org.slug, "--provider", "xero",
        "--tenant-id", fake_xero.tenant, "--refresh-token", fake_xero.oauth.refresh_token,
    )  # fmt: skip
    connection = Connection.objects.get(organization=org, provider="xero")
    assert connection.account_name == "Fake Xero Org (Demo)"


def test_sync_command_prints_json_last_line(org, fake_qbo, qbo_connection, capsys):
    populate_quickbooks(fake_qbo, customers=2, invoices=5)
    call_command("sync_integration", "--org", org.slug, "--provider", "quickbooks")
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["status"] == "succeeded"
    assert summary["counts"]["invoices"]["created"] == 5
    assert summary["requests"] >= 3 and summary["pages"] >= 3


def test_no_token_in_logs(org, fake_qbo, qbo_connection, caplog):
    populate_quickbooks(fake_qbo, customers=1, invoices=3)
    fake_qbo.oauth.expire_access_tokens()
    with caplog.at_level(logging.DEBUG):
        connection_sync(connection=qbo_connection)
    text = caplog.text
    assert fake_qbo.oauth.refresh_token not in text
    assert not any(token in text for token in fake_qbo.oauth.access_tokens)
    assert "refreshed the quickbooks access token" in text


def test_refresh_token_dead_marks_connection_broken(org, fake_qbo, qbo_connection):
    fake_qbo.oauth.refresh_token = "RT-rotated-elsewhere"
    fake_qbo.oauth.expire_access_tokens()
    run = connection_sync(connection=qbo_connection)
    assert run.status == SyncStatus.FAILED and "reconnect" in run.detail
    qbo_connection.refresh_from_db()
    assert qbo_connection.status == ConnectionStatus.BROKEN


def test_disconnect_revokes_and_erases_tokens(org, fake_qbo, qbo_connection):
    refresh = fake_qbo.oauth.refresh_token
    connection_disconnect(connection=qbo_connection)
    assert fake_qbo.oauth.revoked == [refresh]
    qbo_connection.refresh_from_db()
    assert qbo_connection.status == ConnectionStatus.DISCONNECTED
    assert qbo_connection.refresh_token_encrypted == qbo_connection.access_token_encrypted == ""


def test_a_second_run_of_the_same_connection_is_refused(org, fake_qbo, qbo_connection):
    with connection_lock(qbo_connection) as acquired:
        assert acquired
        # Another session (another worker) cannot take it.
        other = _other_session_try_lock(qbo_connection.pk)
        assert other is False
    assert _other_session_try_lock(qbo_connection.pk) is True


def _other_session_try_lock(pk: int) -> bool:
    import psycopg

    from integrations.sync import LOCK_CLASS

    params = db_connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**{k: v for k, v in params.items() if k != "pool"}) as other:
        got = other.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_CLASS, pk]).fetchone()[0]
        if got:
            other.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_CLASS, pk])
        return got


def test_busy_connection_raises(org, fake_qbo, qbo_connection, monkeypatch):
    from contextlib import contextmanager

    import integrations.sync as sync_module

    @contextmanager
    def held(connection):
        yield False

    monkeypatch.setattr(sync_module, "connection_lock", held)
    with pytest.raises(SyncBusy):
        connection_sync(connection=qbo_connection)


@pytest.mark.django_db(transaction=True)
def test_sigkill_mid_run_then_rerun_has_no_duplicates(org, fake_qbo, integration_settings):
    if not os.environ.get("DATABASE_URL"):
        pytest.skip("the child process needs DATABASE_URL to find this test's database")
    populate_quickbooks(fake_qbo, customers=3, invoices=60)
    call_command(
        "connect_integration",
        "--org", org.slug, "--provider", "quickbooks",
        "--realm-id", fake_qbo.realm, "--refresh-token", fake_qbo.oauth.refresh_token,
    )  # fmt: skip
    connection = Connection.objects.get(organization=org)
    fake_qbo.delay = 0.15
    process = subprocess.Popen(
        [sys.executable, "manage.py", "sync_integration", "--org", org.slug,
         "--provider", "quickbooks"],
        cwd=ROOT, env=_child_env(fake_qbo, integration_settings),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        cursor = SyncCursor.objects.filter(connection=connection, entity="invoices").first()
        if cursor is not None and cursor.position >= 20:
            break
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    else:
        pytest.fail("the child never committed two invoice pages")
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    partial = Invoice.objects.filter(organization=org).count()
    assert 20 <= partial < 60

    fake_qbo.delay = 0
    connection.refresh_from_db()
    run = connection_sync(connection=connection)
    assert run.status == SyncStatus.SUCCEEDED, (run.detail, run.errors)
    assert SyncRun.objects.filter(connection=connection, status=SyncStatus.INTERRUPTED).count() == 1
    # Resumed at the first uncommitted page, not from scratch.
    assert run.counts["invoices"]["created"] == 60 - partial
    assert Invoice.objects.filter(organization=org).count() == 60
    assert Payment.objects.filter(organization=org).count() == len(fake_qbo.rows["Payment"])
    for iid, row in fake_qbo.rows["Invoice"].items():
        invoice = Invoice.objects.get(organization=org, external_id=iid)
        assert invoice.balance == row["Balance"]


def _child_env(fake, settings) -> dict[str, str]:
    # The child uses this test's database (the server of DATABASE_URL, the test db's name).
    base = urlsplit(os.environ["DATABASE_URL"])
    url = urlunsplit(base._replace(path="/" + db_connection.settings_dict["NAME"]))
    return {
        **os.environ,
        "DATABASE_URL": url,
        "FIELD_ENCRYPTION_KEY": settings.FIELD_ENCRYPTION_KEY,
        "QUICKBOOKS_CLIENT_ID": fake.oauth.client_id,
        "QUICKBOOKS_CLIENT_SECRET": fake.oauth.client_secret,
        "QUICKBOOKS_API_BASE_URL": fake.url,
        "QUICKBOOKS_OAUTH_TOKEN_URL": f"{fake.url}/oauth2/v1/tokens/bearer",
        "INTEGRATIONS_PAGE_SIZE": "10",
    }


def test_key_rotation_reencrypts_tokens(org, fake_qbo, qbo_connection, settings, capsys):
    from cryptography.fernet import Fernet

    from integrations import crypto

    plain = crypto.decrypt(qbo_connection.refresh_token_encrypted)
    old_key = settings.FIELD_ENCRYPTION_KEY
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = f"{new_key},{old_key}"
    call_command("rotate_integration_keys")
    assert "1 connection" in capsys.readouterr().out
    settings.FIELD_ENCRYPTION_KEY = new_key  # the old key can go now
    qbo_connection.refresh_from_db()
    assert crypto.decrypt(qbo_connection.refresh_token_encrypted) == plain
    settings.FIELD_ENCRYPTION_KEY = Fernet.generate_key().decode()
    with pytest.raises(crypto.SecretUnreadable):
        crypto.decrypt(qbo_connection.refresh_token_encrypted)
