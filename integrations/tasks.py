"""Celery adapters for syncs: the 15-minute schedule fans out one task per connection."""

from __future__ import annotations

import logging

from celery import shared_task

from integrations.models import Connection, ConnectionStatus, SyncTrigger

logger = logging.getLogger(__name__)


@shared_task(name="integrations.sync_all")
def connection_sync_all_task() -> int:
    ids = list(
        Connection.objects.filter(status=ConnectionStatus.ACTIVE).values_list("pk", flat=True)
    )
    for connection_id in ids:
        connection_sync_task.delay(connection_id, SyncTrigger.SCHEDULE, None)
    return len(ids)


@shared_task(name="integrations.sync_connection", max_retries=0)
def connection_sync_task(
    connection_id: int, trigger: str, entities: list[str] | None = None
) -> str | None:
    from integrations.services import ConnectFailed, connection_sync
    from integrations.sync import SyncBusy

    connection = Connection.objects.select_related("organization").filter(pk=connection_id).first()
    if connection is None or connection.status != ConnectionStatus.ACTIVE:
        return None
    try:
        run = connection_sync(connection=connection, trigger=trigger, entities=entities)
    except SyncBusy:
        # The running sync started before this change arrived may have missed it; the next
        # scheduled run (or the next webhook) picks it up from the cursors.
        logger.info("sync of connection %s skipped: one is already running", connection_id)
        return "busy"
    except ConnectFailed as exc:
        logger.warning("sync of connection %s not started: %s", connection_id, exc)
        return None
    return run.status
