from __future__ import annotations

from django.apps import AppConfig


class InvoicesConfig(AppConfig):
    name = "invoices"
    verbose_name = "Ledger"

    def ready(self) -> None:
        # Connected here (not on first import of analytics) so writes made by Celery workers
        # and management commands also expire the cached dashboard figures.
        from invoices.analytics import connect_cache_invalidation

        connect_cache_invalidation()
