"""Auth0 access tokens end to end against the real ledger API (/api/v1/invoices)."""

from __future__ import annotations

import pytest
from django.test import Client

from invoices.models import Invoice
from paypredict_project.tenancy.models import AuditLog
from tests.factories import CustomerFactory, InvoiceFactory
from tests.integrations import test_auth0_jwt as jwt_cases
from tests.integrations.auth0_fake import sign

# The JWKS fake, keys and tenant set-up are the unit tests' own fixtures.
keys = jwt_cases.keys
fake = jwt_cases.fake
auth0 = jwt_cases.auth0
claims = jwt_cases.claims
assert_rejected = jwt_cases.assert_rejected

LIST = "/api/v1/invoices"


@pytest.fixture
def ledger(org, other_org):
    mine = [InvoiceFactory(customer__organization=org, number=f"A-{i}") for i in range(3)]
    theirs = InvoiceFactory(customer__organization=other_org, number="B-1")
    return mine, theirs


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_it_lists_the_token_organizations_invoices(auth0, keys, ledger):
    token = sign(claims(auth0, permissions=["read:invoices"]), keys["current"])

    response = Client().get(LIST, **bearer(token))

    assert response.status_code == 200, response.content
    assert sorted(row["number"] for row in response.json()["results"]) == ["A-0", "A-1", "A-2"]


def test_it_refuses_a_read_only_token_creating_an_invoice(auth0, keys, org, ledger):
    customer = CustomerFactory(organization=org)
    token = sign(claims(auth0, permissions=["read:invoices"]), keys["current"])
    payload = {
        "customer": str(customer.code),
        "number": "INV-TOKEN",
        "issue_date": "2026-02-01",
        "total": "500.00",
    }

    response = Client().post(LIST, payload, content_type="application/json", **bearer(token))

    assert_rejected(response, 403, "missing permission write:invoices")
    assert not Invoice.objects.filter(number="INV-TOKEN").exists()


def test_it_creates_an_invoice_with_a_write_token_and_audits_the_token_user(
    auth0, keys, org, ledger
):
    customer = CustomerFactory(organization=org)
    token = sign(claims(auth0), keys["current"])
    payload = {
        "customer": str(customer.code),
        "number": "INV-TOKEN",
        "issue_date": "2026-02-01",
        "total": "500.00",
    }

    response = Client().post(LIST, payload, content_type="application/json", **bearer(token))

    assert response.status_code == 201, response.content
    invoice = Invoice.objects.get(number="INV-TOKEN")
    assert invoice.organization == org
    entry = AuditLog.objects.get(action="invoice.create", object_code=str(invoice.code))
    assert entry.actor.username == "auth0|6650a1b2c3d4e5f6a7b8c9d0"


def test_it_hides_org_a_invoices_from_an_org_b_token(auth0, keys, ledger):
    mine, theirs = ledger
    token_b = sign(claims(auth0, org_id="org_BBBB2222"), keys["current"])

    assert_rejected(Client().get(f"{LIST}/{mine[0].code}", **bearer(token_b)), 404, "")
    assert Client().get(f"{LIST}/{theirs.code}", **bearer(token_b)).json()["number"] == "B-1"
    listed = Client().get(LIST, **bearer(token_b)).json()["results"]
    assert [row["number"] for row in listed] == ["B-1"]


def test_it_rejects_an_expired_token_on_the_real_api(auth0, keys, ledger):
    token = sign(claims(auth0, exp=1_700_000_000, iat=1_699_990_000), keys["current"])

    assert_rejected(Client().get(LIST, **bearer(token)), 401, "token expired")


def test_it_answers_401_to_anonymous_api_calls_when_auth0_is_on(auth0):
    assert_rejected(Client().get(LIST), 401, "Authentication credentials were not provided")
