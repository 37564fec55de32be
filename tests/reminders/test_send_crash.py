"""The exactly-once guarantee under a crash, against a real SMTP server on loopback.

The sending process is SIGKILLed after the SMTP server has accepted the message and before
the process could record it. The next run must not send again: exactly one message arrives
and the reminder is flagged "delivery unknown" for a person.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from aiosmtpd.controller import Controller
from django.core.management import call_command
from django.db import connection

from invoices.analytics import organization_today
from reminders.models import Reminder, ReminderStatus
from reminders.services.planning import reminders_plan
from tests.reminders.conftest import make_invoice

ROOT = Path(__file__).resolve().parents[2]


class KillingHandler:
    """Accepts every message; kills ``victim_pid`` once the message is in its hands."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.victim_pid: int | None = None

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.content)
        if self.victim_pid is not None:
            os.kill(self.victim_pid, signal.SIGKILL)
            self.victim_pid = None
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    handler = KillingHandler()
    with socket.socket() as probe:  # a free port (aiosmtpd's readiness check needs a real one)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def _test_database_url() -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


@pytest.mark.django_db(transaction=True)
def test_a_crash_after_smtp_acceptance_never_sends_twice(org, customer, smtp_server, settings):
    handler, port = smtp_server
    today = organization_today(organization=org)
    make_invoice(customer, days_overdue=0).__class__.objects.update(
        due_date=today - dt.timedelta(days=2), issue_date=today - dt.timedelta(days=32)
    )
    (reminder,) = reminders_plan(organization=org, today=today).reminders
    assert reminder.auto_send
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "DATABASE_POOL": "false",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(port),
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "send_reminders", "--org", org.slug],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    handler.victim_pid = process.pid
    process.communicate(timeout=120)
    assert process.returncode == -signal.SIGKILL
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.SENDING and len(handler.messages) == 1

    # The next run (same SMTP server) finds the orphan and does not send it again.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    out = io.StringIO()
    call_command("send_reminders", "--org", org.slug, stdout=out)

    assert json.loads(out.getvalue().strip().splitlines()[-1]) == {
        "sent": 0,
        "failed": 0,
        "dropped": 0,
        "cancelled": 0,
    }
    assert "delivery unknown" in out.getvalue()
    assert len(handler.messages) == 1
    reminder.refresh_from_db()
    assert reminder.delivery_unknown is True and reminder.status == ReminderStatus.SENDING
    assert reminder.message_id.strip("<>").encode() in handler.messages[0]
    assert Reminder.objects.filter(status=ReminderStatus.SENT).count() == 0
