from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from invoices.models import InvoiceStatus
from predictions.models import Prediction
from predictions.services.risk import customer_risk_refresh
from predictions.services.scoring import invoices_score

pytestmark = pytest.mark.django_db

OPEN = {"status": [InvoiceStatus.OPEN], "per_page": 50}


@pytest.fixture
def scored(org, active_model):
    invoices_score(organization=org)
    customer_risk_refresh(organization=org)
    return Prediction.objects.filter(organization=org).select_related("invoice__customer")


def test_it_shows_risk_probability_and_expected_date_on_the_worklist(viewer_client, scored):
    body = viewer_client.get(reverse("invoice-list"), OPEN).content.decode()
    prediction = scored.first()
    assert "Predicted risk" in body
    assert body.count('data-risk="') == 18
    assert f"{prediction.expected_date:%Y-%m-%d}" in body


def test_it_filters_the_worklist_by_risk_level(viewer_client, scored):
    high = scored.filter(risk_level="high")
    response = viewer_client.get(reverse("invoice-list"), {**OPEN, "risk_level": "high"})
    body = response.content.decode()
    assert body.count('data-risk="high"') == high.count()
    assert 'data-risk="low"' not in body and 'data-risk="medium"' not in body
    for prediction in high:
        assert prediction.invoice.number in body


def test_it_sorts_the_worklist_riskiest_first_on_risk_descending(viewer_client, scored):
    body = viewer_client.get(reverse("invoice-list"), {**OPEN, "sort": "-risk"}).content.decode()
    ordered = list(scored.order_by("-risk_probability", "-invoice_id"))
    first, last = ordered[0].invoice.number, ordered[-1].invoice.number
    assert ordered[0].risk_probability > ordered[-1].risk_probability
    assert body.index(f">{first}<") < body.index(f">{last}<")
    assert ordered[0].risk_level != "low" or ordered[-1].risk_level == "low"


def test_it_opens_the_worklist_on_the_most_money_at_risk(collector_client, scored):
    response = collector_client.get(reverse("invoice-list"))
    assert response.status_code == 302 and "sort=-at_risk" in response["Location"]
    body = collector_client.get(response["Location"]).content.decode()
    ordered = list(scored.order_by("-money_at_risk", "-invoice_id"))
    numbers = [p.invoice.number for p in ordered]
    positions = [body.index(f">{n}<") for n in numbers]
    assert positions == sorted(positions)
    assert ordered[0].money_at_risk > ordered[-1].money_at_risk
    assert "data-money-at-risk" in body and "data-p-late" in body


def test_it_lists_unscored_invoices_last_in_both_directions(viewer_client, scored):
    unscored = scored.first().invoice
    Prediction.objects.filter(invoice=unscored).delete()
    for sort in ("-at_risk", "at_risk"):
        body = viewer_client.get(reverse("invoice-list"), {**OPEN, "sort": sort}).content
        body = body.decode()
        rows = re.findall(r'<tr id="invoice-([0-9a-f-]+)"', body)
        assert rows[-1] == str(unscored.code)


def test_it_keeps_the_worklist_query_count_flat_with_predictions(owner_client, scored):
    counts = []
    for size in (10, 50):
        with CaptureQueriesContext(connection) as queries:
            owner_client.get(reverse("invoice-list"), {**OPEN, "per_page": size})
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_it_shows_the_prediction_on_the_invoice_page(viewer_client, scored):
    prediction = scored.first()
    body = viewer_client.get(reverse("invoice-detail", args=[prediction.invoice.code])).content
    body = body.decode()
    assert "Payment prediction" in body
    assert f"<strong data-expected-date>{prediction.expected_date:%Y-%m-%d}</strong>" in body
    assert f"80% between {prediction.lower_date:%Y-%m-%d}" in body
    assert f"<dd data-p-at-risk>{prediction.risk_probability:.0%}</dd>" in body
    assert f"<dd data-p-late>{prediction.p_late:.0%}</dd>" in body
    assert "data-money-at-risk" in body


def test_it_shows_risk_and_trend_on_the_customer_profile(viewer_client, scored, ledger):
    customer = ledger["slow0"]
    body = viewer_client.get(reverse("customer-detail", args=[customer.code])).content.decode()
    assert "Payment risk" in body and "data-risk-score" in body


def test_it_does_not_show_another_organizations_invoice(outsider_client, scored):
    prediction = scored.first()
    url = reverse("invoice-detail", args=[prediction.invoice.code])
    assert outsider_client.get(url).status_code == 404
