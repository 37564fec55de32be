from __future__ import annotations

from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "paypredict_project.events"
    label = "events"
    verbose_name = "Domain events (outbox)"

    def ready(self) -> None:
        from paypredict_project import slots
        from paypredict_project.events.views import FEED_PERMISSION, feed_context

        # The compact live feed on the home dashboard (the full one is /feed/).
        slots.register(
            slots.DASHBOARD_PANELS,
            slots.Panel(
                key="events.live_feed",
                template="events/_feed_panel.html",
                context=lambda request, obj: {
                    **feed_context(organization=request.organization, limit=8),
                    "feed_compact": True,
                },
                permission=FEED_PERMISSION,
                order=10,
            ),
        )
