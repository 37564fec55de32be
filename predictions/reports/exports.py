"""CSV of a report, streamed: rows are written as they come from the database cursor, every
cell through the one formula-neutralising writer (paypredict_project/csv_output.py)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse
from django.utils import timezone

from paypredict_project.csv_output import csv_writer
from paypredict_project.tenancy.models import Organization

CHUNK_ROWS = 1000


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_stream(header: Iterable[str], rows: Iterable[Iterable]) -> Iterator[bytes]:
    writer = csv_writer(_Echo())
    yield writer.writerow(list(header)).encode("utf-8")
    chunk: list[str] = []
    for row in rows:
        chunk.append(writer.writerow(row))
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
    filename = f"{name}-{organization.slug}-{stamp}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def csv_text(header: Iterable[str], rows: Iterable) -> str:
    """The whole CSV as one string (for an e-mail attachment)."""
    return b"".join(csv_stream(header, rows)).decode("utf-8")
