from __future__ import annotations

from django.urls import path

from predictions import views
from predictions.payment_risk.views import payment_risk_review_view

urlpatterns = [
    path("forecast/", views.forecast_page, name="forecast"),
    path("forecast/refresh/", views.forecast_refresh, name="forecast-refresh"),
    path("models/", views.model_list_page, name="model-list"),
    path(
        "payments/<uuid:code>/risk-review/",
        payment_risk_review_view,
        name="payment-risk-review",
    ),
]
