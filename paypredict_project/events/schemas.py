"""Every event type PayPredict publishes, with the JSON Schema of its payload (version 1).

This module is the contract: ``event_record`` refuses a payload that does not match, and
docs/events.md is written from it (``manage.py event_schemas`` prints them all).
Money is a decimal string beside its ISO currency; times are ISO 8601 with an offset.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

MONEY = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}
CURRENCY = {"type": "string", "pattern": "^[A-Z]{3}$"}
UUID = {"type": "string", "format": "uuid"}
DATE = {"type": ["string", "null"], "format": "date"}
DATETIME = {"type": "string", "format": "date-time"}
TEXT = {"type": "string"}
REF = {
    "type": "object",
    "required": ["code", "name"],
    "properties": {"code": UUID, "name": TEXT},
}


def _object(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "required": sorted(required),
        "properties": {**required, **(optional or {})},
        "additionalProperties": True,
    }


INVOICE = {
    "code": UUID,
    "number": TEXT,
    "customer": REF,
    "currency": CURRENCY,
    "total": MONEY,
    "balance": MONEY,
    "status": TEXT,
    "due_date": DATE,
}
PAYMENT = {
    "code": UUID,
    "customer": REF,
    "amount": MONEY,
    "currency": CURRENCY,
    "status": {"enum": ["succeeded", "failed", "pending", "refunded"]},
    "method": TEXT,
    "received_at": DATETIME,
}
PAYMENT_OPTIONAL = {
    "reference": TEXT,
    "processor": TEXT,
    "failure_code": TEXT,
    "failure_reason": TEXT,
    "invoices": {"type": "array", "items": TEXT},
}

# type -> (what it means, payload schema). Add a type here before recording it.
EVENT_TYPES: dict[str, tuple[str, dict[str, Any]]] = {
    "invoice.created": ("an invoice was created", _object(INVOICE)),
    "invoice.updated": (
        "an invoice's editable fields or status changed",
        _object(INVOICE, {"changed": {"type": "array", "items": TEXT}}),
    ),
    "invoice.paid": ("an invoice's balance reached zero", _object(INVOICE, {"paid_date": DATE})),
    "invoice.voided": ("an invoice was voided", _object(INVOICE)),
    "payment.received": (
        "a payment succeeded (or was recorded pending)",
        _object(PAYMENT, PAYMENT_OPTIONAL),
    ),
    "payment.failed": ("a payment failed or was returned", _object(PAYMENT, PAYMENT_OPTIONAL)),
    "payment.refunded": ("a payment was refunded", _object(PAYMENT, PAYMENT_OPTIONAL)),
    "dispute.opened": (
        "a dispute was opened on an invoice",
        _object(
            {"code": UUID, "invoice": TEXT, "customer": REF, "amount": MONEY, "currency": CURRENCY},
            {"category": TEXT, "status": TEXT},
        ),
    ),
    "dispute.resolved": (
        "a dispute was resolved or rejected",
        _object(
            {"code": UUID, "invoice": TEXT, "customer": REF, "status": TEXT},
            {"resolution": TEXT, "amount": MONEY, "currency": CURRENCY},
        ),
    ),
    "prediction.risk_changed": (
        "an invoice's predicted risk level changed",
        _object(
            {
                "invoice": TEXT,
                "invoice_code": UUID,
                "customer": REF,
                "from_level": {"type": ["string", "null"]},
                "to_level": TEXT,
            },
            {"probability_on_time": {"type": ["number", "null"]}},
        ),
    ),
    "reminder.sent": (
        "a payment reminder was sent",
        _object(
            {"code": UUID, "customer": REF, "channel": TEXT},
            {"invoices": {"type": "array", "items": TEXT}, "step": TEXT},
        ),
    ),
    "settlement.settled": (
        "a settlement batch was deposited",
        _object(
            {"code": UUID, "processor": TEXT, "net": MONEY, "currency": CURRENCY},
            {"gross": MONEY, "fees": MONEY, "reference": TEXT, "payments": {"type": "integer"}},
        ),
    ),
    "sync.finished": (
        "an accounting-system sync run finished",
        _object(
            {"provider": TEXT, "status": TEXT},
            {"created": {"type": "integer"}, "updated": {"type": "integer"}, "errors": {}},
        ),
    ),
    "import.finished": (
        "a CSV import committed rows",
        _object(
            {"kind": TEXT, "created": {"type": "integer"}, "updated": {"type": "integer"}},
            {"file": TEXT},
        ),
    ),
}


class UnknownEventType(ValueError):
    pass


@cache
def _validator(event_type: str) -> Draft202012Validator:
    return Draft202012Validator(EVENT_TYPES[event_type][1])


def payload_problems(event_type: str, payload: dict[str, Any]) -> list[str]:
    """What is wrong with a payload for its type (empty list = valid)."""
    if event_type not in EVENT_TYPES:
        raise UnknownEventType(f"unknown event type {event_type!r}; add it to EVENT_TYPES")
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(payload)'}: {error.message}"
        for error in _validator(event_type).iter_errors(payload)
    ]
