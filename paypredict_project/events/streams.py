"""Redis Streams: one stream per organization, ``<prefix><organization code>``.

One stream per organization keeps the live feed's scoping structural (a member's feed reads
exactly one key) and lets each organization's retention window be the same length. An entry
carries the event envelope as flat string fields; ``payload`` is JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import redis
from django.conf import settings

DEFAULT_PREFIX = "pp:events:"
# Events kept per organization stream: the window the live feed can catch up over.
DEFAULT_MAXLEN = 10_000


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, decode_responses=True)


def redis_client() -> redis.Redis:
    return _client(settings.REDIS_URL)


def stream_key(organization_code: Any) -> str:
    prefix = getattr(settings, "EVENTS_STREAM_PREFIX", DEFAULT_PREFIX)
    return f"{prefix}{organization_code}"


def stream_maxlen() -> int:
    return int(getattr(settings, "EVENTS_STREAM_MAXLEN", DEFAULT_MAXLEN))


@dataclass(frozen=True)
class StreamEvent:
    stream_id: str
    event_id: str
    organization: str
    type: str
    version: int
    entity_id: str
    occurred_at: str
    payload: dict[str, Any]
    seq: int

    @property
    def kind(self) -> str:
        """The first part of the type (payment, invoice, dispute...): the feed's colour."""
        return self.type.split(".", 1)[0]


def entry_fields(event) -> dict[str, str]:
    """The stream fields of an OutboxEvent."""
    return {
        "event_id": str(event.event_id),
        "organization": str(event.organization.code),
        "type": event.type,
        "version": str(event.version),
        "entity_id": event.entity_id,
        "occurred_at": event.occurred_at.isoformat(),
        "payload": json.dumps(event.payload, separators=(",", ":"), sort_keys=True),
        "seq": str(event.id),
    }


def entry_event(stream_id: str, fields: dict[str, str]) -> StreamEvent:
    return StreamEvent(
        stream_id=stream_id,
        event_id=fields["event_id"],
        organization=fields["organization"],
        type=fields["type"],
        version=int(fields["version"]),
        entity_id=fields["entity_id"],
        occurred_at=fields["occurred_at"],
        payload=json.loads(fields["payload"]),
        seq=int(fields["seq"]),
    )
