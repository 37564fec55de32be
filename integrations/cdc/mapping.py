"""How source columns of a payment system's tables become PayPredict payments.

Each mapping turns a decoded source row into a normalized, JSON-safe dict (money as strings,
times as ISO strings) or raises ``BadEvent`` naming the column. Column names follow the
payment system's schema; aliases cover the common spellings.

payments: id, customer_ref (customer's external id, or its PayPredict code), invoice_refs
("INV-1:120.00,INV-2" or a JSON list; a lone reference without an amount takes the whole
payment), amount, currency, fee, processor, method, status, failure_code, created_at/paid_at,
reference.
refunds: id, payment_id, amount, status, created_at.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from integrations.cdc.envelope import BadEvent, parse_datetime

STATUSES = {
    "pending": "pending",
    "processing": "pending",
    "authorized": "pending",
    "succeeded": "succeeded",
    "paid": "succeeded",
    "settled": "succeeded",
    "completed": "succeeded",
    "captured": "succeeded",
    "failed": "failed",
    "declined": "failed",
    "returned": "failed",
    "canceled": "failed",
    "refunded": "refunded",
}
METHODS = {
    "card": "card",
    "credit_card": "card",
    "ach": "ach",
    "bank_transfer": "wire",
    "wire": "wire",
    "check": "check",
    "cheque": "check",
    "sepa": "sepa",
    "sepa_debit": "sepa",
    "cash": "cash",
}


def _pick(row: dict, *names: str) -> Any:
    for name in names:
        if row.get(name) is not None:
            return row[name]
    return None


def money(value: Any, what: str) -> Decimal:
    # A float means decimal.handling.mode=double: cents may already be lost, so refuse it.
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, str | int) and not isinstance(value, bool):
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise BadEvent(f"{what} is not a number: {value!r}") from exc
    elif value is None:
        raise BadEvent(f"{what} is missing")
    else:
        raise BadEvent(
            f"{what} {value!r} is not a string or Decimal (use decimal.handling.mode=string)"
        )
    if not amount.is_finite():
        raise BadEvent(f"{what} is not a number: {value!r}")
    return amount.quantize(Decimal("0.01"))


def _when(value: Any, what: str) -> str:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(12), dt.UTC)
    if value is None:
        raise BadEvent(f"{what} is missing")
    return parse_datetime(value, what).isoformat()


def _invoice_refs(value: Any) -> list[list[str | None]]:
    """[[number, amount-or-None], ...] from "INV-1:10.00,INV-2" or a JSON list."""
    if value in (None, ""):
        return []
    if isinstance(value, str) and value.lstrip().startswith("["):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise BadEvent(f"invoice_refs is not JSON: {value!r}") from exc
    if isinstance(value, str):
        value = [part for part in value.replace(";", ",").split(",") if part.strip()]
    if not isinstance(value, list):
        raise BadEvent(f"invoice_refs {value!r} is not a list")
    refs = []
    for item in value:
        if isinstance(item, dict):
            number, amount = item.get("invoice") or item.get("number"), item.get("amount")
        else:
            number, _, amount = str(item).partition(":")
        if not number or not str(number).strip():
            raise BadEvent(f"invoice_refs item {item!r} names no invoice")
        amount = str(money(amount, f"allocation to {number}")) if amount not in (None, "") else None
        refs.append([str(number).strip(), amount])
    if len(refs) > 1 and any(amount is None for _, amount in refs):
        raise BadEvent("invoice_refs names several invoices; each needs an amount")
    return refs


def payment_row(row: dict) -> dict:
    source_id = _pick(row, "id", "payment_id")
    if source_id is None:
        raise BadEvent("payments row has no id")
    customer = _pick(row, "customer_ref", "customer_external_id", "customer_id", "customer")
    if customer in (None, ""):
        raise BadEvent("payments row names no customer (customer_ref)")
    amount = money(_pick(row, "amount"), "amount")
    if amount <= 0:
        raise BadEvent(f"amount {amount} is not positive")
    status_raw = str(_pick(row, "status") or "succeeded").lower()
    if status_raw not in STATUSES:
        raise BadEvent(f"unknown payment status {status_raw!r}")
    method_raw = str(_pick(row, "method", "payment_method") or "other").lower()
    currency = str(_pick(row, "currency") or "").upper()
    if currency and len(currency) != 3:
        raise BadEvent(f"currency {currency!r} is not an ISO code")
    fee = _pick(row, "fee", "fee_amount", "fees")
    return {
        "id": str(source_id),
        "customer_ref": str(customer),
        "invoice_refs": _invoice_refs(_pick(row, "invoice_refs", "invoice_ref", "invoices")),
        "amount": str(amount),
        "currency": currency,
        "fee": str(money(fee, "fee")) if fee is not None else None,
        "processor": str(_pick(row, "processor", "gateway") or "")[:64],
        "method": METHODS.get(method_raw, "other"),
        "status": STATUSES[status_raw],
        "failure_code": str(_pick(row, "failure_code", "decline_code") or "")[:64],
        "received_at": _when(_pick(row, "paid_at", "created_at", "received_at"), "created_at"),
        "reference": str(_pick(row, "reference", "description") or "")[:128],
    }


def refund_row(row: dict) -> dict:
    source_id, payment_id = _pick(row, "id"), _pick(row, "payment_id")
    if source_id is None or payment_id is None:
        raise BadEvent("refunds row needs id and payment_id")
    status = str(_pick(row, "status") or "succeeded").lower()
    return {
        "id": str(source_id),
        "payment_id": str(payment_id),
        "amount": str(money(_pick(row, "amount"), "amount")),
        "status": "succeeded" if STATUSES.get(status) in ("succeeded", "refunded") else status,
    }


# table -> (normalizer, column naming the ledger payment's source id)
MAPPINGS: dict[str, tuple[Callable[[dict], dict], str]] = {
    "payments": (payment_row, "id"),
    "refunds": (refund_row, "payment_id"),
}
