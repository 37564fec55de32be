"""Change events in (F53): the Debezium envelope applied to the ledger, per key in order."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from integrations.cdc.apply import APPLIED, DEAD, STALE, TOMBSTONE, apply_record
from integrations.cdc.envelope import BadEvent, decode_decimal, parse_record
from integrations.cdc.wire import encode_decimal, record, tombstone
from integrations.models import ChangeKey, DeadLetter
from invoices.models import Invoice, Payment, PaymentStatus, Source
from tests.factories import CustomerFactory, InvoiceFactory

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


@pytest.fixture
def ledger(org):
    customer = CustomerFactory(organization=org, external_id="cus_42", currency="USD")
    invoice = InvoiceFactory(
        organization=org,
        customer=customer,
        number="INV-0042",
        total=Decimal("500.00"),
        balance=Decimal("500.00"),
        currency="USD",
    )
    return customer, invoice


def _row(**changes):
    row = {
        "id": 9001,
        "customer_ref": "cus_42",
        "invoice_refs": "INV-0042",
        "amount": "500.00",
        "currency": "USD",
        "fee": "14.80",
        "processor": "stripe",
        "method": "card",
        "status": "pending",
        "failure_code": None,
        "created_at": T0,
        "reference": "ch_9001",
    }
    return {**row, **changes}


def test_connect_decimal_is_base64_twos_complement_with_the_schema_scale():
    assert encode_decimal("12.50") == "BOI="
    assert decode_decimal("BOI=", {"scale": "2"}) == Decimal("12.50")
    assert decode_decimal(encode_decimal("-7.05"), {"scale": 2}) == Decimal("-7.05")
    with pytest.raises(BadEvent, match="no scale"):
        decode_decimal("BOI=", None)


def test_temporal_types_of_the_postgres_connector():
    schema = {
        "type": "struct",
        "fields": [
            {
                "field": "after",
                "type": "struct",
                "fields": [
                    {"field": "d", "name": "io.debezium.time.Date"},
                    {"field": "ms", "name": "io.debezium.time.Timestamp"},
                    {"field": "us", "name": "io.debezium.time.MicroTimestamp"},
                    {"field": "z", "name": "io.debezium.time.ZonedTimestamp"},
                ],
            }
        ],
    }
    micros = 1_772_443_800_000_000  # 2026-03-02T09:30:00Z
    value = {
        "schema": schema,
        "payload": {
            "op": "c",
            "before": None,
            "after": {
                "d": 20514,
                "ms": micros // 1000,
                "us": micros,
                "z": "2026-03-02T10:30:00+01:00",
            },
            "source": {"table": "payments", "lsn": 1},
            "ts_ms": 5,
        },
    }
    event = parse_record('{"id": 1}', json.dumps(value))
    assert event.after["d"] == dt.date(2026, 3, 2)
    assert event.after["ms"] == event.after["us"] == event.after["z"] == T0


@pytest.mark.parametrize("schemas", [True, False])
def test_create_update_applies_payment_with_allocation_and_fields(org, ledger, schemas):
    customer, invoice = ledger
    key, value = record(
        "payments", "c", before=None, after=_row(), lsn=100, ts_ms=1000, schemas=schemas
    )
    assert apply_record(org, key, value) == APPLIED
    payment = Payment.objects.get(organization=org, source=Source.STREAM, external_id="9001")
    assert (payment.amount, payment.status, payment.method, payment.processor) == (
        Decimal("500.00"),
        PaymentStatus.PENDING,
        "card",
        "stripe",
    )
    assert payment.customer == customer and payment.received_at == T0
    assert payment.allocations.get().invoice == invoice
    assert ChangeKey.objects.get(organization=org, table="payments").row["fee"] == "14.80"

    key, value = record(
        "payments",
        "u",
        before=_row(),
        after=_row(status="settled"),
        lsn=200,
        ts_ms=2000,
        schemas=schemas,
    )
    assert apply_record(org, key, value) == APPLIED
    payment.refresh_from_db()
    invoice.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert invoice.balance == Decimal("0.00")


def test_duplicates_and_older_events_change_nothing(org, ledger):
    newer = record(
        "payments",
        "u",
        before=None,
        after=_row(status="failed", failure_code="card_declined"),
        lsn=300,
        ts_ms=3000,
    )
    older = record(
        "payments", "c", before=None, after=_row(status="succeeded"), lsn=100, ts_ms=1000
    )
    assert apply_record(org, *newer) == APPLIED
    assert apply_record(org, *newer) == STALE
    assert apply_record(org, *older) == STALE
    payment = Payment.objects.get(external_id="9001")
    assert payment.status == PaymentStatus.FAILED and payment.failure_code == "card_declined"
    assert not payment.allocations.exists()
    # Same LSN (one transaction), later ts_ms: the connector's order decides.
    same_lsn_later = record(
        "payments", "u", before=None, after=_row(status="succeeded"), lsn=300, ts_ms=3001
    )
    assert apply_record(org, *same_lsn_later) == APPLIED
    assert Payment.objects.get(external_id="9001").status == PaymentStatus.SUCCEEDED


def test_delete_voids_and_tombstone_is_harmless(org, ledger):
    _, invoice = ledger
    apply_record(
        org, *record("payments", "c", before=None, after=_row(status="succeeded"), lsn=100, ts_ms=1)
    )
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("0.00")
    assert (
        apply_record(
            org, *record("payments", "d", before={"id": 9001}, after=None, lsn=200, ts_ms=2)
        )
        == APPLIED
    )
    assert apply_record(org, *tombstone(9001), table="payments") == TOMBSTONE
    payment = Payment.objects.get(external_id="9001")
    invoice.refresh_from_db()
    assert payment.status == PaymentStatus.REFUNDED and not payment.allocations.exists()
    assert invoice.balance == Decimal("500.00")
    # The create replayed after the delete is older: the payment stays void.
    assert (
        apply_record(
            org,
            *record("payments", "c", before=None, after=_row(status="succeeded"), lsn=100, ts_ms=1),
        )
        == STALE
    )
    assert Payment.objects.get(external_id="9001").status == PaymentStatus.REFUNDED


def test_refund_before_its_payment_refunds_it_on_arrival(org, ledger):
    refund = {"id": 7, "payment_id": 9001, "amount": "500.00", "status": "succeeded"}
    assert (
        apply_record(org, *record("refunds", "c", before=None, after=refund, lsn=50, ts_ms=1))
        == APPLIED
    )
    assert not Payment.objects.exists()
    apply_record(
        org, *record("payments", "c", before=None, after=_row(status="succeeded"), lsn=100, ts_ms=2)
    )
    assert Payment.objects.get(external_id="9001").status == PaymentStatus.REFUNDED
    # The refund deleted at the source: the payment counts again.
    apply_record(org, *record("refunds", "d", before=refund, after=None, lsn=150, ts_ms=3))
    payment = Payment.objects.get(external_id="9001")
    assert payment.status == PaymentStatus.SUCCEEDED and payment.allocations.exists()


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ('{"id": 1}', "{not json", "not JSON"),
        ('{"id": 1}', json.dumps({"op": "x", "after": {}}), "unknown op"),
        (
            '{"id": 1}',
            json.dumps({"op": "c", "after": None, "source": {"table": "payments"}}),
            "without an after",
        ),
        (None, json.dumps({"op": "c"}), "no key"),
    ],
)
def test_malformed_events_go_to_dead_letters_with_the_reason(org, key, value, reason):
    assert apply_record(org, key, value, table="payments") == DEAD
    assert reason in DeadLetter.objects.get(organization=org).reason


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"customer_ref": "cus_missing"}, "customer 'cus_missing'"),
        ({"invoice_refs": "INV-404"}, "invoice INV-404 not found"),
        ({"amount": 12.5}, "decimal.handling.mode=string"),
        ({"amount": "900.00", "status": "succeeded"}, "over-allocation"),
        ({"status": "teleported"}, "unknown payment status"),
    ],
)
def test_unmappable_events_go_to_dead_letters_and_write_nothing(org, ledger, changes, reason):
    key, value = record("payments", "c", before=None, after=_row(**changes), lsn=1, ts_ms=1)
    assert apply_record(org, key, value) == DEAD
    assert reason in DeadLetter.objects.get(organization=org).reason
    assert not Payment.objects.exists() and not ChangeKey.objects.exists()
    assert Invoice.objects.get(number="INV-0042").balance == Decimal("500.00")


def test_unknown_table_is_dead_lettered(org):
    key, value = record("ledger_lines", "c", before=None, after={"id": 1}, lsn=1, ts_ms=1)
    assert apply_record(org, key, value) == DEAD
    assert "no mapping for table 'ledger_lines'" in DeadLetter.objects.get().reason
