"""``csv_import``: the one entry point the command, the dashboard and the benchmark call."""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import psycopg
from django.db import IntegrityError, connection, transaction

from invoices.imports.loader import LOADERS, KindLoader, Staging, drop_temp_tables
from invoices.imports.mapping import (
    KINDS,
    ImportFailed,
    Mapping,
    MappingError,
    mapping_for_header,
)
from invoices.imports.parsing import CellError, RowError, RowReader, csv_rows
from invoices.signals import ledger_imported
from paypredict_project.audit import audit_record
from paypredict_project.events.services import event_record
from paypredict_project.tenancy.models import Organization


@dataclass
class ImportResult:
    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[CellError] = field(default_factory=list)
    error_count: int = 0
    duration: float = 0.0
    extra: dict[str, int] = field(default_factory=dict)
    # Seconds per phase: read + check + COPY (streamed together), database checks, upsert.
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def imported(self) -> int:
        return self.created + self.updated + self.unchanged

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "error_count": self.error_count,
            "errors": [error.as_dict() for error in self.errors],
            "duration": round(self.duration, 3),
            **self.extra,
        }


def _text_stream(file: IO[bytes] | IO[str] | Path | str) -> IO[str]:
    if isinstance(file, str | Path):
        path = Path(file)
        try:
            return path.open(encoding="utf-8-sig", newline="")
        except OSError as exc:
            raise ImportFailed(f"cannot read {path}: {exc.strerror}") from exc
    if isinstance(file, io.TextIOBase):
        return file  # type: ignore[return-value]
    return io.TextIOWrapper(file, encoding="utf-8-sig", newline="")  # type: ignore[arg-type]


def csv_import(
    *,
    organization: Organization,
    kind: str,
    file: IO[bytes] | IO[str] | Path | str,
    mapping: Mapping | None = None,
    file_name: str = "",
    strict: bool = False,
    progress: Callable[[str, int], None] | None = None,
) -> ImportResult:
    """Import a CSV of invoices, customers or payments into one organization.

    One transaction: valid rows are upserted, invalid rows are reported (row, column, reason)
    and skipped (with ``strict``, any row error rolls everything back). Raises ImportFailed
    (nothing imported) for an unreadable file or a mapping that does not fit it.
    ``progress(phase, rows)`` is told the rows read so far ("reading", every
    PROGRESS_EVERY rows) and when the database checks and the upsert start ("checking").
    """
    if kind not in KINDS:
        raise ImportFailed(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    started = time.perf_counter()
    stream = _text_stream(file)
    try:
        header, rows = csv_rows(stream, mapping.delimiter if mapping else ",")
        mapping = mapping_for_header(kind=kind, mapping=mapping, header=header)
        reader = RowReader(
            mapping=mapping,
            header=header,
            tz=organization.tzinfo,
            base_currency=organization.base_currency,
        )
        result = ImportResult(kind=kind)
        with transaction.atomic(), connection.cursor() as django_cursor:
            cursor = django_cursor.cursor  # the psycopg cursor: COPY needs it
            loader = LOADERS[kind](cursor=cursor, organization=organization, reader=reader)
            # One CSV import per organization at a time: two runs creating the same customers or
            # rows would otherwise collide on the unique keys halfway through.
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                [f"csv_import:{organization.id}"],
            )
            drop_temp_tables(cursor)
            staging = Staging(cursor, "csv_stage", loader.staging_columns)
            staged = staging.copy(_clean_rows(rows, loader, result, progress))
            if progress:
                progress("checking", result.rows)
            copied_at = time.perf_counter()
            parse_errors = loader.error_count
            created, updated = loader.load(staging)
            loaded_at = time.perf_counter()
            drop_temp_tables(cursor)
            result.created, result.updated = created, updated
            result.error_count = loader.error_count
            result.unchanged = staged - (result.error_count - parse_errors) - created - updated
            result.errors = sorted(loader.errors, key=_error_order)
            result.extra = loader.extra
            upsert = loader.timings.get("upsert", 0.0)
            result.timings = {
                "read_check_copy": round(copied_at - started, 3),
                "database_checks": round(loaded_at - copied_at - upsert, 3),
                "upsert": round(upsert, 3),
            }
            result.duration = time.perf_counter() - started
            if strict and result.error_count:
                transaction.set_rollback(True)
                result.created = result.updated = result.unchanged = 0
                result.extra = {}
                return result
            audit_record(
                organization=organization,
                action=f"csv_import.{kind}",
                object_type="csv_import",
                object_code=kind,
                after={
                    "file": file_name,
                    **result.as_dict(),
                    "errors": [e.as_dict() for e in result.errors[:20]],
                },
            )
            if created or updated:
                event_record(
                    organization=organization,
                    type="import.finished",
                    entity_id=kind,
                    payload={
                        "kind": kind,
                        "created": created,
                        "updated": updated,
                        "file": file_name,
                    },
                )
                transaction.on_commit(
                    lambda: ledger_imported.send(
                        sender=csv_import,
                        organization_id=organization.id,
                        kind=kind,
                        created=created,
                        updated=updated,
                    )
                )
    except UnicodeDecodeError as exc:
        raise ImportFailed(
            f"the file is not UTF-8 text (bad byte at position {exc.start} of a read block); "
            "save it as UTF-8 CSV"
        ) from exc
    except (IntegrityError, psycopg.IntegrityError) as exc:
        # The checks run before the upsert; only a write made meanwhile by someone else (an
        # invoice number taken through the API) can get here. Nothing was imported.
        raise ImportFailed(
            f"the ledger changed while importing, nothing was imported; run it again ({exc})"
        ) from exc
    finally:
        if not isinstance(file, io.TextIOBase):
            stream.close() if isinstance(file, str | Path) else stream.detach()
    result.duration = time.perf_counter() - started
    return result


def _error_order(error: CellError) -> tuple[int, str]:
    return (error.row, error.column)


PROGRESS_EVERY = 10_000


def _clean_rows(
    rows: Iterator[tuple[int, list[str]]],
    loader: KindLoader,
    result: ImportResult,
    progress: Callable[[str, int], None] | None = None,
) -> Iterator[tuple]:
    """Parse and finish each row; errors are recorded on the loader and the row skipped."""
    parse = loader.reader.parse
    finish = loader.finish
    column_of = loader.reader.column_of
    add_error = loader.add_error
    count = 0
    for number, cells in rows:
        count += 1
        if progress and count % PROGRESS_EVERY == 0:
            progress("reading", count)
        try:
            yield finish(parse(number, cells))
        except RowError as exc:
            add_error(CellError(number, column_of(exc.field) if exc.field else "", exc.reason))
    result.rows = count


__all__ = ["ImportFailed", "ImportResult", "MappingError", "csv_import"]
