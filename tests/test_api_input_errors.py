"""Newcomer traps in the API: bad parameters are named, all bad fields are reported at once,
and a bearer token without Auth0 configured is told why it is refused."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import CustomerFactory, InvoiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoices(org):
    return [InvoiceFactory(customer=CustomerFactory(organization=org)) for _ in range(2)]


@pytest.mark.parametrize("param", ["overdue", "disputed"])
def test_it_refuses_a_boolean_it_cannot_read(owner_client, invoices, param):
    response = owner_client.get("/api/v1/invoices", {param: "maybe"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"] == f"{param}: must be true or false, got 'maybe'"
    export = owner_client.get(reverse("invoice-export"), {param: "maybe"})
    assert export.status_code == 400 and param in export.content.decode()
    page = owner_client.get(reverse("invoice-list"), {param: "maybe"}).content.decode()
    assert "Some filters are not valid" in page and "must be true or false" in page


def test_it_still_reads_the_usual_spellings(owner_client, invoices):
    for value in ("true", "1", "yes", "False", "0", "no"):
        assert owner_client.get("/api/v1/invoices", {"overdue": value}).status_code == 200


def test_it_names_an_unknown_query_parameter(owner_client, invoices):
    response = owner_client.get("/api/v1/invoices", {"stauts": "open", "colour": "red"})
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert set(fields) == {"colour", "stauts"}
    assert "known: " in fields["stauts"][0] and "status" in fields["stauts"][0]


def test_it_reports_every_bad_field_of_a_post_at_once(owner_client, org):
    payload = {"customer": "nope", "issue_date": "yesterday", "total": "abc", "colour": "red"}
    response = owner_client.post("/api/v1/invoices", payload, content_type="application/json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error["fields"]) >= {"customer", "issue_date", "total", "colour", "number"}
    for name in ("customer", "issue_date", "total", "colour", "number"):
        assert f"{name}: " in error["message"]


def test_it_says_bearer_tokens_are_not_enabled_without_auth0(settings, org):
    settings.AUTH0_AUDIENCE = ""
    settings.AUTH0_JWKS_URL = ""
    response = Client().get("/api/v1/invoices", HTTP_AUTHORIZATION="Bearer abc.def.ghi")
    assert response.status_code == 401
    assert "bearer tokens are not enabled" in response.json()["error"]["message"]
