"""What both providers' webhook endpoints share: HMAC-SHA256 signature checks, duplicate
suppression, and turning accepted events into a targeted sync per connection."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from integrations.models import Connection, ConnectionStatus, SyncTrigger, WebhookEvent
from integrations.services import sync_enqueue

logger = logging.getLogger(__name__)


def signature_valid(body: bytes, header: str, key: str) -> bool:
    """base64(HMAC-SHA256(raw body, key)) compared in constant time (Intuit and Xero alike)."""
    if not key or not header:
        return False
    expected = base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, header.strip())


@dataclass(frozen=True)
class Event:
    key: str  # unique per delivery of one change: a redelivery carries the same key
    account_id: str  # realmId / tenantId
    entities: tuple[str, ...]  # sync entities the change touches


def events_accept(*, provider: str, events: list[Event]) -> dict[str, int]:
    """Record new events, ignore ones seen before, and queue one sync per connection for the
    union of the entities its new events touch."""
    wanted: dict[int, set[str]] = {}
    connections: dict[int, Connection] = {}
    duplicates = unknown = 0
    for event in events:
        connection = (
            Connection.objects.filter(
                provider=provider, account_id=event.account_id, status=ConnectionStatus.ACTIVE
            )
            .order_by("pk")
            .first()
        )
        if connection is None:
            unknown += 1
            continue
        try:
            with transaction.atomic():
                WebhookEvent.objects.create(
                    provider=provider, event_key=event.key[:300], connection=connection
                )
        except IntegrityError:
            duplicates += 1
            continue
        connections[connection.pk] = connection
        wanted.setdefault(connection.pk, set()).update(event.entities)
    for pk, entities in wanted.items():
        sync_enqueue(
            connection=connections[pk], trigger=SyncTrigger.WEBHOOK, entities=sorted(entities)
        )
    if duplicates or unknown:
        logger.info(
            "%s webhook: %s duplicate and %s unknown-account events ignored",
            provider,
            duplicates,
            unknown,
        )
    return {"accepted": sum(1 for _ in wanted), "duplicates": duplicates, "unknown": unknown}
