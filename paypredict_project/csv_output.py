"""Every CSV the product writes goes through here (exports, reports, downloads).

A spreadsheet runs a cell starting with ``=``, ``+``, ``-`` or ``@`` as a formula (tab and
carriage return start one in some versions too), so a customer named
``=HYPERLINK("http://evil.example","click")`` would run on the collector's machine. Text
cells starting with one of those characters get a leading apostrophe, which spreadsheets
show as plain text (OWASP "CSV injection"). Numbers, dates and booleans are written as they
are: a negative amount stays a number. tests/test_csv_output.py checks that no other module
creates a csv writer.
"""

from __future__ import annotations

import csv
import datetime as dt
import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Protocol

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def csv_cell(value: Any) -> Any:
    """One cell: None → empty, booleans as true/false, datetimes in UTC ISO, text neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date | Decimal | uuid.UUID | int | float):
        return str(value)
    return neutralise_formula(str(value))


class _Writable(Protocol):
    def write(self, value: str, /) -> Any: ...


class SafeCsvWriter:
    """csv.writer whose rows pass through csv_cell (the header too)."""

    def __init__(self, handle: _Writable, **fmtparams: Any) -> None:
        self._writer = csv.writer(handle, **fmtparams)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([csv_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(handle: _Writable, **fmtparams: Any) -> SafeCsvWriter:
    return SafeCsvWriter(handle, **fmtparams)
