"""Webhooks: QuickBooks classic and CloudEvents bodies with intuit-signature, Xero
x-xero-signature with the intent-to-receive handshake; duplicates ignored; bad signatures
rejected and logged; accepted events queue a targeted sync that then runs."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from integrations.models import SyncRun, SyncTrigger, WebhookEvent
from integrations.tasks import connection_sync_task
from invoices.models import Invoice
from tests.fakes import quickbooks_server, xero_server

pytestmark = pytest.mark.django_db
QBO_URL = "/integrations/quickbooks/webhook/"
XERO_URL = "/integrations/xero/webhook/"


@pytest.fixture
def queued(monkeypatch):
    calls = []
    monkeypatch.setattr(connection_sync_task, "delay", lambda *args: calls.append(args))
    return calls


def _post(url, body, header, signature, capture):
    with capture(execute=True):
        return Client().post(
            url, body, content_type="application/json", headers={header: signature}
        )


@pytest.mark.parametrize("shape", ["classic", "cloudevents"])
def test_quickbooks_event_queues_a_targeted_sync_once(
    fake_qbo, qbo_connection, queued, django_capture_on_commit_callbacks, shape
):
    events = [("Invoice", "145", "Update"), ("Payment", "301", "Delete")]
    if shape == "classic":
        body = fake_qbo.webhook_classic(events)
    else:
        body = fake_qbo.webhook_cloudevents(
            [("Invoice", "145", "updated"), ("Payment", "301", "deleted")]
        )
    signature = quickbooks_server.sign(body, "qbo-verifier-token")
    response = _post(
        QBO_URL, body, "intuit-signature", signature, django_capture_on_commit_callbacks
    )
    assert response.status_code == 200
    assert queued == [(qbo_connection.pk, SyncTrigger.WEBHOOK, ["deleted", "invoices", "payments"])]
    again = _post(QBO_URL, body, "intuit-signature", signature, django_capture_on_commit_callbacks)
    assert again.status_code == 200 and len(queued) == 1  # the redelivery is ignored
    assert WebhookEvent.objects.count() == 2


def test_quickbooks_bad_signature_is_rejected_and_logged(
    fake_qbo, qbo_connection, queued, caplog, django_capture_on_commit_callbacks
):
    body = fake_qbo.webhook_classic([("Invoice", "145", "Update")])
    with caplog.at_level(logging.WARNING):
        response = _post(
            QBO_URL, body, "intuit-signature", quickbooks_server.sign(body, "wrong"),
            django_capture_on_commit_callbacks,
        )  # fmt: skip
    assert response.status_code == 401
    assert "bad intuit-signature" in caplog.text
    assert queued == [] and not WebhookEvent.objects.exists()
    unsigned = Client().post(QBO_URL, body, content_type="application/json")
    assert unsigned.status_code == 401


def test_xero_intent_to_receive_matrix(fake_xero, xero_connection):
    # Xero sends a series of empty-event payloads, some signed well, some not.
    for good in (True, False, True, False, False, True):
        body = fake_xero.intent_to_receive()
        signature = xero_server.sign(body, "xero-webhook-key" if good else "not-the-key")
        response = Client().post(
            XERO_URL, body, content_type="application/json",
            headers={"x-xero-signature": signature},
        )  # fmt: skip
        assert response.status_code == (200 if good else 401)
        assert response.content == b"" and not response.cookies


def test_xero_invoice_event_then_task_syncs_it(
    org, fake_xero, xero_connection, queued, django_capture_on_commit_callbacks
):
    contact = fake_xero.add_contact("Acme")
    import datetime as dt

    day = dt.date(2026, 11, 2)
    iid = fake_xero.add_invoice(contact, lines=[("Work", 1, "80.00", "0")], date=day, due=day)
    body = fake_xero.webhook([("INVOICE", iid, "CREATE"), ("CONTACT", contact, "CREATE")])
    response = _post(
        XERO_URL, body, "x-xero-signature", xero_server.sign(body, "xero-webhook-key"),
        django_capture_on_commit_callbacks,
    )  # fmt: skip
    assert response.status_code == 200
    assert queued == [(xero_connection.pk, "webhook", ["customers", "invoices", "payments"])]
    assert connection_sync_task(*queued[0]) == "succeeded"
    run = SyncRun.objects.get(connection=xero_connection)
    assert run.trigger == SyncTrigger.WEBHOOK
    assert Invoice.objects.filter(organization=org, external_id=iid).exists()


def test_events_for_unknown_accounts_queue_nothing(
    fake_qbo, queued, django_capture_on_commit_callbacks
):
    body = fake_qbo.webhook_classic([("Invoice", "1", "Create")])
    response = _post(
        QBO_URL, body, "intuit-signature", quickbooks_server.sign(body, "qbo-verifier-token"),
        django_capture_on_commit_callbacks,
    )  # fmt: skip
    assert response.status_code == 200 and queued == []
