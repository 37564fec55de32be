from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time

import pytest
from django.core import mail
from django.core.management import call_command

from invoices.models import InvoiceStatus
from reminders.models import Reminder, ReminderStatus
from reminders.services.planning import reminders_plan
from reminders.services.review import reminder_approve
from reminders.services.sending import reminders_send_due
from tests.reminders.conftest import TODAY, make_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def now_is_today(monkeypatch):
    # "today" for the sender is the organization's calendar day; pin it to the plan's day.
    monkeypatch.setattr("reminders.services.sending.organization_today", lambda **_: TODAY)


def plan(org):
    return reminders_plan(organization=org, today=TODAY).reminders


def test_auto_send_reminders_go_out_once_and_approval_ones_wait(org, customer, now_is_today):
    friendly = make_invoice(customer, days_overdue=2)
    make_invoice(customer, days_overdue=16)
    plan(org)

    result = reminders_send_due(organization=org)

    assert result.as_json() == {"sent": 1, "failed": 0, "dropped": 0, "cancelled": 0}
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ap@acme.example"] and friendly.number in message.body
    assert message.alternatives[0][1] == "text/html"
    sent = Reminder.objects.get(step_key="d+1")
    assert sent.status == ReminderStatus.SENT and sent.sent_at is not None
    assert sent.message_id == message.extra_headers["Message-ID"]
    assert Reminder.objects.get(step_key="d+15").status == ReminderStatus.DRAFT
    # A second run sends nothing again.
    assert reminders_send_due(organization=org).sent == 0 and len(mail.outbox) == 1


def test_it_drops_paid_and_disputed_invoices_and_re_renders(org, customer, owner, now_is_today):
    keep = make_invoice(customer, days_overdue=16)
    paid = make_invoice(customer, days_overdue=17, number="INV-PAID-1")
    disputed = make_invoice(customer, days_overdue=18, number="INV-DISP-1")
    (reminder,) = plan(org)
    reminder_approve(reminder=reminder, user=owner)
    paid.status, paid.balance = InvoiceStatus.PAID, 0
    paid.save()
    disputed.disputed = True
    disputed.save()

    result = reminders_send_due(organization=org)

    assert result.as_json() == {"sent": 1, "failed": 0, "dropped": 2, "cancelled": 0}
    body = mail.outbox[0].body
    assert keep.number in body
    assert "INV-PAID-1" not in body and "INV-DISP-1" not in body.split("Statement")[0]
    assert sorted(
        reminder.items.filter(dropped=True).values_list("invoice__number", flat=True)
    ) == [
        "INV-DISP-1",
        "INV-PAID-1",
    ]


def test_it_cancels_when_no_invoice_remains(org, customer, now_is_today):
    invoice = make_invoice(customer, days_overdue=2)
    (reminder,) = plan(org)
    invoice.status, invoice.balance = InvoiceStatus.PAID, 0
    invoice.save()

    result = reminders_send_due(organization=org)

    assert result.as_json() == {"sent": 0, "failed": 0, "dropped": 1, "cancelled": 1}
    assert mail.outbox == []
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.CANCELLED


def test_a_backend_failure_marks_the_reminder_failed(org, customer, settings, now_is_today):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    make_invoice(customer, days_overdue=2)
    (reminder,) = plan(org)
    result = reminders_send_due(organization=org)
    reminder.refresh_from_db()
    assert result.failed == 1 and reminder.status == ReminderStatus.FAILED
    assert reminder.last_error


def test_send_reminders_command_prints_json(org, customer, capsys, now_is_today):
    make_invoice(customer, days_overdue=2)
    plan(org)
    call_command("send_reminders", "--org", org.slug)
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(last) == {"sent": 1, "failed": 0, "dropped": 0, "cancelled": 0}


def test_plan_and_approve_commands(org, customer, capsys):
    make_invoice(customer, days_overdue=16)
    call_command("plan_reminders", "--org", org.slug, "--today", TODAY.isoformat())
    planned = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert planned == {
        "customers": 1,
        "drafted": 1,
        "skipped": {},
        "drafter": {"llm": 0, "offline": 1},
        "fallbacks": {},
    }
    code = str(Reminder.objects.get().code)
    call_command("approve_reminders", "--org", org.slug, "--id", code)
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == {"approved": 1}
    assert Reminder.objects.get().status == ReminderStatus.APPROVED


def test_plan_command_refuses_a_bad_date(org):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--today must be a date"):
        call_command("plan_reminders", "--org", org.slug, "--today", "15/06/2026")


def _mailgun_event(key: str, message_id: str, event: str, token: str = "tok-1") -> dict:
    timestamp = str(int(time.time()))
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature},
        "event-data": {
            "event": event,
            "timestamp": time.time(),
            "recipient": "ap@acme.example",
            "message": {"headers": {"message-id": message_id.strip("<>")}},
        },
    }


def test_delivery_webhook_records_events_with_signature_check(
    org, customer, client, settings, now_is_today
):
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": "key-123", "WEBHOOK_SECRET": "hook:secret"}
    make_invoice(customer, days_overdue=2)
    (reminder,) = plan(org)
    reminders_send_due(organization=org)
    reminder.refresh_from_db()
    auth = {"HTTP_AUTHORIZATION": "Basic aG9vazpzZWNyZXQ="}  # hook:secret
    url = "/anymail/mailgun/tracking/"

    forged = _mailgun_event("wrong-key", reminder.message_id, "delivered")
    response = client.post(url, forged, content_type="application/json", **auth)
    assert response.status_code == 400
    assert not reminder.events.filter(kind="delivered").exists()

    good = _mailgun_event("key-123", reminder.message_id, "delivered")
    assert client.post(url, good, content_type="application/json", **auth).status_code == 200
    # The provider retries: recorded once.
    assert client.post(url, good, content_type="application/json", **auth).status_code == 200
    bounced = _mailgun_event("key-123", reminder.message_id, "failed", token="tok-2")
    assert client.post(url, bounced, content_type="application/json", **auth).status_code == 200
    kinds = list(reminder.events.values_list("kind", flat=True))
    assert kinds.count("delivered") == 1 and "bounced" in kinds
    reminder.refresh_from_db()
    assert reminder.delivery_status == "bounced"


def test_a_provider_confirmation_settles_an_orphaned_sending_row(org, customer, now_is_today):
    from reminders.webhooks import reminder_delivery_event_record

    make_invoice(customer, days_overdue=2)
    (reminder,) = plan(org)
    Reminder.objects.filter(pk=reminder.pk).update(
        status=ReminderStatus.SENDING, message_id="<abc@paypredict.local>"
    )
    reminder_delivery_event_record(
        message_id="<abc@paypredict.local>",
        kind="delivered",
        provider="mailgun",
        event_id="e1",
        occurred_at=dt.datetime(2026, 6, 15, 9, tzinfo=dt.UTC),
    )
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.SENT and not reminder.delivery_unknown


def test_an_unconfigured_provider_webhook_is_not_there(client, settings):
    settings.ANYMAIL = {}
    assert client.post("/anymail/mailgun/tracking/", {}).status_code == 404
    assert client.post("/anymail/sendgrid/tracking/", {}).status_code == 404
