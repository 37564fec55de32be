"""HTML dashboard views of the ledger (one module per page family)."""

from __future__ import annotations

from invoices.views.customers import customer_detail, customer_list, customer_preferences
from invoices.views.dashboard import dashboard
from invoices.views.invoices import (
    invoice_detail,
    invoice_list,
    invoice_void,
    invoice_write_off,
)
from invoices.views.payment_analytics import payment_analytics_page
from invoices.views.payments import payment_detail, payment_list

__all__ = [
    "customer_detail",
    "customer_list",
    "customer_preferences",
    "dashboard",
    "invoice_detail",
    "invoice_list",
    "invoice_void",
    "invoice_write_off",
    "payment_analytics_page",
    "payment_detail",
    "payment_list",
]
