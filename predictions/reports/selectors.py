"""The reports (F25): one function per report, each composing the owning apps' selectors.

A report returns plain data (dataclasses, dicts, querysets) that the page, the CSV download
and the API all render; none of them computes a figure of its own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from invoices.analytics import AGING_BUCKETS, CENT, dashboard_summary, exchange_rates_latest
from invoices.models import ZERO, Payment
from invoices.payment_analytics import (
    Figures,
    PaymentWindow,
    payment_analytics,
    payment_failed_list,
)
from invoices.selectors import invoice_issued_totals
from paypredict_project import report_sources
from paypredict_project.tenancy.models import Organization
from predictions.selectors import prediction_list_high_risk

UNAVAILABLE_DISPUTES = "disputes not available"


# ---------------------------------------------------------------- ar-summary


def _aging(buckets: dict[str, Decimal], counts: dict[str, int]) -> list[dict]:
    return [
        {"bucket": label_key, "label": label, "amount": buckets[key], "count": counts[key]}
        for key, label, label_key in _BUCKET_NAMES
    ]


# (internal key, label, the key the report states: current/1-30/31-60/61-90/90+)
_BUCKET_NAMES = [
    (key, label, "current" if low is None else (f"{low}-{high}" if high else f"{low - 1}+"))
    for key, label, low, high in AGING_BUCKETS
]


def report_ar_summary(*, organization: Organization, today: dt.date | None = None) -> dict:
    """The home dashboard's figures as numbers with stated keys, overall and per currency."""
    summary = dashboard_summary(organization=organization, today=today)
    by_currency = []
    for figures in summary.by_currency:
        ratios = figures.ratios()
        rate = summary.rates.get(figures.currency)
        by_currency.append(
            {
                "currency": figures.currency,
                "rate_to_base": rate[0] if rate else None,
                "rate_date": rate[1] if rate else None,
                "converted": rate is not None,
                "open_balance": figures.open_balance,
                "overdue_balance": figures.overdue_balance,
                "open_count": figures.open_count,
                "overdue_count": figures.overdue_count,
                "dso_days": ratios.dso,
                "cei_percent": ratios.cei,
                "overdue_percent": ratios.overdue_pct,
                "aging": _aging(figures.buckets, figures.bucket_counts),
            }
        )
    return {
        "as_of": summary.today,
        "base_currency": summary.base_currency,
        "period_days": summary.period_days,
        "open_balance": summary.open_balance,
        "overdue_balance": summary.overdue_balance,
        "overdue_percent": summary.overdue_pct,
        "open_count": summary.open_count,
        "overdue_count": summary.overdue_count,
        "dso_days": summary.dso,
        "cei_percent": summary.cei,
        "aging": [
            {"bucket": name, "label": bar.label, "amount": bar.amount, "count": bar.count}
            for bar, (_, _, name) in zip(summary.aging, _BUCKET_NAMES, strict=True)
        ],
        "by_currency": by_currency,
        "unconverted_currencies": [row.currency for row in summary.unconverted],
    }


# ---------------------------------------------------------------- daily-summary


@dataclass
class DailySummary:
    date: dt.date
    base_currency: str
    payments: Figures
    new_invoices: int
    new_invoices_amount: Decimal
    invoices_by_currency: list[dict]
    unconverted: list[str]
    extra: list[dict] = field(default_factory=list)  # counts contributed by other apps


def report_daily_summary(*, organization: Organization, day: dt.date) -> DailySummary:
    window = PaymentWindow(organization=organization, start=day, end=day)
    analytics = payment_analytics(window=window)
    rates = exchange_rates_latest(organization=organization, on=day)
    issued = invoice_issued_totals(organization=organization, start=day, end=day)
    amount = ZERO
    unconverted = set(analytics.unconverted)
    for row in issued:
        if row["currency"] in rates:
            amount += row["total"] * rates[row["currency"]][0]
        else:
            unconverted.add(row["currency"])
    extra = []
    for key, (label, source) in sorted(report_sources.daily_counts().items()):
        count = source(organization=organization, start_at=window.start_at, end_at=window.end_at)
        extra.append({"key": key, "label": label, "count": count})
    return DailySummary(
        date=day,
        base_currency=organization.base_currency,
        payments=analytics.total,
        new_invoices=sum(row["count"] for row in issued),
        new_invoices_amount=amount.quantize(CENT),
        invoices_by_currency=issued,
        unconverted=sorted(unconverted),
        extra=extra,
    )


# ---------------------------------------------------------------- failed-payments


def report_failed_payments(
    *, organization: Organization, start: dt.date, end: dt.date
) -> QuerySet[Payment]:
    """Failed attempts from ``start`` to ``end`` (local days, inclusive), each marked with
    whether a retry of it exists (one query: the flag is an EXISTS subquery)."""
    window = PaymentWindow(organization=organization, start=start, end=end)
    retried = Payment.objects.filter(retry_of=OuterRef("pk"))
    return payment_failed_list(window=window).annotate(retried=Exists(retried))


# ---------------------------------------------------------------- sla-breaches


@dataclass
class SlaReport:
    now: dt.datetime
    available: list[str]  # kinds with a registered source ("dispute", ...)
    rows: list[report_sources.SlaBreach]
    message: str = ""


def report_sla_breaches(*, organization: Organization, now: dt.datetime | None = None) -> SlaReport:
    """Items past their SLA, longest overdue first, from whichever apps provide them."""
    now = now or timezone.now()
    sources = report_sources.sla_sources()
    rows: list[report_sources.SlaBreach] = []
    for source in sources.values():
        rows.extend(source(organization=organization, now=now))
    rows.sort(key=lambda row: (row.due_at, row.reference))
    message = "" if "disputes" in sources else UNAVAILABLE_DISPUTES
    return SlaReport(now=now, available=sorted(sources), rows=rows, message=message)


# ---------------------------------------------------------------- high-risk


def report_high_risk(*, organization: Organization, threshold: float):
    """Open invoices whose predicted risk is at least ``threshold`` (0 to 1)."""
    return prediction_list_high_risk(organization=organization, threshold=threshold)
