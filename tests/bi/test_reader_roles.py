"""The vw_* views through an organization's reader login: its own rows only, read-only,
no way to the tables behind them or to another organization, queries cut off at the timeout.

These tests commit (transactional_db): the reader is a second, real database connection."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

from invoices.models import InvoiceStatus, PaymentStatus
from paypredict_project.readonly import (
    ReadOnlyQueryError,
    bi_role_rotate,
    reader_connection_url,
    readonly_query,
)
from tests.factories import CustomerFactory, InvoiceFactory, OrganizationFactory, PaymentFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def two_orgs():
    ours = OrganizationFactory(slug="ours", time_zone="America/New_York")
    theirs = OrganizationFactory(slug="theirs")
    acme = CustomerFactory(organization=ours, name="Acme")
    rival = CustomerFactory(organization=theirs, name="Rival")
    InvoiceFactory(customer=acme, number="OURS-1", total=Decimal("100.00"))
    InvoiceFactory(customer=rival, number="THEIRS-1", total=Decimal("999.00"))
    PaymentFactory(customer=acme, amount=Decimal("40.00"))
    PaymentFactory(customer=rival, amount=Decimal("77.00"), status=PaymentStatus.FAILED)
    return ours, theirs


def _rows(org, query, **kwargs):
    return readonly_query(organization=org, query=query, max_rows=100, **kwargs).rows


def test_it_shows_only_the_organizations_rows(two_orgs):
    ours, theirs = two_orgs
    assert _rows(ours, "SELECT invoice_number FROM vw_invoice_predictions") == [("OURS-1",)]
    assert _rows(theirs, "SELECT invoice_number FROM vw_invoice_predictions") == [("THEIRS-1",)]
    assert _rows(ours, "SELECT amount, status FROM vw_payment_analytics") == [
        (Decimal("40.00"), "succeeded")
    ]
    # A predicate naming the other organization's id finds nothing: the binding is the role's.
    query = f"SELECT count(*) FROM vw_invoice_predictions WHERE organization_id = {theirs.id}"
    assert _rows(ours, query) == [(0,)]


def test_the_application_login_sees_no_view_rows(two_orgs):
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM vw_invoice_predictions")
        assert cursor.fetchone() == (0,)


BEHIND_THE_VIEWS = [
    "SELECT * FROM invoices_invoice",
    "SELECT * FROM tenancy_readerrole",
    "SELECT * FROM auth_user",
]
ESCAPES = [
    "UPDATE invoices_invoice SET balance = 0",
    "DELETE FROM vw_invoice_predictions",
    "CREATE TABLE stolen AS SELECT * FROM vw_invoice_predictions",
    "SET ROLE postgres",
    "SELECT set_config('role', 'postgres', false)",
    "SELECT pg_read_file('/etc/passwd')",
]


def test_it_cannot_read_the_tables_behind_the_views(two_orgs):
    ours, _ = two_orgs
    for query in BEHIND_THE_VIEWS:
        with pytest.raises(ReadOnlyQueryError, match="permission denied"):
            _rows(ours, query)


def test_it_can_change_nothing_and_become_nobody_else(two_orgs):
    ours, _ = two_orgs
    for query in ESCAPES:
        with pytest.raises(ReadOnlyQueryError):
            _rows(ours, query)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM invoices_invoice WHERE balance > 0")
        assert cursor.fetchone() == (2,)


def test_it_stops_a_slow_query_at_the_timeout(two_orgs):
    ours, _ = two_orgs
    with pytest.raises(ReadOnlyQueryError, match="longer than 300 ms"):
        _rows(ours, "SELECT pg_sleep(3)", timeout_ms=300)


def test_it_caps_the_rows_and_says_so(two_orgs):
    ours, _ = two_orgs
    result = readonly_query(organization=ours, query="SELECT generate_series(1, 50)", max_rows=10)
    assert len(result.rows) == 10
    assert result.truncated


def test_aging_buckets_follow_the_organizations_calendar():
    org = OrganizationFactory(slug="aging", time_zone="Pacific/Auckland")
    customer = CustomerFactory(organization=org)
    with connection.cursor() as cursor:
        cursor.execute("SELECT (now() AT TIME ZONE 'Pacific/Auckland')::date")
        (today,) = cursor.fetchone()
    expected = {}
    for days in (-5, 0, 1, 30, 31, 60, 61, 90, 91):
        due = today - dt.timedelta(days=days)
        number = f"AGE{days}"
        InvoiceFactory(
            customer=customer,
            number=number,
            issue_date=due - dt.timedelta(days=30),
            due_date=due,
        )
        expected[number] = (days, _bucket(days))
    InvoiceFactory(customer=customer, number="PAID", status=InvoiceStatus.PAID, balance=0)
    rows = _rows(org, "SELECT invoice_number, days_past_due, bucket FROM vw_ar_aging")
    assert {number: (days, bucket) for number, days, bucket in rows} == expected


def _bucket(days: int) -> str:
    if days <= 0:
        return "current"
    for limit, label in ((30, "1-30"), (60, "31-60"), (90, "61-90")):
        if days <= limit:
            return label
    return "90+"


@pytest.mark.usefixtures("two_orgs")
def test_create_bi_role_prints_a_working_connection_string(capsys):
    call_command("create_bi_role", "--org", "ours")
    url = capsys.readouterr().out.strip().splitlines()[-1]
    assert url.startswith("postgresql://pp_")
    with psycopg.connect(url) as bi, bi.cursor() as cursor:
        cursor.execute("SELECT invoice_number FROM vw_invoice_predictions")
        assert cursor.fetchall() == [("OURS-1",)]
        cursor.execute("SHOW default_transaction_read_only")
        assert cursor.fetchone() == ("on",)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            cursor.execute("SELECT * FROM invoices_payment")


def test_rotating_the_bi_password_keeps_one_login(two_orgs):
    ours, _ = two_orgs
    first, first_password = bi_role_rotate(organization=ours)
    second, second_password = bi_role_rotate(organization=ours)
    assert first.role_name == second.role_name
    assert first_password != second_password
    assert first_password not in reader_connection_url(second, second_password)
