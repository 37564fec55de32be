"""Dashboard CSV uploads: create, queue, import (in a Celery worker), report progress, purge.

The web request only stores the file and queues the import; the worker runs ``csv_import``
(which holds the organization's import lock for the whole run) and records the result.
Progress lives in the cache, because the import's own transaction is invisible to other
connections until it commits.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from invoices.imports import ImportFailed, csv_import
from invoices.imports.mapping import Mapping
from invoices.models import CsvUpload, CsvUploadStatus
from paypredict_project.tenancy.models import Organization

logger = logging.getLogger(__name__)

PROGRESS_TTL_S = 24 * 3600


def csv_upload_create(
    *, organization: Organization, user: Any, kind: str, file: UploadedFile, mapping: Mapping | None
) -> CsvUpload:
    return CsvUpload.objects.create(
        organization=organization,
        uploaded_by=user,
        kind=kind,
        file=file,
        original_name=file.name[:255],
        mapping=mapping.to_json() if mapping else None,
    )


def csv_upload_enqueue(*, upload: CsvUpload, mapping: Mapping) -> CsvUpload:
    """Keep the chosen mapping and hand the import to a worker once this transaction commits."""
    from invoices.tasks import csv_upload_import_task

    upload.mapping = mapping.to_json()
    upload.status = CsvUploadStatus.QUEUED
    upload.result = None
    upload.failure = ""
    upload.save(update_fields=["mapping", "status", "result", "failure", "updated_at"])
    _progress_set(upload, "queued", 0)
    transaction.on_commit(lambda: csv_upload_import_task.delay(upload.pk))
    return upload


def csv_upload_import(*, upload: CsvUpload) -> CsvUpload:
    """Run the queued import (the worker's job); the outcome is stored on the upload."""
    from invoices.imports.mapping import mapping_from_dict

    if upload.status not in (CsvUploadStatus.QUEUED, CsvUploadStatus.RUNNING):
        return upload  # already done (a redelivered task): never import twice
    upload.status = CsvUploadStatus.RUNNING
    upload.save(update_fields=["status", "updated_at"])
    mapping = mapping_from_dict(upload.mapping, kind=upload.kind) if upload.mapping else None
    try:
        if not upload.file:
            raise ImportFailed("the uploaded file was deleted (retention); upload it again")
        with upload.file.open("rb") as handle:
            result = csv_import(
                organization=upload.organization,
                kind=upload.kind,
                file=handle,
                mapping=mapping,
                file_name=upload.original_name,
                progress=lambda phase, rows: _progress_set(upload, phase, rows),
            )
    except ImportFailed as exc:
        upload.status = CsvUploadStatus.FAILED
        upload.failure = str(exc)
        upload.save(update_fields=["status", "failure", "updated_at"])
        _progress_set(upload, "failed", 0)
        return upload
    upload.status = CsvUploadStatus.IMPORTED
    upload.result = result.as_dict()
    upload.failure = ""
    upload.save(update_fields=["status", "result", "failure", "updated_at"])
    _progress_set(upload, "done", result.rows)
    return upload


def csv_upload_progress(*, upload: CsvUpload) -> dict[str, Any]:
    """{"phase": queued|reading|checking|done|failed, "rows": rows read so far}."""
    return cache.get(_progress_key(upload)) or {"phase": upload.status, "rows": 0}


def csv_uploads_purge(*, now: dt.datetime | None = None) -> int:
    """Delete uploaded files older than CSV_UPLOAD_RETENTION_DAYS; the rows (and results) stay."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.CSV_UPLOAD_RETENTION_DAYS)
    purged = 0
    stale = CsvUpload.objects.filter(created_at__lt=cutoff).exclude(file="")
    for upload in stale.exclude(status__in=[CsvUploadStatus.QUEUED, CsvUploadStatus.RUNNING]):
        upload.file.delete(save=False)
        upload.save(update_fields=["file", "updated_at"])
        purged += 1
    if purged:
        logger.info("deleted %d uploaded CSV files older than %s", purged, cutoff.date())
    return purged


def _progress_key(upload: CsvUpload) -> str:
    return f"csv-upload-progress:{upload.code}"


def _progress_set(upload: CsvUpload, phase: str, rows: int) -> None:
    cache.set(_progress_key(upload), {"phase": phase, "rows": rows}, timeout=PROGRESS_TTL_S)
