from __future__ import annotations

from django.urls import include, path

from integrations import views

urlpatterns = [
    path("integrations/", views.integrations_page, name="integrations"),
    path("integrations/<uuid:code>/sync/", views.sync_now, name="integration-sync"),
    path("integrations/<uuid:code>/disconnect/", views.disconnect, name="integration-disconnect"),
    path("integrations/quickbooks/", include("integrations.quickbooks.urls")),
    path("integrations/xero/", include("integrations.xero.urls")),
]
