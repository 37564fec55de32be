"""Void and write off from the invoice page (disputes are opened in the Disputes panel):
services, audit, errors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.urls import reverse

from invoices.models import PaymentAllocation
from paypredict_project.tenancy.models import AuditLog
from tests.factories import PaymentFactory


def test_it_asks_for_confirmation_before_voiding(collector_client, ledger):
    url = reverse("invoice-void", kwargs={"code": ledger["current"].code})
    response = collector_client.get(url)
    assert response.status_code == 200
    assert "Void invoice INV-CUR?" in response.content.decode()
    ledger["current"].refresh_from_db()
    assert ledger["current"].status == "open"


def test_it_voids_through_the_service_and_records_who(collector_client, collector, ledger):
    url = reverse("invoice-void", kwargs={"code": ledger["current"].code})
    response = collector_client.post(url, follow=True)
    assert response.redirect_chain[-1][0] == reverse(
        "invoice-detail", kwargs={"code": ledger["current"].code}
    )
    assert "Invoice INV-CUR voided." in response.content.decode()
    ledger["current"].refresh_from_db()
    assert ledger["current"].status == "void"
    entry = AuditLog.objects.get(action="invoice.void")
    assert entry.actor == collector and entry.object_code == str(ledger["current"].code)
    # The audit history on the page shows the change.
    assert "invoice.void" in response.content.decode()


def test_it_explains_why_an_invoice_with_payments_cannot_be_voided(org, owner_client, ledger):
    invoice = ledger["late"]
    payment = PaymentFactory(organization=org, customer=ledger["acme"], amount=Decimal("50.00"))
    PaymentAllocation.objects.create(
        organization=org, payment=payment, invoice=invoice, amount=Decimal("50.00")
    )
    response = owner_client.post(reverse("invoice-void", kwargs={"code": invoice.code}))
    assert response.status_code == 400
    assert "cannot be voided; refund or reallocate the payments first" in (
        response.content.decode()
    )
    invoice.refresh_from_db()
    assert invoice.status == "open"


def test_it_writes_off_and_refuses_a_second_time(owner_client, ledger):
    url = reverse("invoice-write-off", kwargs={"code": ledger["late"].code})
    assert owner_client.post(url).status_code == 302
    ledger["late"].refresh_from_db()
    assert ledger["late"].status == "written_off"
    again = owner_client.post(url)
    assert again.status_code == 400
    assert "a written off invoice cannot be written off" in again.content.decode()


def test_the_invoice_page_offers_open_dispute_and_no_flag_toggle(collector_client, ledger):
    # The dispute workflow owns the disputed flag: no control sets or clears it directly.
    for invoice in (ledger["current"], ledger["late"]):
        body = collector_client.get(
            reverse("invoice-detail", kwargs={"code": invoice.code})
        ).content.decode()
        assert "Open dispute" in body
        assert "Mark as disputed" not in body and "Clear disputed flag" not in body
    old_toggle = f"/invoices/{ledger['current'].code}/dispute/"
    assert collector_client.post(old_toggle, {"disputed": "true"}).status_code == 404
    ledger["current"].refresh_from_db()
    assert ledger["current"].disputed is False


def test_it_shows_lines_payments_and_allocations(org, owner_client, ledger):
    from invoices.services import invoice_create, payment_record

    invoice = invoice_create(
        organization=org,
        customer=ledger["acme"],
        number="INV-LINES",
        issue_date=dt.date(2026, 3, 1),
        lines=[
            {"description": "Widgets", "quantity": Decimal("3"), "unit_price": Decimal("10.50")},
            {"description": "Setup fee", "unit_price": Decimal("100"), "tax": Decimal("8")},
        ],
    )
    payment_record(
        organization=org,
        customer=ledger["acme"],
        amount=Decimal("50.00"),
        received_at=dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC),
        allocations=[(invoice, Decimal("40.00"))],
        reference="WIRE-123",
    )
    body = owner_client.get(reverse("invoice-detail", kwargs={"code": invoice.code})).content
    body = body.decode()
    for text in (
        "Widgets",
        "Setup fee",
        "31.50",
        "WIRE-123",
        "40.00 USD",
        "50.00 USD",
        "Partially paid",
    ):
        assert text in body, text
    assert "invoice.create" in body
