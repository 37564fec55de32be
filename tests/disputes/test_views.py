from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from disputes import services
from disputes.models import Dispute, DisputeStatus
from tests.factories import CustomerFactory, InvoiceFactory


@pytest.fixture
def invoice(org):
    return InvoiceFactory(customer=CustomerFactory(organization=org), total=Decimal("300.00"))


@pytest.fixture
def dispute(invoice):
    return services.dispute_open(
        organization=invoice.organization,
        invoice=invoice,
        text="We were billed twice for the same delivery.",
        amount=Decimal("300"),
        classify=False,
    )


def test_collector_opens_a_dispute_from_the_invoice_page(collector_client, invoice):
    page = collector_client.get(reverse("invoice-detail", args=[invoice.code]))
    assert b"Open dispute" in page.content
    response = collector_client.post(
        reverse("invoice-dispute-open", args=[invoice.code]),
        {"text": "Price should be 9.00", "amount": "20.00", "category": ""},
    )
    dispute = Dispute.objects.get(invoice=invoice)
    assert response.status_code == 302
    assert response.url == reverse("dispute-detail", args=[dispute.code])
    assert dispute.amount == Decimal("20.00")
    invoice.refresh_from_db()
    assert invoice.disputed


def test_viewer_sees_but_cannot_open_or_act(viewer_client, invoice, dispute):
    page = viewer_client.get(reverse("invoice-detail", args=[invoice.code]))
    assert b"invoice-disputes" in page.content
    assert b'name="text"' not in page.content
    assert viewer_client.get(reverse("dispute-queue")).status_code == 200
    assert viewer_client.get(reverse("dispute-detail", args=[dispute.code])).status_code == 200
    denied = viewer_client.post(
        reverse("dispute-action", args=[dispute.code, "reject"]), {"reason": "no"}
    )
    assert denied.status_code == 403
    dispute.refresh_from_db()
    assert dispute.status == DisputeStatus.OPEN


def test_outsider_gets_404(outsider_client, dispute):
    assert outsider_client.get(reverse("dispute-detail", args=[dispute.code])).status_code == 404
    response = outsider_client.post(
        reverse("dispute-action", args=[dispute.code, "reject"]), {"reason": "x"}
    )
    assert response.status_code == 404


def test_queue_filters_and_htmx_partial(collector_client, dispute):
    url = reverse("dispute-queue")
    page = collector_client.get(url)
    assert dispute.text[:40].encode() in page.content
    partial = collector_client.get(url, {"status": "resolved"}, HTTP_HX_REQUEST="true")
    assert b"<html" not in partial.content
    assert b"No disputes match" in partial.content


def test_confirm_then_credit_note_from_detail(collector_client, collector, dispute, invoice):
    base = [dispute.code]
    collector_client.post(
        reverse("dispute-action", args=[*base, "confirm"]), {"category": "duplicate_billing"}
    )
    collector_client.post(
        reverse("dispute-action", args=[*base, "assign"]), {"assignee": collector.pk}
    )
    collector_client.post(
        reverse("dispute-action", args=[*base, "resolve"]),
        {"resolution": "credit_note", "amount": "300.00", "note": "duplicate"},
    )
    dispute.refresh_from_db()
    invoice.refresh_from_db()
    assert dispute.category == "duplicate_billing"
    assert dispute.assignee == collector
    assert dispute.status == DisputeStatus.RESOLVED
    assert invoice.balance == Decimal("0.00")
    assert not invoice.disputed
    page = collector_client.get(reverse("dispute-detail", args=base))
    assert b"resolve" in page.content


def test_bulk_assign(collector_client, collector, dispute):
    collector_client.post(
        reverse("dispute-bulk-assign"), {"code": [str(dispute.code)], "assignee": collector.pk}
    )
    dispute.refresh_from_db()
    assert dispute.assignee == collector
    assert dispute.status == DisputeStatus.IN_REVIEW
