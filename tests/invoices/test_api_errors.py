"""One error body for every 4xx of the API, and the schema/docs pages that describe it."""

from __future__ import annotations

import pytest
import yaml
from django.test import Client
from rest_framework.throttling import SimpleRateThrottle

from tests.factories import InvoiceFactory

pytestmark = pytest.mark.django_db


def _assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["status"] == status
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    return error


def test_it_answers_unknown_api_urls_with_the_error_body(owner_client):
    for url in ("/api/v1/nothing-here", "/api/v1/nothing-here/", "/api/v1/invoices/not-a-uuid"):
        error = _assert_error(owner_client.get(url), 404, "not_found")
        assert error["message"] == "no such API endpoint"


def test_it_answers_404_for_a_missing_object(owner_client):
    error = _assert_error(
        owner_client.get("/api/v1/invoices/00000000-0000-4000-8000-000000000000"),
        404,
        "not_found",
    )
    assert error["message"] == "No invoice matches the given id."


def test_it_answers_405_for_a_wrong_method(owner_client, org):
    invoice = InvoiceFactory(customer__organization=org)
    error = _assert_error(
        owner_client.delete(f"/api/v1/invoices/{invoice.code}"), 405, "method_not_allowed"
    )
    assert error["message"] == 'Method "DELETE" not allowed.'
    _assert_error(
        owner_client.get(f"/api/v1/invoices/{invoice.code}/void"), 405, "method_not_allowed"
    )


def test_it_answers_415_for_a_form_post(owner_client):
    response = owner_client.post("/api/v1/customers", {"name": "Form Co"})
    error = _assert_error(response, 415, "unsupported_media_type")
    assert "multipart/form-data" in error["message"]


def test_it_answers_400_for_malformed_json(owner_client):
    response = owner_client.post(
        "/api/v1/customers", '{"name": "half', content_type="application/json"
    )
    error = _assert_error(response, 400, "parse_error")
    assert error["message"].startswith("JSON parse error")


def test_it_answers_400_for_a_body_that_is_not_an_object(owner_client):
    response = owner_client.post("/api/v1/customers", "[1, 2]", content_type="application/json")
    error = _assert_error(response, 400, "invalid")
    assert error["fields"] == {
        "non_field_errors": ["Invalid data. Expected a dictionary, but got list."]
    }


def test_it_refuses_anonymous_callers_with_the_error_body():
    response = Client().get("/api/v1/invoices")
    assert response.status_code in (401, 403)
    error = _assert_error(response, response.status_code, "not_authenticated")
    assert error["message"] == "Authentication credentials were not provided."


def test_it_refuses_a_user_without_an_organization():
    from tests.factories import UserFactory

    client = Client()
    client.force_login(UserFactory())
    error = _assert_error(client.get("/api/v1/invoices"), 403, "permission_denied")
    assert error["message"] == "no organization is associated with these credentials"


def test_it_throttles_with_the_error_body_and_retry_after(owner_client, monkeypatch):
    # DRF reads the rates into a class attribute at import; lower it for this test only.
    monkeypatch.setattr(
        SimpleRateThrottle, "THROTTLE_RATES", {"user": "2/minute", "anon": "2/minute"}
    )
    assert owner_client.get("/api/v1/customers").status_code == 200
    assert owner_client.get("/api/v1/customers").status_code == 200
    response = owner_client.get("/api/v1/customers")
    error = _assert_error(response, 429, "throttled")
    assert error["message"].startswith("Request was throttled.")
    assert int(response["Retry-After"]) > 0


def test_it_publishes_a_schema_with_every_operation_and_the_error_body(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    operations = {
        (path, method): operation
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    }
    expected = {
        ("/api/v1/customers", "get"),
        ("/api/v1/customers", "post"),
        ("/api/v1/customers/{id}", "get"),
        ("/api/v1/customers/{id}", "patch"),
        ("/api/v1/invoices", "get"),
        ("/api/v1/invoices", "post"),
        ("/api/v1/invoices/{id}", "get"),
        ("/api/v1/invoices/{id}", "patch"),
        ("/api/v1/invoices/{id}/void", "post"),
        ("/api/v1/invoices/{id}/write-off", "post"),
        ("/api/v1/payments", "get"),
        ("/api/v1/payments", "post"),
        ("/api/v1/payments/{id}", "get"),
        ("/api/v1/payments/{id}/allocations", "post"),
        ("/api/v1/payments/{id}/fail", "post"),
        ("/api/v1/payments/{id}/refund", "post"),
        ("/api/v1/payments/{id}/succeed", "post"),
    }
    assert expected <= set(operations)
    assert "Error" in schema["components"]["schemas"]
    error_ref = {"$ref": "#/components/schemas/Error"}
    for key in expected:
        responses = operations[key]["responses"]
        assert responses["403"]["content"]["application/json"]["schema"] == error_ref, key
    invoice_list = operations[("/api/v1/invoices", "get")]
    params = {p["name"]: p for p in invoice_list["parameters"]}
    assert {
        "status",
        "customer",
        "overdue",
        "due_before",
        "ordering",
        "cursor",
        "page_size",
    } <= set(params)
    assert "-due_date" in params["ordering"]["schema"]["enum"]
    assert invoice_list["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PaginatedInvoiceList"
    }
    assert operations[("/api/v1/invoices", "post")]["requestBody"]["content"].keys() == {
        "application/json"
    }


def test_it_serves_the_docs_page_and_its_assets_without_a_cdn(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "cdn" not in page.lower() and "unpkg" not in page and "jsdelivr" not in page
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    for asset in (
        "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js",
        "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-standalone-preset.js",
        "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css",
    ):
        assert asset in page
        asset_response = client.get(asset)
        assert asset_response.status_code == 200, asset
        assert b"".join(asset_response.streaming_content)[:10]
    # The page's own initializer script points Swagger UI at our schema.
    assert '<script src="/api/docs/?script="></script>' in page
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert b"/api/schema/" in script.content
