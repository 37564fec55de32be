"""Xero webhooks: x-xero-signature over the raw body, the intent-to-receive handshake (200 for
a good signature, 401 for a bad one, empty body, no cookies), INVOICE and CONTACT events.
Xero sends no payment events: a paid invoice arrives as an INVOICE UPDATE, so an invoice event
syncs payments too (INTEGRATIONS.md 2.6)."""

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
CATEGORY_SYNC = {"INVOICE": ("invoices", "payments"), "CONTACT": ("customers",)}


def parse_events(payload: Any) -> list[Event]:
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
        raise ValueError("no events list")
    events = []
    for item in payload["events"]:
        entities = CATEGORY_SYNC.get(str(item.get("eventCategory", "")).upper())
        if not entities:
            continue
        tenant = str(item.get("tenantId", ""))
        key = (
            f"{tenant}:{item.get('resourceId')}:{item.get('eventType')}:{item.get('eventDateUtc')}"
        )
        events.append(Event(key, tenant, entities))
    return events


def _empty(status: int) -> HttpResponse:
    response = HttpResponse(status=status)
    response["Content-Length"] = "0"
    return response


@csrf_exempt
@require_POST
def xero_webhook(request: HttpRequest) -> HttpResponse:
    key = settings.XERO_WEBHOOK_KEY
    if not key:
        raise Http404("Xero webhooks are not configured")
    if not signature_valid(request.body, request.headers.get("x-xero-signature", ""), key):
        logger.warning("Xero webhook rejected: bad x-xero-signature")
        return _empty(401)
    try:
        events = parse_events(json.loads(request.body))
    except (ValueError, TypeError, AttributeError) as exc:
        # Signed by Xero but unreadable: acknowledge (a retry would not fix it) and log.
        logger.warning("Xero webhook with an unreadable body: %s", exc)
        return _empty(200)
    events_accept(provider=Provider.XERO, events=events)
    return _empty(200)
