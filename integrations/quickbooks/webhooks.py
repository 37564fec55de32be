"""QuickBooks webhooks: the classic ``eventNotifications`` body and the CloudEvents array
(mandatory from May 2026), both signed with ``intuit-signature`` (INTEGRATIONS.md 1.8)."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations.models import Provider
from integrations.webhooks import Event, events_accept, signature_valid

logger = logging.getLogger(__name__)
ENTITY_SYNC = {"customer": "customers", "invoice": "invoices", "payment": "payments"}
REMOVALS = ("delete", "deleted", "merge", "merged")


def _entities(name: str, operation: str) -> tuple[str, ...]:
    entity = ENTITY_SYNC.get(name.lower())
    if entity is None:
        return ()
    return (entity, "deleted") if operation.lower() in REMOVALS else (entity,)


def parse_events(payload: Any) -> list[Event]:
    """Both formats → events; raises ValueError for a body that is neither."""
    events = []
    if isinstance(payload, list):  # CloudEvents: type qbo.<entity>.<operation>.v1
        for item in payload:
            parts = str(item.get("type", "")).split(".")
            if len(parts) < 3 or parts[0] != "qbo":
                continue
            entities = _entities(parts[1], parts[2])
            if entities:
                events.append(
                    Event(str(item["id"]), str(item.get("intuitaccountid", "")), entities)
                )
        return events
    if isinstance(payload, dict) and isinstance(payload.get("eventNotifications"), list):
        for notification in payload["eventNotifications"]:
            realm = str(notification.get("realmId", ""))
            change = notification.get("dataChangeEvent") or {}
            for entity in change.get("entities") or []:
                name, operation = str(entity.get("name", "")), str(entity.get("operation", ""))
                entities = _entities(name, operation)
                if entities:
                    key = (
                        f"{realm}:{name}:{entity.get('id')}:{operation}:{entity.get('lastUpdated')}"
                    )
                    events.append(Event(key, realm, entities))
        return events
    raise ValueError("neither eventNotifications nor a CloudEvents array")


@csrf_exempt
@require_POST
def quickbooks_webhook(request: HttpRequest) -> HttpResponse:
    key = settings.QUICKBOOKS_WEBHOOK_VERIFIER_TOKEN
    if not key:
        raise Http404("QuickBooks webhooks are not configured")
    if not signature_valid(request.body, request.headers.get("intuit-signature", ""), key):
        logger.warning("QuickBooks webhook rejected: bad intuit-signature")
        return HttpResponse(status=401)
    try:
        events = parse_events(json.loads(request.body))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        logger.warning("QuickBooks webhook with an unreadable body: %s", exc)
        return HttpResponse(status=400)
    events_accept(provider=Provider.QUICKBOOKS, events=events)
    return HttpResponse(status=200)
