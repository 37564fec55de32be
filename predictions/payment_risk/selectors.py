"""Reads for payment risk: the ledger's payments and invoices as the frames ``ml`` wants
(through the ledger's selectors), and the stored risk rows, always scoped."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np
import pandas as pd
from django.core.cache import cache
from django.db.models import Count, DecimalField, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from invoices import selectors as ledger
from invoices.models import InvoiceStatus, Payment, PaymentStatus
from ml.payment_risk import INVOICE_COLUMNS, PAYMENT_COLUMNS
from paypredict_project.tenancy.models import Organization
from paypredict_project.tenancy.selectors import get_scoped_or_404, scoped
from predictions.payment_risk.models import (
    DEFAULT_THRESHOLD,
    PaymentRisk,
    PaymentRiskSettings,
    ReviewStatus,
)

# Invoices that were never owed: drafts and voided ones.
NOT_OWED = (InvoiceStatus.DRAFT, InvoiceStatus.VOID)
PROCESSOR_COUNTS_TTL = 600


def _epoch_seconds(values: Iterable) -> np.ndarray:
    stamps = pd.to_datetime(pd.Series(list(values), dtype=object), utc=True)
    # Whatever unit pandas picks (ns before 3.0, us since): count whole seconds.
    return ((stamps - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).to_numpy()


def payment_risk_history(
    *,
    organization: Organization,
    customer_ids: Iterable[int] | None = None,
    until: dt.datetime | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(payments, invoices) frames in ``ml.payment_risk``'s columns: every payment of the
    organization (or of ``customer_ids``) received up to ``until``, with what it applied to
    invoices, and the invoices those customers were billed. A refunded payment's refund
    time is its ``updated_at`` (``payment_refund`` is its last change)."""
    payments = ledger.payment_list(organization=organization)
    invoices = ledger.invoice_list(organization=organization).exclude(status__in=NOT_OWED)
    if customer_ids is not None:
        payments = payments.filter(customer_id__in=list(customer_ids))
        invoices = invoices.filter(customer_id__in=list(customer_ids))
    if until is not None:
        payments = payments.filter(received_at__lte=until)
        invoices = invoices.filter(issue_date__lte=until.date())
    zero = Value(0, output_field=DecimalField(max_digits=18, decimal_places=2))
    rows = list(
        payments.order_by()
        .annotate(applied=Coalesce(Sum("allocations__amount"), zero))
        .values_list(
            "id",
            "customer_id",
            "received_at",
            "amount",
            "currency",
            "method",
            "processor",
            "status",
            "updated_at",
            "applied",
        )
    )
    frame = pd.DataFrame(
        rows,
        columns=["id", "customer", "received_at", "amount", "currency", "method", "processor",
                 "status", "updated_at", "allocated"],
    )  # fmt: skip
    frame["received_at"] = _epoch_seconds(frame["received_at"])
    refunded = frame["status"].to_numpy() == PaymentStatus.REFUNDED
    frame["refunded_at"] = np.where(refunded, _epoch_seconds(frame["updated_at"]), np.nan)
    frame["amount"] = frame["amount"].astype(float)
    frame["allocated"] = frame["allocated"].astype(float)
    billed = pd.DataFrame(
        list(invoices.order_by().values_list("customer_id", "issue_date", "total")),
        columns=list(INVOICE_COLUMNS),
    )
    # An invoice is owed from the start of its issue day (UTC).
    billed["issued_at"] = (
        (pd.to_datetime(billed["issued_at"]) - pd.Timestamp(0)) // pd.Timedelta(seconds=1)
        if len(billed)
        else pd.Series(dtype="int64")
    )
    billed["total"] = billed["total"].astype(float)
    return frame[list(PAYMENT_COLUMNS)], billed


def payment_processor_counts(*, organization: Organization) -> dict[str, int]:
    """The organization's payments per processor, cached for ten minutes: scoring one
    payment must not count a million rows (the counts move slowly)."""
    key = f"payment_risk:processors:{organization.pk}"
    counts = cache.get(key)
    if counts is None:
        counts = dict(
            ledger.payment_list(organization=organization)
            .order_by()
            .values_list("processor")
            .annotate(n=Count("id"))
            .values_list("processor", "n")
        )
        cache.set(key, counts, PROCESSOR_COUNTS_TTL)
    return counts


def payment_risk_threshold(*, organization: Organization) -> float:
    found = PaymentRiskSettings.objects.filter(organization=organization).first()
    return found.threshold if found else DEFAULT_THRESHOLD


def payment_risk_list(*, organization: Organization) -> QuerySet[PaymentRisk]:
    return scoped(
        PaymentRisk.objects.select_related("payment__customer", "reviewed_by", "model_version"),
        organization=organization,
    )


def payment_risk_flagged(
    *,
    organization: Organization,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    threshold: float | None = None,
) -> QuerySet[PaymentRisk]:
    """Flagged payments (or, with ``threshold``, those scoring at least that), riskiest first."""
    risks = payment_risk_list(organization=organization)
    risks = (
        risks.filter(score__gte=threshold) if threshold is not None else risks.filter(flagged=True)
    )
    if start is not None:
        risks = risks.filter(payment__received_at__gte=start)
    if end is not None:
        risks = risks.filter(payment__received_at__lt=end)
    return risks.order_by("-score", "-payment__received_at", "pk")


def payment_risk_get(*, organization: Organization, payment_code) -> PaymentRisk:
    return get_scoped_or_404(
        PaymentRisk.objects.select_related("payment__customer", "reviewed_by"),
        organization=organization,
        payment__code=payment_code,
    )


def payment_risk_for_customer(*, organization: Organization, customer) -> dict:
    """The customer-profile section: flagged payments and review counts."""
    risks = payment_risk_list(organization=organization).filter(payment__customer=customer)
    flagged = risks.filter(flagged=True).order_by("-payment__received_at")
    return {
        "flagged": list(flagged[:10]),
        "flagged_count": flagged.count(),
        "confirmed_count": risks.filter(review_status=ReviewStatus.PROBLEM).count(),
        "scored_count": risks.count(),
    }


def payment_get_for_risk(*, organization: Organization, payment_id: int) -> Payment | None:
    return ledger.payment_list(organization=organization).filter(pk=payment_id).first()


def payment_risk_summary(*, organization: Organization) -> dict:
    """Counts for the payments page: flagged, and flagged still waiting for a review."""
    flagged = payment_risk_list(organization=organization).filter(flagged=True)
    return {
        "flagged_count": flagged.count(),
        "unreviewed_count": flagged.filter(review_status=ReviewStatus.NONE).count(),
        "threshold": payment_risk_threshold(organization=organization),
    }
