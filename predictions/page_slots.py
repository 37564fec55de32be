"""What predictions adds to the ledger's pages, through page slots (paypredict_project/slots.py).

Registered from PredictionsConfig.ready(): the ledger renders these without naming predictions.
"""

from __future__ import annotations

import django_filters as filters

from paypredict_project import slots
from predictions.models import RiskLevel
from predictions.templatetags.predictions import customer_risk_panel, invoice_prediction_panel

# Highest risk first: the order a collector scans the filter in.
RISK_LEVEL_CHOICES = list(reversed(RiskLevel.choices))


def _dashboard_outlook(request, obj) -> dict:
    from predictions import selectors

    organization = request.organization
    return {
        "outlook": selectors.forecast_outlook(organization=organization),
        "risk_mix": selectors.open_ar_risk_mix(organization=organization),
    }


def register_page_slots() -> None:
    slots.register(
        slots.DASHBOARD_PANELS,
        slots.Panel(
            key="predictions.outlook",
            template="predictions/_dashboard_outlook.html",
            context=_dashboard_outlook,
            permission="read:predictions",
        ),
    )
    slots.register(
        slots.INVOICE_PANELS,
        slots.Panel(
            key="predictions.invoice_prediction",
            template="predictions/_invoice_prediction.html",
            context=lambda request, invoice: invoice_prediction_panel(invoice),
        ),
    )
    slots.register(
        slots.CUSTOMER_SECTIONS,
        slots.Panel(
            key="predictions.customer_risk",
            template="predictions/_customer_risk.html",
            context=lambda request, customer: customer_risk_panel(customer),
        ),
    )
    slots.register(
        slots.INVOICE_COLUMNS,
        slots.Column(
            key="predictions.prediction",
            header_template="predictions/_worklist_headers.html",
            cell_template="predictions/_worklist_cells.html",
            cells=4,
            # Through the reverse relation of Prediction (the current prediction per invoice).
            # risk = P(at risk), so "-risk" is riskiest first; at_risk = expected money at
            # risk, unscored invoices after it oldest due first.
            sorts={
                "risk": ("prediction__risk_probability",),
                "at_risk": ("prediction__money_at_risk", "due_date"),
                "expected_date": ("prediction__expected_date",),
            },
            # A collector's worklist opens on the invoices that put the most money at risk.
            default_sort="-at_risk",
            # The prediction cells join the current prediction (no query per row).
            queryset=lambda queryset: queryset.select_related("prediction"),
        ),
    )
    slots.register(
        slots.INVOICE_FILTERS,
        slots.Filter(
            name="risk_level",
            filter=filters.MultipleChoiceFilter(
                field_name="prediction__risk_level",
                choices=RISK_LEVEL_CHOICES,
                label="Predicted risk",
            ),
            template="predictions/_risk_level_filter.html",
        ),
    )
