"""Payment analytics (F24): how payments succeed and fail, in SQL aggregates.

Definitions (also on the page and in docs/analytics.md):
- An *attempt* is one payment row received in the window (the organization's local days
  ``start`` to ``end`` inclusive), whatever its status.
- A *chain* is a first attempt plus its retries (``retry_of`` links, followed back to the first
  attempt). Retries are counted once: a chain succeeds when any of its attempts in the window
  succeeded; it is *decided* once one of them is no longer pending.
- Success rate = succeeded chains ÷ decided chains. A refunded payment went through (the refund
  came later), so it counts as a success.
- Failure rate = failed attempts ÷ decided attempts: every failed try counts, so a charge that
  failed twice and then succeeded is two failures in three attempts, and one successful chain.
- Amount received = succeeded payments only (refunded money went back), converted to the base
  currency at the latest stored rate on or before ``end``; currencies without a rate are
  reported apart, never added in.
- Peak hour and weekday are in the organization's time zone, by number of attempts.

Two statements: one over attempts, one over chains, each grouped by several dimensions at once
(UNION ALL over a materialized CTE), so the cost does not grow with the number of rows shown.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection

from invoices.analytics import CENT, exchange_rates_latest
from invoices.models import ZERO, Customer, Payment, PaymentMethod
from paypredict_project.tenancy.models import Organization

PERIODS = ("day", "week", "month")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
SUCCESS_STATUSES = ("succeeded", "refunded")
NO_REASON = "no reason given"


@dataclass(frozen=True)
class PaymentWindow:
    """The filters every payment figure is computed over."""

    organization: Organization
    start: dt.date
    end: dt.date  # inclusive
    method: str = ""
    currency: str = ""
    customer: Customer | None = None

    @property
    def start_at(self) -> dt.datetime:
        tz = self.organization.tzinfo
        return dt.datetime.combine(self.start, dt.time.min, tzinfo=tz)

    @property
    def end_at(self) -> dt.datetime:
        tz = self.organization.tzinfo
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)


@dataclass
class Figures:
    """Counts and money of one group (all, a method, a currency, a day...)."""

    key: str
    attempts: int = 0
    decided: int = 0
    succeeded: int = 0
    failed: int = 0
    pending: int = 0
    received_count: int = 0
    chains: int = 0
    chains_decided: int = 0
    chains_succeeded: int = 0
    received: Decimal | None = ZERO  # base currency (or the group's own currency); None = no rate

    @property
    def success_rate(self) -> Decimal | None:
        return _percent(self.chains_succeeded, self.chains_decided)

    @property
    def failure_rate(self) -> Decimal | None:
        return _percent(self.failed, self.decided)

    @property
    def average(self) -> Decimal | None:
        if self.received is None or not self.received_count:
            return None
        return (self.received / self.received_count).quantize(CENT)


@dataclass
class FailureReason:
    reason: str
    code: str
    count: int
    share: Decimal | None


@dataclass
class PaymentAnalytics:
    window: PaymentWindow
    period: str
    base_currency: str
    total: Figures
    by_currency: list[Figures]  # amounts in the currency itself
    by_method: list[Figures]
    trend: list[Figures]  # key = ISO date of the period start
    by_hour: list[int]  # attempts per local hour 0..23
    by_weekday: list[int]  # attempts per ISO weekday, Monday first
    failure_reasons: list[FailureReason]
    unconverted: list[str] = field(default_factory=list)

    @property
    def peak_hour(self) -> int | None:
        return _argmax(self.by_hour)

    @property
    def peak_weekday(self) -> str | None:
        index = _argmax(self.by_weekday)
        return None if index is None else WEEKDAYS[index]

    @property
    def top_method(self) -> Figures | None:
        return self.by_method[0] if self.by_method else None


def _percent(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


def _argmax(values: list[int]) -> int | None:
    if not any(values):
        return None
    return max(range(len(values)), key=lambda i: (values[i], -i))


# The window's attempts, each with the first attempt of its chain (``root``). The recursive
# part walks ``retry_of`` upwards from the window's rows only, carrying each row along, so its
# cost is the window's size times the chain depth (two or three), with no join back.
_WINDOW_SQL = """
WITH RECURSIVE up AS (
    SELECT p.id, p.status, p.amount, p.currency, p.method, p.failure_code, p.failure_reason,
           (p.received_at AT TIME ZONE %(tz)s) AS local_at,
           p.retry_of_id AS parent, p.id AS root, 0 AS depth
    FROM {payment} p
    WHERE p.organization_id = %(org)s
      AND p.received_at >= %(start)s AND p.received_at < %(end)s
      {filters}
    UNION ALL
    SELECT up.id, up.status, up.amount, up.currency, up.method, up.failure_code,
           up.failure_reason, up.local_at, p.retry_of_id, p.id, up.depth + 1
    FROM up JOIN {payment} p ON p.id = up.parent AND p.organization_id = %(org)s
    WHERE up.depth < 20
),
attempt AS MATERIALIZED (
    SELECT id, status, amount, currency, method, failure_code, failure_reason, local_at, root,
           date_trunc(%(period)s, local_at)::date AS bucket
    FROM up WHERE parent IS NULL
)
"""

_COUNTS = """
    count(*) AS attempts,
    count(*) FILTER (WHERE status <> 'pending') AS decided,
    count(*) FILTER (WHERE status IN ('succeeded', 'refunded')) AS succeeded,
    count(*) FILTER (WHERE status = 'failed') AS failed,
    count(*) FILTER (WHERE status = 'pending') AS pending,
    count(*) FILTER (WHERE status = 'succeeded') AS received_count,
    COALESCE(sum(amount) FILTER (WHERE status = 'succeeded'), 0) AS received
"""

_ATTEMPTS_SQL = f"""
SELECT 'all', '', currency, {_COUNTS} FROM attempt GROUP BY currency
UNION ALL
SELECT 'method', method, currency, {_COUNTS} FROM attempt GROUP BY method, currency
UNION ALL
SELECT 'bucket', bucket::text, currency, {_COUNTS} FROM attempt GROUP BY bucket, currency
UNION ALL
SELECT 'hour', extract(hour FROM local_at)::int::text, '', {_COUNTS}
FROM attempt GROUP BY extract(hour FROM local_at)
UNION ALL
SELECT 'weekday', extract(isodow FROM local_at)::int::text, '', {_COUNTS}
FROM attempt GROUP BY extract(isodow FROM local_at)
"""

# A chain takes the currency, method and period of its first attempt in the window.
_CHAINS_SQL = """
, chain AS (
    SELECT root,
           (array_agg(currency ORDER BY local_at, id))[1] AS currency,
           (array_agg(method ORDER BY local_at, id))[1] AS method,
           min(bucket) AS bucket,
           bool_or(status IN ('succeeded', 'refunded')) AS ok,
           bool_or(status <> 'pending') AS decided
    FROM attempt GROUP BY root
)
SELECT dim, key, currency, count(*), count(*) FILTER (WHERE decided),
       count(*) FILTER (WHERE ok)
FROM (
    SELECT 'all' AS dim, '' AS key, currency, decided, ok FROM chain
    UNION ALL SELECT 'method', method, currency, decided, ok FROM chain
    UNION ALL SELECT 'bucket', bucket::text, currency, decided, ok FROM chain
) AS c
GROUP BY dim, key, currency
"""

_REASONS_SQL = """
SELECT COALESCE(NULLIF(failure_reason, ''), %(no_reason)s) AS reason,
       min(failure_code) AS code, count(*) AS n
FROM attempt WHERE status = 'failed'
GROUP BY 1 ORDER BY n DESC, reason
"""


def _sql(window: PaymentWindow, body: str, period: str) -> tuple[str, dict]:
    params: dict = {
        "tz": window.organization.time_zone,
        "org": window.organization.pk,
        "start": window.start_at,
        "end": window.end_at,
        "period": period,
        "no_reason": NO_REASON,
    }
    filters = []
    if window.method:
        filters.append("AND p.method = %(method)s")
        params["method"] = window.method
    if window.currency:
        filters.append("AND p.currency = %(currency)s")
        params["currency"] = window.currency
    if window.customer is not None:
        filters.append("AND p.customer_id = %(customer)s")
        params["customer"] = window.customer.pk
    head = _WINDOW_SQL.format(payment=Payment._meta.db_table, filters=" ".join(filters))
    return head + body, params


def _fetch(window: PaymentWindow, body: str, period: str) -> list[tuple]:
    sql, params = _sql(window, body, period)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


class _Groups:
    """Accumulates per-currency rows into per-key figures in the base currency."""

    def __init__(self, rates: dict[str, Decimal]):
        self.rates = rates
        self.groups: dict[tuple[str, str], Figures] = {}
        self.unconverted: set[str] = set()

    def get(self, dim: str, key: str) -> Figures:
        return self.groups.setdefault((dim, key), Figures(key=key))

    def add_attempts(self, dim: str, key: str, currency: str, row: tuple) -> None:
        figures = self.get(dim, key)
        attempts, decided, succeeded, failed, pending, received_count, received = row
        figures.attempts += attempts
        figures.decided += decided
        figures.succeeded += succeeded
        figures.failed += failed
        figures.pending += pending
        figures.received_count += received_count
        if not currency:
            figures.received = None  # hour/weekday groups carry counts only
            return
        rate = self.rates.get(currency)
        if rate is None:
            self.unconverted.add(currency)
            figures.received_count -= received_count  # keeps the average honest
            return
        if figures.received is not None:
            figures.received = (figures.received + received * rate).quantize(CENT)

    def add_chains(self, dim: str, key: str, row: tuple) -> None:
        figures = self.get(dim, key)
        figures.chains += row[0]
        figures.chains_decided += row[1]
        figures.chains_succeeded += row[2]

    def of(self, dim: str) -> list[Figures]:
        return [figures for (d, _), figures in self.groups.items() if d == dim]


def payment_analytics(*, window: PaymentWindow, period: str = "day") -> PaymentAnalytics:
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}")
    organization = window.organization
    rates = {
        currency: rate
        for currency, (rate, _) in exchange_rates_latest(
            organization=organization, on=window.end
        ).items()
    }
    groups = _Groups(rates)
    currencies = _Groups({})  # the same figures kept in each currency's own money
    for dim, key, currency, *row in _fetch(window, _ATTEMPTS_SQL, period):
        groups.add_attempts(dim, key, currency, tuple(row))
        if dim == "all":
            currencies.rates[currency] = Decimal(1)
            currencies.add_attempts("currency", currency, currency, tuple(row))
    for dim, key, currency, *row in _fetch(window, _CHAINS_SQL, period):
        groups.add_chains(dim, key, tuple(row))
        if dim == "all":
            currencies.add_chains("currency", currency, tuple(row))
    reasons = _fetch(window, _REASONS_SQL, period)
    total = groups.groups.get(("all", ""), Figures(key=""))
    failed_total = sum(n for _, _, n in reasons)
    hours = {int(f.key): f.attempts for f in groups.of("hour")}
    weekdays = {int(f.key): f.attempts for f in groups.of("weekday")}
    return PaymentAnalytics(
        window=window,
        period=period,
        base_currency=organization.base_currency,
        total=total,
        by_currency=sorted(currencies.of("currency"), key=lambda f: (-f.attempts, f.key)),
        by_method=sorted(groups.of("method"), key=lambda f: (-f.attempts, f.key)),
        trend=sorted(groups.of("bucket"), key=lambda f: f.key),
        by_hour=[hours.get(h, 0) for h in range(24)],
        by_weekday=[weekdays.get(d, 0) for d in range(1, 8)],
        failure_reasons=[
            FailureReason(reason=r, code=c or "", count=n, share=_percent(n, failed_total))
            for r, c, n in reasons
        ],
        unconverted=sorted(groups.unconverted),
    )


def method_label(value: str) -> str:
    return dict(PaymentMethod.choices).get(value, value)


def payment_failed_list(*, window: PaymentWindow):
    """Failed attempts in the window, newest first, with their customer (one query)."""
    from invoices.selectors import payment_list

    payments = payment_list(organization=window.organization).filter(
        status="failed", received_at__gte=window.start_at, received_at__lt=window.end_at
    )
    if window.method:
        payments = payments.filter(method=window.method)
    if window.currency:
        payments = payments.filter(currency=window.currency)
    if window.customer is not None:
        payments = payments.filter(customer=window.customer)
    return payments.select_related("retry_of").order_by("-received_at", "-id")


DEFAULT_DAYS = 90
MAX_DAYS = 3 * 366


def payment_window_from(
    *,
    organization: Organization,
    start: dt.date | None,
    end: dt.date | None,
    method: str = "",
    currency: str = "",
    customer: Customer | None = None,
) -> PaymentWindow:
    """The window with its defaults: the last 90 local days up to today."""
    from invoices.analytics import organization_today

    end = end or organization_today(organization=organization)
    start = start or end - dt.timedelta(days=DEFAULT_DAYS - 1)
    return PaymentWindow(
        organization=organization,
        start=start,
        end=end,
        method=method,
        currency=currency.upper(),
        customer=customer,
    )
