"""Scheduled reports: next run in local time, e-mail with CSV and summary, runs recorded."""

from __future__ import annotations

import datetime as dt
import socket

import pytest
from aiosmtpd.controller import Controller
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from paypredict_project.tenancy.models import Membership
from predictions.reports.models import ReportRun, ReportSchedule
from predictions.reports.schedules import (
    report_schedule_create,
    report_schedules_send_due,
    schedule_next_run,
)

UTC = dt.UTC


def test_it_finds_the_next_local_hour_across_the_dst_change(settings):
    from paypredict_project.tenancy.models import Organization

    ny = Organization(slug="x", name="x", time_zone="America/New_York")
    after = dt.datetime(2026, 10, 31, 12, 0, tzinfo=UTC)  # 08:00 EDT
    daily = schedule_next_run(organization=ny, frequency="daily", hour=8, weekday=None, after=after)
    assert daily == dt.datetime(2026, 11, 1, 13, 0, tzinfo=UTC)  # 08:00 EST, the next day
    weekly = schedule_next_run(organization=ny, frequency="weekly", hour=7, weekday=0, after=after)
    assert weekly == dt.datetime(2026, 11, 2, 12, 0, tzinfo=UTC)  # Monday 07:00 EST


@pytest.fixture
def schedule(ny_org, owner, viewer, payments):
    schedule = report_schedule_create(
        organization=ny_org,
        report="daily-summary",
        frequency="daily",
        hour=7,
        recipients=[owner, viewer],
        created_by=owner,
    )
    # Due at 07:00 local on 11 November: the summary covers 10 November.
    schedule.next_run_at = dt.datetime(2026, 11, 11, 12, 0, tzinfo=UTC)
    schedule.save(update_fields=["next_run_at"])
    return schedule


NOW = dt.datetime(2026, 11, 11, 12, 2, tzinfo=UTC)


@pytest.mark.django_db
def test_it_mails_the_report_with_csv_and_summary_and_records_the_run(schedule, owner, viewer):
    (run,) = report_schedules_send_due(now=NOW)
    assert run.status == "sent" and run.error == ""
    assert run.recipients == sorted([owner.email, viewer.email])
    (message,) = mail.outbox
    assert "Daily summary" in message.subject and "2026-11-11" in message.subject
    assert "Failed attempts: 1" in message.body and "Day: 2026-11-10" in message.body
    html = message.alternatives[0][0]
    assert "Success rate" in html and "66.7 %" in html
    name, content, mimetype = message.attachments[0]
    assert name.endswith(".csv") and mimetype == "text/csv"
    assert "amount_received,320.00,USD" in content.replace("\r\n", "\n")
    schedule.refresh_from_db()
    assert schedule.next_run_at == dt.datetime(2026, 11, 12, 12, 0, tzinfo=UTC)
    assert report_schedules_send_due(now=NOW) == []  # not due again until tomorrow


@pytest.mark.django_db
def test_it_stops_mailing_a_removed_member(schedule, viewer, owner):
    Membership.objects.filter(user=viewer).delete()
    (run,) = report_schedules_send_due(now=NOW)
    assert run.recipients == [owner.email]
    assert mail.outbox[0].to == [owner.email]


@pytest.mark.django_db
def test_it_refuses_recipients_from_another_organization(ny_org, owner, outsider):
    with pytest.raises(ValidationError) as excinfo:
        report_schedule_create(
            organization=ny_org,
            report="ar-summary",
            frequency="weekly",
            hour=7,
            weekday=None,
            recipients=[outsider],
        )
    assert set(excinfo.value.message_dict) == {"recipients", "weekday"}


@pytest.fixture
def smtp_server():
    class Handler:
        messages: list[bytes] = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(envelope.content)
            return "250 OK"

    handler = Handler()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


@pytest.mark.django_db
def test_it_sends_through_a_real_smtp_server(schedule, smtp_server, settings):
    handler, port = smtp_server
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    (run,) = report_schedules_send_due(now=NOW)
    assert run.status == "sent"
    (raw,) = handler.messages
    assert b"Content-Type: text/csv" in raw and b"attachment" in raw


@pytest.mark.django_db
def test_it_records_why_a_run_failed_and_moves_on(schedule, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    (run,) = report_schedules_send_due(now=NOW)
    assert run.status == "failed" and "Connection" in run.error
    schedule.refresh_from_db()
    assert schedule.next_run_at > NOW


@pytest.mark.django_db
def test_it_lets_admins_schedule_from_the_page(
    owner_client, viewer_client, outsider_client, owner, org
):
    url = reverse("report-schedules")
    assert viewer_client.get(url).status_code == 403
    response = owner_client.post(
        url,
        {
            "report": "high-risk",
            "frequency": "weekly",
            "weekday": "4",
            "hour": "8",
            "threshold": "0.7",
            "recipients": [owner.pk],
        },
    )
    assert response.status_code == 302
    schedule = ReportSchedule.objects.get(organization=org)
    assert (schedule.weekday, schedule.hour, schedule.params) == (4, 8, {"threshold": 0.7})
    assert owner_client.post(url, {"report": "nope"}).status_code == 400
    delete = reverse("report-schedule-delete", args=[schedule.code])
    assert outsider_client.post(delete).status_code == 404
    assert owner_client.post(delete).status_code == 302
    assert not ReportSchedule.objects.exists() and not ReportRun.objects.exists()
