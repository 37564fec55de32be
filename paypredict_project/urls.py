from __future__ import annotations

from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from paypredict_project import health
from paypredict_project.api_root import ApiRootApi

# Each app owns its URL modules; this file only mounts them.
api_v1 = [
    path("", ApiRootApi.as_view(), name="root"),
    path("", include("invoices.api_urls")),
    path("", include("invoices.csv_api_urls")),
    path("", include("predictions.api_urls")),
    path("", include("reminders.api_urls")),
    path("", include("disputes.api_urls")),
    path("", include("predictions.reports.api_urls")),
]

urlpatterns = [
    # Browsers ask for /favicon.ico whatever the page's <link rel="icon"> says.
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
    path("health", health.health, name="health"),
    path("health/detailed", health.health_detailed, name="health-detailed"),
    path("metrics", health.metrics, name="metrics"),
    path("api/v1", ApiRootApi.as_view()),  # the root without its slash too
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
    path("", include("paypredict_project.tenancy.urls")),
    path("", include("integrations.auth0.urls")),
    path("", include("integrations.urls")),
    path("", include("invoices.urls")),
    path("", include("invoices.csv_urls")),
    path("", include("predictions.urls")),
    path("", include("reminders.urls")),
    path("", include("disputes.urls")),
    path("", include("predictions.reports.urls")),
    path("", include("paypredict_project.events.urls")),
]

# Unknown URLs under /api/ answer with the API error body, not an HTML page.
handler404 = "paypredict_project.api.handler404"
handler500 = "paypredict_project.api.handler500"
