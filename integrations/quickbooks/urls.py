from __future__ import annotations

from django.urls import path

from integrations.quickbooks import views, webhooks

urlpatterns = [
    path("connect/", views.quickbooks_connect, name="quickbooks-connect"),
    path("callback/", views.quickbooks_callback, name="quickbooks-callback"),
    path("webhook/", webhooks.quickbooks_webhook, name="quickbooks-webhook"),
]
