"""Xero sync against the local fake: paging, /Date()/ dates, If-Modified-Since, voids,
deleted payments, rate limits (minute and day), the tenant header."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from integrations.models import Connection, SyncStatus
from integrations.services import connection_sync
from integrations.xero.client import parse_ms_date
from invoices.models import Invoice, InvoiceStatus, Payment, PaymentStatus
from tests.fakes.xero_server import populate_xero, throttle

pytestmark = pytest.mark.django_db


def test_ms_dates_parse_with_and_without_offset():
    assert parse_ms_date("/Date(1546128000000+0000)/") == dt.datetime(2018, 12, 30, tzinfo=dt.UTC)
    assert parse_ms_date("/Date(1573755038314)/").year == 2019
    with pytest.raises(ValueError):
        parse_ms_date("2019-01-01")


def test_full_sync_then_rerun_is_exact_and_idempotent(org, fake_xero, xero_connection):
    populate_xero(fake_xero, contacts=4, invoices=23)
    run = connection_sync(connection=xero_connection)
    assert run.status == SyncStatus.SUCCEEDED, (run.detail, run.errors)
    assert run.counts["invoices"]["created"] == 23
    assert run.counts["payments"]["created"] == len(fake_xero.rows["Payments"])
    for iid, row in fake_xero.rows["Invoices"].items():
        invoice = Invoice.objects.get(organization=org, source="xero", external_id=iid)
        assert (invoice.total, invoice.balance) == (row["Total"], row["AmountDue"])
        assert invoice.issue_date == parse_ms_date(row["Date"]).date()
    # Every call carried the tenant header (the fake answers 403 otherwise).
    api_calls = [r for r in fake_xero.log if r.path.startswith("/api.xro/")]
    assert all(r.headers["xero-tenant-id"] == fake_xero.tenant for r in api_calls)

    seen = len(fake_xero.log)
    again = connection_sync(connection=xero_connection)
    assert again.status == SyncStatus.SUCCEEDED
    assert all(again.counts[e]["created"] == again.counts[e]["updated"] == 0 for e in again.counts)
    since_calls = [r for r in fake_xero.log[seen:] if r.path.startswith("/api.xro/")]
    assert all("if-modified-since" in r.headers for r in since_calls)


def test_void_and_deleted_payment(org, fake_xero, xero_connection):
    contact = fake_xero.add_contact("Acme")
    day = dt.date(2026, 10, 1)
    a = fake_xero.add_invoice(contact, lines=[("Work", 1, "100.00", "15.00")], date=day, due=day)
    b = fake_xero.add_invoice(contact, lines=[("Work", 2, "40.00", "0")], date=day, due=day)
    pay = fake_xero.add_payment(a, "115.00", date=day)
    connection_sync(connection=xero_connection)
    paid = Invoice.objects.get(external_id=a)
    assert paid.status == InvoiceStatus.PAID and paid.tax_total == Decimal("15.00")

    fake_xero.set_invoice(b, Status="VOIDED")
    fake_xero.delete_payment(pay)
    run = connection_sync(connection=xero_connection)
    assert run.status == SyncStatus.SUCCEEDED, run.errors
    assert Invoice.objects.get(external_id=b).status == InvoiceStatus.VOID
    assert Payment.objects.get(external_id=pay).status == PaymentStatus.REFUNDED
    reopened = Invoice.objects.get(external_id=a)
    assert reopened.status == InvoiceStatus.OPEN and reopened.balance == Decimal("115.00")


def test_minute_limit_waited_out_day_limit_stops_cleanly(org, fake_xero, xero_connection):
    populate_xero(fake_xero, contacts=2, invoices=12)
    fake_xero.inject(throttle("minute", "0.01"), path_contains="/Invoices")
    fake_xero.inject(throttle("minute", None), path_contains="/Invoices")
    run = connection_sync(connection=xero_connection)
    assert run.status == SyncStatus.SUCCEEDED
    assert Invoice.objects.filter(organization=org).count() == 12

    fake_xero.add_invoice(
        next(iter(fake_xero.rows["Contacts"])),
        lines=[("Late", 1, "5.00", "0")],
        date=dt.date(2026, 11, 1),
        due=dt.date(2026, 11, 1),
    )
    fake_xero.inject(throttle("day", "3600"), path_contains="/Invoices")
    stopped = connection_sync(connection=xero_connection)
    assert stopped.status == SyncStatus.BUDGET
    connection = Connection.objects.get(pk=xero_connection.pk)
    assert connection.paused_until > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=50)
    # Paused: the next run makes no call at all and says why.
    calls = fake_xero.count("/api.xro/")
    paused = connection_sync(connection=connection)
    assert paused.status == SyncStatus.BUDGET and fake_xero.count("/api.xro/") == calls


def test_own_daily_budget_stops_and_resumes(org, fake_xero, xero_connection, settings):
    populate_xero(fake_xero, contacts=2, invoices=25)
    settings.XERO_DAILY_CALL_LIMIT = 3
    run = connection_sync(connection=xero_connection)
    assert run.status == SyncStatus.BUDGET and run.requests == 3
    settings.XERO_DAILY_CALL_LIMIT = 5000
    resumed = connection_sync(connection=xero_connection)
    assert resumed.status == SyncStatus.SUCCEEDED
    assert Invoice.objects.filter(organization=org).count() == 25
    # Resumed at the page where it stopped: invoices page 1-2 were committed by the first run.
    assert resumed.counts["invoices"]["created"] == 25 - run.counts["invoices"]["created"]


def test_rotated_refresh_token_in_grace_and_after(org, fake_xero, xero_connection):
    from integrations import crypto, oauth
    from integrations.xero.client import oauth_app

    old = crypto.decrypt(xero_connection.refresh_token_encrypted)
    token = oauth.access_token(xero_connection, oauth_app(), force_refresh=True)
    assert token and crypto.decrypt(xero_connection.refresh_token_encrypted) != old
    # Within the grace period the old one still works; after it, invalid_grant.
    fake_xero.oauth.old_refresh_tokens = dict.fromkeys(fake_xero.oauth.old_refresh_tokens, 0)
    with pytest.raises(oauth.TokenRefused):
        oauth.exchange_refresh_token(oauth_app(), refresh_token=old)


def test_credit_notes_with_allocations_then_voided(org, fake_xero, xero_connection):
    from invoices.models import InvoiceCredit

    contact = fake_xero.add_contact("Acme")
    day = dt.date(2026, 10, 1)
    a = fake_xero.add_invoice(contact, lines=[("Work", 1, "100.00", "0")], date=day, due=day)
    b = fake_xero.add_invoice(contact, lines=[("Work", 1, "50.00", "0")], date=day, due=day)
    note = fake_xero.add_credit_note(contact, "80.00", date=day, allocations=((a, "30.00"),))
    full = fake_xero.add_credit_note(contact, "50.00", date=day, allocations=((b, "50.00"),))
    run = connection_sync(connection=xero_connection)
    assert run.status == SyncStatus.SUCCEEDED, run.errors
    assert run.counts["credit_notes"]["created"] == 2
    for iid in (a, b):
        row = fake_xero.rows["Invoices"][iid]
        invoice = Invoice.objects.get(organization=org, source="xero", external_id=iid)
        assert invoice.balance == row["AmountDue"]
    assert Invoice.objects.get(external_id=b).status == InvoiceStatus.PAID
    assert Invoice.objects.get(external_id=a).balance == Decimal("70.00")

    # A re-run changes nothing; a later allocation of the remaining credit is picked up.
    again = connection_sync(connection=xero_connection)
    assert again.counts["credit_notes"]["created"] == again.counts["credit_notes"]["updated"] == 0
    fake_xero._allocate(fake_xero.rows["CreditNotes"][note], a, Decimal("20.00"), day)
    fake_xero._touch(fake_xero.rows["CreditNotes"][note])
    run = connection_sync(connection=xero_connection)
    assert run.counts["credit_notes"]["updated"] == 1, run.errors
    assert Invoice.objects.get(external_id=a).balance == Decimal("50.00")

    # Voided at the source: the credit comes off and the invoice is open again.
    fake_xero.void_credit_note(full)
    run = connection_sync(connection=xero_connection)
    assert run.counts["credit_notes"]["voided"] == 1, run.errors
    reopened = Invoice.objects.get(external_id=b)
    assert (reopened.status, reopened.balance) == (InvoiceStatus.OPEN, Decimal("50.00"))
    assert InvoiceCredit.objects.filter(invoice=reopened).count() == 0
    assert InvoiceCredit.objects.filter(invoice__external_id=a).count() == 1
