"""Reading and checking CSV rows in one streaming pass.

Each mapped field gets a converter built once from the mapping (value table, date formats,
separators), so the per-row work is a few dict lookups and C-level parses. Dates repeat a lot in
ledger files, so parsed dates are cached per format. Nothing here touches the database.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import zoneinfo
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, TextIO

from invoices.imports.mapping import (
    BOOL,
    CHOICE,
    CURRENCY,
    DATE,
    DATETIME,
    FIELDS,
    INT,
    INVOICE_CUSTOMER_FIELDS,
    MONEY,
    TEXT,
    FieldSpec,
    ImportFailed,
    Mapping,
    MappingError,
)

# ISO 4217 active codes (2024); funds and precious metals are deliberately left out.
# A field longer than this is a row error naming its row and column. The csv module's own
# limit (128 KiB by default, where it raises csv.Error and aborts the whole file) is raised
# far above it so an over-long field reaches that row check; the upload size caps memory.
MAX_FIELD_CHARS = 128 * 1024
READER_FIELD_LIMIT = 64 * 1024 * 1024
csv.field_size_limit(max(csv.field_size_limit(), READER_FIELD_LIMIT))

ISO_CURRENCIES = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN
    BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP
    GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS
    KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR
    MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF
    SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD
    TWD TZS UAH UGX USD UYU UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG ZWL
    """.split()  # noqa: SIM905
)
TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0", ""})
MONEY_LIMIT = Decimal("10") ** 16  # Decimal(18, 2)


class RowError(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class CellError:
    """One problem in the file, located as a spreadsheet shows it (header = row 1)."""

    row: int
    column: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "reason": self.reason}


Converter = Callable[[str], Any]


def _text(spec: FieldSpec) -> Converter:
    limit = spec.max_length

    def convert(raw: str) -> str:
        value = raw.strip()
        if limit and len(value) > limit:
            raise ValueError(f"longer than {limit} characters ({len(value)})")
        if "\x00" in value:
            raise ValueError("contains a NUL character")
        return value

    return convert


_INVALID = object()
_CACHE_LIMIT = 200_000


def _date(formats: tuple[str, ...]) -> Converter:
    # Ledger files repeat dates a lot: each distinct raw string is parsed once.
    cache: dict[str, Any] = {}
    iso_only = formats == ("%Y-%m-%d",)
    shown = " or ".join(formats)

    def parse(value: str) -> Any:
        if not value:
            return None
        if iso_only:
            try:
                return dt.date.fromisoformat(value) if len(value) == 10 else _INVALID
            except ValueError:
                return _INVALID
        for fmt in formats:
            try:
                return dt.datetime.strptime(value, fmt).date()
            except ValueError:
                continue
        return _INVALID

    def convert(raw: str) -> dt.date | None:
        try:
            parsed = cache[raw]
        except KeyError:
            parsed = parse(raw.strip())
            if len(cache) < _CACHE_LIMIT:
                cache[raw] = parsed
        if parsed is _INVALID:
            raise ValueError(f"{raw.strip()!r} is not a date in the format {shown}")
        return parsed

    return convert


def _datetime(formats: tuple[str, ...] | None, tz: zoneinfo.ZoneInfo) -> Converter:
    shown = " or ".join(formats) if formats else "ISO 8601 (2026-01-31T14:05:00+00:00)"

    def convert(raw: str) -> dt.datetime | None:
        value = raw.strip()
        if not value:
            return None
        parsed = None
        if formats:
            for fmt in formats:
                try:
                    parsed = dt.datetime.strptime(value, fmt)
                    break
                except ValueError:
                    continue
        else:
            try:
                parsed = dt.datetime.fromisoformat(value)
            except ValueError:
                parsed = None
        if parsed is None:
            raise ValueError(f"{value!r} is not a date-time in the format {shown}")
        if parsed.tzinfo is None:
            # Explicit rule: naive times in a file are wall-clock times of the organization.
            parsed = parsed.replace(tzinfo=tz)
        return parsed

    return convert


def _money(spec: FieldSpec, thousands: str, decimal_sep: str) -> Converter:
    positive = spec.positive

    def convert(raw: str) -> Decimal | None:
        value = raw.strip()
        if not value:
            return None
        if thousands:
            value = value.replace(thousands, "")
        if decimal_sep != ".":
            value = value.replace(decimal_sep, ".")
        try:
            amount = Decimal(value)
        except InvalidOperation:
            raise ValueError(f"{raw.strip()!r} is not a number") from None
        if not amount.is_finite():
            raise ValueError(f"{raw.strip()!r} is not a number")
        dot = value.rfind(".")
        # A cheap string test for the usual "1234.56"; exponents take the exact path.
        if (
            (dot >= 0 and len(value) - dot > 3) or "e" in value or "E" in value
        ) and amount.as_tuple().exponent < -2:  # type: ignore[operator]
            raise ValueError(f"{raw.strip()!r} has more than 2 decimal places")
        if amount < 0:
            raise ValueError(f"{raw.strip()!r} is negative")
        if positive and amount == 0:
            raise ValueError("must be greater than zero")
        if amount >= MONEY_LIMIT:
            raise ValueError(f"{raw.strip()!r} is too large")
        return amount

    return convert


def _int(spec: FieldSpec) -> Converter:
    def convert(raw: str) -> int | None:
        value = raw.strip()
        if not value:
            return None
        try:
            number = int(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a whole number") from None
        if spec.minimum is not None and number < spec.minimum:
            raise ValueError(f"{number} is below {spec.minimum}")
        if spec.maximum is not None and number > spec.maximum:
            raise ValueError(f"{number} is above {spec.maximum}")
        return number

    return convert


def _bool(table: dict[str, Any]) -> Converter:
    mapped = {str(k).strip().lower(): v for k, v in table.items()}

    def convert(raw: str) -> bool | None:
        value = raw.strip().lower()
        if value in mapped:
            return mapped[value]
        if value in TRUE_WORDS:
            return True
        if value in FALSE_WORDS:
            return False
        raise ValueError(f"{raw.strip()!r} is not yes/no (true/false, 1/0)")

    return convert


def _currency(raw: str) -> str | None:
    value = raw.strip().upper()
    if not value:
        return None
    if value not in ISO_CURRENCIES:
        raise ValueError(f"{raw.strip()!r} is not an ISO 4217 currency code")
    return value


def _choice(spec: FieldSpec) -> Converter:
    allowed = set(spec.choices)

    def convert(raw: str) -> str | None:
        value = raw.strip().lower().replace(" ", "_")
        if not value:
            return None
        if value not in allowed:
            raise ValueError(f"{raw.strip()!r} is not one of {', '.join(spec.choices)}")
        return value

    return convert


def converter_for(spec: FieldSpec, mapping: Mapping, tz: zoneinfo.ZoneInfo) -> Converter:
    if spec.type == TEXT:
        base = _text(spec)
    elif spec.type == DATE:
        base = _date(mapping.formats_for(spec.name))
    elif spec.type == DATETIME:
        explicit = mapping.date_formats.get(spec.name) or mapping.date_formats.get("*")
        base = _datetime(explicit, tz)
    elif spec.type == MONEY:
        base = _money(spec, mapping.thousands_separator, mapping.decimal_separator)
    elif spec.type == INT:
        base = _int(spec)
    elif spec.type == BOOL:
        return _bool(mapping.values.get(spec.name, {}))
    elif spec.type == CURRENCY:
        base = _currency
    elif spec.type == CHOICE:
        base = _choice(spec)
    else:  # pragma: no cover - FIELDS only uses the types above
        raise AssertionError(spec.type)
    table = mapping.values.get(spec.name)
    if not table:
        return base
    # A value table translates the file's words into ours before the normal check.
    translated = {str(k).strip(): str(v) for k, v in table.items()}

    def convert(raw: str) -> Any:
        return base(translated.get(raw.strip(), raw))

    return convert


def check_mapping_values(mapping: Mapping) -> None:
    utc = zoneinfo.ZoneInfo("UTC")
    specs = FIELDS[mapping.kind]
    for name, table in mapping.values.items():
        spec = specs[name]
        for file_value, ours in table.items():
            if spec.type == BOOL:
                if not isinstance(ours, bool):
                    raise MappingError(f"values.{name}.{file_value}: must be true or false")
                continue
            try:
                converter_for(spec, Mapping(kind=mapping.kind, fields={}), utc)(str(ours))
            except ValueError as exc:
                raise MappingError(f"values.{name}.{file_value}: {exc}") from None
    for name, value in mapping.defaults.items():
        spec = specs[name]
        try:
            parsed = converter_for(spec, mapping, utc)(
                str(value).lower() if isinstance(value, bool) else str(value)
            )
        except ValueError as exc:
            raise MappingError(f"defaults.{name}: {exc}") from None
        if parsed is None and spec.required:
            raise MappingError(f"defaults.{name}: a required field needs a non-empty default")


@dataclass
class ParsedRow:
    row: int
    values: dict[str, Any]
    attributes: dict[str, str] | None
    customer_values: dict[str, Any] | None
    customer_attributes: dict[str, str] | None


class RowReader:
    """Turns the file into ParsedRows and CellErrors, one row at a time."""

    def __init__(
        self,
        *,
        mapping: Mapping,
        header: list[str],
        tz: zoneinfo.ZoneInfo,
        base_currency: str,
    ) -> None:
        self.mapping = mapping
        index = {column: i for i, column in enumerate(header)}
        specs = mapping.specs
        self.width = len(header)
        self.header = header
        self.columns = [
            (name, index[column], column, converter_for(specs[name], mapping, tz))
            for name, column in mapping.fields.items()
        ]
        self.defaults: dict[str, Any] = {}
        for name, value in mapping.defaults.items():
            raw = str(value).lower() if isinstance(value, bool) else str(value)
            self.defaults[name] = converter_for(specs[name], mapping, tz)(raw)
        if "currency" in specs:
            self.defaults.setdefault("currency", base_currency)
        self.required = [n for n, s in specs.items() if s.required]
        self.attribute_columns = [(k, index[c]) for k, c in mapping.attributes.items()]
        self.customer_columns = [
            (name, index[column], column, converter_for(INVOICE_CUSTOMER_FIELDS[name], mapping, tz))
            for name, column in mapping.customer_fields.items()
        ]
        self.customer_attribute_columns = [
            (k, index[c]) for k, c in mapping.customer_attributes.items()
        ]
        self._fast = self._compile_fast()

    def _compile_fast(self):
        """One generated function per mapping: converts every mapped cell into a dict literal.

        It is the happy path (no per-field loop, no per-field try); any problem makes it give
        up, and the field-by-field path below finds which cell failed and why.
        """
        env: dict[str, Any] = {"_dflt": _default_if_empty}
        lines = ["def fast(cells):", "    v = {"]
        mapped = set()
        for i, (name, position, _column, convert) in enumerate(self.columns):
            mapped.add(name)
            env[f"c{i}"] = convert
            if name in self.defaults:
                env[f"d{i}"] = self.defaults[name]
                lines.append(f"        {name!r}: _dflt(c{i}(cells[{position}]), d{i}),")
            else:
                lines.append(f"        {name!r}: c{i}(cells[{position}]),")
        for i, (name, value) in enumerate(self.defaults.items()):
            if name not in mapped:
                env[f"k{i}"] = value
                lines.append(f"        {name!r}: k{i},")
        lines.append("    }")
        for name in self.required:
            lines.append(f"    if v[{name!r}] is None or v[{name!r}] == '':")
            lines.append("        return None")
        lines.append("    return v")
        exec("\n".join(lines), env)  # the source is built above from our field names only
        return env["fast"]

    def column_of(self, field: str) -> str:
        return self.mapping.fields.get(field) or self.mapping.customer_fields.get(field) or field

    def parse(self, row_number: int, cells: list[str]) -> ParsedRow:
        if len(cells) != self.width:
            raise RowError("", f"has {len(cells)} cells but the header has {self.width} columns")
        if max(map(len, cells)) > MAX_FIELD_CHARS:
            raise self._oversized(cells)
        try:
            values = self._fast(cells)
        except ValueError:
            values = None
        if values is None:
            values = self._checked_values(cells)
        return self._with_extras(row_number, cells, values)

    def _oversized(self, cells: list[str]) -> RowError:
        position = next(i for i, cell in enumerate(cells) if len(cell) > MAX_FIELD_CHARS)
        column = self.header[position]
        return RowError(
            column,
            f"{column}: the field is {len(cells[position]):,} characters long; "
            f"the limit is {MAX_FIELD_CHARS:,} (128 KiB)",
        )

    def _checked_values(self, cells: list[str]) -> dict[str, Any]:
        """Field by field, so a failure names its field (raises RowError)."""
        values: dict[str, Any] = {}
        for name, position, _column, convert in self.columns:
            try:
                value = convert(cells[position])
            except ValueError as exc:
                raise RowError(name, str(exc)) from None
            if value is None or value == "":
                value = self.defaults.get(name, value)
            values[name] = value
        for name, value in self.defaults.items():
            if name not in values:
                values[name] = value
        for name in self.required:
            if values.get(name) in (None, ""):
                raise RowError(name, f"{name} is required")
        return values

    def _with_extras(self, row_number: int, cells: list[str], values: dict[str, Any]) -> ParsedRow:
        attributes = (
            {key: cells[position].strip() for key, position in self.attribute_columns}
            if self.attribute_columns
            else None
        )
        customer_values = None
        if self.customer_columns:
            customer_values = {}
            for name, position, _column, convert in self.customer_columns:
                try:
                    customer_values[name] = convert(cells[position]) or ""
                except ValueError as exc:
                    raise RowError(name, str(exc)) from None
        customer_attributes = (
            {key: cells[position].strip() for key, position in self.customer_attribute_columns}
            if self.customer_attribute_columns
            else None
        )
        return ParsedRow(row_number, values, attributes, customer_values, customer_attributes)


def _default_if_empty(value: Any, default: Any) -> Any:
    return default if value is None or value == "" else value


def csv_rows(stream: TextIO, delimiter: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header and an iterator of (spreadsheet row number, cells); blank lines skipped."""
    reader = csv.reader(stream, delimiter=delimiter)
    try:
        header = [column.strip() for column in next(reader)]
    except StopIteration:
        raise MappingError("the file is empty: expected a header row") from None
    except csv.Error as exc:
        raise MappingError(f"the header row cannot be read as CSV: {exc}") from None
    if len(set(header)) != len(header):
        duplicated = sorted({c for c in header if header.count(c) > 1})
        raise MappingError(f"the header repeats column(s): {', '.join(duplicated)}")

    def rows() -> Iterator[tuple[int, list[str]]]:
        # Row numbers count records as a spreadsheet does: the header is row 1.
        number = 1
        try:
            for number, cells in enumerate(reader, start=2):
                if not cells or (len(cells) == 1 and not cells[0].strip()):
                    continue
                yield number, cells
        except csv.Error as exc:
            # Beyond READER_FIELD_LIMIT (or a NUL byte): the file cannot be read on.
            raise ImportFailed(f"row {number + 1}: not readable as CSV ({exc})") from None

    return header, rows()


def json_text(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)
