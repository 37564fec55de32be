from __future__ import annotations

from django.contrib import admin

from predictions.models import (
    CustomerRisk,
    CustomerRiskSnapshot,
    ForecastBacktest,
    ForecastSnapshot,
    Prediction,
    RiskThresholds,
)


@admin.register(RiskThresholds)
class RiskThresholdsAdmin(admin.ModelAdmin):
    list_display = (
        "organization",
        "high_at_risk",
        "medium_at_risk",
        "customer_high_score",
        "customer_medium_score",
        "updated_at",
    )


@admin.register(Prediction)
class PredictionAdmin(admin.ModelAdmin):
    list_display = (
        "invoice",
        "organization",
        "risk_level",
        "risk_probability",
        "money_at_risk",
        "expected_date",
    )
    list_filter = ("risk_level", "organization")
    list_select_related = ("invoice", "organization")
    raw_id_fields = ("invoice", "model_version")
    readonly_fields = ("factors", "inputs_hash")


@admin.register(CustomerRisk)
class CustomerRiskAdmin(admin.ModelAdmin):
    list_display = ("customer", "organization", "score", "level", "as_of")
    list_filter = ("level", "organization")
    list_select_related = ("customer", "organization")
    raw_id_fields = ("customer",)


@admin.register(CustomerRiskSnapshot)
class CustomerRiskSnapshotAdmin(admin.ModelAdmin):
    list_display = ("customer", "date", "score", "level")
    list_select_related = ("customer",)
    raw_id_fields = ("customer",)


@admin.register(ForecastSnapshot)
class ForecastSnapshotAdmin(admin.ModelAdmin):
    list_display = ("organization", "as_of", "currency", "open_invoices", "computed_at")


@admin.register(ForecastBacktest)
class ForecastBacktestAdmin(admin.ModelAdmin):
    list_display = (
        "organization",
        "created_at",
        "origins",
        "wape_model",
        "wape_due_date",
        "wape_customer_delay",
    )


# Payment risk flags register their own admin.
import predictions.payment_risk.admin  # noqa: E402, F401
