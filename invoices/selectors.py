"""Reads of the ledger, always scoped to one organization (except operator metrics)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum

from invoices.models import (
    OPEN_STATUSES,
    ZERO,
    Customer,
    DemoPaymentAnomaly,
    ExchangeRate,
    Invoice,
    Payment,
    PaymentAllocation,
    SettlementBatch,
)
from paypredict_project.tenancy.models import AuditLog, Organization
from paypredict_project.tenancy.selectors import get_scoped_or_404, scoped


def customer_list(*, organization: Organization) -> QuerySet[Customer]:
    return scoped(Customer.objects.all(), organization=organization)


def customer_get(*, organization: Organization, code) -> Customer:
    return get_scoped_or_404(Customer.objects.all(), organization=organization, code=code)


def invoice_list(*, organization: Organization) -> QuerySet[Invoice]:
    return scoped(Invoice.objects.select_related("customer"), organization=organization)


def invoice_get(*, organization: Organization, code) -> Invoice:
    return get_scoped_or_404(
        Invoice.objects.select_related("customer").prefetch_related("lines"),
        organization=organization,
        code=code,
    )


def payment_list(*, organization: Organization) -> QuerySet[Payment]:
    return scoped(
        Payment.objects.select_related("customer", "settlement_batch"), organization=organization
    )


def payment_get(*, organization: Organization, code) -> Payment:
    return get_scoped_or_404(
        Payment.objects.select_related("customer", "settlement_batch").prefetch_related(
            "allocations__invoice"
        ),
        organization=organization,
        code=code,
    )


def settlement_batch_list(*, organization: Organization) -> QuerySet[SettlementBatch]:
    """Batches with the number of payments each carries (one query)."""
    return scoped(
        SettlementBatch.objects.annotate(payment_count=Count("payments")),
        organization=organization,
    )


def settlement_batch_get(*, organization: Organization, code) -> SettlementBatch:
    return get_scoped_or_404(
        settlement_batch_list(organization=organization), organization=organization, code=code
    )


def settlement_batch_payments(*, batch: SettlementBatch) -> QuerySet[Payment]:
    return Payment.objects.filter(
        organization_id=batch.organization_id, settlement_batch=batch
    ).select_related("customer")


def ledger_counts_by_organization() -> dict[str, list[dict]]:
    """Operator-wide counts for /metrics (the one read that spans organizations)."""
    invoices = list(
        Invoice.objects.values("organization__slug", "status").annotate(n=Count("id")).order_by()
    )
    balances = list(
        Invoice.objects.filter(status__in=OPEN_STATUSES)
        .values("organization__slug", "currency")
        .annotate(total=Sum("balance"))
        .order_by()
    )
    return {"invoices": invoices, "balances": balances}


# ---------------------------------------------------------------- dashboard pages


def invoice_allocations(*, invoice: Invoice) -> list[PaymentAllocation]:
    """Payments applied to an invoice, oldest first, with the payment loaded (one query)."""
    return list(
        PaymentAllocation.objects.filter(invoice=invoice, organization_id=invoice.organization_id)
        .select_related("payment")
        .order_by("payment__received_at", "id")
    )


def audit_history(
    *, organization: Organization, object_type: str, object_code, limit: int = 50
) -> list[AuditLog]:
    """The latest audit entries about one object, newest first."""
    return list(
        scoped(AuditLog.objects.select_related("actor"), organization=organization).filter(
            object_type=object_type, object_code=str(object_code)
        )[:limit]
    )


def customer_balances(
    *, organization: Organization, customer_ids: list[int], today: dt.date
) -> dict[int, list[dict]]:
    """Open and overdue balance per customer and currency, for a page of customers.

    One grouped query; currencies are kept apart (never summed across currencies).
    """
    rows = (
        scoped(Invoice.objects.all(), organization=organization)
        .filter(customer_id__in=customer_ids, status__in=OPEN_STATUSES)
        .order_by()
        .values("customer_id", "currency")
        .annotate(
            open_balance=Sum("balance"),
            overdue_balance=Sum("balance", filter=Q(due_date__lt=today), default=ZERO),
            open_count=Count("id"),
            overdue_count=Count("id", filter=Q(due_date__lt=today)),
        )
        .order_by("customer_id", "currency")
    )
    balances: dict[int, list[dict]] = {}
    for row in rows:
        balances.setdefault(row["customer_id"], []).append(row)
    return balances


def customer_invoices(*, organization: Organization, customer: Customer) -> QuerySet[Invoice]:
    return invoice_list(organization=organization).filter(customer=customer)


def customer_payments(*, organization: Organization, customer: Customer) -> QuerySet[Payment]:
    return payment_list(organization=organization).filter(customer=customer)


def demo_payment_anomaly_kinds(*, organization: Organization) -> dict[int, str]:
    """Planted anomalies of the demo data, payment id -> kind. Only evaluation reads this:
    it is the answer sheet, never a feature."""
    return dict(
        scoped(DemoPaymentAnomaly.objects.all(), organization=organization).values_list(
            "payment_id", "kind"
        )
    )


# ---------------------------------------------------------------- reports


def invoice_issued_totals(
    *, organization: Organization, start: dt.date, end: dt.date
) -> list[dict]:
    """Invoices issued from ``start`` to ``end`` (inclusive) per currency: count and total.

    Draft and void invoices were never issued to anyone and are left out.
    """
    return list(
        scoped(Invoice.objects.all(), organization=organization)
        .filter(issue_date__gte=start, issue_date__lte=end)
        .exclude(status__in=("draft", "void"))
        .order_by()
        .values("currency")
        .annotate(count=Count("id"), total=Sum("total"))
        .order_by("currency")
    )


# ---------------------------------------------------------------- exchange rates
# THE rule (dashboard KPIs, reports, forecast, customer risk, model features): a currency
# converts into the organization's base currency at its latest stored rate on or before the
# date; a date older than the currency's first stored rate uses that first rate (history
# predating the rate table); a currency with no stored rate at all has no rate (amounts stay
# unconverted and are reported, never silently counted at 1). The base currency is 1.
# exchange_rates_on (Python) and exchange_rate_sql (a SQL expression, per row) implement it
# from this one description; tests/invoices/test_exchange_rates.py checks they agree.


def exchange_rates_on(
    *, organization: Organization, on: dt.date
) -> dict[str, tuple[Decimal, dt.date | None]]:
    """currency → (rate to base, date of that rate) on ``on``; base currency → (1, None)."""
    rates = scoped(ExchangeRate.objects.all(), organization=organization)
    before = (
        rates.filter(date__lte=on)
        .order_by("currency", "-date")
        .distinct("currency")
        .values_list("currency", "rate", "date")
    )
    after = (
        rates.filter(date__gt=on)
        .order_by("currency", "date")
        .distinct("currency")
        .values_list("currency", "rate", "date")
    )
    found: dict[str, tuple[Decimal, dt.date | None]] = {c: (r, d) for c, r, d in after}
    found.update({c: (r, d) for c, r, d in before})
    found[organization.base_currency] = (Decimal(1), None)
    return found


def exchange_rate_sql(*, currency: str, on: str) -> str:
    """The rule as a SQL expression for one row: ``currency`` and ``on`` are SQL expressions
    of the row (``i.currency``, ``i.issue_date``); needs the query parameters %(org)s (the
    organization id) and %(base)s (its base currency). NULL when the currency has no rate.
    Two index lookups on (organization, currency, date) per row."""
    table = ExchangeRate._meta.db_table
    return f"""
    CASE WHEN {currency} = %(base)s THEN 1.0 ELSE COALESCE(
        (SELECT r.rate::double precision FROM {table} r
         WHERE r.organization_id = %(org)s AND r.currency = {currency} AND r.date <= {on}
         ORDER BY r.date DESC LIMIT 1),
        (SELECT r.rate::double precision FROM {table} r
         WHERE r.organization_id = %(org)s AND r.currency = {currency} AND r.date > {on}
         ORDER BY r.date ASC LIMIT 1)
    ) END"""


def customer_days_late(*, organization: Organization, customer: Customer, limit: int = 60):
    """The customer's last ``limit`` paid invoices, oldest first: days from due to paid date
    (negative = early). One query; the profile charts it."""
    rows = (
        scoped(Invoice.objects.all(), organization=organization)
        .filter(customer=customer, status="paid", paid_date__isnull=False)
        .order_by("-paid_date", "-id")
        .values("number", "code", "due_date", "paid_date")[:limit]
    )
    return [
        {**row, "days_late": (row["paid_date"] - row["due_date"]).days} for row in reversed(rows)
    ]
