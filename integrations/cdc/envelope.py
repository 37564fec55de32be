"""The Debezium JSON envelope (Kafka Connect JsonConverter), with or without schemas.

Wire facts: /work/shared/INTEGRATIONS.md §4. A record is a key and a value; a value is
``{"schema", "payload"}`` when schemas are enabled, else the payload itself; a null value is
a tombstone. Connect ``Decimal`` arrives as base64 of the big-endian two's-complement unscaled
integer with the scale in the schema's parameters; temporal logical types as integers (days,
milli-, micro-, nanoseconds since the epoch) or ISO strings (``ZonedTimestamp``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

DECIMAL = "org.apache.kafka.connect.data.Decimal"
VARIABLE_DECIMAL = "io.debezium.data.VariableScaleDecimal"
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class BadEvent(ValueError):
    """A change event we cannot read or map; the reason goes to the dead-letter stream."""


@dataclass(frozen=True)
class ChangeEvent:
    table: str
    key: str  # the primary-key columns, canonical JSON
    op: str  # c, u, d, r (t and m are read but not applied)
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    lsn: int
    ts_ms: int
    source_ts_ms: int | None

    @property
    def position(self) -> tuple[int, int]:
        return (self.lsn, self.ts_ms)


@dataclass(frozen=True)
class Tombstone:
    table: str
    key: str


def _json(raw: str | bytes | dict | None, what: str) -> Any:
    if raw is None or isinstance(raw, dict):
        return raw
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadEvent(f"{what} is not JSON: {exc}") from exc


def _unwrap(document: Any, what: str) -> tuple[dict | None, Any]:
    """(schema, payload) of a JsonConverter document with or without schemas."""
    if isinstance(document, dict) and set(document) == {"schema", "payload"}:
        return document["schema"], document["payload"]
    return None, document


def decode_decimal(value: Any, parameters: dict | None) -> Decimal:
    """Connect Decimal: base64 big-endian two's complement, scale from the schema."""
    if isinstance(value, str) and parameters is not None and "scale" in parameters:
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadEvent(f"Decimal value {value!r} is not base64") from exc
        unscaled = int.from_bytes(raw, "big", signed=True)
        return Decimal(unscaled).scaleb(-int(parameters["scale"]))
    raise BadEvent(f"Decimal value {value!r} has no scale in its schema")


def _temporal(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name == "io.debezium.time.Date":
        return (EPOCH + dt.timedelta(days=int(value))).date()
    if name in ("io.debezium.time.Timestamp", "org.apache.kafka.connect.data.Timestamp"):
        return EPOCH + dt.timedelta(milliseconds=int(value))
    if name == "io.debezium.time.MicroTimestamp":
        return EPOCH + dt.timedelta(microseconds=int(value))
    if name == "io.debezium.time.NanoTimestamp":
        return EPOCH + dt.timedelta(microseconds=int(value) // 1000)
    if name == "io.debezium.time.ZonedTimestamp":
        return parse_datetime(value, "ZonedTimestamp")
    return value


def _field_value(schema: dict, value: Any) -> Any:
    name = schema.get("name") or ""
    if value is None:
        return None
    if name == DECIMAL:
        return decode_decimal(value, schema.get("parameters"))
    if name == VARIABLE_DECIMAL:
        if not isinstance(value, dict):
            raise BadEvent(f"VariableScaleDecimal {value!r} is not a struct")
        return decode_decimal(value.get("value"), {"scale": value.get("scale", 0)})
    if name.startswith("io.debezium.time.") or name.startswith("org.apache.kafka.connect.data."):
        return _temporal(name, value)
    return value


def _row(schema: dict | None, row: Any, what: str) -> dict | None:
    if row is None:
        return None
    if not isinstance(row, dict):
        raise BadEvent(f"{what} is not an object")
    if schema is None:
        return row
    fields = {f["field"]: f for f in schema.get("fields", []) if "field" in f}
    return {name: _field_value(fields.get(name, {}), value) for name, value in row.items()}


def parse_datetime(value: Any, what: str) -> dt.datetime:
    """An ISO string or an epoch integer (ms, µs or ns, told apart by magnitude) to an aware
    datetime; a naive string is UTC (Postgres TIMESTAMP columns carry no zone)."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, bool):
        raise BadEvent(f"{what} is not a timestamp: {value!r}")
    if isinstance(value, int):
        magnitude = abs(value)
        if magnitude >= 10**17:
            return EPOCH + dt.timedelta(microseconds=value // 1000)
        if magnitude >= 10**14:
            return EPOCH + dt.timedelta(microseconds=value)
        return EPOCH + dt.timedelta(milliseconds=value)
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadEvent(f"{what} is not a timestamp: {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _canonical_key(key: Any) -> str:
    _, payload = _unwrap(key, "key")
    if payload is None:
        raise BadEvent("the record has no key")
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)


def _int(value: Any, default: int) -> int:
    if value is None or isinstance(value, bool):
        return default
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise BadEvent(f"position {value!r} is not an integer") from exc


def parse_record(
    key: str | bytes | dict | None, value: str | bytes | dict | None, table: str = ""
) -> ChangeEvent | Tombstone:
    """One record of the stream: a change event or a tombstone (``value`` is None)."""
    canonical = _canonical_key(_json(key, "key"))
    if value is None:
        if not table:
            raise BadEvent("a tombstone without its table (topic) cannot be placed")
        return Tombstone(table=table, key=canonical)
    schema, payload = _unwrap(_json(value, "value"), "value")
    if not isinstance(payload, dict):
        raise BadEvent("the value is neither a Debezium envelope nor null")
    op = payload.get("op")
    if op not in ("c", "u", "d", "r", "t", "m"):
        raise BadEvent(f"unknown op {op!r}")
    source = payload.get("source") or {}
    if not isinstance(source, dict):
        raise BadEvent("source is not an object")
    row_schemas = {}
    if schema:
        row_schemas = {f.get("field"): f for f in schema.get("fields", [])}
    before = _row(row_schemas.get("before"), payload.get("before"), "before")
    after = _row(row_schemas.get("after"), payload.get("after"), "after")
    if op in ("c", "u", "r") and after is None:
        raise BadEvent(f"op {op!r} without an after image")
    if op == "d" and before is None:
        raise BadEvent("a delete without a before image")
    return ChangeEvent(
        table=str(source.get("table") or table),
        key=canonical,
        op=op,
        before=before,
        after=after,
        lsn=_int(source.get("lsn"), -1),
        ts_ms=_int(payload.get("ts_ms"), -1),
        source_ts_ms=_int(source.get("ts_ms"), -1) if source.get("ts_ms") is not None else None,
    )
