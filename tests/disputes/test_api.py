from __future__ import annotations

from decimal import Decimal

import pytest

from disputes.models import Dispute, DisputeStatus
from tests.factories import CustomerFactory, InvoiceFactory

URL = "/api/v1/disputes"


@pytest.fixture
def invoice(org):
    return InvoiceFactory(customer=CustomerFactory(organization=org), total=Decimal("250.00"))


def _create(client, invoice, **extra):
    body = {"invoice": str(invoice.code), "text": "Charged twice for one delivery.", **extra}
    return client.post(URL, body, content_type="application/json")


def test_create_retrieve_list_and_resolve(collector_client, invoice):
    created = _create(collector_client, invoice, amount="250.00")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["invoice"]["number"] == invoice.number
    assert body["channel"] == "api"
    assert body["amount"] == "250.00"
    listed = collector_client.get(URL, {"status": "active"}).json()
    assert [d["id"] for d in listed["results"]] == [body["id"]]
    confirm = collector_client.post(
        f"{URL}/{body['id']}/confirm-category",
        {"category": "duplicate_billing"},
        content_type="application/json",
    )
    assert confirm.json()["category"] == "duplicate_billing"
    resolved = collector_client.post(
        f"{URL}/{body['id']}/resolve",
        {"resolution": "credit_note", "amount": "250.00"},
        content_type="application/json",
    )
    assert resolved.status_code == 200
    assert resolved.json()["status"] == "resolved"
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("0.00")


def test_bad_input_names_the_field(collector_client, invoice):
    response = _create(collector_client, invoice, category="angry")
    assert response.status_code == 400
    assert "category" in str(response.json())
    _create(collector_client, invoice)
    second = _create(collector_client, invoice)
    assert second.status_code == 400
    assert "invoice" in str(second.json())
    dispute = Dispute.objects.get(invoice=invoice)
    over = collector_client.post(
        f"{URL}/{dispute.code}/resolve",
        {"resolution": "credit_note", "amount": "999.00"},
        content_type="application/json",
    )
    assert over.status_code == 400
    assert "amount" in str(over.json())
    dispute.refresh_from_db()
    assert dispute.status == DisputeStatus.OPEN


def test_viewer_reads_but_cannot_write(viewer_client, invoice):
    assert viewer_client.get(URL).status_code == 200
    assert _create(viewer_client, invoice).status_code == 403
    assert not Dispute.objects.exists()


def test_outsider_cannot_see_or_use_another_orgs_invoice(
    outsider_client, collector_client, invoice
):
    dispute_id = _create(collector_client, invoice).json()["id"]
    assert outsider_client.get(f"{URL}/{dispute_id}").status_code == 404
    assert outsider_client.get(URL).json()["results"] == []
    response = _create(outsider_client, invoice)
    assert response.status_code == 400
    assert "not found" in str(response.json())


def test_schema_documents_the_actions(owner_client):
    schema = owner_client.get("/api/schema/?format=json").json()
    for path in ("/api/v1/disputes", "/api/v1/disputes/{id}/resolve"):
        assert path in schema["paths"]
