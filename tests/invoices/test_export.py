"""CSV export: streamed, filtered with the shared FilterSets, selected codes, scoped, round trip."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse

from invoices.imports import csv_import
from invoices.models import Customer, Invoice, InvoiceStatus
from invoices.services import payment_record
from tests.factories import CustomerFactory, InvoiceFactory, PaymentFactory


def _rows(response) -> list[dict[str, str]]:
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def ledger(org, other_org):
    acme = CustomerFactory(organization=org, name="Acme", external_id="", country="US")
    globex = CustomerFactory(organization=org, name="Globex", external_id="G-1")
    open_one = InvoiceFactory(customer=acme, number="INV-1", total=Decimal("100.00"))
    paid = InvoiceFactory(
        customer=globex,
        number="INV-2",
        total=Decimal("250.00"),
        balance=Decimal("0.00"),
        status=InvoiceStatus.PAID,
        paid_date=dt.date(2026, 2, 1),
        disputed=True,
    )
    InvoiceFactory(customer=CustomerFactory(organization=other_org), number="SECRET-9")
    return {"acme": acme, "globex": globex, "open": open_one, "paid": paid}


def test_it_streams_every_invoice_of_the_organization(viewer_client, ledger):
    response = viewer_client.get(reverse("invoice-export"))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="invoices-org-a-')
    rows = _rows(response)
    assert [row["number"] for row in rows] == ["INV-1", "INV-2"]
    paid = rows[1]
    assert paid["customer"] == "G-1"
    assert paid["customer_name"] == "Globex"
    assert (paid["total"], paid["balance"], paid["status"]) == ("250.00", "0.00", "paid")
    assert (paid["paid_date"], paid["disputed"]) == ("2026-02-01", "true")
    # A customer without an external id is referenced by its public id.
    assert rows[0]["customer"] == str(ledger["acme"].code)
    assert rows[0]["id"] == str(ledger["open"].code)


def test_it_applies_the_worklist_filters(viewer_client, ledger):
    response = viewer_client.get(reverse("invoice-export"), {"status": "paid"})
    assert [row["number"] for row in _rows(response)] == ["INV-2"]

    response = viewer_client.get(reverse("invoice-export"), {"q": "acme"})
    assert [row["number"] for row in _rows(response)] == ["INV-1"]


def test_it_exports_only_selected_codes(collector_client, ledger):
    response = collector_client.get(reverse("invoice-export"), {"code": [str(ledger["paid"].code)]})

    assert [row["number"] for row in _rows(response)] == ["INV-2"]


def test_it_rejects_bad_codes_and_filters(collector_client, ledger):
    response = collector_client.get(reverse("invoice-export"), {"code": "not-a-uuid"})
    assert response.status_code == 400
    assert "code must be ids (UUIDs) of invoices" in response.content.decode()

    response = collector_client.get(reverse("invoice-export"), {"due_after": "someday"})
    assert response.status_code == 400
    assert "invalid filter: due_after" in response.content.decode()


def test_it_never_exports_another_organizations_rows(outsider_client, ledger):
    rows = _rows(outsider_client.get(reverse("invoice-export")))
    assert [row["number"] for row in rows] == ["SECRET-9"]

    selected = outsider_client.get(reverse("invoice-export"), {"code": [str(ledger["open"].code)]})
    assert _rows(selected) == []


def test_it_exports_customers_and_payments(owner_client, org, ledger):
    payment_record(
        organization=org,
        customer=ledger["acme"],
        amount=Decimal("40.00"),
        received_at=dt.datetime(2026, 2, 3, 9, 30, tzinfo=dt.UTC),
        allocations=[(ledger["open"], Decimal("40.00"))],
        reference="WIRE-77",
    )
    PaymentFactory(customer=ledger["globex"], amount=Decimal("5.00"), status="failed")

    customers = _rows(owner_client.get(reverse("customer-export"), {"country": "us"}))
    assert [(c["name"], c["country"]) for c in customers] == [("Acme", "US")]

    payments = _rows(owner_client.get(reverse("payment-export"), {"status": "succeeded"}))
    assert len(payments) == 1
    assert payments[0]["reference"] == "WIRE-77"
    assert payments[0]["received_at"] == "2026-02-03T09:30:00+00:00"
    assert payments[0]["allocations"] == f"{ledger['open'].code}=40.00"


def test_it_requires_login(client, ledger):
    response = client.get(reverse("invoice-export"))
    assert response.status_code == 302


def test_it_exports_through_the_api_with_read_permission(viewer_client, ledger):
    response = viewer_client.get("/api/v1/invoices/export", {"disputed": "true"})

    assert response.status_code == 200
    assert [row["number"] for row in _rows(response)] == ["INV-2"]

    response = viewer_client.get("/api/v1/invoices/export", HTTP_ACCEPT="text/csv")
    assert response.status_code == 200
    assert len(_rows(response)) == 2


def test_it_answers_bad_api_filters_with_the_error_body(viewer_client, ledger):
    response = viewer_client.get("/api/v1/customers/export", {"code": "x"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert "code must be ids" in response.json()["error"]["message"]


def test_it_refuses_anonymous_api_callers(client, ledger):
    response = client.get("/api/v1/payments/export")

    assert response.status_code in (401, 403)
    assert "error" in response.json()


def test_it_documents_the_api_export_as_text_csv(viewer_client):
    response = viewer_client.get("/api/schema/", HTTP_ACCEPT="application/json")

    schema = response.json() if response["Content-Type"].startswith("application/json") else None
    if schema is None:
        import yaml

        schema = yaml.safe_load(response.content)
    operation = schema["paths"]["/api/v1/invoices/export"]["get"]
    assert "text/csv" in operation["responses"]["200"]["content"]
    assert {"status", "code", "q"} <= {p["name"] for p in operation["parameters"]}


def test_it_imports_an_exported_file_into_another_organization(
    owner_client, org, other_org, ledger
):
    exported = b"".join(owner_client.get(reverse("invoice-export")).streaming_content)

    result = csv_import(organization=other_org, kind="invoices", file=io.BytesIO(exported))

    assert result.errors == []
    assert result.created == 2
    copied = {
        i.number: i
        for i in Invoice.objects.filter(organization=other_org, number__startswith="INV")
    }
    assert (copied["INV-2"].status, copied["INV-2"].balance) == (InvoiceStatus.PAID, 0)
    assert copied["INV-2"].paid_date == dt.date(2026, 2, 1)
    assert copied["INV-2"].disputed is True
    assert copied["INV-1"].total == Decimal("100.00")
    assert copied["INV-1"].customer.name == "Acme"
    assert Customer.objects.get(organization=other_org, external_id="G-1").name == "Globex"

    again = csv_import(organization=other_org, kind="invoices", file=io.BytesIO(exported))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)


def test_it_round_trips_exported_customers_then_invoices(owner_client, org, other_org, ledger):
    customers = b"".join(owner_client.get(reverse("customer-export")).streaming_content)
    invoices = b"".join(owner_client.get(reverse("invoice-export")).streaming_content)

    first = csv_import(organization=other_org, kind="customers", file=io.BytesIO(customers))
    second = csv_import(organization=other_org, kind="invoices", file=io.BytesIO(invoices))

    assert (first.created, first.error_count) == (2, 0)
    assert (second.created, second.error_count) == (2, 0)
    assert second.extra["customers_created"] == 0
    acme = Customer.objects.get(organization=other_org, name="Acme")
    assert acme.country == "US"
    assert acme.invoices.get().number == "INV-1"
