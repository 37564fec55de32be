from __future__ import annotations

from django.urls import path

from predictions import views
from predictions.ask import views as ask_views
from predictions.payment_risk.views import payment_risk_review_view

urlpatterns = [
    path("forecast/", views.forecast_page, name="forecast"),
    path("forecast/refresh/", views.forecast_refresh, name="forecast-refresh"),
    path("models/", views.model_list_page, name="model-list"),
    path("ask/", ask_views.ask_page, name="ask"),
    path("ask/<str:conversation>/<int:turn>.csv", ask_views.ask_csv, name="ask-csv"),
    path(
        "payments/<uuid:code>/risk-review/",
        payment_risk_review_view,
        name="payment-risk-review",
    ),
]
