"""Reads of the reminders app, always scoped to one organization."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Avg, Count, F, Q, QuerySet

from invoices.models import OPEN_STATUSES, ZERO, Invoice, InvoiceStatus
from paypredict_project.mail_threads import MailThread
from paypredict_project.tenancy.models import Organization
from paypredict_project.tenancy.selectors import get_scoped_or_404, scoped
from reminders.models import PromiseToPay, Reminder


def reminder_list(*, organization: Organization) -> QuerySet[Reminder]:
    return scoped(
        Reminder.objects.select_related("customer", "step").prefetch_related("items__invoice"),
        organization=organization,
    )


def reminder_get(*, organization: Organization, code) -> Reminder:
    return get_scoped_or_404(
        Reminder.objects.select_related("customer", "step", "approved_by").prefetch_related(
            "items__invoice", "events"
        ),
        organization=organization,
        code=code,
    )


def reminder_thread(*, organization_id: int, message_ids: list[str]) -> MailThread | None:
    """The sent reminder a customer's reply quotes (by our Message-ID), as a mail thread: its
    customer and the invoices it still listed when sent. The first quoted id that matches wins."""
    found = {
        r.message_id: r
        for r in Reminder.objects.filter(
            organization_id=organization_id, message_id__in=message_ids
        ).exclude(message_id="")
    }
    for message_id in message_ids:
        reminder = found.get(message_id)
        if reminder is not None:
            invoice_ids = list(
                reminder.items.filter(dropped=False)
                .order_by("due_date", "id")
                .values_list("invoice_id", flat=True)
            )
            return MailThread(
                kind="reminder",
                code=str(reminder.code),
                customer_id=reminder.customer_id,
                invoice_ids=invoice_ids,
            )
    return None


def promise_list(*, organization: Organization) -> QuerySet[PromiseToPay]:
    return scoped(
        PromiseToPay.objects.select_related("customer", "invoice", "recorded_by"),
        organization=organization,
    )


def promise_get(*, organization: Organization, code) -> PromiseToPay:
    return get_scoped_or_404(
        PromiseToPay.objects.select_related("customer", "invoice"),
        organization=organization,
        code=code,
    )


@dataclass(frozen=True)
class PaymentHistory:
    paid_last_year: int
    paid_on_time: int
    average_days_late: float | None

    def summary(self) -> str:
        if not self.paid_last_year:
            return "no invoices paid in the last 12 months"
        late = (
            f", on average {self.average_days_late:.0f} days after the due date"
            if self.average_days_late is not None and self.average_days_late > 0
            else ""
        )
        return (
            f"{self.paid_last_year} invoices paid in the last 12 months, "
            f"{self.paid_on_time} of them on time{late}"
        )


def payment_histories(
    *, organization: Organization, customer_ids: list[int], today: dt.date
) -> dict[int, PaymentHistory]:
    """Per customer: invoices paid in the last year, how many on time, mean lateness."""
    rows = (
        scoped(Invoice.objects.all(), organization=organization)
        .filter(
            customer_id__in=customer_ids,
            status=InvoiceStatus.PAID,
            paid_date__isnull=False,
            paid_date__gt=today - dt.timedelta(days=365),
            paid_date__lte=today,
        )
        .order_by()
        .values("customer_id")
        .annotate(
            n=Count("id"),
            on_time=Count("id", filter=Q(paid_date__lte=F("due_date"))),
            late_days=Avg(F("paid_date") - F("due_date")),
        )
    )
    histories = {}
    for row in rows:
        late = row["late_days"]
        days = late.total_seconds() / 86400 if isinstance(late, dt.timedelta) else late
        histories[row["customer_id"]] = PaymentHistory(row["n"], row["on_time"], days)
    return histories


def open_invoices_for_customers(
    *, organization: Organization, customer_ids: list[int]
) -> dict[int, list[Invoice]]:
    """Every open invoice of the customers, oldest due first: the statement of open items."""
    invoices = (
        scoped(Invoice.objects.all(), organization=organization)
        .filter(customer_id__in=customer_ids, status__in=OPEN_STATUSES, balance__gt=ZERO)
        .order_by("due_date", "id")
    )
    grouped: dict[int, list[Invoice]] = {}
    for invoice in invoices:
        grouped.setdefault(invoice.customer_id, []).append(invoice)
    return grouped


def open_balance(invoices: list[Invoice]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for invoice in invoices:
        totals[invoice.currency] = totals.get(invoice.currency, ZERO) + invoice.balance
    return totals
