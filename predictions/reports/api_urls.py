"""Reports API routes, mounted under /api/v1/ (no trailing slash, like every API route)."""

from __future__ import annotations

from django.urls import path

from predictions.reports import apis

urlpatterns = [
    path("reports/ar-summary", apis.ArSummaryApi.as_view(), name="report-ar-summary"),
    path("reports/daily-summary", apis.DailySummaryApi.as_view(), name="report-daily-summary"),
    path(
        "reports/failed-payments", apis.FailedPaymentsApi.as_view(), name="report-failed-payments"
    ),
    path("reports/sla-breaches", apis.SlaBreachesApi.as_view(), name="report-sla-breaches"),
    path("reports/high-risk", apis.HighRiskApi.as_view(), name="report-high-risk"),
]
