"""CSV of a report, streamed: rows are written as they come from the database cursor."""

from __future__ import annotations

import csv
import datetime as dt
import uuid
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone

from paypredict_project.tenancy.models import Organization

CHUNK_ROWS = 1000
# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """One CSV cell: text that a spreadsheet would run as a formula is prefixed with ``'``.

    Numbers are written as numbers (a negative Decimal is not text and stays as it is).
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date | Decimal | uuid.UUID | int | float):
        return str(value)
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_stream(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> Iterator[bytes]:
    writer = csv.writer(_Echo())
    yield writer.writerow(list(header)).encode("utf-8")
    chunk: list[str] = []
    for row in rows:
        chunk.append(writer.writerow([csv_cell(value) for value in row]))
        if len(chunk) >= CHUNK_ROWS:
            yield "".join(chunk).encode("utf-8")
            chunk = []
    if chunk:
        yield "".join(chunk).encode("utf-8")


def csv_response(
    *, name: str, organization: Organization, header: Iterable[str], rows: Iterable
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        csv_stream(header, rows), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.now().astimezone(organization.tzinfo).strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = (
        f'attachment; filename="{name}-{organization.slug}-{stamp}.csv"'
    )
    response["Cache-Control"] = "no-store"
    return response


def csv_text(header: Iterable[str], rows: Iterable) -> str:
    """The whole CSV as one string (for an e-mail attachment)."""
    return b"".join(csv_stream(header, rows)).decode("utf-8")
