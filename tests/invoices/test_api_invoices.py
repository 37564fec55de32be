"""/api/v1/invoices: list, filter, order, page by cursor, create, update, void, write off."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from invoices import services
from invoices.models import Invoice, InvoiceStatus
from paypredict_project.tenancy.models import AuditLog
from tests.factories import CustomerFactory, InvoiceFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/invoices"


def detail(invoice) -> str:
    return f"/api/v1/invoices/{invoice.code}"


@pytest.fixture
def customer(org):
    return CustomerFactory(organization=org, name="Acme Tools", currency="USD")


@pytest.fixture
def invoice(customer):
    return InvoiceFactory(customer=customer, number="INV-A-1", total=Decimal("250.00"))


def _walk(client, url) -> tuple[list[dict], int]:
    """Follow `next` links to the end; returns all results and the number of pages."""
    results, pages = [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.json()
        body = response.json()
        results += body["results"]
        pages += 1
        url = body["next"]
    return results, pages


def test_it_lists_invoices_with_ids_urls_money_and_lines(owner_client, customer):
    invoice = services.invoice_create(
        organization=customer.organization,
        customer=customer,
        number="INV-100",
        issue_date=dt.date(2026, 1, 5),
        lines=[{"description": "Consulting", "quantity": Decimal("2"), "unit_price": "60.5"}],
    )
    response = owner_client.get(LIST)
    assert response.status_code == 200
    body = response.json()
    assert body["previous"] is None and body["next"] is None
    (row,) = body["results"]
    assert row["id"] == str(invoice.code)
    assert row["url"] == f"http://testserver/api/v1/invoices/{invoice.code}"
    assert row["number"] == "INV-100"
    assert row["customer"] == {
        "id": str(customer.code),
        "url": f"http://testserver/api/v1/customers/{customer.code}",
        "name": "Acme Tools",
    }
    assert (row["total"], row["balance"], row["amount_paid"], row["currency"]) == (
        "121.00",
        "121.00",
        "0.00",
        "USD",
    )
    assert row["lines"] == [
        {
            "position": 1,
            "description": "Consulting",
            "quantity": "2.0000",
            "unit_price": "60.5000",
            "amount": "121.00",
            "tax": "0.00",
        }
    ]
    assert "pk" not in row and row["id"] != str(invoice.pk)


def test_it_filters_with_the_shared_filterset(owner_client, customer):
    other = CustomerFactory(organization=customer.organization, name="Globex")
    InvoiceFactory(customer=customer, number="OPEN-1", status=InvoiceStatus.OPEN)
    InvoiceFactory(customer=customer, number="PAID-1", status=InvoiceStatus.PAID, balance=0)
    InvoiceFactory(customer=other, number="GLOBEX-1", disputed=True)
    InvoiceFactory(
        customer=customer, number="BIG-1", total=Decimal("9000"), due_date=dt.date(2099, 1, 1)
    )

    def numbers(query: str) -> list[str]:
        response = owner_client.get(f"{LIST}?{query}&ordering=number")
        assert response.status_code == 200, response.json()
        return [row["number"] for row in response.json()["results"]]

    assert numbers("status=paid") == ["PAID-1"]
    assert numbers("status=open&status=paid") == ["BIG-1", "GLOBEX-1", "OPEN-1", "PAID-1"]
    assert numbers(f"customer={other.code}") == ["GLOBEX-1"]
    assert numbers("disputed=true") == ["GLOBEX-1"]
    assert numbers("amount_min=5000") == ["BIG-1"]
    assert numbers("q=globex") == ["GLOBEX-1"]
    assert numbers("overdue=true") == ["GLOBEX-1", "OPEN-1"]


def test_it_orders_by_whitelisted_fields(owner_client, customer):
    for number, total, due in [("B", "30", 20), ("A", "10", 10), ("C", "20", 30)]:
        InvoiceFactory(
            customer=customer,
            number=number,
            total=Decimal(total),
            due_date=dt.date(2026, 2, 1) + dt.timedelta(days=due),
        )

    def order(ordering: str) -> list[str]:
        response = owner_client.get(f"{LIST}?ordering={ordering}")
        return [row["number"] for row in response.json()["results"]]

    assert order("due_date") == ["A", "B", "C"]
    assert order("-due_date") == ["C", "B", "A"]
    assert order("total") == ["A", "C", "B"]
    assert order("-number") == ["C", "B", "A"]


def test_it_rejects_an_unknown_ordering_naming_the_allowed_ones(owner_client):
    response = owner_client.get(f"{LIST}?ordering=customer__name")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"]["ordering"][0].startswith("unknown ordering 'customer__name'; use one")
    assert "-due_date" in error["fields"]["ordering"][0]


def test_it_pages_by_cursor_through_equal_sort_values_without_gaps(owner_client, customer):
    # Seven invoices share one due date: the tie-breaker must still give each exactly once.
    same_day = [
        InvoiceFactory(customer=customer, number=f"SAME-{i}", due_date=dt.date(2026, 3, 1))
        for i in range(7)
    ]
    InvoiceFactory(customer=customer, number="EARLY", due_date=dt.date(2026, 2, 1))
    InvoiceFactory(customer=customer, number="LATE", due_date=dt.date(2026, 4, 1))

    rows, pages = _walk(owner_client, f"{LIST}?ordering=due_date&page_size=2")
    numbers = [row["number"] for row in rows]
    assert pages == 5
    assert numbers[0] == "EARLY" and numbers[-1] == "LATE"
    tied = sorted(same_day, key=lambda invoice: str(invoice.code))
    assert numbers[1:-1] == [invoice.number for invoice in tied]

    # And backwards: `previous` from the last page returns the page before it.
    last_page = owner_client.get(f"{LIST}?ordering=due_date&page_size=2").json()
    for _ in range(3):
        last_page = owner_client.get(last_page["next"]).json()
    back = owner_client.get(last_page["previous"]).json()
    assert [row["number"] for row in back["results"]] == numbers[4:6]
    assert back["next"] is not None and back["previous"] is not None


def test_it_pages_in_descending_default_order(owner_client, customer):
    for day in range(1, 6):
        InvoiceFactory(customer=customer, number=f"D{day}", issue_date=dt.date(2026, 1, day))
    rows, pages = _walk(owner_client, f"{LIST}?page_size=2")
    assert [row["number"] for row in rows] == ["D5", "D4", "D3", "D2", "D1"]
    assert pages == 3


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("cursor=not-a-cursor", "cursor"),
        ("cursor=eyJwIjpbMV19", "cursor"),  # valid base64 JSON with the wrong shape
        ("page_size=0", "page_size"),
        ("page_size=501", "page_size"),
        ("status=bogus", "status"),
        ("customer=not-a-uuid", "customer"),
        ("days_overdue_min=99999999", "days_overdue_min"),
        ("issued_after=2026-13-45", "issued_after"),
    ],
    ids=lambda value: value.replace("=", "-") if isinstance(value, str) else None,
)
def test_it_rejects_bad_list_parameters_with_the_error_body(owner_client, query, field):
    response = owner_client.get(f"{LIST}?{query}")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["status"] == 400 and error["code"] == "invalid"
    assert field in error["fields"]


def test_it_lists_with_a_constant_number_of_queries(
    owner_client, customer, django_assert_max_num_queries
):
    for i in range(30):
        services.invoice_create(
            organization=customer.organization,
            customer=customer,
            number=f"Q-{i}",
            issue_date=dt.date(2026, 1, 5),
            lines=[
                {"description": "x", "unit_price": "1"},
                {"description": "y", "unit_price": "2"},
            ],
        )
    # session + user + membership, throttle is Redis, then page + lines prefetch.
    with django_assert_max_num_queries(6):
        response = owner_client.get(f"{LIST}?page_size=30")
    assert len(response.json()["results"]) == 30


def test_it_creates_an_invoice_with_lines(owner_client, customer):
    payload = {
        "customer": str(customer.code),
        "number": "INV-NEW-1",
        "issue_date": "2026-02-01",
        "po_number": "PO-77",
        "lines": [
            {"description": "Widgets", "quantity": "4", "unit_price": "12.50", "tax": "4.13"},
            {"description": "Delivery", "unit_price": "15"},
        ],
    }
    response = owner_client.post(LIST, payload, content_type="application/json")
    assert response.status_code == 201, response.json()
    body = response.json()
    invoice = Invoice.objects.get(code=body["id"])
    assert body["url"] == f"http://testserver/api/v1/invoices/{invoice.code}"
    assert (body["subtotal"], body["tax_total"], body["total"]) == ("65.00", "4.13", "69.13")
    assert (invoice.total, invoice.balance, invoice.status) == (
        Decimal("69.13"),
        Decimal("69.13"),
        InvoiceStatus.OPEN,
    )
    assert invoice.due_date == dt.date(2026, 3, 3)  # customer's 30-day terms
    assert invoice.source == "api"
    assert [line["description"] for line in body["lines"]] == ["Widgets", "Delivery"]
    assert body["allocations"] == []
    assert AuditLog.objects.get(action="invoice.create").object_code == str(invoice.code)


def test_it_creates_an_invoice_from_a_bare_total(owner_client, customer):
    payload = {
        "customer": str(customer.code),
        "number": "INV-BARE",
        "issue_date": "2026-02-01",
        "due_date": "2026-02-15",
        "total": "500.00",
        "tax_total": "50.00",
        "currency": "eur",
    }
    response = owner_client.post(LIST, payload, content_type="application/json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["subtotal"], body["tax_total"], body["total"], body["currency"]) == (
        "450.00",
        "50.00",
        "500.00",
        "EUR",
    )


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"number": "X"}, "customer", "This field is required."),
        ({"total": "-5"}, "total", "Ensure this value is greater than or equal to 0."),
        ({"issue_date": "9999-12-31"}, "issue_date", "must be between 1900-01-01 and 2999-12-31"),
        ({"due_date": "2026-01-01"}, "due_date", "must be on or after issue_date"),
        ({"amount": "5"}, "amount", "unknown field"),
        ({"currency": "EURO"}, "currency", "must be a three-letter ISO 4217 code"),
        ({"status": "paid"}, "status", '"paid" is not a valid choice.'),
    ],
    ids=["customer", "total", "issue_date", "due_date", "unknown", "currency", "status"],
)
def test_it_rejects_invalid_invoices_naming_the_field(
    owner_client, customer, payload, field, message
):
    base = {
        "customer": str(customer.code),
        "number": "INV-BAD",
        "issue_date": "2026-02-01",
        "total": "10",
    }
    if field == "customer":
        del base["customer"]
    response = owner_client.post(LIST, {**base, **payload}, content_type="application/json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error == {
        "status": 400,
        "code": "invalid",
        "message": f"{field}: {message}",
        "fields": {field: [message]},
    }
    assert not Invoice.objects.exists()


def test_it_reports_service_rules_as_field_errors(owner_client, customer):
    payload = {"customer": str(customer.code), "number": "N", "issue_date": "2026-02-01"}
    response = owner_client.post(LIST, payload, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"total": ["give either lines or a total"]}

    payload["lines"] = [{"description": "x", "unit_price": "10"}]
    payload["total"] = "11.00"
    response = owner_client.post(LIST, payload, content_type="application/json")
    assert response.json()["error"]["fields"] == {
        "total": ["total 11.00 does not equal lines plus tax 10.00"]
    }


def test_it_rejects_a_duplicate_number(owner_client, invoice):
    payload = {
        "customer": str(invoice.customer.code),
        "number": invoice.number,
        "issue_date": "2026-02-01",
        "total": "10",
    }
    response = owner_client.post(LIST, payload, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "number": [f"invoice number {invoice.number} already exists"]
    }
    assert Invoice.objects.filter(number=invoice.number).count() == 1


def test_it_treats_another_organizations_customer_as_not_found(owner_client, other_org, customer):
    foreign = CustomerFactory(organization=other_org, name="Foreign Co")
    payload = {"number": "X-1", "issue_date": "2026-02-01", "total": "10"}
    foreign_response = owner_client.post(
        LIST, {**payload, "customer": str(foreign.code)}, content_type="application/json"
    )
    random_code = "00000000-0000-4000-8000-000000000000"
    random_response = owner_client.post(
        LIST, {**payload, "customer": random_code}, content_type="application/json"
    )
    assert foreign_response.status_code == random_response.status_code == 400
    assert foreign_response.json()["error"]["fields"] == {
        "customer": [f"customer {foreign.code} not found"]
    }
    assert random_response.json()["error"]["fields"] == {
        "customer": [f"customer {random_code} not found"]
    }
    assert "Foreign Co" not in foreign_response.content.decode()
    assert not Invoice.objects.exists()


def test_it_shows_an_invoice_with_lines_and_allocations(owner_client, org, invoice):
    payment = services.payment_record(
        organization=org,
        customer=invoice.customer,
        amount=Decimal("100.00"),
        received_at=dt.datetime(2026, 2, 3, 9, 0, tzinfo=dt.UTC),
        allocations=[(invoice, Decimal("100.00"))],
    )
    response = owner_client.get(detail(invoice))
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["balance"], body["amount_paid"]) == (
        "partially_paid",
        "150.00",
        "100.00",
    )
    (allocation,) = body["allocations"]
    assert allocation["amount"] == "100.00"
    assert allocation["payment"]["id"] == str(payment.code)
    assert allocation["payment"]["url"] == f"http://testserver/api/v1/payments/{payment.code}"
    assert allocation["payment"]["status"] == "succeeded"


def test_it_updates_editable_fields_only(owner_client, invoice):
    response = owner_client.patch(
        detail(invoice),
        {"po_number": "PO-9", "disputed": True, "due_date": "2026-03-31"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.json()
    invoice.refresh_from_db()
    assert (invoice.po_number, invoice.disputed, invoice.due_date) == (
        "PO-9",
        True,
        dt.date(2026, 3, 31),
    )

    response = owner_client.patch(
        detail(invoice), {"total": "1.00", "number": "X"}, content_type="application/json"
    )
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert set(fields) == {"total", "number"}
    assert fields["total"][0].startswith("this field cannot be changed after the invoice")
    invoice.refresh_from_db()
    assert (invoice.total, invoice.number) == (Decimal("250.00"), "INV-A-1")


def test_it_voids_and_writes_off(owner_client, customer):
    to_void = InvoiceFactory(customer=customer)
    to_write_off = InvoiceFactory(customer=customer)

    response = owner_client.post(f"{detail(to_void)}/void")
    assert response.status_code == 200
    assert response.json()["status"] == "void"
    response = owner_client.post(f"{detail(to_write_off)}/write-off")
    assert response.status_code == 200
    assert response.json()["status"] == "written_off"

    again = owner_client.post(f"{detail(to_void)}/void")
    assert again.status_code == 400
    assert again.json()["error"]["fields"] == {"status": ["a void invoice cannot be voided"]}


def test_it_refuses_to_void_an_invoice_with_payments(owner_client, org, invoice):
    services.payment_record(
        organization=org,
        customer=invoice.customer,
        amount=Decimal("10.00"),
        received_at=dt.datetime(2026, 2, 3, tzinfo=dt.UTC),
        allocations=[(invoice, Decimal("10.00"))],
    )
    response = owner_client.post(f"{detail(invoice)}/void")
    assert response.status_code == 400
    assert "cannot be voided" in response.json()["error"]["fields"]["status"][0]
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PARTIALLY_PAID


def test_it_lets_a_viewer_read_but_not_write(viewer_client, invoice):
    assert viewer_client.get(LIST).status_code == 200
    assert viewer_client.get(detail(invoice)).status_code == 200
    for response in (
        viewer_client.post(LIST, {}, content_type="application/json"),
        viewer_client.patch(detail(invoice), {"po_number": "x"}, content_type="application/json"),
        viewer_client.post(f"{detail(invoice)}/void"),
        viewer_client.post(f"{detail(invoice)}/write-off"),
    ):
        assert response.status_code == 403
        assert response.json() == {
            "error": {
                "status": 403,
                "code": "permission_denied",
                "message": "missing permission write:invoices",
            }
        }
    invoice.refresh_from_db()
    assert (invoice.status, invoice.po_number) == (InvoiceStatus.OPEN, "")


def test_it_answers_404_to_an_outsider_and_leaks_nothing(outsider_client, invoice):
    for response in (
        outsider_client.get(detail(invoice)),
        outsider_client.patch(detail(invoice), {"po_number": "x"}, content_type="application/json"),
        outsider_client.post(f"{detail(invoice)}/void"),
        outsider_client.post(f"{detail(invoice)}/write-off"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
        assert invoice.number not in response.content.decode()
    listing = outsider_client.get(LIST).content.decode()
    assert invoice.number not in listing and str(invoice.code) not in listing
    assert outsider_client.get(f"{LIST}?customer={invoice.customer.code}").json()["results"] == []
    invoice.refresh_from_db()
    assert (invoice.status, invoice.po_number) == (InvoiceStatus.OPEN, "")


def test_it_names_the_invoice_url(invoice):
    assert reverse("api:invoice-detail", kwargs={"id": invoice.code}) == detail(invoice)
