"""Delivery events from e-mail providers, through django-anymail's tracking webhooks.

anymail's webhook views (mounted at /anymail/) check each provider's signature or basic
auth before they emit the ``tracking`` signal; this module only maps an event to the
reminder it is about, by the message id recorded when sending.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from reminders.models import Reminder, ReminderEvent, ReminderStatus

logger = logging.getLogger(__name__)

CONFIRMING = ("sent", "delivered", "opened", "clicked")


# The providers whose tracking webhooks are mounted, and the ANYMAIL settings each needs
# before its endpoint answers at all: without them an unauthenticated POST could forge events.
TRACKING_REQUIREMENTS = {
    "mailgun": ("MAILGUN_WEBHOOK_SIGNING_KEY",),  # HMAC signature on every event
    "sendgrid": ("WEBHOOK_SECRET",),  # SendGrid signs nothing: basic auth only
}


def tracking_view(esp: str) -> Callable[[HttpRequest], HttpResponse]:
    """anymail's tracking webhook view for ``esp``, answering 404 until it is configured."""
    from anymail.webhooks.mailgun import MailgunTrackingWebhookView
    from anymail.webhooks.sendgrid import SendGridTrackingWebhookView

    view_class = {"mailgun": MailgunTrackingWebhookView, "sendgrid": SendGridTrackingWebhookView}
    view = view_class[esp].as_view()

    @csrf_exempt
    def webhook(request: HttpRequest) -> HttpResponse:
        configured = getattr(settings, "ANYMAIL", {})
        if not all(configured.get(key) for key in TRACKING_REQUIREMENTS[esp]):
            raise Http404(f"{esp} tracking is not configured")
        return view(request)

    return webhook


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
