"""Predictions API routes, mounted under /api/v1/ in the "api" namespace (no trailing
slashes; ids are public UUIDs)."""

from __future__ import annotations

from django.urls import path

from predictions.apis import (
    CustomerRiskApi,
    ForecastApi,
    ForecastRefreshApi,
    ModelVersionListApi,
    PredictionDetailApi,
    PredictionListApi,
    PredictionRescoreApi,
)
from predictions.ask.apis import AskApi
from predictions.payment_risk.apis import FlaggedPaymentsReportApi, PaymentRiskReviewApi

urlpatterns = [
    path("predictions", PredictionListApi.as_view(), name="prediction-list"),
    path("predictions/<uuid:invoice_id>", PredictionDetailApi.as_view(), name="prediction-detail"),
    path(
        "predictions/<uuid:invoice_id>/rescore",
        PredictionRescoreApi.as_view(),
        name="prediction-rescore",
    ),
    path("customers/<uuid:id>/risk", CustomerRiskApi.as_view(), name="customer-risk"),
    path("forecast", ForecastApi.as_view(), name="forecast"),
    path("forecast/refresh", ForecastRefreshApi.as_view(), name="forecast-refresh"),
    path("models", ModelVersionListApi.as_view(), name="model-list"),
    path("ask", AskApi.as_view(), name="ask"),
    path(
        "reports/flagged-payments",
        FlaggedPaymentsReportApi.as_view(),
        name="report-flagged-payments",
    ),
    path(
        "payments/<uuid:id>/risk-review",
        PaymentRiskReviewApi.as_view(),
        name="payment-risk-review",
    ),
]
