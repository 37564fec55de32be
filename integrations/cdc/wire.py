"""Build Debezium records the way a Postgres connector writes them (JsonConverter, with or
without schemas, money as Connect Decimal or strings). The demo producer, the tests and the
benchmark speak the real wire format through this one place."""

from __future__ import annotations

import base64
import datetime as dt
import json
from decimal import Decimal
from typing import Any

from integrations.cdc.envelope import DECIMAL, EPOCH

MONEY_COLUMNS = ("amount", "fee")
TIME_COLUMNS = ("created_at", "paid_at")


def encode_decimal(value: Decimal | str, scale: int = 2) -> str:
    unscaled = int(Decimal(value).scaleb(scale).to_integral_value())
    length = max(1, (unscaled.bit_length() + 8) // 8)
    return base64.b64encode(unscaled.to_bytes(length, "big", signed=True)).decode()


def _micros(value: dt.datetime) -> int:
    return (value - EPOCH) // dt.timedelta(microseconds=1)


def _field_schema(name: str, value: Any) -> dict:
    if name in MONEY_COLUMNS:
        return {
            "type": "bytes",
            "optional": True,
            "name": DECIMAL,
            "version": 1,
            "parameters": {"scale": "2", "connect.decimal.precision": "14"},
            "field": name,
        }
    if name in TIME_COLUMNS:
        return {
            "type": "int64",
            "optional": True,
            "name": "io.debezium.time.MicroTimestamp",
            "version": 1,
            "field": name,
        }
    kind = "int64" if isinstance(value, int) and not isinstance(value, bool) else "string"
    return {"type": kind, "optional": name != "id", "field": name}


def _encode_row(row: dict | None, schemas: bool) -> dict | None:
    if row is None:
        return None
    out = {}
    for name, value in row.items():
        if isinstance(value, dt.datetime):
            value = _micros(value) if schemas else value.astimezone(dt.UTC).isoformat()
        elif name in MONEY_COLUMNS and value is not None and not isinstance(value, float):
            # (a float stays a float: that is what decimal.handling.mode=double sends)
            value = encode_decimal(value) if schemas else str(Decimal(value))
        out[name] = value
    return out


def record(
    table: str,
    op: str,
    *,
    before: dict | None,
    after: dict | None,
    lsn: int,
    ts_ms: int,
    schemas: bool = False,
) -> tuple[str, str]:
    """(key JSON, value JSON) of one change event."""
    image = after if after is not None else before
    key_payload = {"id": image["id"]}
    source = {
        "version": "2.7.3.Final",
        "connector": "postgresql",
        "name": "billing",
        "ts_ms": ts_ms - 40,
        "snapshot": "true" if op == "r" else "false",
        "db": "billing",
        "sequence": json.dumps([str(lsn - 8), str(lsn)]),
        "schema": "public",
        "table": table,
        "txId": lsn // 8,
        "lsn": lsn,
        "xmin": None,
    }
    payload = {
        "before": _encode_row(before, schemas),
        "after": _encode_row(after, schemas),
        "source": source,
        "op": op,
        "ts_ms": ts_ms,
        "transaction": None,
    }
    key: dict = key_payload
    value: dict = payload
    if schemas:
        row_fields = [_field_schema(n, v) for n, v in image.items()]
        row_schema = {"type": "struct", "fields": row_fields, "optional": True}
        value = {
            "schema": {
                "type": "struct",
                "name": f"billing.public.{table}.Envelope",
                "fields": [
                    {**row_schema, "field": "before", "name": f"billing.public.{table}.Value"},
                    {**row_schema, "field": "after", "name": f"billing.public.{table}.Value"},
                    {"type": "struct", "field": "source", "fields": []},
                    {"type": "string", "field": "op"},
                    {"type": "int64", "field": "ts_ms", "optional": True},
                ],
            },
            "payload": payload,
        }
        key = {
            "schema": {"type": "struct", "fields": [{"type": "int64", "field": "id"}]},
            "payload": key_payload,
        }
    return json.dumps(key), json.dumps(value, default=str)


def tombstone(row_id: int) -> tuple[str, None]:
    return json.dumps({"id": row_id}), None
