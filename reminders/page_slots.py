"""What reminders adds to the ledger's pages (paypredict_project/slots.py): on an invoice,
its reminders and promises to pay; on a customer, its reminders and its promise record."""

from __future__ import annotations

from collections import Counter

from invoices.models import OPEN_STATUSES
from paypredict_project import slots
from reminders.models import PromiseToPay, Reminder, ReminderItem

SEND = "send:reminders"


def invoice_panel(request, invoice) -> dict:
    items = (
        ReminderItem.objects.filter(organization_id=invoice.organization_id, invoice=invoice)
        .select_related("reminder")
        .order_by("-reminder__planned_on")
    )
    return {
        "invoice": invoice,
        "items": list(items),
        "promises": list(
            PromiseToPay.objects.filter(organization_id=invoice.organization_id, invoice=invoice)
        ),
        "can_promise": SEND in request.org_permissions and invoice.status in OPEN_STATUSES,
    }


def customer_section(request, customer) -> dict:
    promises = list(
        PromiseToPay.objects.filter(organization_id=customer.organization_id, customer=customer)
        .select_related("invoice")
        .order_by("-promised_date")
    )
    reminders = (
        Reminder.objects.filter(organization_id=customer.organization_id, customer=customer)
        .select_related("step")
        .order_by("-planned_on", "-id")
    )
    return {
        "customer": customer,
        "reminders": list(reminders[:10]),
        "promises": promises[:10],
        "promise_counts": Counter(p.status for p in promises),
        "can_promise": SEND in request.org_permissions,
    }


def register_page_slots() -> None:
    slots.register(
        slots.INVOICE_PANELS,
        slots.Panel(
            key="reminders.invoice_reminders",
            template="reminders/_invoice_panel.html",
            context=invoice_panel,
            order=200,
        ),
    )
    slots.register(
        slots.CUSTOMER_SECTIONS,
        slots.Panel(
            key="reminders.customer_reminders",
            template="reminders/_customer_section.html",
            context=customer_section,
            order=200,
        ),
    )
