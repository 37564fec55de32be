"""Disputes API routes, mounted under /api/v1/ in the "api" namespace."""

from __future__ import annotations

from django.urls import path

from disputes import apis

urlpatterns = [
    path("disputes", apis.DisputeCollectionApi.as_view(), name="dispute-list"),
    path("disputes/<uuid:id>", apis.DisputeDetailApi.as_view(), name="dispute-detail"),
    path("disputes/<uuid:id>/resolve", apis.DisputeResolveApi.as_view(), name="dispute-resolve"),
    path("disputes/<uuid:id>/reject", apis.DisputeRejectApi.as_view(), name="dispute-reject"),
    path(
        "disputes/<uuid:id>/confirm-category",
        apis.DisputeConfirmCategoryApi.as_view(),
        name="dispute-confirm-category",
    ),
    path("disputes/<uuid:id>/assign", apis.DisputeAssignApi.as_view(), name="dispute-assign"),
]
