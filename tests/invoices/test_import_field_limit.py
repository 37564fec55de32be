"""A CSV field over 128 KiB is a row error naming its row and column, never a 500."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from invoices.imports import csv_import
from invoices.models import CsvUpload, Invoice

pytestmark = pytest.mark.django_db

HEADER = "external_id,customer,issue_date,due_date,total,currency,po_number\n"
HUGE = "x" * (128 * 1024 + 1)
TEXT = (
    HEADER
    + "INV-1,C1,2026-01-05,2026-02-04,100.00,USD,PO-1\n"
    + f'INV-2,C1,2026-01-06,2026-02-05,250.50,USD,"{HUGE}"\n'
    + "INV-3,C2,2026-01-07,2026-02-06,75.00,USD,PO-3\n"
)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_it_reports_an_oversized_field_as_a_row_error_and_imports_the_rest(org, tmp_path):
    path = tmp_path / "big.csv"
    path.write_text(TEXT, encoding="utf-8")
    result = csv_import(organization=org, kind="invoices", file=path)
    assert [(e.row, e.column) for e in result.errors] == [(3, "po_number")]
    assert "131,073 characters long; the limit is 131,072 (128 KiB)" in result.errors[0].reason
    numbers = set(Invoice.objects.filter(organization=org).values_list("external_id", flat=True))
    assert numbers == {"INV-1", "INV-3"}


def test_it_previews_a_file_with_an_oversized_field(collector_client, org):
    upload = SimpleUploadedFile("big.csv", TEXT.encode(), "text/csv")
    collector_client.post(reverse("csv-import"), {"kind": "invoices", "file": upload})
    code = CsvUpload.objects.get(organization=org).code
    preview = collector_client.get(reverse("csv-import-preview", args=[code]))
    assert preview.status_code == 200
    assert HUGE not in preview.content.decode()
    assert len(preview.context["rows"]) == 3
