"""QuickBooks sync against the local fake: exact ledger, idempotence, edits, voids, deletes,
moves, 429s, dying tokens, malformed records."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import Sum

from integrations.models import SyncCursor, SyncStatus
from integrations.services import connection_sync
from invoices.models import Customer, Invoice, InvoiceStatus, Payment, PaymentStatus
from tests.fakes.quickbooks_server import populate_quickbooks, throttle_json, throttle_xml

pytestmark = pytest.mark.django_db


def _ledger_matches(org, fake) -> None:
    """Every QuickBooks invoice is in the ledger once, with its total and balance."""
    invoices = {
        i.external_id: i for i in Invoice.objects.filter(organization=org, source="quickbooks")
    }
    live = {iid: row for iid, row in fake.rows["Invoice"].items() if row["TotalAmt"] > 0}
    assert set(live) <= set(invoices)
    for iid, row in live.items():
        invoice = invoices[iid]
        assert invoice.total == row["TotalAmt"], iid
        assert invoice.balance == row["Balance"], iid
        assert invoice.number == row["DocNumber"]


def test_full_sync_over_several_pages_gives_an_exact_ledger(org, fake_qbo, qbo_connection):
    populate_quickbooks(fake_qbo, customers=4, invoices=25)
    run = connection_sync(connection=qbo_connection)
    assert run.status == SyncStatus.SUCCEEDED, (run.detail, run.errors)
    assert run.counts["customers"]["created"] == 4
    assert run.counts["invoices"]["created"] == 25
    assert run.counts["payments"]["created"] == len(fake_qbo.rows["Payment"])
    assert run.pages >= 3 + 1 + 2  # 25 invoices at 10 a page is three pages
    assert run.requests == fake_qbo.count("/v3/company/")
    _ledger_matches(org, fake_qbo)
    split = Payment.objects.get(organization=org, reference="SPLIT-1")
    assert sorted(a.amount for a in split.allocations.all()) == [Decimal("10.00"), Decimal("20.00")]
    first = Invoice.objects.filter(organization=org, source="quickbooks").order_by("number").first()
    assert first.lines.count() == 2
    assert first.lines.aggregate(s=Sum("amount"))["s"] == first.total


def test_rerun_changes_nothing_and_fetches_little(org, fake_qbo, qbo_connection):
    populate_quickbooks(fake_qbo, customers=3, invoices=12)
    connection_sync(connection=qbo_connection)
    before = (Invoice.objects.count(), Payment.objects.count(), Customer.objects.count())
    audit_rows = org_audit_count(org)
    run = connection_sync(connection=qbo_connection)
    assert run.status == SyncStatus.SUCCEEDED
    for entity in ("customers", "invoices", "payments"):
        assert run.counts[entity]["created"] == run.counts[entity]["updated"] == 0
    assert (Invoice.objects.count(), Payment.objects.count(), Customer.objects.count()) == before
    assert org_audit_count(org) == audit_rows
    # Records changed within the overlap window are read again and skipped by SyncToken:
    # one page per entity (two for the 12 invoices) plus one CDC call.
    assert run.counts["invoices"]["skipped"] == 12
    assert run.requests == 5


def org_audit_count(org) -> int:
    from paypredict_project.tenancy.models import AuditLog

    return AuditLog.objects.filter(organization=org).count()


def test_edit_void_delete_and_moved_payment(org, fake_qbo, qbo_connection):
    cust = fake_qbo.add_customer("Acme")
    a = fake_qbo.add_invoice(cust, number="A-1", lines=[("Work", 2, "100.00")])
    b = fake_qbo.add_invoice(cust, number="B-1", lines=[("Work", 1, "300.00")])
    c = fake_qbo.add_invoice(cust, number="C-1", lines=[("Work", 1, "50.00")])
    d = fake_qbo.add_invoice(cust, number="D-1", lines=[("Work", 1, "70.00")])
    pay = fake_qbo.add_payment(cust, [(a, "200.00")])
    connection_sync(connection=qbo_connection)
    assert Invoice.objects.get(external_id=a).status == InvoiceStatus.PAID

    row = fake_qbo.rows["Invoice"][b]
    row["Line"][0]["SalesItemLineDetail"]["Qty"] = 2
    row["Line"][0]["Amount"] = Decimal("600.00")
    fake_qbo.edit_invoice(
        b, TotalAmt=Decimal("600.00"), Balance=Decimal("600.00"), DueDate="2026-11-30"
    )
    fake_qbo.void_invoice(c)
    fake_qbo.delete("Invoice", d)
    fake_qbo.move_payment(pay, b)
    run = connection_sync(connection=qbo_connection)
    assert run.status == SyncStatus.SUCCEEDED, run.errors

    edited = Invoice.objects.get(external_id=b)
    assert edited.total == Decimal("600.00") and str(edited.due_date) == "2026-11-30"
    assert edited.balance == Decimal("400.00")  # the moved payment now pays B
    assert Invoice.objects.get(external_id=a).status == InvoiceStatus.OPEN
    assert Invoice.objects.get(external_id=c).status == InvoiceStatus.VOID
    assert Invoice.objects.get(external_id=d).status == InvoiceStatus.VOID
    assert run.counts["invoices"]["updated"] >= 1 and run.counts["invoices"]["voided"] == 1
    assert run.counts["deleted"]["voided"] == 1
    assert Invoice.objects.filter(organization=org).count() == 4  # voided, never deleted


def test_deleted_payment_reopens_its_invoice(org, fake_qbo, qbo_connection):
    cust = fake_qbo.add_customer("Acme")
    inv = fake_qbo.add_invoice(cust, number="A-1", lines=[("Work", 1, "100.00")])
    pay = fake_qbo.add_payment(cust, [(inv, "100.00")])
    connection_sync(connection=qbo_connection)
    fake_qbo.delete("Payment", pay)
    connection_sync(connection=qbo_connection)
    assert Payment.objects.get(external_id=pay).status == PaymentStatus.REFUNDED
    invoice = Invoice.objects.get(external_id=inv)
    assert invoice.status == InvoiceStatus.OPEN and invoice.balance == Decimal("100.00")


@pytest.mark.parametrize("answer", [throttle_json, throttle_xml])
def test_429_mid_run_is_waited_out(org, fake_qbo, qbo_connection, answer):
    populate_quickbooks(fake_qbo, customers=2, invoices=15)
    fake_qbo.inject(answer(), path_contains="/query")
    fake_qbo.inject(answer(), path_contains="/query")
    run = connection_sync(connection=qbo_connection)
    assert run.status == SyncStatus.SUCCEEDED
    assert Invoice.objects.filter(organization=org).count() == 15
    assert run.requests == fake_qbo.count("/v3/company/")


def test_access_token_dying_mid_run_is_refreshed_and_rotation_saved(org, fake_qbo, qbo_connection):
    populate_quickbooks(fake_qbo, customers=2, invoices=12)
    old_refresh = fake_qbo.oauth.refresh_token
    fake_qbo.oauth.expire_access_tokens()
    run = connection_sync(connection=qbo_connection)
    assert run.status == SyncStatus.SUCCEEDED
    assert fake_qbo.oauth.refresh_token != old_refresh
    qbo_connection.refresh_from_db()
    from integrations import crypto

    assert crypto.decrypt(qbo_connection.refresh_token_encrypted) == fake_qbo.oauth.refresh_token


def test_malformed_records_are_recorded_not_fatal(org, fake_qbo, qbo_connection):
    cust = fake_qbo.add_customer("Acme")
    good = fake_qbo.add_invoice(cust, number="OK-1", lines=[("Work", 1, "10.00")])
    bad = fake_qbo.add_invoice(cust, number="BAD-1", lines=[("Work", 1, "10.00")])
    fake_qbo.rows["Invoice"][bad]["TotalAmt"] = "ten dollars"
    orphan = fake_qbo.add_invoice(cust, number="ORPHAN-1", lines=[("Work", 1, "10.00")])
    fake_qbo.rows["Invoice"][orphan]["CustomerRef"] = {"value": "999999"}
    run = connection_sync(connection=qbo_connection)
    assert run.status == SyncStatus.PARTIAL
    assert Invoice.objects.filter(external_id=good).exists()
    errors = {e["external_id"]: e["message"] for e in run.errors}
    assert "not a number" in errors[bad]
    assert "customer 999999 has not been synced" in errors[orphan]
    assert run.counts["invoices"]["errors"] == 2


def test_provider_fault_fails_the_run_with_the_providers_text(org, fake_qbo, qbo_connection):
    from tests.fakes.quickbooks_server import fault

    fake_qbo.inject(
        fault(400, "4000", "Error parsing query", "QueryParserError"), path_contains="/query"
    )
    run = connection_sync(connection=qbo_connection)
    assert run.status == SyncStatus.FAILED
    assert "Error parsing query" in run.detail and "intuit_tid" in run.detail
    assert SyncCursor.objects.get(connection=qbo_connection, entity="customers").since is None


def test_a_refused_record_in_a_first_sync_page_is_named(org, fake_qbo, qbo_connection):
    cust = fake_qbo.add_customer("Acme")
    inv = fake_qbo.add_invoice(cust, number="A-1", lines=[("Work", 1, "100.00")])
    ok = fake_qbo.add_payment(cust, [(inv, "60.00")])
    over = fake_qbo.add_payment(cust, [(inv, "60.00")])  # QuickBooks would refuse; a bad feed
    run = connection_sync(connection=qbo_connection)
    assert run.status == SyncStatus.PARTIAL
    assert [e["external_id"] for e in run.errors] == [over]
    assert "over-allocation" in run.errors[0]["message"]
    assert Payment.objects.filter(external_id=ok).exists()
    assert not Payment.objects.filter(external_id=over).exists()
    assert Invoice.objects.get(external_id=inv).balance == Decimal("40.00")
