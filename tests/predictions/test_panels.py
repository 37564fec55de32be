from __future__ import annotations

import datetime as dt

import pytest
from django.template import Context, Template

from invoices.models import Invoice, InvoiceStatus
from predictions.models import CustomerRiskSnapshot, Prediction
from predictions.services.risk import customer_risk_refresh
from predictions.services.scoring import invoices_score
from tests.predictions.conftest import TODAY

pytestmark = pytest.mark.django_db


def render(source: str, **context) -> str:
    return Template("{% load predictions %}" + source).render(Context(context))


def test_it_shows_an_invoices_prediction_interval_and_factors(org, active_model):
    invoices_score(organization=org)
    prediction = Prediction.objects.select_related("invoice").first()
    html = render("{% invoice_prediction_panel invoice %}", invoice=prediction.invoice)
    assert f"<strong data-expected-date>{prediction.expected_date:%Y-%m-%d}</strong>" in html
    assert (
        f"80% between {prediction.lower_date:%Y-%m-%d} and {prediction.upper_date:%Y-%m-%d}" in html
    )
    assert f'data-risk="{prediction.risk_level}"' in html
    for factor in prediction.factors:
        assert factor["text"].replace("'", "&#x27;") in html


def test_it_says_why_a_paid_invoice_has_no_prediction(org, active_model):
    invoice = Invoice.objects.filter(organization=org, status=InvoiceStatus.PAID).first()
    html = render("{% invoice_prediction_panel invoice %}", invoice=invoice)
    assert "only open invoices are scored" in html


def test_it_shows_customer_risk_with_a_trend_sparkline(org, active_model, ledger):
    invoices_score(organization=org)
    customer_risk_refresh(organization=org, as_of=TODAY - dt.timedelta(days=35))
    customer_risk_refresh(organization=org)
    customer = ledger["slow0"]
    CustomerRiskSnapshot.objects.filter(customer=customer, date__lt=TODAY).update(score=5.0)
    html = render("{% customer_risk_panel customer %}", customer=customer)
    assert "data-risk-score" in html and "<polyline" in html
    assert "in 30 days)" in html
    assert "paid " in html and " late" in html


def test_it_fills_worklist_cells_or_dashes(org, active_model):
    invoices_score(organization=org)
    prediction = Prediction.objects.first()
    cells = Template('{% include "predictions/prediction_cells.html" %}').render(
        Context({"prediction": prediction, "current_organization": org})
    )
    assert cells.count("<td") == 4 and f"{prediction.expected_date:%Y-%m-%d}" in cells
    assert f"{prediction.money_at_risk:,.2f} {org.base_currency}" in cells
    empty = Template('{% include "predictions/prediction_cells.html" %}').render(
        Context({"prediction": None, "current_organization": org})
    )
    assert empty.count("<td") == 4 and "\u2013" in empty
