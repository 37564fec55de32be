"""Customer list and profile, and the reminder-preferences form."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from paypredict_project.tenancy.models import AuditLog
from tests.dashboard.conftest import HTMX
from tests.factories import CustomerFactory, InvoiceFactory, PaymentFactory


def _prefs_url(customer) -> str:
    return reverse("customer-preferences", kwargs={"code": customer.code})


def _valid(**overrides) -> dict:
    data = {
        "reminder_channel": "email",
        "reminder_contact": "collections@acme.example",
        "reminder_language": "de",
        "notes": "Call before the 5th.",
    }
    data.update(overrides)
    return data


def test_it_lists_customers_with_balances_per_currency(owner_client, org, ledger):
    InvoiceFactory(customer=ledger["acme"], number="EUR-1", currency="EUR", total=Decimal("80"))
    body = owner_client.get(reverse("customer-list")).content.decode()
    assert "Acme Corp" in body and "Globex" in body
    # Acme: USD 1000 + 250 open and 80 EUR, kept apart.
    assert "1,250.00 USD" in body and "80.00 EUR" in body
    filtered = owner_client.get(reverse("customer-list"), {"q": "glob"}).content.decode()
    assert "Globex" in filtered and "Acme Corp" not in filtered


def test_it_shows_the_profile_with_history_and_failed_payments(owner_client, org, ledger):
    PaymentFactory(
        customer=ledger["acme"],
        status="failed",
        failure_code="card_declined",
        failure_reason="Card declined by issuer",
    )
    body = owner_client.get(
        reverse("customer-detail", kwargs={"code": ledger["acme"].code})
    ).content.decode()
    for text in (
        "ap@acme.example",
        "net 30 days",
        "INV-CUR",
        "INV-LATE",
        "Card declined by issuer",
    ):
        assert text in body, text
    assert "1,250.00 USD" in body  # open balance
    assert "250.00 USD" in body  # overdue


def test_it_saves_preferences_over_htmx_and_audits_them(collector_client, collector, ledger):
    customer = ledger["acme"]
    response = collector_client.post(_prefs_url(customer), _valid(do_not_remind="on"), **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert body.strip().startswith('<section id="customer-preferences"')
    assert "<html" not in body and "Preferences saved." in body
    customer.refresh_from_db()
    assert customer.reminder_contact == "collections@acme.example"
    assert customer.reminder_language == "de"
    assert customer.do_not_remind is True
    assert customer.notes == "Call before the 5th."
    entry = AuditLog.objects.get(action="customer.update")
    assert entry.actor == collector
    assert entry.after["reminder_language"] == "de" and entry.before["reminder_language"] == "en"


def test_it_saves_preferences_without_js_and_redirects(collector_client, ledger):
    response = collector_client.post(_prefs_url(ledger["acme"]), _valid(), follow=True)
    assert response.redirect_chain[-1][0] == reverse(
        "customer-detail", kwargs={"code": ledger["acme"].code}
    )
    assert "Preferences of Acme Corp saved." in response.content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_valid(reminder_contact="not-an-email"), "is not a valid e-mail address"),
        (_valid(reminder_channel="sms", reminder_contact="call me"), "is not a phone number"),
        (_valid(reminder_channel="letter", reminder_contact=""), "enter the postal address"),
        (_valid(reminder_language="xx"), "Select a valid choice. xx is not one of"),
        (_valid(reminder_channel="pigeon"), "Select a valid choice. pigeon is not one of"),
    ],
    ids=["bad-email", "bad-phone", "letter-without-address", "unknown-language", "bad-channel"],
)
def test_it_shows_validation_errors_inline_and_changes_nothing(
    collector_client, ledger, data, message
):
    customer = ledger["acme"]
    response = collector_client.post(_prefs_url(customer), data, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert message in body
    assert 'class="field-error"' in body and "Preferences saved." not in body
    full = collector_client.post(_prefs_url(customer), data)
    assert full.status_code == 400 and "<html" in full.content.decode()
    assert message in full.content.decode()
    customer.refresh_from_db()
    assert customer.reminder_language == "en" and customer.reminder_channel == "email"
    assert not AuditLog.objects.exists()


def test_it_requires_a_contact_when_the_customer_has_no_email(collector_client, org):
    customer = CustomerFactory(organization=org, email="")
    body = collector_client.post(
        _prefs_url(customer), _valid(reminder_contact=""), **HTMX
    ).content.decode()
    assert "the customer has no e-mail address on file" in body


def test_it_accepts_a_phone_number_for_the_sms_channel(collector_client, ledger):
    collector_client.post(
        _prefs_url(ledger["acme"]),
        _valid(reminder_channel="sms", reminder_contact="+1 (555) 010-2030"),
        **HTMX,
    )
    ledger["acme"].refresh_from_db()
    assert ledger["acme"].reminder_channel == "sms"
    assert ledger["acme"].reminder_contact == "+1 (555) 010-2030"


def test_it_pages_the_customer_list(owner_client, org):
    for n in range(12):
        CustomerFactory(organization=org, name=f"Pager {n:02d}")
    response = owner_client.get(reverse("customer-list"), {"per_page": 10, "page": 2}, **HTMX)
    names = re.findall(r">(Pager \d\d)</a>", response.content.decode())
    assert names == ["Pager 10", "Pager 11"]
