"""The relay: publishes committed outbox rows to Redis Streams, in id order, at least once.

Each batch runs in one database transaction holding an advisory lock (so two relays never
interleave): read the oldest unpublished rows, XADD them, mark them published, commit. A
relay killed after XADD but before the commit leaves the rows unpublished; the next run
would send them again, so after a start or an error the relay first looks at the tail of
each stream it is about to write and skips events already there. Consumers still dedupe on
``event_id`` (the idempotency key): the guarantee is at-least-once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta

import redis
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from paypredict_project.events.models import OutboxEvent
from paypredict_project.events.streams import (
    entry_fields,
    redis_client,
    stream_key,
    stream_maxlen,
)

logger = logging.getLogger(__name__)

RELAY_LOCK = 0x5050_0E0E  # pg advisory lock key: "one relay at a time"
BATCH_SIZE = 500


def _already_published(client: redis.Redis, events: list[OutboxEvent]) -> dict[str, str]:
    """event_id -> stream id for events of this batch already at the tail of their stream."""
    found: dict[str, str] = {}
    per_stream: dict[str, int] = {}
    for event in events:
        key = stream_key(event.organization.code)
        per_stream[key] = per_stream.get(key, 0) + 1
    for key, count in per_stream.items():
        for stream_id, fields in client.xrevrange(key, count=count + BATCH_SIZE):
            found[fields.get("event_id", "")] = stream_id
    return found


def relay_publish_batch(
    *, client: redis.Redis | None = None, batch_size: int = BATCH_SIZE, verify: bool = False
) -> int:
    """Publish one batch; returns how many outbox rows it marked published (0 = idle)."""
    client = client or redis_client()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [RELAY_LOCK])
            if not cursor.fetchone()[0]:
                return 0
        events = list(
            OutboxEvent.objects.filter(published_at=None)
            .select_related("organization")
            .order_by("id")[:batch_size]
        )
        if not events:
            return 0
        already = _already_published(client, events) if verify else {}
        pipe = client.pipeline(transaction=False)
        to_send = [event for event in events if str(event.event_id) not in already]
        for event in to_send:
            pipe.xadd(
                stream_key(event.organization.code),
                entry_fields(event),
                maxlen=stream_maxlen(),
                approximate=True,
            )
        stream_ids = iter(pipe.execute())
        now = timezone.now()
        for event in events:
            event.published_at = now
            event.stream_id = already.get(str(event.event_id)) or next(stream_ids)
        OutboxEvent.objects.bulk_update(events, ["published_at", "stream_id"])
    return len(events)


def outbox_prune(*, older_than: timedelta) -> int:
    """Delete published rows older than the retention window (the stream keeps its own)."""
    cutoff = timezone.now() - older_than
    deleted, _ = OutboxEvent.objects.filter(published_at__lt=cutoff).delete()
    return deleted


def relay_run(
    *,
    should_stop: Callable[[], bool],
    idle_sleep: float = 0.2,
    batch_size: int = BATCH_SIZE,
    retention: timedelta = timedelta(days=7),
) -> int:
    """Publish until told to stop; returns the number of rows published."""
    published, verify, next_prune = 0, True, 0.0
    while not should_stop():
        try:
            count = relay_publish_batch(verify=verify, batch_size=batch_size)
            verify = False
        except (redis.RedisError, DatabaseError) as exc:
            # A store is down: wait, then check the stream tail again before re-sending.
            logger.warning("event relay: %s; retrying", exc)
            connection.close()
            verify, count = True, 0
            time.sleep(1.0)
        published += count
        if time.monotonic() >= next_prune:
            outbox_prune(older_than=retention)
            next_prune = time.monotonic() + 3600
        if count == 0:
            time.sleep(idle_sleep)
    return published
