"""Domain events of the ledger. Consumers (predictions, reminders, the live feed)
subscribe; the ledger imports none of them."""

from __future__ import annotations

from django.dispatch import Signal

# kwargs: invoice_id, organization_id. Sent after commit.
invoice_changed = Signal()
# kwargs: payment_id, organization_id. Sent after commit.
payment_changed = Signal()
# kwargs: organization_id, kind ("invoices" | "customers" | "payments" | "demo"), created,
# updated. Sent after commit by a bulk load (CSV import, demo seeding) instead of one event
# per row.
ledger_imported = Signal()
