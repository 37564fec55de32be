from __future__ import annotations

from django.apps import AppConfig


class DisputesConfig(AppConfig):
    name = "disputes"

    def ready(self) -> None:
        from disputes import inbound
        from disputes.page_slots import register_page_slots

        register_page_slots()
        inbound.connect()
