"""What disputes adds to the ledger's pages (paypredict_project/slots.py): on an invoice,
its disputes and the "Open dispute" form; on a customer, its disputes."""

from __future__ import annotations

from disputes import selectors
from disputes.models import CATEGORY_CHOICES
from paypredict_project import slots


def invoice_panel(request, invoice) -> dict:
    disputes = selectors.invoice_disputes(invoice=invoice)
    return {
        "invoice": invoice,
        "disputes": disputes,
        "has_active": any(d.is_active for d in disputes),
        "categories": CATEGORY_CHOICES,
        "can_manage": "manage:disputes" in request.org_permissions,
    }


def customer_section(request, customer) -> dict:
    return {"customer": customer, "disputes": selectors.customer_disputes(customer=customer)}


def register_page_slots() -> None:
    slots.register(
        slots.INVOICE_PANELS,
        slots.Panel(
            key="disputes.invoice",
            template="disputes/_invoice_panel.html",
            context=invoice_panel,
            order=40,
        ),
    )
    slots.register(
        slots.CUSTOMER_SECTIONS,
        slots.Panel(
            key="disputes.customer",
            template="disputes/_customer_section.html",
            context=customer_section,
            order=60,
        ),
    )
