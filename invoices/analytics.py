"""Ledger KPIs for the home dashboard: AR balance, overdue share, DSO, CEI, aging, top overdue.

Everything is aggregated in PostgreSQL, one row per currency, then converted to the
organization's base currency with the latest stored rate on or before "today". Currencies
without a rate are reported apart (never added into the base-currency totals), so a missing
rate shows up on the dashboard instead of silently skewing it.

Definitions (also in docs/dashboard.md):
- AR open balance: sum of ``balance`` of open and partially paid invoices.
- Overdue %: the part of that balance whose due date is before today.
- DSO (days sales outstanding), the simple method: AR open balance / credit sales of the last
  90 days x 90. Credit sales are the totals of invoices issued in the last 90 days.
- CEI (collection effectiveness index) over the last 90 days:
  (beginning AR + credit sales - ending AR) / (beginning AR + credit sales - ending current AR)
  x 100, where beginning AR is what was owed at the end of the day 90 days ago (invoice total
  minus succeeded payments received by then; invoices whose recorded paid date is on or before
  that day count as settled) and ending current AR is the open balance not yet due.
- Draft, void and written-off invoices are left out of every figure: the ledger stores no
  write-off date, so a written-off invoice cannot be placed in time and counting it as sales
  would make a write-off look like a collection.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    DecimalField,
    F,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from invoices.models import (
    MONEY,
    OPEN_STATUSES,
    RECEIVABLE_STATUSES,
    ZERO,
    Invoice,
    InvoiceStatus,
    PaymentAllocation,
    PaymentStatus,
)
from invoices.selectors import exchange_rates_on
from paypredict_project.tenancy.models import Organization
from paypredict_project.tenancy.selectors import scoped

PERIOD_DAYS = 90
CENT = Decimal("0.01")
# (key, label, lower days overdue, upper days overdue); None = unbounded. "current" = not yet due.
AGING_BUCKETS: tuple[tuple[str, str, int | None, int | None], ...] = (
    ("current", "Current", None, 0),
    ("d1_30", "1\u201330 days", 1, 30),
    ("d31_60", "31\u201360 days", 31, 60),
    ("d61_90", "61\u201390 days", 61, 90),
    ("d90_plus", "90+ days", 91, None),
)

_money = DecimalField(**MONEY)


@dataclass
class CurrencyFigures:
    """The aggregates of one currency, in that currency."""

    currency: str
    open_balance: Decimal = ZERO
    open_count: int = 0
    overdue_count: int = 0
    buckets: dict[str, Decimal] = field(default_factory=dict)
    bucket_counts: dict[str, int] = field(default_factory=dict)
    sales_period: Decimal = ZERO
    beginning_ar: Decimal = ZERO

    @property
    def overdue_balance(self) -> Decimal:
        return sum((v for k, v in self.buckets.items() if k != "current"), ZERO)

    def ratios(self) -> KpiRatios:
        """Overdue %, DSO and CEI of this currency alone, in its own money."""
        return kpi_ratios(
            open_balance=self.open_balance,
            overdue_balance=self.overdue_balance,
            sales=self.sales_period,
            beginning=self.beginning_ar,
            ending_current=self.buckets.get("current", ZERO),
        )


@dataclass
class AgingBar:
    key: str
    label: str
    amount: Decimal
    share: Decimal  # percent of the open balance
    scale: Decimal = ZERO  # 0 to 1 relative to the largest bucket: the bar length in the chart
    count: int = 0  # invoices in the bucket


@dataclass
class TopOverdueCustomer:
    code: str
    name: str
    overdue_base: Decimal
    invoice_count: int
    oldest_due: dt.date
    days_overdue: int


@dataclass
class DashboardSummary:
    today: dt.date
    computed_at: dt.datetime
    base_currency: str
    period_days: int
    open_balance: Decimal
    overdue_balance: Decimal
    overdue_pct: Decimal | None
    dso: Decimal | None
    cei: Decimal | None
    open_count: int
    overdue_count: int
    aging: list[AgingBar]
    rates: dict[str, tuple[Decimal, dt.date | None]]
    unconverted: list[CurrencyFigures]
    top_overdue: list[TopOverdueCustomer]
    has_invoices: bool
    # Every currency's own figures (converted or not), for reports that show them apart.
    by_currency: list[CurrencyFigures] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not self.has_invoices


def organization_today(*, organization: Organization) -> dt.date:
    return timezone.now().astimezone(organization.tzinfo).date()


def exchange_rates_latest(
    *, organization: Organization, on: dt.date
) -> dict[str, tuple[Decimal, dt.date | None]]:
    """currency → (rate to base, rate date) by the ledger's one exchange-rate rule
    (``invoices.selectors.exchange_rates_on``)."""
    return exchange_rates_on(organization=organization, on=on)


def _bucket_condition(today: dt.date, low: int | None, high: int | None) -> Q:
    condition = Q(status__in=OPEN_STATUSES)
    if low is None:  # current: due today or later
        return condition & Q(due_date__gte=today)
    condition &= Q(due_date__lte=today - dt.timedelta(days=low))
    if high is not None:
        condition &= Q(due_date__gte=today - dt.timedelta(days=high))
    return condition


def _sum_when(condition: Q, value) -> Coalesce:
    return Coalesce(
        Sum(Case(When(condition, then=value), default=Value(ZERO), output_field=_money)),
        Value(ZERO),
        output_field=_money,
    )


def beginning_ar_by_currency(*, organization: Organization, start: dt.date) -> dict[str, Decimal]:
    """What was owed at the end of ``start`` (CEI's beginning AR), per currency.

    Invoice total minus succeeded payments received by then, over invoices issued by then and
    not recorded as paid by then: one probe of the allocations per invoice open at ``start``
    (about 73,000 at a million invoices, roughly half a second), which is why the home page
    reads it through ``beginning_ar_cached``.
    """
    # Payments received before this instant count towards the beginning balance.
    start_end = dt.datetime.combine(
        start + dt.timedelta(days=1), dt.time.min, tzinfo=organization.tzinfo
    )
    paid_before_start = Subquery(
        PaymentAllocation.objects.filter(
            invoice=OuterRef("pk"),
            payment__status=PaymentStatus.SUCCEEDED,
            payment__received_at__lt=start_end,
        )
        .order_by()
        .values("invoice")
        .annotate(total=Sum("amount"))
        .values("total"),
        output_field=_money,
    )
    settled_by_start = Q(status=InvoiceStatus.PAID, paid_date__lte=start)
    rows = (
        scoped(Invoice.objects.all(), organization=organization)
        .filter(status__in=RECEIVABLE_STATUSES, issue_date__lte=start)
        .exclude(settled_by_start)
        .order_by()
        .values("currency")
        .annotate(
            beginning_ar=Sum(
                F("total") - Coalesce(paid_before_start, Value(ZERO), output_field=_money),
                output_field=_money,
            )
        )
    )
    with transaction.atomic():
        # The correlated subquery makes the planner's cost estimate huge, which switches on
        # PostgreSQL's JIT compiler: about a second of compiling for a query that runs in tens
        # of milliseconds. SET LOCAL confines the setting to this transaction.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
        return {row["currency"]: row["beginning_ar"] or ZERO for row in rows}


def _beginning_key(organization_id: int, version: int, start: dt.date) -> str:
    return f"beginning-ar:{organization_id}:{version}:{start.isoformat()}"


def _beginning_latest_key(organization_id: int, start: dt.date) -> str:
    return f"beginning-ar-latest:{organization_id}:{start.isoformat()}"


def _beginning_refreshing_key(organization_id: int) -> str:
    return f"beginning-ar-refreshing:{organization_id}"


def beginning_ar_refresh(*, organization: Organization, start: dt.date) -> dict[str, Decimal]:
    """Recompute the beginning AR at ``start`` and store it as current and as latest."""
    try:
        version = cache.get(_version_key(organization.id), 0)
        figures = beginning_ar_by_currency(organization=organization, start=start)
        cache.set(_beginning_key(organization.id, version, start), figures, SUMMARY_CACHE_TTL)
        cache.set(_beginning_latest_key(organization.id, start), figures, BEGINNING_LATEST_TTL)
        return figures
    finally:
        cache.delete(_beginning_refreshing_key(organization.id))


def beginning_ar_cached(*, organization: Organization, start: dt.date) -> dict[str, Decimal]:
    """The beginning AR at ``start``, current if cached, else the latest while a task refreshes.

    A balance 90 days back moves only when the ledger changes in the past (a back-dated
    payment or import), yet it is the slowest part of the home page's figures. After a ledger
    change the page uses the value computed earlier for the same day and queues its
    recomputation (one at a time per organization); only with nothing computed for ``start``
    yet does the request compute it.
    """
    version = cache.get(_version_key(organization.id), 0)
    figures = cache.get(_beginning_key(organization.id, version, start))
    if figures is not None:
        return figures
    latest = cache.get(_beginning_latest_key(organization.id, start))
    if latest is None:
        return beginning_ar_refresh(organization=organization, start=start)
    if cache.add(_beginning_refreshing_key(organization.id), 1, timeout=600):
        from invoices.tasks import beginning_ar_refresh_task

        beginning_ar_refresh_task.delay(organization.id, start.isoformat())
    return latest


def ledger_figures_by_currency(
    *,
    organization: Organization,
    today: dt.date,
    period_days: int = PERIOD_DAYS,
    cached_beginning: bool = False,
) -> list[CurrencyFigures]:
    """One aggregate query (CASE per bucket), grouped by currency, plus the beginning AR.

    ``cached_beginning``: read the beginning AR through ``beginning_ar_cached`` (the home
    page); otherwise it is computed now.
    """
    start = today - dt.timedelta(days=period_days)
    settled_by_start = Q(status=InvoiceStatus.PAID, paid_date__lte=start)
    aggregates = {
        key: _sum_when(_bucket_condition(today, low, high), F("balance"))
        for key, _label, low, high in AGING_BUCKETS
    }
    for key, _label, low, high in AGING_BUCKETS:
        aggregates[f"{key}_count"] = Count("id", filter=_bucket_condition(today, low, high))
    rows = (
        scoped(Invoice.objects.all(), organization=organization)
        .filter(status__in=RECEIVABLE_STATUSES)
        # Invoices settled before the period contribute to no figure: skipping them keeps the
        # aggregate to the open book plus the last 90 days instead of the whole history.
        .exclude(settled_by_start & Q(issue_date__lte=start))
        .order_by()
        .values("currency")
        .annotate(
            open_balance=_sum_when(Q(status__in=OPEN_STATUSES), F("balance")),
            open_count=Count("id", filter=Q(status__in=OPEN_STATUSES)),
            overdue_count=Count("id", filter=Q(status__in=OPEN_STATUSES, due_date__lt=today)),
            sales_period=_sum_when(Q(issue_date__gt=start, issue_date__lte=today), F("total")),
            **aggregates,
        )
        .order_by("currency")
    )
    with transaction.atomic():
        # A full aggregate looks expensive enough to the planner to switch on the JIT
        # compiler, whose compile time exceeds the query's own; SET LOCAL keeps it here.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
        rows = list(rows)
    if cached_beginning:
        beginning = beginning_ar_cached(organization=organization, start=start)
    else:
        beginning = beginning_ar_by_currency(organization=organization, start=start)
    return [
        CurrencyFigures(
            currency=row["currency"],
            open_balance=row["open_balance"],
            open_count=row["open_count"],
            overdue_count=row["overdue_count"],
            buckets={key: row[key] for key, *_ in AGING_BUCKETS},
            bucket_counts={key: row[f"{key}_count"] for key, *_ in AGING_BUCKETS},
            sales_period=row["sales_period"],
            beginning_ar=beginning.get(row["currency"], ZERO),
        )
        for row in rows
    ]


def _rate_case(rates: dict[str, tuple[Decimal, dt.date | None]]) -> Case:
    return Case(
        *[When(currency=currency, then=Value(rate)) for currency, (rate, _) in rates.items()],
        default=Value(None),
        output_field=DecimalField(max_digits=20, decimal_places=10),
    )


def top_overdue_customers(
    *,
    organization: Organization,
    today: dt.date,
    rates: dict[str, tuple[Decimal, dt.date | None]],
    limit: int = 5,
) -> list[TopOverdueCustomer]:
    """Customers with the largest overdue balance in base currency (convertible currencies)."""
    rows = (
        scoped(Invoice.objects.all(), organization=organization)
        .filter(status__in=OPEN_STATUSES, due_date__lt=today, currency__in=list(rates))
        .order_by()
        .values("customer__code", "customer__name")
        .annotate(
            overdue_base=Sum(F("balance") * _rate_case(rates), output_field=_money),
            invoice_count=Count("id"),
            oldest_due=Min("due_date"),
        )
        .order_by("-overdue_base", "customer__name")[:limit]
    )
    return [
        TopOverdueCustomer(
            code=str(row["customer__code"]),
            name=row["customer__name"],
            overdue_base=row["overdue_base"].quantize(CENT),
            invoice_count=row["invoice_count"],
            oldest_due=row["oldest_due"],
            days_overdue=(today - row["oldest_due"]).days,
        )
        for row in rows
    ]


def _ratio(numerator: Decimal, denominator: Decimal, scale: Decimal) -> Decimal | None:
    if denominator <= 0:
        return None
    return (numerator / denominator * scale).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class KpiRatios:
    overdue_pct: Decimal | None
    dso: Decimal | None
    cei: Decimal | None


def kpi_ratios(
    *,
    open_balance: Decimal,
    overdue_balance: Decimal,
    sales: Decimal,
    beginning: Decimal,
    ending_current: Decimal,
    period_days: int = PERIOD_DAYS,
) -> KpiRatios:
    """The three ratio KPIs from their parts (definitions in the module docstring)."""
    return KpiRatios(
        overdue_pct=_ratio(overdue_balance, open_balance, Decimal(100)),
        dso=_ratio(open_balance, sales, Decimal(period_days)),
        cei=_ratio(
            beginning + sales - open_balance,
            beginning + sales - ending_current,
            Decimal(100),
        ),
    )


def dashboard_summary(
    *, organization: Organization, today: dt.date | None = None, cached_beginning: bool = False
) -> DashboardSummary:
    today = today or organization_today(organization=organization)
    rates = exchange_rates_latest(organization=organization, on=today)
    figures = ledger_figures_by_currency(
        organization=organization, today=today, cached_beginning=cached_beginning
    )

    converted: list[tuple[CurrencyFigures, Decimal]] = []
    unconverted: list[CurrencyFigures] = []
    for row in figures:
        if row.currency in rates:
            converted.append((row, rates[row.currency][0]))
        else:
            unconverted.append(row)

    def total(getter) -> Decimal:
        # Converted exactly, summed over currencies, rounded once.
        return sum((getter(row) * rate for row, rate in converted), ZERO).quantize(CENT)

    # The open balance and the overdue figure are the sums of the aging buckets as shown, so
    # the cards and the chart always add up (rounding each independently made them differ by
    # a cent or two on multi-currency books).
    buckets = {key: total(lambda r, key=key: r.buckets[key]) for key, *_ in AGING_BUCKETS}
    open_balance = sum(buckets.values(), ZERO)
    overdue_balance = open_balance - buckets["current"]
    sales = total(lambda r: r.sales_period)
    beginning = total(lambda r: r.beginning_ar)
    ending_current = buckets["current"]
    aging = []
    for key, label, *_ in AGING_BUCKETS:
        amount = buckets[key]
        share = (amount / open_balance * 100).quantize(Decimal("0.1")) if open_balance else ZERO
        count = sum(row.bucket_counts[key] for row, _ in converted)
        aging.append(AgingBar(key=key, label=label, amount=amount, share=share, count=count))
    largest = max((bar.amount for bar in aging), default=ZERO)
    for bar in aging:
        bar.scale = (bar.amount / largest).quantize(Decimal("0.001")) if largest else ZERO

    ratios = kpi_ratios(
        open_balance=open_balance,
        overdue_balance=overdue_balance,
        sales=sales,
        beginning=beginning,
        ending_current=ending_current,
    )
    return DashboardSummary(
        today=today,
        computed_at=timezone.now(),
        base_currency=organization.base_currency,
        period_days=PERIOD_DAYS,
        open_balance=open_balance,
        overdue_balance=overdue_balance,
        overdue_pct=ratios.overdue_pct,
        dso=ratios.dso,
        cei=ratios.cei,
        open_count=sum(row.open_count for row, _ in converted),
        overdue_count=sum(row.overdue_count for row, _ in converted),
        aging=aging,
        rates={c: r for c, r in rates.items() if any(row.currency == c for row, _ in converted)},
        unconverted=unconverted,
        top_overdue=top_overdue_customers(organization=organization, today=today, rates=rates),
        by_currency=figures,
        has_invoices=bool(figures)
        or scoped(Invoice.objects.all(), organization=organization).exists(),
    )


# ---------------------------------------------------------------- cache
# The summary scans the open book and 90 days of history: on a million-invoice organization
# that is a noticeable query, and every visit to the home page would repeat it. It is cached
# per organization and day, and every ledger change (service writes, CSV imports) bumps the
# organization's version so the next visit recomputes. The TTL bounds staleness for writes
# that send no signal (bulk demo seeding, raw SQL).
SUMMARY_CACHE_TTL = 300
BEGINNING_LATEST_TTL = 26 * 3600


def _version_key(organization_id: int) -> str:
    return f"dashboard-summary-version:{organization_id}"


def dashboard_summary_invalidate(*, organization_id: int) -> None:
    key = _version_key(organization_id)
    try:
        cache.incr(key)
    except ValueError:  # no version yet: any new value differs from the absent one
        cache.set(key, 1, timeout=None)


def dashboard_summary_cached(*, organization: Organization) -> DashboardSummary:
    today = organization_today(organization=organization)
    version = cache.get(_version_key(organization.id), 0)
    key = f"dashboard-summary:{organization.id}:{version}:{today.isoformat()}"
    summary = cache.get(key)
    if summary is None:
        summary = dashboard_summary(organization=organization, today=today, cached_beginning=True)
        cache.set(key, summary, timeout=SUMMARY_CACHE_TTL)
    return summary


def _on_ledger_change(sender, organization_id: int, **kwargs) -> None:
    dashboard_summary_invalidate(organization_id=organization_id)


def connect_cache_invalidation() -> None:
    from invoices.signals import invoice_changed, ledger_imported, payment_changed

    for signal in (invoice_changed, payment_changed, ledger_imported):
        signal.connect(_on_ledger_change, dispatch_uid=f"analytics-cache-{id(signal)}")


__all__ = [
    "AGING_BUCKETS",
    "DashboardSummary",
    "dashboard_summary",
    "dashboard_summary_cached",
    "dashboard_summary_invalidate",
    "exchange_rates_latest",
    "kpi_ratios",
    "ledger_figures_by_currency",
    "organization_today",
    "top_overdue_customers",
]
