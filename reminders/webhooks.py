"""Delivery events from e-mail providers, through django-anymail's tracking webhooks.

anymail's webhook views (mounted at /anymail/) check each provider's signature or basic
auth before they emit the ``tracking`` signal; this module only maps an event to the
reminder it is about, by the message id recorded when sending.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from reminders.models import Reminder, ReminderEvent, ReminderStatus

logger = logging.getLogger(__name__)

CONFIRMING = ("sent", "delivered", "opened", "clicked")


def connect() -> None:
    from anymail.signals import tracking

    tracking.connect(_on_tracking, dispatch_uid="reminders.anymail_tracking")


def _on_tracking(sender, event, esp_name: str, **kwargs) -> None:
    reminder_delivery_event_record(
        message_id=event.message_id or "",
        kind=str(event.event_type),
        provider=esp_name,
        event_id=event.event_id or "",
        occurred_at=event.timestamp or timezone.now(),
        detail=event.description or event.reject_reason or "",
    )


def _find(message_id: str) -> Reminder | None:
    if not message_id:
        return None
    bare = message_id.strip("<>")
    return Reminder.objects.filter(message_id__in=[message_id, bare, f"<{bare}>"]).first()


def reminder_delivery_event_record(
    *, message_id: str, kind: str, provider: str, event_id: str, occurred_at, detail: str = ""
) -> ReminderEvent | None:
    """Record a provider's event once; a confirmation settles a reminder left in ``sending``."""
    reminder = _find(message_id)
    if reminder is None:
        logger.info("%s event %s for unknown message %s", provider, kind, message_id)
        return None
    try:
        with transaction.atomic():
            event = ReminderEvent.objects.create(
                organization_id=reminder.organization_id,
                reminder=reminder,
                kind=kind,
                provider=provider,
                event_id=event_id,
                detail=str(detail)[:500],
                occurred_at=occurred_at,
            )
            fields: dict = {"delivery_status": kind, "updated_at": timezone.now()}
            Reminder.objects.filter(pk=reminder.pk).update(**fields)
            if kind in CONFIRMING:
                Reminder.objects.filter(pk=reminder.pk, status=ReminderStatus.SENDING).update(
                    status=ReminderStatus.SENT, sent_at=occurred_at, delivery_unknown=False
                )
    except IntegrityError:
        return None  # the provider retried an event we already have
    return event
