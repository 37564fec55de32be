"""Reads for the Integrations page, /health/detailed and the sync command."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from integrations.models import Connection, SyncRun, SyncStatus
from paypredict_project.tenancy.models import Organization


def sync_run_summary(*, run: SyncRun) -> dict[str, Any]:
    return {
        "run": str(run.code),
        "provider": run.connection.provider,
        "trigger": run.trigger,
        "status": run.status,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "counts": run.counts,
        "pages": run.pages,
        "requests": run.requests,
        "error_count": run.error_count,
        "errors": run.errors[:20],
        "detail": run.detail,
    }


def connections_for(*, organization: Organization) -> dict[str, Connection]:
    rows = Connection.objects.filter(organization=organization)
    return {connection.provider: connection for connection in rows}


def sync_runs_recent(*, organization: Organization, limit: int = 20) -> QuerySet[SyncRun]:
    return (
        SyncRun.objects.filter(organization=organization)
        .select_related("connection")
        .order_by("-started_at", "-id")[:limit]
    )


def last_successful_sync(*, connection: Connection) -> SyncRun | None:
    return (
        SyncRun.objects.filter(
            connection=connection, status__in=(SyncStatus.SUCCEEDED, SyncStatus.PARTIAL)
        )
        .order_by("-finished_at")
        .first()
    )


def sync_health() -> list[dict[str, Any]]:
    """Last finished run per connection, for /health/detailed (no tokens, no counts)."""
    report = []
    for connection in Connection.objects.select_related("organization").order_by("pk"):
        last = (
            SyncRun.objects.filter(connection=connection)
            .exclude(status=SyncStatus.RUNNING)
            .order_by("-started_at")
            .first()
        )
        ok = last_successful_sync(connection=connection)
        report.append(
            {
                "organization": connection.organization.slug,
                "provider": connection.provider,
                "status": connection.status,
                "last_run_status": last.status if last else None,
                "last_run_finished_at": last.finished_at.isoformat()
                if last and last.finished_at
                else None,
                "last_success_at": ok.finished_at.isoformat() if ok and ok.finished_at else None,
            }
        )
    return report
