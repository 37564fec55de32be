"""AR balance, overdue %, DSO and CEI at the end of each of the last 12 months, point in time.

Each month's figures are what the home dashboard would have shown on that day (the current
month: today), rebuilt from the ledger's history rather than today's balances:

- what an invoice owed at the end of day D = its total minus succeeded payments allocated to
  it and received (local time) by D; zero once its recorded paid date is on or before D
  (allocations of a paid invoice are taken to be received by its paid date);
- counted when issued on or before D; draft, void and written-off invoices are left out, as on
  the dashboard (the ledger keeps no void or write-off date to place them in time);
- DSO, overdue % and CEI from those balances with the dashboard's formulas
  (invoices.analytics.kpi_ratios), CEI's beginning AR being the balance 90 days before D;
- converted to the base currency at the latest rate on or before D; currencies without one
  are left out of that month.

Cost: two scans (invoices with their allocation totals; allocations), each computing every
date's sums at once with FILTER clauses, so the work does not grow with the number of months
beyond a few more additions per row.
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.core.cache import cache
from django.db import connection

from invoices.analytics import (
    CENT,
    PERIOD_DAYS,
    ZERO,
    _version_key,
    kpi_ratios,
    organization_today,
)
from invoices.models import ExchangeRate, Invoice, Payment, PaymentAllocation
from paypredict_project.tenancy.models import Organization

MONTHS = 12
TRENDS_CACHE_TTL = 3600
# The latest trends of the day stay servable while a recomputation runs.
LATEST_TTL = 26 * 3600
# At most one queued recomputation per organization (released when it finishes).
REFRESH_LOCK_TTL = 600


@dataclass(frozen=True)
class TrendPoint:
    month: str  # YYYY-MM
    date: dt.date  # the day the figures are taken at (month end, or today)
    ar_balance: Decimal
    overdue_balance: Decimal
    overdue_pct: Decimal | None
    dso: Decimal | None
    cei: Decimal | None


def trend_dates(*, today: dt.date, months: int = MONTHS) -> list[dt.date]:
    """The last day of each of the previous ``months - 1`` months, then today."""
    dates = [today]
    first = today.replace(day=1)
    for _ in range(months - 1):
        first_of_previous = (first - dt.timedelta(days=1)).replace(day=1)
        dates.append(first - dt.timedelta(days=1))
        first = first_of_previous
    return sorted(dates)


def _sums(prefix: str, dates: list[dt.date], template: str) -> str:
    return ",\n".join(
        f"COALESCE(sum({template.format(d=f'%(d{k})s::date')}), 0) AS {prefix}{k}"
        for k in range(len(dates))
    )


_INVOICES_SQL = """
WITH alloc AS (
    SELECT a.invoice_id, sum(a.amount) AS paid
    FROM {allocation} a JOIN {payment} p ON p.id = a.payment_id
    WHERE a.organization_id = %(org)s AND p.status = 'succeeded'
    GROUP BY a.invoice_id
)
SELECT i.currency, {sums}
FROM {invoice} i LEFT JOIN alloc ON alloc.invoice_id = i.id
WHERE i.organization_id = %(org)s AND i.status IN ('open', 'partially_paid', 'paid')
  AND i.issue_date <= %(last)s
GROUP BY i.currency
"""

_ALLOCATIONS_SQL = """
SELECT i.currency, {sums}
FROM {allocation} a
JOIN {payment} p ON p.id = a.payment_id
JOIN {invoice} i ON i.id = a.invoice_id
WHERE a.organization_id = %(org)s AND p.status = 'succeeded'
  AND i.status IN ('open', 'partially_paid', 'paid') AND i.issue_date <= %(last)s
  AND (p.received_at AT TIME ZONE %(tz)s)::date <= %(last)s
GROUP BY i.currency
"""


def _invoice_columns(dates: list[dt.date]) -> str:
    settled = "i.status = 'paid' AND i.paid_date <= {d}"
    remainder = "i.total - COALESCE(alloc.paid, 0)"
    parts = [
        _sums("issued", dates, "i.total) FILTER (WHERE i.issue_date <= {d}"),
        _sums(
            "issued_due", dates, "i.total) FILTER (WHERE i.issue_date <= {d} AND i.due_date < {d}"
        ),
        _sums("settled", dates, f"{remainder}) FILTER (WHERE {settled}"),
        _sums("settled_due", dates, f"{remainder}) FILTER (WHERE {settled} AND i.due_date < {{d}}"),
        _sums(
            "sales",
            dates,
            "i.total) FILTER (WHERE i.issue_date <= {d} AND i.issue_date > {d} - "
            + str(PERIOD_DAYS),
        ),
    ]
    return ",\n".join(parts)


def _allocation_columns(dates: list[dt.date]) -> str:
    received = "(p.received_at AT TIME ZONE %(tz)s)::date <= {d} AND i.issue_date <= {d}"
    return ",\n".join(
        [
            _sums("paid", dates, f"a.amount) FILTER (WHERE {received}"),
            _sums("paid_due", dates, f"a.amount) FILTER (WHERE {received} AND i.due_date < {{d}}"),
        ]
    )


def _fetch(sql: str, params: dict) -> dict[str, dict[str, Decimal]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        return {row[0]: dict(zip(names[1:], row[1:], strict=True)) for row in cursor.fetchall()}


def ar_positions(
    *, organization: Organization, dates: list[dt.date]
) -> dict[str, list[dict[str, Decimal]]]:
    """Per currency, per date: ``ar``, ``overdue`` and ``sales`` (90 days) in that currency."""
    tables = {
        "invoice": Invoice._meta.db_table,
        "payment": Payment._meta.db_table,
        "allocation": PaymentAllocation._meta.db_table,
    }
    params: dict = {"org": organization.pk, "tz": organization.time_zone, "last": max(dates)}
    params.update({f"d{k}": d for k, d in enumerate(dates)})
    invoices = _fetch(_INVOICES_SQL.format(sums=_invoice_columns(dates), **tables), params)
    paid = _fetch(_ALLOCATIONS_SQL.format(sums=_allocation_columns(dates), **tables), params)
    positions: dict[str, list[dict[str, Decimal]]] = {}
    for currency, row in invoices.items():
        payments = paid.get(currency, {})
        points = []
        for k in range(len(dates)):
            ar = row[f"issued{k}"] - payments.get(f"paid{k}", ZERO) - row[f"settled{k}"]
            overdue = (
                row[f"issued_due{k}"] - payments.get(f"paid_due{k}", ZERO) - row[f"settled_due{k}"]
            )
            points.append({"ar": ar, "overdue": overdue, "sales": row[f"sales{k}"]})
        positions[currency] = points
    return positions


def _rate_lookup(organization: Organization, last: dt.date):
    """(currency, day) → rate to base on or before day, or None; one query for all rates."""
    series: dict[str, tuple[list[dt.date], list[Decimal]]] = {}
    rows = (
        ExchangeRate.objects.filter(organization=organization, date__lte=last)
        .order_by("currency", "date")
        .values_list("currency", "date", "rate")
    )
    for currency, date, rate in rows:
        days, rates = series.setdefault(currency, ([], []))
        days.append(date)
        rates.append(rate)

    def rate(currency: str, day: dt.date) -> Decimal | None:
        if currency == organization.base_currency:
            return Decimal(1)
        days, rates = series.get(currency, ([], []))
        index = bisect.bisect_right(days, day) - 1
        return rates[index] if index >= 0 else None

    return rate


def ar_trends(
    *, organization: Organization, today: dt.date | None = None, months: int = MONTHS
) -> list[TrendPoint]:
    today = today or organization_today(organization=organization)
    ends = trend_dates(today=today, months=months)
    starts = [d - dt.timedelta(days=PERIOD_DAYS) for d in ends]
    dates = sorted(set(ends) | set(starts))
    index = {d: k for k, d in enumerate(dates)}
    positions = ar_positions(organization=organization, dates=dates)
    rate = _rate_lookup(organization, max(dates))
    points = []
    for end, start in zip(ends, starts, strict=True):

        def total(key: str, day: dt.date, *, rate_day: dt.date = end) -> Decimal:
            amount = ZERO
            for currency, series in positions.items():
                r = rate(currency, rate_day)
                if r is not None:
                    amount += series[index[day]][key] * r
            return amount.quantize(CENT)

        ar, overdue = total("ar", end), total("overdue", end)
        ratios = kpi_ratios(
            open_balance=ar,
            overdue_balance=overdue,
            sales=total("sales", end),
            beginning=total("ar", start),
            ending_current=ar - overdue,
        )
        points.append(
            TrendPoint(
                month=end.strftime("%Y-%m"),
                date=end,
                ar_balance=ar,
                overdue_balance=overdue,
                overdue_pct=ratios.overdue_pct,
                dso=ratios.dso,
                cei=ratios.cei,
            )
        )
    return points


def _trends_key(organization_id: int, version: int, today: dt.date) -> str:
    return f"ar-trends:{organization_id}:{version}:{today.isoformat()}"


def _latest_key(organization_id: int, today: dt.date) -> str:
    return f"ar-trends-latest:{organization_id}:{today.isoformat()}"


def _refreshing_key(organization_id: int) -> str:
    return f"ar-trends-refreshing:{organization_id}"


def ar_trends_refresh(*, organization: Organization) -> list[TrendPoint]:
    """Recompute the trends from the ledger and store them as current and as latest."""
    try:
        return _refresh(organization)
    finally:
        cache.delete(_refreshing_key(organization.id))


def _refresh(organization: Organization) -> list[TrendPoint]:
    today = organization_today(organization=organization)
    version = cache.get(_version_key(organization.id), 0)
    points = ar_trends(organization=organization, today=today)
    cache.set(_trends_key(organization.id, version, today), points, timeout=TRENDS_CACHE_TTL)
    cache.set(_latest_key(organization.id, today), points, timeout=LATEST_TTL)
    return points


def ar_trends_cached(*, organization: Organization) -> list[TrendPoint]:
    """The trends for today: current if cached, else the latest of today while a refresh runs.

    Rebuilding twelve month-end positions reads the organization's whole history (two scans
    of invoices and allocations: 5 to 30 s at a million invoices), so after a ledger change the
    page shows the trends computed earlier today and queues their recomputation in the
    background (one at a time per organization) instead of making the visitor wait. Only the
    first visit of a day, with nothing computed yet, computes them in the request.
    """
    today = organization_today(organization=organization)
    version = cache.get(_version_key(organization.id), 0)
    points = cache.get(_trends_key(organization.id, version, today))
    if points is not None:
        return points
    latest = cache.get(_latest_key(organization.id, today))
    if latest is None:
        return ar_trends_refresh(organization=organization)
    if cache.add(_refreshing_key(organization.id), 1, timeout=REFRESH_LOCK_TTL):
        from invoices.tasks import ar_trends_refresh_task

        ar_trends_refresh_task.delay(organization.id)
    return latest


# What each trend shows, with the formula shown on hover (the dashboard's definitions).
TREND_SERIES = (
    ("ar_balance", "AR balance", "Sum of what every issued invoice still owed at month end", False),
    ("overdue_pct", "Overdue %", "Owed past its due date ÷ AR balance x 100", True),
    ("dso", "DSO (days)", "AR balance ÷ credit sales of the 90 days before x 90", False),
    (
        "cei",
        "CEI %",
        "(AR 90 days before + sales - AR) ÷ (AR 90 days before + sales - current AR) x 100",
        True,
    ),
)


def trend_charts(points: list[TrendPoint]) -> list[dict]:
    """One small line chart per series, with its formula and data rows for the table."""
    from invoices.charts import line_chart

    charts = []
    labels = [p.month for p in points]
    for key, label, formula, percent in TREND_SERIES:
        values = [getattr(p, key) for p in points]
        floats = [None if v is None else float(v) for v in values]
        titles = [
            f"{p.month} ({p.date:%Y-%m-%d}): {v if v is not None else 'n/a'}"
            for p, v in zip(points, values, strict=True)
        ]
        charts.append(
            {
                "key": key,
                "label": label,
                "formula": formula,
                "latest": values[-1] if values else None,
                "chart": line_chart(floats, labels, titles=titles, percent=percent),
                "rows": list(zip(labels, values, strict=True)),
            }
        )
    return charts
