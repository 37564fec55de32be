from __future__ import annotations

from django.apps import AppConfig


class DisputesConfig(AppConfig):
    name = "disputes"

    def ready(self) -> None:
        from disputes import inbound
        from disputes.page_slots import register_page_slots
        from disputes.selectors import disputes_opened_count, disputes_past_sla
        from paypredict_project import report_sources

        register_page_slots()
        inbound.connect()
        report_sources.register_sla_breaches("disputes", disputes_past_sla)
        report_sources.register_daily_count("new_disputes", "New disputes", disputes_opened_count)
