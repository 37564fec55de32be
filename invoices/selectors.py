"""Reads of the ledger, always scoped to one organization (except operator metrics)."""

from __future__ import annotations

from django.db.models import Count, QuerySet, Sum

from invoices.models import OPEN_STATUSES, Customer, Invoice, Payment
from paypredict_project.tenancy.models import Organization
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
    return scoped(Payment.objects.select_related("customer"), organization=organization)


def payment_get(*, organization: Organization, code) -> Payment:
    return get_scoped_or_404(
        Payment.objects.select_related("customer").prefetch_related("allocations__invoice"),
        organization=organization,
        code=code,
    )


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
