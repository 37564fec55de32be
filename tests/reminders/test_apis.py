from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from reminders.models import PromiseToPay, Reminder, ReminderStatus
from reminders.services.planning import reminders_plan
from tests.reminders.conftest import TODAY, make_invoice

pytestmark = pytest.mark.django_db


class JsonClient(Client):
    """Session-authenticated (as the dashboard's own API calls are), JSON bodies."""

    def post(self, path, data=None, format=None, **extra):
        return super().post(path, data or {}, content_type="application/json", **extra)


def api(user) -> JsonClient:
    client = JsonClient()
    client.force_login(user)
    return client


@pytest.fixture
def reminder(org, customer, monkeypatch):
    monkeypatch.setattr("reminders.services.sending.organization_today", lambda **_: TODAY)
    make_invoice(customer, days_overdue=16, number="INV-API-1")
    (reminder,) = reminders_plan(organization=org, today=TODAY).reminders
    return reminder


def test_list_and_retrieve(collector, reminder):
    body = api(collector).get("/api/v1/reminders?status=draft&step=d%2B15").json()
    (row,) = body["results"]
    assert row["id"] == str(reminder.code)
    assert row["url"].endswith(f"/api/v1/reminders/{reminder.code}")
    assert row["customer"]["name"] == "Acme Retail"
    assert row["step"] == "d+15" and row["status"] == "draft" and row["drafter"] == "offline"
    assert row["invoices"][0]["invoice"]["number"] == "INV-API-1"
    assert row["invoices"][0]["amount"] == "1200.50"
    for field in ("subject", "body_text", "fallback_reason", "sent_at", "message_id"):
        assert field in row
    assert api(collector).get("/api/v1/reminders?status=sent").json()["results"] == []
    detail = api(collector).get(f"/api/v1/reminders/{reminder.code}")
    assert detail.status_code == 200 and detail.json()["id"] == str(reminder.code)


def test_approve_then_send(collector, reminder):
    client = api(collector)
    approved = client.post(f"/api/v1/reminders/{reminder.code}/approve")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    again = client.post(f"/api/v1/reminders/{reminder.code}/approve")
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_state"
    sent = client.post(f"/api/v1/reminders/{reminder.code}/send")
    assert sent.status_code == 200 and sent.json()["status"] == "sent"
    assert sent.json()["message_id"] and len(mail.outbox) == 1
    assert client.post(f"/api/v1/reminders/{reminder.code}/send").status_code == 409
    assert len(mail.outbox) == 1


def test_reject(collector, reminder):
    response = api(collector).post(f"/api/v1/reminders/{reminder.code}/reject")
    assert response.json()["status"] == "rejected"


def test_a_viewer_reads_but_cannot_act(viewer, reminder):
    client = api(viewer)
    assert client.get("/api/v1/reminders").status_code == 200
    response = client.post(f"/api/v1/reminders/{reminder.code}/approve")
    assert response.status_code == 403
    assert "send:reminders" in response.json()["error"]["message"]
    assert Reminder.objects.get().status == ReminderStatus.DRAFT


def test_an_outsider_gets_404(outsider, reminder):
    client = api(outsider)
    assert client.get(f"/api/v1/reminders/{reminder.code}").status_code == 404
    assert client.post(f"/api/v1/reminders/{reminder.code}/send").status_code == 404
    assert client.get("/api/v1/reminders").json()["results"] == []


def test_bad_filter_is_a_400(collector, reminder):
    response = api(collector).get("/api/v1/reminders?status=bogus")
    assert response.status_code == 400 and "status" in response.json()["error"]["fields"]


def test_promises_api(collector, outsider, customer, org):
    invoice = make_invoice(customer, days_overdue=3)
    client = api(collector)
    created = client.post(
        "/api/v1/promises",
        {"invoice": str(invoice.code), "promised_date": "2030-01-31", "amount": "100.00"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["invoice"]["number"] == invoice.number
    assert created.json()["status"] == "open"
    too_much = client.post(
        "/api/v1/promises",
        {"invoice": str(invoice.code), "promised_date": "2030-01-31", "amount": "99999.00"},
        format="json",
    )
    assert too_much.status_code == 400 and "amount" in too_much.json()["error"]["fields"]
    unknown = client.post(
        "/api/v1/promises",
        {"promised_date": "2030-01-31", "amount": "1.00", "colour": "red"},
        format="json",
    )
    assert unknown.status_code == 400
    foreign = api(outsider).post(
        "/api/v1/promises",
        {"invoice": str(invoice.code), "promised_date": "2030-01-31", "amount": "1.00"},
        format="json",
    )
    assert foreign.status_code == 400 and "invoice" in foreign.json()["error"]["fields"]
    assert PromiseToPay.objects.count() == 1
    assert len(client.get("/api/v1/promises").json()["results"]) == 1
    assert api(outsider).get("/api/v1/promises").json()["results"] == []
