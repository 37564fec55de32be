"""Dashboard CSV import runs in a worker with live progress; uploads are size-capped while
they stream; mappings are capped; uploaded files are deleted after the retention period."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from invoices import csv_views
from invoices.imports import service as import_service
from invoices.models import CsvUpload, CsvUploadStatus, Invoice
from invoices.services.csv_uploads import (
    csv_upload_import,
    csv_upload_progress,
    csv_uploads_purge,
)
from paypredict_project.celery import BEAT_SCHEDULE

pytestmark = pytest.mark.django_db

FILE = "Invoice No,Client,Date,Amount\n" + "".join(
    f"A-{n},ACME,01/31/2026,{n}.00\n" for n in range(1, 6)
)
MAPPING = {
    "field_number": "Invoice No",
    "field_customer": "Client",
    "field_issue_date": "Date",
    "format_issue_date": "%m/%d/%Y",
    "field_total": "Amount",
}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _upload(client, text=FILE, **extra):
    data = {"kind": "invoices", "file": SimpleUploadedFile("jan.csv", text.encode(), "text/csv")}
    return client.post(reverse("csv-import"), {**data, **extra})


@pytest.fixture
def uploaded(collector_client, org):
    _upload(collector_client)
    return CsvUpload.objects.get(organization=org)


def test_it_queues_the_import_instead_of_running_it_in_the_request(
    collector_client, uploaded, django_capture_on_commit_callbacks
):
    url = reverse("csv-import-preview", args=[uploaded.code])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = collector_client.post(url, MAPPING)
    assert response.status_code == 302
    assert len(callbacks) == 1  # the task is sent after commit, not run here
    uploaded.refresh_from_db()
    assert uploaded.status == CsvUploadStatus.QUEUED
    assert not Invoice.objects.exists()
    page = collector_client.get(response["Location"]).content.decode()
    assert "Importing" in page and 'hx-trigger="every 1s"' in page
    assert "Waiting for a worker" in page


def test_it_runs_the_queued_import_in_the_worker(collector_client, uploaded, worker):
    with worker():
        collector_client.post(reverse("csv-import-preview", args=[uploaded.code]), MAPPING)
    uploaded.refresh_from_db()
    assert uploaded.status == CsvUploadStatus.IMPORTED
    assert uploaded.result["created"] == 5
    assert Invoice.objects.filter(organization=uploaded.organization).count() == 5
    assert csv_upload_progress(upload=uploaded) == {"phase": "done", "rows": 5}
    # A redelivered task finds the upload done and imports nothing twice.
    Invoice.objects.filter(organization=uploaded.organization).delete()
    csv_upload_import(upload=uploaded)
    assert not Invoice.objects.exists()


def test_it_reports_progress_while_reading(collector_client, uploaded, monkeypatch):
    seen = []
    monkeypatch.setattr(import_service, "PROGRESS_EVERY", 2)
    monkeypatch.setattr(
        "invoices.services.csv_uploads._progress_set",
        lambda upload, phase, rows: seen.append((phase, rows)),
    )
    collector_client.post(reverse("csv-import-preview", args=[uploaded.code]), MAPPING)
    uploaded.refresh_from_db()
    csv_upload_import(upload=uploaded)
    assert seen == [("queued", 0), ("reading", 2), ("reading", 4), ("checking", 5), ("done", 5)]


def test_it_polls_the_progress_and_leaves_for_the_result_when_done(
    collector_client, uploaded, worker
):
    collector_client.post(reverse("csv-import-preview", args=[uploaded.code]), MAPPING)
    url = reverse("csv-import-result", args=[uploaded.code])
    poll = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "import-progress"}
    from django.core.cache import cache

    cache.set(f"csv-upload-progress:{uploaded.code}", {"phase": "reading", "rows": 20000})
    fragment = collector_client.get(url, **poll)
    assert fragment.status_code == 200
    body = fragment.content.decode()
    assert body.lstrip().startswith('<section id="import-progress"')
    assert '<strong id="progress-rows">20,000</strong> rows read so far' in body
    uploaded.refresh_from_db()
    csv_upload_import(upload=uploaded)
    done = collector_client.get(url, **poll)
    assert done["HX-Redirect"] == url
    assert '<dd id="count-created">5</dd>' in collector_client.get(url).content.decode()


def test_it_shows_a_failed_import(collector_client, uploaded):
    collector_client.post(reverse("csv-import-preview", args=[uploaded.code]), MAPPING)
    uploaded.refresh_from_db()
    uploaded.file.save("bad.csv", SimpleUploadedFile("b.csv", "No,Café\n1,é\n".encode("latin-1")))
    csv_upload_import(upload=uploaded)
    assert uploaded.status == CsvUploadStatus.FAILED
    page = collector_client.get(reverse("csv-import-result", args=[uploaded.code]))
    assert "Nothing was imported" in page.content.decode()
    assert "not UTF-8" in page.content.decode()


def test_it_stops_reading_an_upload_over_the_limit(collector_client, org, monkeypatch):
    monkeypatch.setattr(csv_views, "MAX_UPLOAD_BYTES", 200_000)
    big = "Invoice No,Client\n" + "A-1,ACME\n" * 40_000
    response = _upload(collector_client, text=big)
    assert response.status_code == 400
    body = response.content.decode()
    assert "the file is larger than 195 KiB; use the import_csv command" in body
    assert "This field is required" not in body
    assert not CsvUpload.objects.exists()


def test_it_caps_the_mapping_file(collector_client, org):
    mapping = {"fields": {"number": "Invoice No"}, "note": "x" * (300 * 1024)}
    response = _upload(
        collector_client,
        mapping_file=SimpleUploadedFile("m.json", json.dumps(mapping).encode()),
    )
    assert response.status_code == 400
    assert "the file is larger than 256 KiB; a mapping is a small JSON document" in (
        response.content.decode()
    )
    assert not CsvUpload.objects.exists()


def test_it_still_checks_csrf_on_the_upload(collector, org):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(collector)
    assert _upload(client).status_code == 403
    assert not CsvUpload.objects.exists()


def test_it_deletes_uploaded_files_after_the_retention_period(collector_client, org, settings):
    settings.CSV_UPLOAD_RETENTION_DAYS = 7
    _upload(collector_client)
    _upload(collector_client)
    old, recent = CsvUpload.objects.order_by("id")
    CsvUpload.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=8))
    old_path = old.file.path
    assert csv_uploads_purge() == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    assert not old.file and recent.file
    import os

    assert not os.path.exists(old_path) and os.path.exists(recent.file.path)
    assert BEAT_SCHEDULE["csv-uploads-purge-daily"][0] == "invoices.csv_uploads_purge"
    # The preview of a purged upload says what happened instead of failing.
    page = collector_client.get(reverse("csv-import-preview", args=[old.code]))
    assert "deleted" in page.content.decode()
