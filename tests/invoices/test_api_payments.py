"""/api/v1/payments: record with allocations, allocate later, fail / refund / succeed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from invoices import services
from invoices.models import InvoiceStatus, Payment, PaymentAllocation, PaymentStatus
from tests.factories import CustomerFactory, InvoiceFactory, PaymentFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/payments"


def detail(payment) -> str:
    return f"{LIST}/{payment.code}"


@pytest.fixture
def customer(org):
    return CustomerFactory(organization=org, name="Acme Tools", currency="USD")


@pytest.fixture
def invoices(customer):
    return [
        InvoiceFactory(customer=customer, number="INV-1", total=Decimal("300.00")),
        InvoiceFactory(customer=customer, number="INV-2", total=Decimal("500.00")),
    ]


def _post(client, url, payload=None):
    return client.post(url, payload or {}, content_type="application/json")


def _payload(customer, amount, allocations=(), **extra) -> dict:
    return {
        "customer": str(customer.code),
        "amount": amount,
        "received_at": "2026-02-10T14:00:00Z",
        "method": "wire",
        "reference": "WIRE-0042",
        "allocations": [{"invoice": str(i.code), "amount": a} for i, a in allocations],
        **extra,
    }


def test_it_records_a_payment_and_moves_balances(owner_client, customer, invoices):
    first, second = invoices
    response = _post(
        owner_client,
        LIST,
        _payload(customer, "600.00", [(first, "300.00"), (second, "200.00")]),
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    payment = Payment.objects.get(code=body["id"])
    assert body["url"] == f"http://testserver{detail(payment)}"
    assert (body["amount"], body["currency"], body["status"], body["method"]) == (
        "600.00",
        "USD",
        "succeeded",
        "wire",
    )
    assert (body["allocated_amount"], body["unallocated_amount"]) == ("500.00", "100.00")
    assert {a["invoice"]["number"]: a["amount"] for a in body["allocations"]} == {
        "INV-1": "300.00",
        "INV-2": "200.00",
    }
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.balance, first.paid_date) == (
        InvoiceStatus.PAID,
        Decimal("0.00"),
        dt.date(2026, 2, 10),
    )
    assert (second.status, second.balance) == (InvoiceStatus.PARTIALLY_PAID, Decimal("300.00"))
    assert payment.source == "api"


def test_it_rejects_over_allocation_and_writes_nothing(owner_client, customer, invoices):
    first, second = invoices
    response = _post(
        owner_client, LIST, _payload(customer, "100.00", [(first, "80.00"), (second, "80.00")])
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "allocations": ["over-allocation: 160.00 allocated from a payment of 100.00"]
    }
    assert not Payment.objects.exists()
    first.refresh_from_db()
    assert first.balance == Decimal("300.00")


def test_it_rejects_over_payment_of_an_invoice(owner_client, customer, invoices):
    response = _post(owner_client, LIST, _payload(customer, "400.00", [(invoices[0], "400.00")]))
    assert response.status_code == 400
    message = response.json()["error"]["fields"]["allocations"][0]
    assert message == "over-allocation: 400.00 exceeds the 300.00 still open on invoice INV-1"
    assert not Payment.objects.exists()


def test_it_treats_another_organizations_invoice_as_not_found(
    owner_client, other_org, customer, invoices
):
    foreign = InvoiceFactory(customer=CustomerFactory(organization=other_org), number="FOREIGN-9")
    response = _post(
        owner_client,
        LIST,
        _payload(customer, "100.00", [(invoices[0], "50.00"), (foreign, "50.00")]),
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        # DRF keys list errors by the position of the bad item.
        "allocations": {"1": {"invoice": [f"invoice {foreign.code} not found"]}}
    }
    assert "FOREIGN-9" not in response.content.decode()
    assert not Payment.objects.exists()
    foreign.refresh_from_db()
    assert foreign.balance == foreign.total


def test_it_rejects_a_payment_in_another_currency(owner_client, customer, invoices):
    response = _post(
        owner_client,
        LIST,
        _payload(customer, "100.00", [(invoices[0], "100.00")], currency="EUR"),
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "allocations": ["a EUR payment cannot be applied to invoice INV-1 in USD"]
    }
    assert not Payment.objects.exists()


def test_it_allocates_unapplied_cash_later(owner_client, customer, invoices):
    created = _post(owner_client, LIST, _payload(customer, "250.00")).json()
    assert created["unallocated_amount"] == "250.00"
    url = f"{created['url']}/allocations"
    response = _post(owner_client, url, {"invoice": str(invoices[1].code), "amount": "200.00"})
    assert response.status_code == 201, response.json()
    assert response.json()["unallocated_amount"] == "50.00"
    invoices[1].refresh_from_db()
    assert invoices[1].balance == Decimal("300.00")

    over = _post(owner_client, url, {"invoice": str(invoices[0].code), "amount": "60.00"})
    assert over.status_code == 400
    assert over.json()["error"]["fields"]["allocations"] == [
        "over-allocation: 260.00 allocated from a payment of 250.00"
    ]
    assert PaymentAllocation.objects.count() == 1


def test_it_fails_a_payment_and_reopens_the_invoice(owner_client, org, customer, invoices):
    payment = services.payment_record(
        organization=org,
        customer=customer,
        amount=Decimal("300.00"),
        received_at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC),
        allocations=[(invoices[0], Decimal("300.00"))],
    )
    missing = _post(owner_client, f"{detail(payment)}/fail", {})
    assert missing.status_code == 400
    assert missing.json()["error"]["fields"] == {"failure_code": ["This field is required."]}

    response = _post(
        owner_client,
        f"{detail(payment)}/fail",
        {"failure_code": "R01", "failure_reason": "Insufficient funds"},
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["failure_code"]) == ("failed", "R01")
    invoices[0].refresh_from_db()
    assert (invoices[0].status, invoices[0].balance, invoices[0].paid_date) == (
        InvoiceStatus.OPEN,
        Decimal("300.00"),
        None,
    )

    again = _post(owner_client, f"{detail(payment)}/refund")
    assert again.status_code == 400
    assert again.json()["error"]["fields"] == {
        "status": ["a failed payment cannot become refunded"]
    }


def test_it_refunds_a_payment(owner_client, org, customer, invoices):
    payment = services.payment_record(
        organization=org,
        customer=customer,
        amount=Decimal("100.00"),
        received_at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC),
        allocations=[(invoices[0], Decimal("100.00"))],
    )
    response = _post(owner_client, f"{detail(payment)}/refund")
    assert response.status_code == 200
    assert response.json()["status"] == "refunded"
    invoices[0].refresh_from_db()
    assert (invoices[0].status, invoices[0].balance) == (InvoiceStatus.OPEN, Decimal("300.00"))


def test_it_marks_a_pending_payment_succeeded(owner_client, customer, invoices):
    created = _post(
        owner_client,
        LIST,
        _payload(customer, "300.00", [(invoices[0], "300.00")], status="pending"),
    ).json()
    invoices[0].refresh_from_db()
    assert invoices[0].status == InvoiceStatus.OPEN
    response = _post(owner_client, f"{created['url']}/succeed")
    assert response.status_code == 200
    invoices[0].refresh_from_db()
    assert (invoices[0].status, invoices[0].balance) == (InvoiceStatus.PAID, Decimal("0.00"))


def test_it_requires_a_failure_code_to_record_a_failed_payment(owner_client, customer):
    response = _post(owner_client, LIST, _payload(customer, "10.00", status="failed"))
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "failure_code": ["a failed payment needs a failure code"]
    }


def test_it_lists_filters_orders_and_pages_payments(owner_client, customer):
    for i, (amount, status) in enumerate(
        [("10", "succeeded"), ("20", "failed"), ("30", "succeeded"), ("40", "pending")]
    ):
        PaymentFactory(
            customer=customer,
            amount=Decimal(amount),
            status=status,
            method="card",
            received_at=dt.datetime(2026, 2, 1 + i, tzinfo=dt.UTC),
        )
    rows = owner_client.get(LIST).json()["results"]
    assert [row["amount"] for row in rows] == ["40.00", "30.00", "20.00", "10.00"]
    failed = owner_client.get(f"{LIST}?status=failed").json()["results"]
    assert [row["amount"] for row in failed] == ["20.00"]
    ordered = owner_client.get(f"{LIST}?ordering=amount&page_size=3").json()
    assert [row["amount"] for row in ordered["results"]] == ["10.00", "20.00", "30.00"]
    rest = owner_client.get(ordered["next"]).json()
    assert [row["amount"] for row in rest["results"]] == ["40.00"]
    assert rest["next"] is None


def test_it_lets_a_viewer_read_but_not_write(viewer_client, org, customer, invoices):
    payment = PaymentFactory(customer=customer)
    assert viewer_client.get(detail(payment)).status_code == 200
    for response in (
        _post(viewer_client, LIST, _payload(customer, "1.00")),
        _post(viewer_client, f"{detail(payment)}/allocations", {}),
        _post(viewer_client, f"{detail(payment)}/fail", {"failure_code": "x"}),
        _post(viewer_client, f"{detail(payment)}/refund"),
        _post(viewer_client, f"{detail(payment)}/succeed"),
    ):
        assert response.status_code == 403
        assert response.json()["error"]["message"] == "missing permission write:invoices"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert Payment.objects.count() == 1


def test_it_answers_404_to_an_outsider_and_leaks_nothing(outsider_client, customer, invoices):
    payment = PaymentFactory(customer=customer, reference="SECRET-REF")
    for response in (
        outsider_client.get(detail(payment)),
        _post(outsider_client, f"{detail(payment)}/refund"),
        _post(outsider_client, f"{detail(payment)}/fail", {"failure_code": "x"}),
        _post(outsider_client, f"{detail(payment)}/succeed"),
        _post(
            outsider_client,
            f"{detail(payment)}/allocations",
            {"invoice": str(invoices[0].code), "amount": "1.00"},
        ),
    ):
        assert response.status_code == 404
        assert "SECRET-REF" not in response.content.decode()
    assert "SECRET-REF" not in outsider_client.get(LIST).content.decode()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
