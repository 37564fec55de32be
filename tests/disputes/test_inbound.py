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
