from __future__ import annotations

from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "paypredict_project.tenancy"
    label = "tenancy"
    verbose_name = "Organizations and memberships"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from paypredict_project.readonly import reader_grants_refresh

        # A view added by a later migration is readable by the existing reader logins too.
        post_migrate.connect(reader_grants_refresh, sender=self)
