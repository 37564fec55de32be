"""What payment risk adds to the ledger's pages and API objects, through page slots
(paypredict_project/slots.py). Registered from PredictionsConfig.ready()."""

from __future__ import annotations

import django_filters as filters
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from paypredict_project import slots
from predictions.payment_risk import selectors


class RiskFlagSerializer(serializers.Serializer):
    code = serializers.CharField(help_text='e.g. "new_currency", "velocity", "quick_refund"')
    text = serializers.CharField(help_text="the reason in plain words")
    weight = serializers.FloatField(help_text="share of the score this reason carries")

    class Meta:
        ref_name = "PaymentRiskFlag"


@extend_schema_field(RiskFlagSerializer(many=True))
class RiskFlagsField(serializers.Field):
    """The reasons of a flagged payment (empty when it is not flagged or not scored)."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, payment):
        risk = getattr(payment, "risk", None)
        return list(risk.reasons) if risk is not None and risk.flagged else []


def payment_risk_panel_context(request, payment) -> dict:
    risk = getattr(payment, "risk", None)
    return {
        "payment": payment,
        "risk": risk,
        "threshold": selectors.payment_risk_threshold(organization=request.organization),
        "can_review": "write:invoices" in slots.member_permissions(request),
    }


def _customer_panel(request, customer) -> dict:
    return {
        "customer": customer,
        **selectors.payment_risk_for_customer(organization=request.organization, customer=customer),
    }


def _flagged_summary(request, _obj) -> dict:
    return selectors.payment_risk_summary(organization=request.organization)


def register_payment_risk_slots() -> None:
    slots.register(
        slots.PAYMENT_FILTERS,
        slots.Filter(
            name="flagged",
            filter=filters.BooleanFilter(field_name="risk__flagged", label="Flagged"),
            template="predictions/_payment_flagged_filter.html",
        ),
    )
    slots.register(
        slots.PAYMENT_COLUMNS,
        slots.Column(
            key="predictions.payment_risk",
            header_template="predictions/_payment_risk_header.html",
            cell_template="predictions/_payment_risk_cell.html",
            sorts={"risk": ("risk__score",)},
            queryset=lambda queryset: queryset.select_related("risk"),
        ),
    )
    slots.register(
        slots.PAYMENT_PANELS,
        slots.Panel(
            key="predictions.flagged_summary",
            template="predictions/_payment_flagged_summary.html",
            context=_flagged_summary,
        ),
    )
    slots.register(
        slots.PAYMENT_DETAIL_PANELS,
        slots.Panel(
            key="predictions.payment_risk",
            template="predictions/_payment_risk_panel.html",
            context=payment_risk_panel_context,
        ),
    )
    slots.register(
        slots.CUSTOMER_SECTIONS,
        slots.Panel(
            key="predictions.customer_payment_risk",
            template="predictions/_customer_payment_risk.html",
            context=_customer_panel,
            order=110,
        ),
    )
    slots.register(
        slots.PAYMENT_API_FIELDS,
        slots.ApiField(
            name="risk_score",
            field=lambda: serializers.FloatField(
                source="risk.score",
                read_only=True,
                allow_null=True,
                help_text="payment risk in [0, 1]; null until the payment is scored",
            ),
            queryset=lambda queryset: queryset.select_related("risk"),
        ),
    )
    slots.register(
        slots.PAYMENT_API_FIELDS, slots.ApiField(name="risk_flags", field=RiskFlagsField)
    )
