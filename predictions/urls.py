from __future__ import annotations

from django.urls import path

from predictions import views

urlpatterns = [
    path("forecast/", views.forecast_page, name="forecast"),
    path("forecast/refresh/", views.forecast_refresh, name="forecast-refresh"),
    path("models/", views.model_list_page, name="model-list"),
]
