"""Reads of disputes, always scoped to the caller's organization."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import F, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from disputes.models import ACTIVE_STATUSES, BASELINE_VERSION, Dispute, DisputeStatus
from ml.dispute_labels import DISPUTE_LABELS
from paypredict_project.tenancy.models import Organization


def dispute_list(*, organization: Organization) -> QuerySet[Dispute]:
    return Dispute.objects.filter(organization=organization).select_related(
        "invoice", "customer", "assignee"
    )


def dispute_get(*, organization: Organization, code) -> Dispute:
    try:
        return dispute_list(organization=organization).get(code=code)
    except (Dispute.DoesNotExist, ValueError):
        raise Http404("No dispute matches the given id.") from None


def dispute_filter(queryset: QuerySet[Dispute], params: Any) -> QuerySet[Dispute]:
    """The queue's filters, shared by the page and the API: category (confirmed, else
    predicted), status ('active' = open or in review), assignee (user id or 'none'),
    sla_breached, min_amount / max_amount, customer (name contains), needs_review."""
    category = params.get("category")
    if category in DISPUTE_LABELS:
        queryset = queryset.filter(
            Q(category=category) | Q(category="", predicted_category=category)
        )
    status = params.get("status")
    if status == "active":
        queryset = queryset.filter(status__in=ACTIVE_STATUSES)
    elif status in DisputeStatus.values:
        queryset = queryset.filter(status=status)
    assignee = params.get("assignee")
    if assignee == "none":
        queryset = queryset.filter(assignee__isnull=True)
    elif assignee and str(assignee).isdigit():
        queryset = queryset.filter(assignee_id=int(assignee))
    if params.get("sla_breached") in ("true", True):
        queryset = queryset.filter(status__in=ACTIVE_STATUSES, sla_due_at__lt=timezone.now())
    if params.get("needs_review") in ("true", True):
        queryset = queryset.filter(status__in=ACTIVE_STATUSES, needs_review=True)
    for name, lookup in (("min_amount", "amount__gte"), ("max_amount", "amount__lte")):
        value = params.get(name)
        if value not in (None, ""):
            try:
                queryset = queryset.filter(**{lookup: Decimal(str(value))})
            except InvalidOperation:
                raise ValueError(f"{name}: not a number") from None
    customer = params.get("customer")
    if customer:
        queryset = queryset.filter(customer__name__icontains=customer)
    return queryset


def dispute_order_by_urgency(queryset: QuerySet[Dispute]) -> QuerySet[Dispute]:
    """Most urgent first: active before closed, then the earliest SLA due time."""
    return queryset.order_by(
        F("resolved_at").desc(nulls_first=True), F("sla_due_at").asc(nulls_last=True), "id"
    )


def dispute_counts(*, organization: Organization) -> dict[str, int]:
    active = Dispute.objects.filter(organization=organization, status__in=ACTIVE_STATUSES)
    return {
        "active": active.count(),
        "breached": active.filter(sla_due_at__lt=timezone.now()).count(),
        "needs_review": active.filter(needs_review=True).count(),
        "unlinked": active.filter(invoice__isnull=True).count(),
        "baseline": active.filter(model_version=BASELINE_VERSION, category="").count(),
    }


def invoice_disputes(*, invoice) -> list[Dispute]:
    return list(
        Dispute.objects.filter(organization_id=invoice.organization_id, invoice=invoice).order_by(
            "-opened_at"
        )
    )


def customer_disputes(*, customer) -> list[Dispute]:
    return list(
        Dispute.objects.filter(organization_id=customer.organization_id, customer=customer)
        .select_related("invoice")
        .order_by("-opened_at")[:20]
    )


def disputes_past_sla(*, organization: Organization, now) -> list:
    """Active disputes past their SLA due time, longest overdue first (the SLA report)."""
    from django.urls import reverse

    from paypredict_project.report_sources import SlaBreach

    late = (
        dispute_list(organization=organization)
        .filter(status__in=ACTIVE_STATUSES, sla_due_at__lt=now)
        .order_by("sla_due_at")
    )
    return [
        SlaBreach(
            kind="dispute",
            code=str(d.code),
            reference=d.invoice.number if d.invoice else (d.subject or "unlinked e-mail"),
            customer_code=str(d.customer.code) if d.customer else "",
            customer_name=d.customer.name if d.customer else d.sender,
            status=d.status,
            opened_at=d.opened_at,
            due_at=d.sla_due_at,
            amount=d.amount,
            currency=d.currency,
            url=reverse("dispute-detail", args=[d.code]),
        )
        for d in late
    ]


def disputes_opened_count(*, organization: Organization, start_at, end_at) -> int:
    return Dispute.objects.filter(
        organization=organization, opened_at__gte=start_at, opened_at__lt=end_at
    ).count()
