"""The ledger REST API (/api/v1/customers, /invoices, /payments): one class per operation."""

from __future__ import annotations
