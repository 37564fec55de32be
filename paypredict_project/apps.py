from __future__ import annotations

from django.apps import AppConfig


class ProjectConfig(AppConfig):
    """The top layer as an app: it wires the others (urls, Celery, health) and hosts the
    commands that need them all (sync_beat_schedule). The base layer (tenancy, audit, api,
    slots...) never imports it; .importlinter checks both directions."""

    name = "paypredict_project"
    label = "paypredict_project"
    verbose_name = "PayPredict (wiring)"
