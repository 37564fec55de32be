from __future__ import annotations

from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "paypredict_project.tenancy"
    label = "tenancy"
    verbose_name = "Organizations and memberships"
