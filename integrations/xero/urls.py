from __future__ import annotations

from django.urls import path

from integrations.xero import views, webhooks

urlpatterns = [
    path("connect/", views.xero_connect, name="xero-connect"),
    path("callback/", views.xero_callback, name="xero-callback"),
    path("webhook/", webhooks.xero_webhook, name="xero-webhook"),
]
