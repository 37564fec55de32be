from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from invoices.models import Invoice, InvoiceStatus
from predictions.models import Prediction
from predictions.services.risk import customer_risk_refresh
from predictions.services.scoring import invoices_score

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored(org, active_model):
    invoices_score(organization=org)
    customer_risk_refresh(organization=org)
    return Prediction.objects.filter(organization=org).select_related("invoice__customer")


def test_it_lists_predictions_most_money_at_risk_first_for_a_viewer(viewer_client, scored):
    response = viewer_client.get(reverse("api:prediction-list"))
    assert response.status_code == 200
    rows = response.json()["results"]
    assert len(rows) == 18
    money = [Decimal(r["money_at_risk"]) for r in rows]
    assert money == sorted(money, reverse=True) and money[0] > money[-1]
    first = rows[0]
    assert set(first) >= {"invoice", "customer", "p_paid_by_due", "expected_date", "interval"}
    assert first["base_currency"] == "USD"
    stored = scored.get(code=first["id"])
    assert first["p_late"] == pytest.approx(stored.p_late)
    assert first["risk_probability"] == pytest.approx(stored.risk_probability)

    riskiest = viewer_client.get(reverse("api:prediction-list"), {"ordering": "-risk_probability"})
    probabilities = [r["risk_probability"] for r in riskiest.json()["results"]]
    assert probabilities == sorted(probabilities, reverse=True)
    assert first["interval"]["level"] == 0.8


def test_it_filters_by_risk_level_customer_and_due_range(viewer_client, scored, ledger):
    high = scored.filter(risk_level="high").count()
    response = viewer_client.get(reverse("api:prediction-list"), {"risk_level": "high"})
    assert len(response.json()["results"]) == high
    assert {r["risk_level"] for r in response.json()["results"]} <= {"high"}

    customer = ledger["slow0"]
    response = viewer_client.get(reverse("api:prediction-list"), {"customer": str(customer.code)})
    assert {r["customer"]["id"] for r in response.json()["results"]} == {str(customer.code)}
    assert len(response.json()["results"]) == 3

    invoice = scored.order_by("invoice__due_date").first().invoice
    response = viewer_client.get(
        reverse("api:prediction-list"),
        {"due_after": invoice.due_date.isoformat(), "due_before": invoice.due_date.isoformat()},
    )
    due = {r["due_date"] for r in response.json()["results"]}
    assert due == {invoice.due_date.isoformat()}


def test_it_pages_with_a_cursor(viewer_client, scored):
    first = viewer_client.get(reverse("api:prediction-list"), {"page_size": 10}).json()
    assert len(first["results"]) == 10 and first["next"]
    second = viewer_client.get(first["next"]).json()
    assert len(second["results"]) == 8
    ids = {r["id"] for r in first["results"]} | {r["id"] for r in second["results"]}
    assert len(ids) == 18


def test_it_shows_one_prediction_with_factors_and_interval(viewer_client, scored):
    prediction = scored.first()
    url = reverse("api:prediction-detail", kwargs={"invoice_id": prediction.invoice.code})
    body = viewer_client.get(url).json()
    assert body["invoice"]["id"] == str(prediction.invoice.code)
    assert body["interval"] == {
        "level": 0.8,
        "lower": prediction.lower_date.isoformat(),
        "upper": prediction.upper_date.isoformat(),
    }
    assert body["factors"] and {"text", "direction", "impact"} <= set(body["factors"][0])


def test_it_hides_another_organizations_predictions(outsider_client, scored):
    prediction = scored.first()
    url = reverse("api:prediction-detail", kwargs={"invoice_id": prediction.invoice.code})
    assert outsider_client.get(url).status_code == 404
    rescore = reverse("api:prediction-rescore", kwargs={"invoice_id": prediction.invoice.code})
    assert outsider_client.post(rescore).status_code == 404
    risk = reverse("api:customer-risk", kwargs={"id": prediction.invoice.customer.code})
    assert outsider_client.get(risk).status_code == 404
    assert outsider_client.get(reverse("api:prediction-list")).json()["results"] == []


def test_it_rescores_one_invoice_for_a_collector(collector_client, scored):
    prediction = scored.first()
    Prediction.objects.filter(pk=prediction.pk).update(risk_level="high", risk_probability=0.0)
    url = reverse("api:prediction-rescore", kwargs={"invoice_id": prediction.invoice.code})
    response = collector_client.post(url)
    assert response.status_code == 200
    fresh = Prediction.objects.get(pk=prediction.pk)
    assert fresh.risk_probability > 0.0
    assert response.json()["risk_probability"] == pytest.approx(fresh.risk_probability)


def test_it_does_not_let_a_viewer_rescore(viewer_client, scored):
    prediction = scored.first()
    url = reverse("api:prediction-rescore", kwargs={"invoice_id": prediction.invoice.code})
    response = viewer_client.post(url)
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "missing permission write:invoices"


def test_it_refuses_to_rescore_a_paid_invoice(collector_client, scored, org):
    invoice = Invoice.objects.filter(organization=org, status=InvoiceStatus.PAID).first()
    url = reverse("api:prediction-rescore", kwargs={"invoice_id": invoice.code})
    response = collector_client.post(url)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invoice_not_open"


def test_it_returns_customer_risk_with_drivers(viewer_client, scored, ledger):
    customer = ledger["slow0"]
    body = viewer_client.get(reverse("api:customer-risk", kwargs={"id": customer.code})).json()
    assert 0 <= body["score"] <= 100
    assert body["level"] in ("low", "medium", "high")
    assert body["currency"] == "USD"
    assert body["drivers"] and body["trend"][-1]["score"] == body["score"]


def test_it_returns_the_13_week_forecast(viewer_client, scored):
    body = viewer_client.get(reverse("api:forecast")).json()
    assert body["currency"] == "USD" and body["band"] == 0.8
    assert len(body["weeks"]) == 13
    assert all(w["lower"] <= w["expected"] <= w["upper"] for w in body["weeks"])


def test_it_says_when_there_is_no_model_for_the_forecast(viewer_client, org, ledger, model_dir):
    response = viewer_client.get(reverse("api:forecast"))
    assert response.status_code == 409
    assert "train_payment_model --org org-a" in response.json()["error"]["message"]


def test_it_lists_model_versions_for_admins_only(
    owner_client, viewer_client, collector_client, outsider_client, active_model
):
    body = owner_client.get(reverse("api:model-list")).json()
    assert [v["version"] for v in body["results"]] == [active_model.version]
    assert body["results"][0]["status"] == "active"
    assert body["results"][0]["promotion"]["decision"] == "promoted"
    assert viewer_client.get(reverse("api:model-list")).status_code == 403
    assert collector_client.get(reverse("api:model-list")).status_code == 403
    assert outsider_client.get(reverse("api:model-list")).json()["results"] == []


def test_it_requires_login(scored):
    assert Client().get(reverse("api:prediction-list")).status_code in (401, 403)


def test_it_publishes_the_endpoints_in_the_schema(owner_client):
    schema = owner_client.get("/api/schema/?format=json").json()
    for path in (
        "/api/v1/predictions",
        "/api/v1/predictions/{invoice_id}",
        "/api/v1/predictions/{invoice_id}/rescore",
        "/api/v1/customers/{id}/risk",
        "/api/v1/forecast",
        "/api/v1/models",
    ):
        assert path in schema["paths"], path
