"""Writes to the ledger. Views, the API, tasks and commands call these, nothing else writes."""

from __future__ import annotations

from invoices.services.customers import (
    customer_create,
    customer_risk_set_bulk,
    customer_update,
)
from invoices.services.invoices import (
    invoice_create,
    invoice_credit_note,
    invoice_credited,
    invoice_recalculate,
    invoice_set_disputed,
    invoice_update,
    invoice_void,
    invoice_write_off,
)
from invoices.services.payments import (
    payment_allocate,
    payment_mark_failed,
    payment_mark_succeeded,
    payment_record,
    payment_refund,
)
from invoices.services.settlements import (
    settlement_batch_add_payments,
    settlement_batch_create,
    settlement_batch_settle,
    settlement_batch_update,
    settlement_batch_upsert,
    settlement_batch_void,
)

__all__ = [
    "customer_create",
    "customer_risk_set_bulk",
    "customer_update",
    "invoice_create",
    "invoice_credit_note",
    "invoice_credited",
    "invoice_recalculate",
    "invoice_set_disputed",
    "invoice_update",
    "invoice_void",
    "invoice_write_off",
    "payment_allocate",
    "payment_mark_failed",
    "payment_mark_succeeded",
    "payment_record",
    "payment_refund",
    "settlement_batch_add_payments",
    "settlement_batch_create",
    "settlement_batch_settle",
    "settlement_batch_update",
    "settlement_batch_upsert",
    "settlement_batch_void",
]
