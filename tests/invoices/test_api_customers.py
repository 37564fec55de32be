"""/api/v1/customers: list, filter, page, create, update; viewer and outsider."""

from __future__ import annotations

from decimal import Decimal

import pytest

from invoices.models import Customer
from paypredict_project.tenancy.models import AuditLog
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/customers"


def detail(customer) -> str:
    return f"{LIST}/{customer.code}"


@pytest.fixture
def customer(org):
    return CustomerFactory(
        organization=org, name="Acme Tools", email="ap@acme.example", country="US"
    )


def test_it_lists_the_organizations_customers_by_name(owner_client, org, other_org, customer):
    CustomerFactory(organization=org, name="Beta Works", country="DE")
    CustomerFactory(organization=other_org, name="Foreign Co")
    response = owner_client.get(LIST)
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["name"] for row in rows] == ["Acme Tools", "Beta Works"]
    assert rows[0]["id"] == str(customer.code)
    assert rows[0]["url"] == f"http://testserver{detail(customer)}"
    assert rows[0]["payment_terms_days"] == 30


def test_it_filters_and_pages_customers(owner_client, org):
    for i in range(7):
        CustomerFactory(organization=org, name=f"Client {i:02d}", country="FR" if i % 2 else "US")
    response = owner_client.get(f"{LIST}?country=fr")
    assert [row["name"] for row in response.json()["results"]] == [
        "Client 01",
        "Client 03",
        "Client 05",
    ]
    names, url = [], f"{LIST}?page_size=3&ordering=-name"
    while url:
        body = owner_client.get(url).json()
        names += [row["name"] for row in body["results"]]
        url = body["next"]
    assert names == [f"Client {i:02d}" for i in reversed(range(7))]
    assert owner_client.get(f"{LIST}?q=client 04").json()["results"][0]["name"] == "Client 04"


def test_it_creates_a_customer(owner_client, org):
    payload = {
        "name": "Gamma Ltd",
        "email": "billing@gamma.example",
        "currency": "gbp",
        "payment_terms_days": 45,
        "credit_limit": "25000.00",
        "contacts": [{"name": "Jo", "email": "jo@gamma.example", "role": "AP"}],
        "attributes": {"paperless": True},
    }
    response = owner_client.post(LIST, payload, content_type="application/json")
    assert response.status_code == 201, response.json()
    body = response.json()
    customer = Customer.objects.get(code=body["id"])
    assert customer.organization == org
    assert (customer.currency, customer.payment_terms_days, customer.credit_limit) == (
        "GBP",
        45,
        Decimal("25000.00"),
    )
    assert customer.source == "api"
    assert customer.contacts == [{"name": "Jo", "email": "jo@gamma.example", "role": "AP"}]
    assert body["credit_limit"] == "25000.00"
    assert AuditLog.objects.filter(action="customer.create", object_code=body["id"]).exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "name"),
        ({"name": "X", "email": "not-an-email"}, "email"),
        ({"name": "X", "credit_limit": "-1"}, "credit_limit"),
        ({"name": "X", "attributes": ["not", "an", "object"]}, "attributes"),
        ({"name": "X", "notes": "nul \u0000 byte"}, "notes"),
        ({"name": "X", "attributes": {"k": "nul \u0000"}}, "attributes"),
        ({"name": "X", "risk_score": "10"}, "risk_score"),
    ],
    ids=["name", "email", "credit_limit", "attributes", "nul", "nul_json", "read_only"],
)
def test_it_rejects_invalid_customers_naming_the_field(owner_client, payload, field):
    response = owner_client.post(LIST, payload, content_type="application/json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["status"], error["code"]) == (400, "invalid")
    assert list(error["fields"]) == [field]
    assert error["message"].startswith(f"{field}: ")
    assert not Customer.objects.exists()


def test_it_updates_some_fields(owner_client, customer):
    response = owner_client.patch(
        detail(customer),
        {"do_not_remind": True, "notes": "prefers phone"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.json()
    customer.refresh_from_db()
    assert (customer.do_not_remind, customer.notes, customer.name) == (
        True,
        "prefers phone",
        "Acme Tools",
    )
    entry = AuditLog.objects.get(action="customer.update")
    assert entry.before == {"do_not_remind": False, "notes": ""}


def test_it_shows_one_customer(owner_client, customer):
    response = owner_client.get(detail(customer))
    assert response.status_code == 200
    assert response.json()["name"] == "Acme Tools"


def test_it_lets_a_viewer_read_but_not_write(viewer_client, customer):
    assert viewer_client.get(LIST).status_code == 200
    assert viewer_client.get(detail(customer)).status_code == 200
    for response in (
        viewer_client.post(LIST, {"name": "X"}, content_type="application/json"),
        viewer_client.patch(detail(customer), {"name": "X"}, content_type="application/json"),
    ):
        assert response.status_code == 403
        assert response.json()["error"]["message"] == "missing permission write:invoices"
    customer.refresh_from_db()
    assert customer.name == "Acme Tools"
    assert Customer.objects.count() == 1


def test_it_answers_404_to_an_outsider_and_leaks_nothing(outsider_client, customer):
    for response in (
        outsider_client.get(detail(customer)),
        outsider_client.patch(
            detail(customer), {"name": "Hacked"}, content_type="application/json"
        ),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
        assert "Acme" not in response.content.decode()
    assert "Acme" not in outsider_client.get(LIST).content.decode()
    customer.refresh_from_db()
    assert customer.name == "Acme Tools"
