from __future__ import annotations

from django.urls import path

from paypredict_project.events import views

urlpatterns = [
    path("feed/", views.feed_page, name="live-feed"),
    path("live/stream", views.feed_stream, name="live-feed-stream"),
]
