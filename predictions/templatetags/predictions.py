"""Prediction panels for ledger pages (invoice detail, customer profile).

The ledger's templates load this library and place a panel; its data comes from the
predictions selectors here, so the ledger's Python code never imports predictions.
"""

from __future__ import annotations

from django import template

from predictions import selectors
from predictions.charts import sparkline

register = template.Library()


@register.filter
def pct(value) -> str:
    return "\u2013" if value is None or value == "" else f"{float(value):.0%}"


@register.inclusion_tag("predictions/_invoice_prediction.html")
def invoice_prediction_panel(invoice) -> dict:
    prediction = selectors.prediction_for_invoice(
        organization=invoice.organization, invoice=invoice
    )
    history = (
        selectors.prediction_history_for_invoice(organization=invoice.organization, invoice=invoice)
        if prediction
        else []
    )
    points = [h.p_paid_by_due * 100 for h in reversed(history)]
    return {
        "invoice": invoice,
        "prediction": prediction,
        "history": history[:10],
        "spark": sparkline(points) if len(points) > 1 else "",
    }


@register.inclusion_tag("predictions/_customer_risk.html")
def customer_risk_panel(customer) -> dict:
    summary = selectors.customer_risk_summary(customer=customer)
    scores = [point["score"] for point in summary["trend"]]
    return {
        "customer": customer,
        "risk": summary,
        "spark": sparkline(scores) if len(scores) > 1 else "",
    }
