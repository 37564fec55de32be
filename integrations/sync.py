"""The sync engine shared by QuickBooks and Xero: runs, cursors, the per-connection lock.

A provider package supplies an ``Adapter`` (fetch one page of an entity changed since a
mark; identify a record and its version; apply a record through the ledger's services).
The engine walks the entities in order (customers → invoices → payments → deletions), commits
each page together with its cursor and the run's counts, skips records already applied at the
same version, and turns a refused record into a recorded error instead of a crash.
"""

from __future__ import annotations

import datetime as dt
import logging
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import InvalidOperation
from typing import Any, Protocol

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db import connection as db_connection
from django.utils import timezone

from integrations.http import ApiClient, BudgetExhausted, ProviderError
from integrations.models import (
    Connection,
    ConnectionStatus,
    SyncCursor,
    SyncedRecord,
    SyncRun,
    SyncStatus,
    SyncTrigger,
)
from integrations.oauth import OAuthError, TokenRefused

logger = logging.getLogger(__name__)

# Re-read this much before the last pass's start: the providers' "changed since" boundary is
# fuzzy, and a record edited while a pass was paging must be seen by the next pass.
OVERLAP = dt.timedelta(minutes=5)
MAX_STORED_ERRORS = 200
ACTIONS = ("created", "updated", "voided", "skipped", "errors")
# pg_try_advisory_lock(class, id): the class keeps our keys apart from other advisory users.
LOCK_CLASS = zlib.crc32(b"integrations.sync") & 0x7FFFFFFF


class MalformedRecord(ValueError):
    """A provider record lacks a field we need or carries one we cannot read."""


@dataclass
class Page:
    records: list[dict[str, Any]]
    # The provider's clock when it answered (QuickBooks "time", Xero DateTimeUTC).
    server_time: dt.datetime | None
    last: bool
    next_position: int


class Adapter(Protocol):
    source: str
    entities: tuple[str, ...]
    client: ApiClient

    def fetch(self, entity: str, *, since: dt.datetime | None, position: int) -> Page: ...

    def identify(self, entity: str, record: dict[str, Any]) -> tuple[str, str]: ...

    def apply(self, entity: str, record: dict[str, Any]) -> str: ...


@dataclass
class RunState:
    run: SyncRun
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def count(self, entity: str, action: str) -> None:
        bucket = self.counts.setdefault(entity, dict.fromkeys(ACTIONS, 0))
        bucket[action if action in bucket else "skipped"] += 1

    def error(self, entity: str, external_id: str, message: str) -> None:
        self.count(entity, "errors")
        self.run.error_count += 1
        if len(self.run.errors) < MAX_STORED_ERRORS:
            self.run.errors.append(
                {"entity": entity, "external_id": external_id, "message": message[:500]}
            )


class SyncBusy(Exception):
    """Another run holds this connection's lock."""


@contextmanager
def connection_lock(connection: Connection) -> Iterator[bool]:
    """A PostgreSQL session advisory lock: held while the run's database session lives, and
    released by the server when the process dies, so a killed worker never blocks the next."""
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_CLASS, connection.pk])
        acquired = cursor.fetchone()[0]
    try:
        yield acquired
    finally:
        if acquired:
            with db_connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_CLASS, connection.pk])


def sync_connection(
    *,
    connection: Connection,
    adapter: Adapter,
    trigger: str = SyncTrigger.MANUAL,
    entities: list[str] | None = None,
) -> SyncRun:
    """Run one sync of the connection; raises SyncBusy when another run holds it."""
    with connection_lock(connection) as acquired:
        if not acquired:
            raise SyncBusy(f"a sync of {connection} is already running")
        # Holding the lock, any run still marked running died without finishing.
        SyncRun.objects.filter(connection=connection, status=SyncStatus.RUNNING).update(
            status=SyncStatus.INTERRUPTED, finished_at=timezone.now()
        )
        wanted = [e for e in adapter.entities if entities is None or e in entities]
        run = SyncRun.objects.create(
            organization_id=connection.organization_id,
            connection=connection,
            trigger=trigger,
            entities=wanted,
        )
        state = RunState(run)
        try:
            for entity in wanted:
                _sync_entity(state, adapter, connection, entity)
            run.status = SyncStatus.PARTIAL if run.error_count else SyncStatus.SUCCEEDED
        except BudgetExhausted as exc:
            run.status, run.detail = SyncStatus.BUDGET, str(exc)
        except TokenRefused as exc:
            run.status = SyncStatus.FAILED
            run.detail = f"{exc}; reconnect the integration"
        except (ProviderError, OAuthError) as exc:
            run.status, run.detail = SyncStatus.FAILED, str(exc)
        finally:
            run.requests = adapter.client.requests
            run.counts = state.counts
            run.finished_at = timezone.now()
            if run.status == SyncStatus.RUNNING:  # an unexpected exception is propagating
                run.status, run.detail = SyncStatus.FAILED, "internal error (see the logs)"
            run.save()
            adapter.client.close()
        logger.info(
            "sync %s of %s: %s, %s requests, %s pages, %s errors",
            run.code,
            connection,
            run.status,
            run.requests,
            run.pages,
            run.error_count,
        )
        return run


def _sync_entity(state: RunState, adapter: Adapter, connection: Connection, entity: str) -> None:
    cursor, _ = SyncCursor.objects.get_or_create(connection=connection, entity=entity)
    while True:
        page = adapter.fetch(entity, since=cursor.since, position=cursor.position)
        with transaction.atomic():
            _apply_page(state, adapter, connection, entity, page.records)
            if cursor.pass_started is None:
                cursor.pass_started = page.server_time or timezone.now()
            if page.last:
                # The pass is complete: the next one starts from its start, less the overlap.
                cursor.since = cursor.pass_started - OVERLAP
                cursor.pass_started = None
                cursor.position = 0
            else:
                cursor.position = page.next_position
            cursor.save()
            state.run.pages += 1
            state.run.requests = adapter.client.requests
            state.run.counts = state.counts
            state.run.save(update_fields=["pages", "requests", "counts", "errors", "error_count"])
        if page.last:
            return


def _apply_page(
    state: RunState,
    adapter: Adapter,
    connection: Connection,
    entity: str,
    records: list[dict[str, Any]],
) -> None:
    keyed = []
    for record in records:
        try:
            keyed.append((*adapter.identify(entity, record), record))
        except (MalformedRecord, KeyError, TypeError, ValueError) as exc:
            state.error(entity, _guess_id(record), f"malformed record: {_describe(exc)}")
    known = dict(
        SyncedRecord.objects.filter(
            connection=connection, entity=entity, external_id__in=[k[0] for k in keyed]
        ).values_list("external_id", "version")
    )
    pending = [k for k in keyed if known.get(k[0]) != k[1]]
    state.counts.setdefault(entity, dict.fromkeys(ACTIONS, 0))["skipped"] += len(keyed) - len(
        pending
    )
    done = _apply_new_in_bulk(state, adapter, connection, entity, pending, known)
    for external_id, version, record in pending:
        if external_id in done:
            continue
        try:
            with transaction.atomic():
                action = adapter.apply(entity, record)
                SyncedRecord.objects.update_or_create(
                    connection=connection,
                    entity=entity,
                    external_id=external_id,
                    defaults={"version": version},
                )
        except ValidationError as exc:
            state.error(entity, external_id, _describe(exc))
        except (MalformedRecord, KeyError, TypeError, ValueError, InvalidOperation) as exc:
            state.error(entity, external_id, f"malformed record: {_describe(exc)}")
        else:
            state.count(entity, "skipped" if action == "unchanged" else action)


def _apply_new_in_bulk(
    state: RunState,
    adapter: Adapter,
    connection: Connection,
    entity: str,
    pending: list[tuple[str, str, dict[str, Any]]],
    known: dict[str, str],
) -> set[str]:
    """Records this connection never applied go to the adapter's batch path when it has one
    (a first sync: one INSERT per table for the page). If the batch is refused, nothing of it
    stays and every record is applied one by one, so the refused one is named."""
    fresh = [(eid, version, record) for eid, version, record in pending if eid not in known]
    apply_new = getattr(adapter, "apply_new", None)
    if not fresh or apply_new is None:
        return set()
    versions = {eid: version for eid, version, _ in fresh}
    try:
        with transaction.atomic():
            created = apply_new(entity, [record for _, _, record in fresh])
            SyncedRecord.objects.bulk_create(
                [
                    SyncedRecord(
                        connection=connection, entity=entity, external_id=eid, version=versions[eid]
                    )
                    for eid in created
                ]
            )
    except (ValidationError, IntegrityError) as exc:
        logger.info("%s page of %s applied row by row: %s", entity, connection, exc)
        return set()
    for _ in created:
        state.count(entity, "created")
    return set(created)


def _describe(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        if hasattr(exc, "message_dict"):
            return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
        return " ".join(exc.messages)
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}"
    return str(exc) or exc.__class__.__name__


def _guess_id(record: Any) -> str:
    if isinstance(record, dict):
        for key in ("Id", "InvoiceID", "ContactID", "PaymentID", "id"):
            if key in record:
                return str(record[key])[:128]
    return ""


def connection_mark_broken(*, connection: Connection, reason: str) -> None:
    Connection.objects.filter(pk=connection.pk).update(
        status=ConnectionStatus.BROKEN, last_error=reason[:2000]
    )
