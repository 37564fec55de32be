"""Mailgun's inbound route posts the parsed message with an HMAC signature over timestamp +
token; anymail verifies it. A correctly signed mail becomes a dispute, a forged one nothing."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest

from disputes.models import Dispute
from tests.factories import CustomerFactory, InvoiceFactory

KEY = "key-test-signing"
URL = "/anymail/mailgun/inbound/"


@pytest.fixture(autouse=True)
def _signing_key(settings):
    settings.ANYMAIL = {**getattr(settings, "ANYMAIL", {}), "MAILGUN_WEBHOOK_SIGNING_KEY": KEY}


def _post(client, *, subject, body, key=KEY, recipient="disputes+org-a@in.example"):
    timestamp, token = str(int(time.time())), "a" * 50
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return client.post(
        URL,
        {
            "recipient": recipient,
            "sender": "ap@customer.example",
            "from": "Alex <ap@customer.example>",
            "To": recipient,
            "subject": subject,
            "body-plain": body,
            "stripped-text": body,
            "message-headers": "[]",
            "timestamp": timestamp,
            "token": token,
            "signature": signature,
        },
    )


def test_signed_mail_naming_an_invoice_becomes_a_linked_dispute(client, org):
    invoice = InvoiceFactory(customer=CustomerFactory(organization=org), number="INV-4471")
    response = _post(client, subject="Re: INV-4471", body="We were charged twice for INV-4471.")
    assert response.status_code == 200
    dispute = Dispute.objects.get()
    assert dispute.invoice == invoice
    assert dispute.channel == "email"
    assert dispute.sender == "ap@customer.example"
    invoice.refresh_from_db()
    assert invoice.disputed


def test_mail_without_invoice_lands_unlinked(client, org):
    _post(client, subject="Question", body="Where is our delivery?")
    dispute = Dispute.objects.get()
    assert dispute.invoice is None
    assert dispute.organization == org


def test_forged_signature_is_refused(client, org):
    response = _post(client, subject="INV-1", body="fake", key="wrong-key")
    assert response.status_code == 400
    assert not Dispute.objects.exists()


def _post_reply(client, *, subject, body, in_reply_to="", references=""):
    import json

    timestamp, token = str(int(time.time())), "b" * 50
    signature = hmac.new(KEY.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    headers = [["Subject", subject]]
    if in_reply_to:
        headers.append(["In-Reply-To", in_reply_to])
    if references:
        headers.append(["References", references])
    return client.post(
        URL,
        {
            "recipient": "disputes+org-a@in.example",
            "sender": "someone-else@elsewhere.example",
            "from": "Someone <someone-else@elsewhere.example>",
            "subject": subject,
            "body-plain": body,
            "stripped-text": body,
            "message-headers": json.dumps(headers),
            "timestamp": timestamp,
            "token": token,
            "signature": signature,
        },
    )


def _sent_reminder(org, invoices, message_id):
    from reminders.models import ReminderItem
    from tests.factories import ReminderFactory

    reminder = ReminderFactory(
        organization=org,
        customer=invoices[0].customer,
        status="sent",
        sent_at="2026-06-15T09:00:00Z",
        message_id=message_id,
    )
    for invoice in invoices:
        ReminderItem.objects.create(
            organization=org,
            reminder=reminder,
            invoice=invoice,
            step_key=reminder.step_key,
            step_offset=reminder.step.offset_days,
            amount=invoice.total,
            currency=invoice.currency,
            due_date=invoice.due_date,
        )
    return reminder


def test_reply_to_a_reminder_is_linked_by_in_reply_to(client, org):
    """The reply names no invoice and comes from an address we do not know: the quoted
    Message-ID alone links it to the reminder's customer and its one invoice."""
    invoice = InvoiceFactory(customer=CustomerFactory(organization=org), number="INV-9001")
    _sent_reminder(org, [invoice], "<reminder.1@pay.example>")
    response = _post_reply(
        client,
        subject="Re: Friendly heads-up",
        body="We never received these goods.",
        in_reply_to="<reminder.1@pay.example>",
    )
    assert response.status_code == 200
    dispute = Dispute.objects.get()
    assert dispute.invoice == invoice
    assert dispute.customer == invoice.customer
    invoice.refresh_from_db()
    assert invoice.disputed


def test_reply_found_through_references_links_the_customer_of_a_consolidated_reminder(client, org):
    customer = CustomerFactory(organization=org)
    first = InvoiceFactory(customer=customer, number="INV-9101")
    second = InvoiceFactory(customer=customer, number="INV-9102")
    _sent_reminder(org, [first, second], "<reminder.2@pay.example>")
    _post_reply(
        client,
        subject="Re: Re: Statement",
        body="The prices on these are wrong.",
        references="<other@x.example> <reminder.2@pay.example> <later@mail.example>",
    )
    dispute = Dispute.objects.get()
    # Two invoices listed and none named: the customer is known, the invoice is for a person.
    assert dispute.invoice is None
    assert dispute.customer == customer


def test_reply_quoting_another_organizations_reminder_is_not_linked(client, org):
    from tests.factories import OrganizationFactory

    other = OrganizationFactory(slug="org-b")
    invoice = InvoiceFactory(customer=CustomerFactory(organization=other), number="INV-9201")
    _sent_reminder(other, [invoice], "<reminder.3@pay.example>")
    _post_reply(
        client, subject="Re: hi", body="Wrong price.", in_reply_to="<reminder.3@pay.example>"
    )
    dispute = Dispute.objects.get()
    assert dispute.organization == org
    assert dispute.invoice is None and dispute.customer is None
