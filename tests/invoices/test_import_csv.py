"""csv_import and the import_csv command: row errors, idempotency, updates, mappings, scoping."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from invoices.imports import ImportFailed, MappingError, csv_import, mapping_parse
from invoices.models import (
    Customer,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentAllocation,
    PaymentStatus,
    Source,
)
from invoices.services import invoice_void
from paypredict_project.tenancy.models import AuditLog
from tests.factories import CustomerFactory, InvoiceFactory

HEADER = "external_id,customer,issue_date,due_date,total,currency,paid_date,disputed\n"
GOOD = [
    "INV-1,C1,2026-01-05,2026-02-04,100.00,USD,,no\n",
    "INV-2,C1,2026-01-06,2026-02-05,250.50,USD,2026-02-01,yes\n",
    "INV-3,C2,2026-01-07,2026-02-06,75,EUR,,no\n",
]


def _write(tmp_path, text: str, name: str = "file.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _import(org, path, kind="invoices", mapping=None, **kwargs):
    parsed = None
    if mapping is not None:
        parsed = mapping_parse(kind=kind, source=json.dumps(mapping))
    return csv_import(organization=org, kind=kind, file=path, mapping=parsed, **kwargs)


def _errors(result):
    return [(e.row, e.column, e.reason) for e in result.errors]


def test_it_imports_good_rows_and_reports_the_bad_one_exactly(org, tmp_path):
    bad = "INV-X,C1,2026-13-01,2026-02-04,10.00,USD,,no\n"
    path = _write(tmp_path, HEADER + GOOD[0] + bad + GOOD[1] + GOOD[2])

    result = _import(org, path)

    assert _errors(result) == [
        (3, "issue_date", "'2026-13-01' is not a date in the format %Y-%m-%d")
    ]
    assert (result.rows, result.created, result.updated, result.unchanged) == (4, 3, 0, 0)
    invoices = {i.external_id: i for i in Invoice.objects.filter(organization=org)}
    assert set(invoices) == {"INV-1", "INV-2", "INV-3"}
    assert invoices["INV-1"].status == InvoiceStatus.OPEN
    assert invoices["INV-1"].balance == Decimal("100.00")
    assert invoices["INV-2"].status == InvoiceStatus.PAID
    assert invoices["INV-2"].balance == 0
    assert invoices["INV-2"].paid_date == dt.date(2026, 2, 1)
    assert invoices["INV-2"].disputed is True
    assert invoices["INV-3"].currency == "EUR"
    assert invoices["INV-1"].number == "INV-1"  # number stands in when only the id is given
    assert all(i.source == Source.CSV for i in invoices.values())
    # Customers named only by id are created, once each.
    assert sorted(
        Customer.objects.filter(organization=org).values_list("external_id", flat=True)
    ) == [
        "C1",
        "C2",
    ]


def test_it_changes_nothing_when_the_same_file_is_imported_again(org, tmp_path):
    path = _write(tmp_path, HEADER + "".join(GOOD))
    _import(org, path)
    before = dict(Invoice.objects.filter(organization=org).values_list("external_id", "updated_at"))

    again = _import(org, path)

    assert (again.created, again.updated, again.unchanged, again.error_count) == (0, 0, 3, 0)
    assert Invoice.objects.filter(organization=org).count() == 3
    assert Customer.objects.filter(organization=org).count() == 2
    after = dict(Invoice.objects.filter(organization=org).values_list("external_id", "updated_at"))
    assert after == before


def test_it_updates_a_changed_row_and_only_that_row(org, tmp_path):
    _import(org, _write(tmp_path, HEADER + "".join(GOOD)))
    before = dict(Invoice.objects.filter(organization=org).values_list("external_id", "updated_at"))
    changed = GOOD[0].replace("100.00", "120.00").replace(",,no", ",,yes")

    result = _import(org, _write(tmp_path, HEADER + changed + GOOD[1] + GOOD[2], "v2.csv"))

    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
    invoice = Invoice.objects.get(organization=org, external_id="INV-1")
    assert (invoice.total, invoice.balance, invoice.disputed) == (
        Decimal("120.00"),
        Decimal("120.00"),
        True,
    )
    assert invoice.updated_at > before["INV-1"]
    assert Invoice.objects.get(organization=org, external_id="INV-2").updated_at == before["INV-2"]


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        (
            "INV-9,C1,2026-01-05,,12.345,USD,,no\n",
            "total",
            "'12.345' has more than 2 decimal places",
        ),
        ("INV-9,C1,2026-01-05,,12,5,USD,,no\n", "", "has 9 cells but the header has 8 columns"),
        ("INV-9,C1,2026-01-05,,abc,USD,,no\n", "total", "'abc' is not a number"),
        ("INV-9,C1,2026-01-05,,-5,USD,,no\n", "total", "'-5' is negative"),
        ("INV-9,C1,2026-01-05,,10,XYZ,,no\n", "currency", "'XYZ' is not an ISO 4217 currency code"),
        ("INV-9,C1,2026-01-05,,10,US,,no\n", "currency", "'US' is not an ISO 4217 currency code"),
        ("INV-9,,2026-01-05,,10,USD,,no\n", "customer", "customer is required"),
        ("INV-9,C1,,,10,USD,,no\n", "issue_date", "issue_date is required"),
        (
            "INV-9,C1,2026-01-05,2026-01-01,10,USD,,no\n",
            "due_date",
            "due date 2026-01-01 is before the issue date 2026-01-05",
        ),
        (
            "INV-9,C1,2026-01-05,,10,USD,,maybe\n",
            "disputed",
            "'maybe' is not yes/no (true/false, 1/0)",
        ),
        (
            "INV-9,C1,2026-01-05,,10,USD,31/01/2026,no\n",
            "paid_date",
            "'31/01/2026' is not a date in the format %Y-%m-%d",
        ),
    ],
)
def test_it_names_the_row_column_and_reason_of_bad_values(org, tmp_path, row, column, reason):
    result = _import(org, _write(tmp_path, HEADER + GOOD[0] + row))

    assert _errors(result) == [(3, column, reason)]
    assert list(Invoice.objects.filter(organization=org).values_list("external_id", flat=True)) == [
        "INV-1"
    ]


def test_it_rejects_a_file_missing_a_required_column(org, tmp_path):
    path = _write(tmp_path, "external_id,customer,issue_date\nINV-1,C1,2026-01-05\n")

    with pytest.raises(
        MappingError, match="required invoices fields not mapped to a column: total"
    ):
        _import(org, path)
    assert not Invoice.objects.filter(organization=org).exists()


def test_it_reports_repeated_ids_and_numbers_in_one_file(org, tmp_path):
    text = (
        "external_id,number,customer,issue_date,total\n"
        "A,N-1,C1,2026-01-05,10\n"
        "A,N-2,C1,2026-01-05,11\n"
        "B,N-1,C1,2026-01-05,12\n"
    )
    result = _import(org, _write(tmp_path, text))

    assert _errors(result) == [
        (3, "external_id", "external_id 'A' repeats row 2"),
        (4, "number", "number 'N-1' repeats row 2"),
    ]
    assert result.created == 1


def test_it_refuses_a_number_already_used_by_another_invoice(org, tmp_path):
    InvoiceFactory(customer=CustomerFactory(organization=org), number="INV-1")

    result = _import(org, _write(tmp_path, HEADER + GOOD[0] + GOOD[1]))

    assert _errors(result) == [
        (2, "external_id", "invoice number 'INV-1' is already used by another invoice")
    ]
    assert result.created == 1


def test_it_reads_a_mapping_with_columns_formats_defaults_and_value_tables(org, tmp_path):
    text = (
        "Doc No;Client;Issued;Amount;Settled;Disputed?;Channel\n"
        "0001;ACME;31.01.2026;1.234,50;;Ja;Post\n"
        "0002;ACME;01.02.2026;99,00;15.02.2026;Nein;Mail\n"
    )
    mapping = {
        "kind": "invoices",
        "delimiter": ";",
        "fields": {
            "number": "Doc No",
            "customer": "Client",
            "issue_date": "Issued",
            "total": "Amount",
            "paid_date": "Settled",
            "disputed": "Disputed?",
        },
        "date_format": "%d.%m.%Y",
        "thousands_separator": ".",
        "decimal_separator": ",",
        "defaults": {"currency": "EUR", "payment_terms_days": 14},
        "values": {"disputed": {"Ja": True, "Nein": False}},
        "attributes": {"channel": "Channel"},
    }

    result = _import(org, _write(tmp_path, text), mapping=mapping)

    assert result.errors == []
    first = Invoice.objects.get(organization=org, external_id="0001")
    assert (first.issue_date, first.due_date) == (dt.date(2026, 1, 31), dt.date(2026, 2, 14))
    assert (first.total, first.currency, first.disputed) == (Decimal("1234.50"), "EUR", True)
    assert first.attributes == {"channel": "Post"}
    second = Invoice.objects.get(organization=org, external_id="0002")
    assert (second.status, second.paid_date) == (InvoiceStatus.PAID, dt.date(2026, 2, 15))


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"fields": {"totl": "x"}}, "fields: unknown invoices fields totl"),
        ({"fields": {"total": ""}}, "fields.total must be a non-empty column name"),
        ({"colums": {}}, "unknown mapping keys: colums"),
        ({"kind": "payments"}, "this mapping is for payments, not invoices"),
        ({"date_format": "DD/MM/YYYY"}, "is not a strptime format"),
        ({"defaults": {"currency": "EURO"}}, "defaults.currency: 'EURO' is not an ISO 4217"),
        ({"values": {"disputed": {"Y": "yes"}}}, "values.disputed.Y: must be true or false"),
        ({"fields": {"total": "Amount"}, "ignore": ["Amount"]}, "both ignored and mapped"),
    ],
)
def test_it_rejects_a_bad_mapping_naming_the_key(mapping, message):
    with pytest.raises(MappingError, match=message.replace("(", r"\(")):
        mapping_parse(kind="invoices", source=json.dumps(mapping))


def test_it_rejects_a_mapping_naming_columns_the_file_lacks(org, tmp_path):
    mapping = {
        "fields": {
            "external_id": "Id",
            "customer": "Cust",
            "issue_date": "Date",
            "total": "Amount",
        }
    }
    path = _write(tmp_path, "Id,Cust,Date,Total\n1,C,2026-01-01,5\n")

    with pytest.raises(MappingError, match=r"fields\.total -> 'Amount'"):
        _import(org, path, mapping=mapping)


def test_it_rejects_a_file_that_is_not_utf8(org, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + "INV-1,Café,2026-01-05,,10,USD,,no\n").encode("latin-1"))

    with pytest.raises(ImportFailed, match="not UTF-8"):
        _import(org, path)
    assert not Invoice.objects.filter(organization=org).exists()


def test_it_keeps_organizations_apart_with_the_same_external_ids(org, other_org, tmp_path):
    path = _write(tmp_path, HEADER + "".join(GOOD))
    _import(org, path)
    changed = GOOD[0].replace("100.00", "999.00")

    result = _import(other_org, _write(tmp_path, HEADER + changed, "b.csv"))

    assert (result.created, result.updated) == (1, 0)
    assert Invoice.objects.get(organization=org, external_id="INV-1").total == Decimal("100.00")
    assert Invoice.objects.get(organization=other_org, external_id="INV-1").total == Decimal(
        "999.00"
    )
    other_customer = Customer.objects.get(organization=other_org, external_id="C1")
    assert other_customer.invoices.count() == 1


def test_it_keeps_an_app_voided_invoice_void_when_the_file_says_nothing(org, tmp_path):
    path = _write(tmp_path, HEADER + GOOD[0])
    _import(org, path)
    invoice_void(invoice=Invoice.objects.get(organization=org, external_id="INV-1"))

    again = _import(org, path)

    assert (again.updated, again.unchanged) == (0, 1)
    assert Invoice.objects.get(organization=org, external_id="INV-1").status == InvoiceStatus.VOID


def test_it_derives_partial_payment_and_rejects_contradictions(org, tmp_path):
    text = (
        "external_id,customer,issue_date,total,balance,status\n"
        "A,C1,2026-01-05,100,40,\n"
        "B,C1,2026-01-05,100,,paid\n"
        "C,C1,2026-01-05,100,100,paid\n"
        "D,C1,2026-01-05,100,120,\n"
    )
    result = _import(org, _write(tmp_path, text))

    assert _errors(result) == [
        (4, "status", "status paid does not match a balance of 100 of 100"),
        (5, "balance", "balance 120 exceeds total 100"),
    ]
    a = Invoice.objects.get(organization=org, external_id="A")
    assert (a.status, a.balance) == (InvoiceStatus.PARTIALLY_PAID, Decimal("40.00"))
    b = Invoice.objects.get(organization=org, external_id="B")
    assert (b.status, b.balance) == (InvoiceStatus.PAID, 0)


def test_it_does_not_create_customers_when_the_mapping_says_so(org, tmp_path):
    CustomerFactory(organization=org, external_id="C1", source=Source.QUICKBOOKS)
    mapping = {
        "fields": {
            "external_id": "external_id",
            "customer": "customer",
            "issue_date": "issue_date",
            "total": "total",
        },
        "customers": {"create_missing": False},
    }
    text = "external_id,customer,issue_date,total\nA,C1,2026-01-05,10\nB,NOPE,2026-01-05,10\n"

    result = _import(org, _write(tmp_path, text), mapping=mapping)

    assert _errors(result) == [
        (3, "customer", "no customer with external id 'NOPE' in this organization")
    ]
    assert Customer.objects.filter(organization=org).count() == 1
    assert Invoice.objects.get(organization=org, external_id="A").customer.external_id == "C1"


def test_it_records_one_audit_entry_per_run(org, tmp_path):
    _import(org, _write(tmp_path, HEADER + "".join(GOOD)), file_name="jan.csv")

    entry = AuditLog.objects.get(organization=org, action="csv_import.invoices")
    assert entry.after["file"] == "jan.csv"
    assert (entry.after["created"], entry.after["error_count"]) == (3, 0)


def test_it_imports_nothing_in_strict_mode_when_a_row_fails(org, tmp_path):
    bad = "INV-X,C1,2026-01-05,,oops,USD,,no\n"
    result = _import(org, _write(tmp_path, HEADER + GOOD[0] + bad), strict=True)

    assert result.error_count == 1
    assert result.created == 0
    assert not Invoice.objects.filter(organization=org).exists()
    assert not Customer.objects.filter(organization=org).exists()


# ------------------------------------------------------------------ customers


def test_it_upserts_customers_updating_only_mapped_columns(org, tmp_path):
    text = (
        "external_id,name,email,payment_terms_days,do_not_remind\n"
        "C1,Acme,ap@acme.test,45,no\n"
        "C2,Globex,not-an-email,30,no\n"
    )
    result = _import(org, _write(tmp_path, text), kind="customers")
    assert _errors(result) == [(3, "email", "'not-an-email' is not an e-mail address")]
    customer = Customer.objects.get(organization=org, external_id="C1")
    Customer.objects.filter(pk=customer.pk).update(industry="Retail")

    again = _import(
        org, _write(tmp_path, "external_id,name\nC1,Acme Corp\n", "c2.csv"), kind="customers"
    )

    assert (again.created, again.updated) == (0, 1)
    customer.refresh_from_db()
    assert (customer.name, customer.email, customer.payment_terms_days) == (
        "Acme Corp",
        "ap@acme.test",
        45,
    )
    assert customer.industry == "Retail"  # not in the file: left alone


# ------------------------------------------------------------------ payments

PAYMENT_HEADER = "external_id,customer,amount,currency,received_at,method,status,invoice\n"


def test_it_imports_payments_and_keeps_invoice_balances_consistent(org, tmp_path):
    _import(org, _write(tmp_path, HEADER + GOOD[0] + GOOD[2]))
    text = PAYMENT_HEADER + (
        "P1,C1,60.00,USD,2026-02-01 10:00,card,succeeded,INV-1\n"
        "P2,C1,50.00,USD,2026-02-02T09:00:00+00:00,ach,succeeded,INV-1\n"
        "P3,C2,10.00,USD,2026-02-02,wire,succeeded,INV-3\n"
        "P4,C1,40.00,USD,2026-02-03,ach,succeeded,INV-1\n"
    )

    result = _import(org, _write(tmp_path, text, "pay.csv"), kind="payments")

    assert _errors(result) == [
        (3, "amount", "over-allocation: 50.00 exceeds the 40.00 still open on invoice INV-1"),
        (4, "invoice", "a USD payment cannot be applied to invoice INV-3 in EUR"),
    ]
    assert result.created == 2
    invoice = Invoice.objects.get(organization=org, external_id="INV-1")
    assert (invoice.balance, invoice.status) == (Decimal("0.00"), InvoiceStatus.PAID)
    assert invoice.paid_date == dt.date(2026, 2, 3)
    p1 = Payment.objects.get(organization=org, external_id="P1")
    # A naive time in the file is the organization's wall clock (UTC for this org).
    assert p1.received_at == dt.datetime(2026, 2, 1, 10, 0, tzinfo=dt.UTC)
    assert PaymentAllocation.objects.filter(invoice=invoice).count() == 2


def test_it_reopens_the_invoice_when_a_payment_row_turns_failed(org, tmp_path):
    _import(org, _write(tmp_path, HEADER + GOOD[0]))
    header = PAYMENT_HEADER.strip() + ",failure_code\n"
    row = "P1,C1,100.00,USD,2026-02-01,card,{status},INV-1,{code}\n"
    _import(
        org,
        _write(tmp_path, header + row.format(status="succeeded", code=""), "p.csv"),
        kind="payments",
    )
    assert Invoice.objects.get(organization=org, external_id="INV-1").status == "paid"

    same = _import(
        org,
        _write(tmp_path, header + row.format(status="succeeded", code=""), "p.csv"),
        kind="payments",
    )
    assert (same.created, same.updated, same.unchanged) == (0, 0, 1)

    failed = _import(
        org,
        _write(tmp_path, header + row.format(status="failed", code="card_declined"), "p2.csv"),
        kind="payments",
    )

    assert failed.updated == 1
    invoice = Invoice.objects.get(organization=org, external_id="INV-1")
    assert (invoice.status, invoice.balance, invoice.paid_date) == (
        InvoiceStatus.OPEN,
        Decimal("100.00"),
        None,
    )
    assert Payment.objects.get(organization=org, external_id="P1").status == PaymentStatus.FAILED


def test_it_reports_payments_of_unknown_customers_and_invoices(org, tmp_path):
    CustomerFactory(organization=org, external_id="C1")
    text = PAYMENT_HEADER + (
        "P1,NOPE,10,USD,2026-02-01,card,succeeded,\n"
        "P2,C1,10,USD,2026-02-01,card,succeeded,INV-404\n"
        "P3,C1,10,USD,yesterday,card,succeeded,\n"
    )
    result = _import(org, _write(tmp_path, text), kind="payments")

    assert _errors(result) == [
        (2, "customer", "no customer with external id 'NOPE' in this organization"),
        (3, "invoice", "no invoice with external id 'INV-404' in this organization"),
        (
            4,
            "received_at",
            "'yesterday' is not a date-time in the format ISO 8601 (2026-01-31T14:05:00+00:00)",
        ),
    ]
    assert not Payment.objects.filter(organization=org).exists()


# ------------------------------------------------------------------ command


def test_it_prints_a_summary_and_each_row_error_from_the_command(org, tmp_path):
    bad = "INV-X,C1,2026-01-05,,1O.00,USD,,no\n"
    path = _write(tmp_path, HEADER + GOOD[0] + bad)
    out = StringIO()

    call_command("import_csv", "invoices", str(path), "--org", org.slug, stdout=out)

    text = out.getvalue()
    assert "2 rows read, 1 created, 0 updated, 0 unchanged, 1 with errors" in text
    assert "row 3, column total: '1O.00' is not a number" in text


def test_it_reads_a_mapping_file_from_the_command_line(org, tmp_path):
    mapping = tmp_path / "m.json"
    mapping.write_text(
        json.dumps(
            {
                "fields": {"number": "No", "customer": "Cust", "issue_date": "D", "total": "T"},
                "date_format": "%m/%d/%Y",
            }
        )
    )
    path = _write(tmp_path, "No,Cust,D,T\n007,ACME,1/31/2026,5.00\n")

    call_command(
        "import_csv",
        "invoices",
        str(path),
        "--org",
        org.slug,
        "--mapping",
        str(mapping),
        stdout=StringIO(),
    )

    invoice = Invoice.objects.get(organization=org, number="007")
    assert invoice.issue_date == dt.date(2026, 1, 31)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--org", "nope"], "no organization with slug 'nope'"),
        (["--org", "org-a", "--mapping", "/nonexistent.json"], "cannot read mapping file"),
    ],
)
def test_it_fails_clearly_on_a_bad_org_or_mapping_path(org, tmp_path, args, message):
    path = _write(tmp_path, HEADER + GOOD[0])

    with pytest.raises(CommandError, match=message):
        call_command("import_csv", "invoices", str(path), *args, stdout=StringIO())


def test_it_fails_clearly_on_a_missing_file(org):
    with pytest.raises(CommandError, match=r"no such file: /nonexistent\.csv"):
        call_command("import_csv", "invoices", "/nonexistent.csv", "--org", org.slug)


def test_it_exits_non_zero_in_strict_mode_when_a_row_fails(org, tmp_path):
    bad = "INV-X,C1,2026-01-05,,oops,USD,,no\n"
    path = _write(tmp_path, HEADER + GOOD[0] + bad)

    with pytest.raises(CommandError, match="--strict: 1 rows have errors; nothing was imported"):
        call_command(
            "import_csv", "invoices", str(path), "--org", org.slug, "--strict", stdout=StringIO()
        )
    assert not Invoice.objects.filter(organization=org).exists()
