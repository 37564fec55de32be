"""Settlement batches and the payment reconciliation status: services, API, payment pages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from invoices import services
from invoices.models import (
    ReconciliationStatus,
    SettlementBatch,
    SettlementSource,
    SettlementStatus,
)
from paypredict_project.events.models import OutboxEvent
from paypredict_project.tenancy.models import AuditLog
from tests.factories import CustomerFactory, InvoiceFactory, PaymentFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/settlements"
LANDED = dt.datetime(2026, 2, 3, 9, 30, tzinfo=dt.UTC)


@pytest.fixture
def customer(org):
    return CustomerFactory(organization=org, currency="USD")


@pytest.fixture
def payments(customer):
    return [
        PaymentFactory(customer=customer, amount=Decimal("100.00"), processor="stripe"),
        PaymentFactory(customer=customer, amount=Decimal("250.00"), processor="stripe"),
    ]


def _batch(org, payments=(), **fields):
    values = {
        "organization": org,
        "processor": "stripe",
        "gross": Decimal("350.00"),
        "fees": Decimal("10.45"),
        "expected_settle_date": dt.date(2026, 2, 3),
        "reference": "po_123",
        "payments": payments,
        **fields,
    }
    return services.settlement_batch_create(**values)


def test_it_keeps_a_pending_batch_and_settles_it_later(org, payments):
    batch = _batch(org, payments)
    assert (batch.status, batch.net) == (SettlementStatus.PENDING, Decimal("339.55"))
    assert {p.reconciliation_status for p in batch.payments.all()} == {"pending"}

    services.settlement_batch_settle(batch=batch, settled_at=LANDED)

    batch.refresh_from_db()
    assert (batch.status, batch.settled_at) == (SettlementStatus.SETTLED, LANDED)
    for payment in payments:
        payment.refresh_from_db()
        assert payment.reconciliation_status == ReconciliationStatus.SETTLED
        assert payment.settlement_batch_id == batch.pk
    event = OutboxEvent.objects.get(organization=org, type="settlement.settled")
    assert event.payload["net"] == "339.55" and event.payload["payments"] == 2
    actions = set(AuditLog.objects.filter(organization=org).values_list("action", flat=True))
    assert {"settlement.create", "settlement.settle"} <= actions


def test_it_rejects_net_that_is_not_gross_less_fees_naming_the_field(org, payments):
    with pytest.raises(ValidationError) as error:
        _batch(org, payments, net=Decimal("340.00"))
    assert "net" in error.value.message_dict
    assert "339.55" in error.value.message_dict["net"][0]
    assert not SettlementBatch.objects.filter(organization=org).exists()


def test_it_rejects_payments_of_another_currency_org_or_batch(org, other_org, payments):
    foreign = PaymentFactory(customer=CustomerFactory(organization=other_org))
    euro = PaymentFactory(customer=CustomerFactory(organization=org, currency="EUR"))
    for payment in (foreign, euro):
        with pytest.raises(ValidationError) as error:
            _batch(org, [payment])
        assert "payments" in error.value.message_dict
    _batch(org, payments[:1])
    with pytest.raises(ValidationError, match="already in another settlement batch"):
        _batch(org, payments[:1], reference="po_456")
    assert SettlementBatch.objects.filter(organization=org).count() == 1


def test_a_payment_is_reconciled_once_fully_applied_then_settled(org, customer):
    invoice = InvoiceFactory(customer=customer, total=Decimal("300.00"))
    payment = PaymentFactory(customer=customer, amount=Decimal("300.00"))
    services.payment_allocate(payment=payment, invoice=invoice, amount=Decimal("200.00"))
    payment.refresh_from_db()
    assert payment.reconciliation_status == ReconciliationStatus.PENDING

    services.payment_allocate(
        payment=payment, invoice=invoice, amount=Decimal("100.00"), source=SettlementSource.AUTO
    )
    payment.refresh_from_db()
    assert payment.reconciliation_status == ReconciliationStatus.RECONCILED
    assert payment.reconciliation_source == SettlementSource.AUTO
    assert payment.reconciled_at is not None

    batch = _batch(org, [payment], gross=Decimal("300.00"), fees=Decimal("0"), settled_at=LANDED)
    payment.refresh_from_db()
    assert payment.reconciliation_status == ReconciliationStatus.SETTLED

    services.settlement_batch_void(batch=batch)
    payment.refresh_from_db()
    assert (payment.reconciliation_status, payment.settlement_batch_id) == ("reconciled", None)


def test_upsert_applies_the_same_row_twice_without_change(org, payments):
    fields = {
        "processor": "adyen",
        "gross": Decimal("350.00"),
        "fees": Decimal("5.00"),
        "expected_settle_date": dt.date(2026, 2, 4),
        "payments": payments,
    }
    batch, created = services.settlement_batch_upsert(
        organization=org, source=SettlementSource.STREAM, external_id="st_1", **fields
    )
    again, created_again = services.settlement_batch_upsert(
        organization=org, source=SettlementSource.STREAM, external_id="st_1", **fields
    )
    assert (created, created_again, again.pk) == (True, False, batch.pk)
    settled, _ = services.settlement_batch_upsert(
        organization=org,
        source=SettlementSource.STREAM,
        external_id="st_1",
        **{**fields, "fees": Decimal("6.00")},
        settled_at=LANDED,
    )
    settled.refresh_from_db()
    assert (settled.status, settled.net) == (SettlementStatus.SETTLED, Decimal("344.00"))
    assert SettlementBatch.objects.filter(organization=org).count() == 1


# ---- API


def _payload(payments, **extra) -> dict:
    return {
        "processor": "stripe",
        "gross": "350.00",
        "fees": "10.45",
        "expected_settle_date": "2026-02-03",
        "reference": "po_api",
        "payments": [str(p.code) for p in payments],
        **extra,
    }


def test_it_creates_a_settled_batch_through_the_api(collector_client, payments):
    response = collector_client.post(
        LIST,
        _payload(payments, settled_at="2026-02-03T09:30:00Z"),
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["net"], body["payment_count"]) == ("settled", "339.55", 2)
    assert body["source"] == "manual"

    payment = collector_client.get(f"/api/v1/payments/{payments[0].code}").json()
    assert payment["reconciliation_status"] == "settled"
    assert payment["settlement"]["id"] == body["id"]
    assert payment["settlement"]["status"] == "settled"


def test_api_create_names_each_bad_field(owner_client, payments):
    response = owner_client.post(
        LIST,
        {
            **_payload(payments, gross="-1", expected_settle_date="someday", source="auto"),
            "payments": ["not-a-uuid"],
            "colour": "red",
        },
        content_type="application/json",
    )
    assert response.status_code == 400
    text = str(response.json())
    for field in ("gross", "expected_settle_date", "source", "payments", "colour"):
        assert field in text

    mismatch = owner_client.post(
        LIST, _payload(payments, net="1.00"), content_type="application/json"
    )
    assert mismatch.status_code == 400 and "net" in str(mismatch.json())


def test_viewers_read_but_cannot_create(viewer_client, org, payments):
    _batch(org, payments)
    assert viewer_client.get(LIST).status_code == 200
    response = viewer_client.post(LIST, _payload([]), content_type="application/json")
    assert response.status_code == 403


def test_api_lists_with_filters_and_hides_other_orgs(owner_client, org, other_org, payments):
    pending = _batch(org, payments[:1], reference="po_pending")
    settled = _batch(org, payments[1:], reference="po_done", processor="adyen", settled_at=LANDED)
    _batch(
        other_org,
        [],
        reference="po_theirs",
        currency="USD",
    )
    body = owner_client.get(LIST).json()
    assert {row["reference"] for row in body["results"]} == {"po_pending", "po_done"}
    only_settled = owner_client.get(LIST, {"status": "settled"}).json()["results"]
    assert [row["id"] for row in only_settled] == [str(settled.code)]
    by_processor = owner_client.get(LIST, {"processor": "STRIPE"}).json()["results"]
    assert [row["id"] for row in by_processor] == [str(pending.code)]
    detail = owner_client.get(f"{LIST}/{settled.code}")
    assert detail.json()["payment_count"] == 1
    theirs = SettlementBatch.objects.get(organization=other_org)
    assert owner_client.get(f"{LIST}/{theirs.code}").status_code == 404


def test_payment_pages_show_reconciliation_and_settlement(owner_client, org, payments):
    _batch(org, payments, settled_at=LANDED)
    page = owner_client.get(reverse("payment-detail", args=[payments[0].code])).content.decode()
    assert "Reconciliation and settlement" in page
    assert "po_123" in page and "Settled" in page
    listing = owner_client.get(reverse("payment-list")).content.decode()
    assert "status-settled" in listing
    filtered = owner_client.get("/api/v1/payments", {"reconciliation_status": "pending"}).json()[
        "results"
    ]
    assert filtered == []
