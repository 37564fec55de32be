"""The outbox: ledger services write events in their own transaction; the relay publishes
them in order to the organization's stream, once, and survives being killed."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from invoices import services
from paypredict_project.events.models import OutboxEvent
from paypredict_project.events.relay import relay_publish_batch
from paypredict_project.events.schemas import EVENT_TYPES, UnknownEventType, payload_problems
from paypredict_project.events.services import event_record
from paypredict_project.events.streams import entry_event, redis_client, stream_key
from tests.factories import CustomerFactory, OrganizationFactory

FEB_1 = dt.datetime(2026, 2, 1, 15, 0, tzinfo=dt.UTC)


def _stream(organization) -> list:
    return [entry_event(sid, f) for sid, f in redis_client().xrange(stream_key(organization.code))]


def _drain() -> int:
    total, verify = 0, True
    while count := relay_publish_batch(verify=verify):
        total, verify = total + count, False
    return total


@pytest.mark.django_db
def test_ledger_services_record_events_with_documented_payloads(org):
    customer = CustomerFactory(organization=org, name="Acme Tools")
    invoice = services.invoice_create(
        organization=org, customer=customer, number="INV-1", issue_date=FEB_1.date(), total="500"
    )
    services.payment_record(
        organization=org,
        customer=customer,
        amount=Decimal("500.00"),
        received_at=FEB_1,
        allocations=[(invoice, Decimal("500.00"))],
        method="ach",
        reference="ACH-1",
    )
    events = list(OutboxEvent.objects.filter(organization=org))
    assert [e.type for e in events] == ["invoice.created", "invoice.paid", "payment.received"]
    created, paid, received = events
    assert created.entity_id == str(invoice.code)
    assert created.payload["total"] == "500.00" and created.payload["status"] == "open"
    assert created.payload["customer"] == {"code": str(customer.code), "name": "Acme Tools"}
    assert paid.payload["balance"] == "0.00" and paid.payload["paid_date"] == "2026-02-01"
    assert received.payload["amount"] == "500.00"
    assert received.payload["invoices"] == ["INV-1"]
    assert received.payload["received_at"] == "2026-02-01T15:00:00+00:00"
    for event in events:
        assert payload_problems(event.type, event.payload) == []
    assert len({e.event_id for e in events}) == 3


@pytest.mark.django_db
def test_failed_refunded_and_voided_events(org):
    customer = CustomerFactory(organization=org)
    invoice = services.invoice_create(
        organization=org, customer=customer, number="INV-2", issue_date=FEB_1.date(), total="80"
    )
    payment = services.payment_record(
        organization=org, customer=customer, amount=Decimal("30"), received_at=FEB_1
    )
    services.payment_refund(payment=payment)
    pending = services.payment_record(
        organization=org,
        customer=customer,
        amount=Decimal("5"),
        received_at=FEB_1,
        status="pending",
    )
    services.payment_mark_failed(payment=pending, failure_code="R01", failure_reason="NSF")
    services.invoice_void(invoice=invoice)
    types = list(OutboxEvent.objects.filter(organization=org).values_list("type", flat=True))
    assert types == [
        "invoice.created",
        "payment.received",
        "payment.refunded",
        "payment.received",
        "payment.failed",
        "invoice.voided",
    ]
    failed = OutboxEvent.objects.get(type="payment.failed")
    assert failed.payload["failure_code"] == "R01" and failed.payload["status"] == "failed"


@pytest.mark.django_db
def test_a_rolled_back_change_publishes_nothing(org):
    customer = CustomerFactory(organization=org)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.invoice_create(
            organization=org,
            customer=customer,
            number="INV-3",
            issue_date=FEB_1.date(),
            total="10",
        )
        raise RuntimeError("the caller fails after the service")
    assert not OutboxEvent.objects.exists()


@pytest.mark.django_db
def test_event_record_refuses_unknown_types_and_bad_payloads(org):
    with pytest.raises(UnknownEventType):
        event_record(organization=org, type="invoice.exploded", entity_id="x", payload={})
    with pytest.raises(ValidationError, match="currency"):
        event_record(
            organization=org,
            type="settlement.settled",
            entity_id="b1",
            payload={
                "code": "8b8f3f5e-0000-4000-8000-000000000001",
                "processor": "stripe",
                "net": "10.00",
                "currency": "usd",
            },
        )
    assert not OutboxEvent.objects.exists()


def test_every_documented_type_has_a_schema():
    expected = {
        "invoice.created",
        "invoice.updated",
        "invoice.paid",
        "invoice.voided",
        "payment.received",
        "payment.failed",
        "payment.refunded",
        "dispute.opened",
        "dispute.resolved",
        "prediction.risk_changed",
        "reminder.sent",
        "settlement.settled",
        "sync.finished",
        "import.finished",
    }
    assert set(EVENT_TYPES) == expected
    docs = (settings.BASE_DIR / "docs" / "events.md").read_text()
    for event_type in expected:
        assert f"`{event_type}`" in docs


@pytest.mark.django_db
def test_relay_publishes_in_order_to_each_organizations_stream_once(org, other_org):
    for n in range(5):
        event_record(
            organization=org if n % 2 == 0 else other_org,
            type="import.finished",
            entity_id=f"run-{n}",
            payload={"kind": "invoices", "created": n, "updated": 0},
        )
    assert _drain() == 5
    mine, theirs = _stream(org), _stream(other_org)
    assert [e.entity_id for e in mine] == ["run-0", "run-2", "run-4"]
    assert [e.entity_id for e in theirs] == ["run-1", "run-3"]
    assert {e.organization for e in mine} == {str(org.code)}
    assert mine[1].payload == {"kind": "invoices", "created": 2, "updated": 0}
    rows = OutboxEvent.objects.filter(organization=org).order_by("id")
    assert [r.stream_id for r in rows] == [e.stream_id for e in mine]
    assert not OutboxEvent.objects.filter(published_at=None).exists()
    assert _drain() == 0
    assert len(_stream(org)) == 3


@pytest.mark.django_db
def test_a_relay_that_died_after_publishing_does_not_publish_twice(org, monkeypatch):
    for n in range(3):
        event_record(
            organization=org,
            type="import.finished",
            entity_id=f"run-{n}",
            payload={"kind": "payments", "created": 1, "updated": 0},
        )
    # The batch reaches Redis, then the database write marking it published fails.
    original = OutboxEvent.objects.bulk_update

    def crash(*args, **kwargs):
        raise ConnectionError("killed between XADD and COMMIT")

    monkeypatch.setattr(OutboxEvent.objects, "bulk_update", crash)
    with pytest.raises(ConnectionError):
        relay_publish_batch()
    monkeypatch.setattr(OutboxEvent.objects, "bulk_update", original)
    assert OutboxEvent.objects.filter(published_at=None).count() == 3
    assert len(_stream(org)) == 3
    # A restarted relay checks the stream tail first and only marks them.
    assert _drain() == 3
    assert [e.entity_id for e in _stream(org)] == ["run-0", "run-1", "run-2"]


def _database_url() -> str:
    db = connection.settings_dict
    return (
        f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT'] or 5432}/"
        f"{db['NAME']}"
    )


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_relay_killed_with_sigkill_mid_stream_loses_and_duplicates_nothing():
    organization = OrganizationFactory()
    OutboxEvent.objects.bulk_create(
        OutboxEvent(
            organization=organization,
            type="import.finished",
            entity_id=f"run-{n}",
            payload={"kind": "invoices", "created": n, "updated": 0},
            occurred_at=FEB_1,
        )
        for n in range(3000)
    )
    env = {**os.environ, "DATABASE_URL": _database_url(), "REDIS_URL": settings.REDIS_URL}
    command = [sys.executable, "manage.py", "relay_events", "--batch-size", "40"]
    relay = subprocess.Popen(command, env=env, cwd=settings.BASE_DIR)
    key = stream_key(organization.code)
    deadline = time.monotonic() + 60
    while redis_client().xlen(key) < 200 and time.monotonic() < deadline:
        time.sleep(0.01)
    relay.send_signal(signal.SIGKILL)
    relay.wait()
    assert 0 < redis_client().xlen(key) < 3000, "the kill should land mid-stream"
    subprocess.run([*command, "--once"], env=env, cwd=settings.BASE_DIR, check=True)
    published = [e.entity_id for e in _stream(organization)]
    assert published == [f"run-{n}" for n in range(3000)]
    assert not OutboxEvent.objects.filter(published_at=None).exists()
