from __future__ import annotations

from django.contrib import admin

from predictions.payment_risk.models import PaymentRisk, PaymentRiskSettings
from predictions.payment_risk.services import payment_risk_threshold_set


@admin.register(PaymentRiskSettings)
class PaymentRiskSettingsAdmin(admin.ModelAdmin):
    list_display = ("organization", "threshold", "updated_at")

    def save_model(self, request, obj, form, change):
        # Through the service: the stored flags follow the new threshold, and it is audited.
        payment_risk_threshold_set(organization=obj.organization, threshold=obj.threshold)


@admin.register(PaymentRisk)
class PaymentRiskAdmin(admin.ModelAdmin):
    list_display = ("payment", "organization", "score", "flagged", "review_status", "scored_at")
    list_filter = ("flagged", "review_status", "organization")
    raw_id_fields = ("payment", "model_version", "reviewed_by")
    readonly_fields = ("score", "reasons", "features", "model_version", "scored_at")
