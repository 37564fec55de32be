"""The API answers with and without a trailing slash and lists its endpoints at /api/v1/."""

from __future__ import annotations

import pytest

from paypredict_project.api_root import api_endpoints
from tests.factories import CustomerFactory, InvoiceFactory, PaymentFactory

pytestmark = pytest.mark.django_db


def test_it_lists_every_endpoint_at_the_root(client):
    for url in ("/api/v1/", "/api/v1"):
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.json()
        paths = {endpoint["path"]: endpoint["methods"] for endpoint in body["endpoints"]}
        assert paths["/api/v1/invoices"] == ["GET", "POST"]
        assert paths["/api/v1/invoices/{id}/void"] == ["POST"]
        assert body["schema"].endswith("/api/schema/")


def test_it_serves_every_get_route_with_and_without_the_trailing_slash(owner_client, org):
    customer = CustomerFactory(organization=org)
    invoice = InvoiceFactory(customer=customer)
    payment = PaymentFactory(customer=customer)
    codes = {"customers": customer.code, "invoices": invoice.code, "payments": payment.code}
    checked = 0
    for endpoint in api_endpoints():
        if "GET" not in endpoint["methods"]:
            continue
        resource = endpoint["path"].split("/")[3]
        path = endpoint["path"].format(id=codes.get(resource), invoice_id=invoice.code)
        plain, slashed = owner_client.get(path), owner_client.get(path + "/")
        assert plain.status_code == slashed.status_code, path
        if not plain.streaming:
            assert _without_clock(plain) == _without_clock(slashed), path
        checked += 1
    assert checked >= 10


def _without_clock(response):
    # Reports state the moment they were computed ("now"); two requests differ by microseconds.
    body = response.json()
    return (
        {key: value for key, value in body.items() if key != "now"}
        if isinstance(body, dict)
        else body
    )


def test_it_accepts_a_post_with_the_trailing_slash(owner_client, org):
    invoice = InvoiceFactory(customer=CustomerFactory(organization=org))
    response = owner_client.post(
        f"/api/v1/invoices/{invoice.code}/void/", {}, content_type="application/json"
    )
    assert response.status_code == 200
    invoice.refresh_from_db()
    assert invoice.status == "void"


def test_it_still_answers_unknown_api_paths_with_the_api_404(owner_client):
    response = owner_client.get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "no such API endpoint"
