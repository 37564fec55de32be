from __future__ import annotations

from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "paypredict_project.events"
    label = "events"
    verbose_name = "Domain events (outbox)"
