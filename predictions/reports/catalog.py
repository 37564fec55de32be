"""The reports as data: name, parameters, the selector that computes it and its CSV rows.

Pages, CSV downloads, the API and scheduled e-mails all look a report up here, so adding a
report is one entry (plus its page partial and API serializer).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from rest_framework import serializers

from invoices.payment_analytics import method_label
from paypredict_project.tenancy.models import Organization
from predictions.reports import params, selectors


@dataclass(frozen=True)
class Report:
    slug: str
    title: str
    description: str
    permission: str
    params: type[serializers.Serializer]
    run: Callable[..., Any]  # (organization, **resolved params) -> result
    columns: tuple[str, ...]
    rows: Callable[[Any], Iterator[list]]
    # (label, value) pairs: the few figures an e-mail summary states.
    summary: Callable[[Any], list[tuple[str, str]]]
    # Large results are lists on the page: it shows the first rows and links the CSV.
    listing: bool = False

    def parse(self, organization: Organization, query) -> tuple[dict | None, dict]:
        """(resolved parameters, errors): errors is a field → messages dict when invalid."""
        serializer = self.params(data=query)
        if not serializer.is_valid():
            return None, serializer.errors
        return serializer.resolve(organization), {}


def _ar_rows(result: dict) -> Iterator[list]:
    for row in result["aging"]:
        yield ["all", result["base_currency"], row["bucket"], row["amount"], row["count"]]
    for currency in result["by_currency"]:
        for row in currency["aging"]:
            yield ["currency", currency["currency"], row["bucket"], row["amount"], row["count"]]


def _daily_rows(result: selectors.DailySummary) -> Iterator[list]:
    p = result.payments
    base = result.base_currency
    yield ["payments_attempted", p.attempts, ""]
    yield ["payments_succeeded", p.succeeded, ""]
    yield ["payments_failed", p.failed, ""]
    yield ["payments_pending", p.pending, ""]
    yield ["amount_received", p.received, base]
    yield ["success_rate_percent", p.success_rate, ""]
    yield ["failure_rate_percent", p.failure_rate, ""]
    yield ["new_invoices", result.new_invoices, ""]
    yield ["new_invoices_amount", result.new_invoices_amount, base]
    for extra in result.extra:
        yield [extra["key"], extra["count"], ""]


def _failed_rows(queryset) -> Iterator[list]:
    for payment in queryset.iterator(chunk_size=2000):
        yield [
            payment.received_at,
            payment.customer.name,
            payment.amount,
            payment.currency,
            method_label(payment.method),
            payment.failure_code,
            payment.failure_reason,
            payment.processor,
            payment.reference,
            payment.retry_of.code if payment.retry_of else "",
            payment.retried,
            payment.code,
        ]


def _sla_rows(result: selectors.SlaReport) -> Iterator[list]:
    for row in result.rows:
        yield [
            row.kind,
            row.reference,
            row.customer_name,
            row.status,
            row.opened_at,
            row.due_at,
            row.hours_past(now=result.now),
            row.amount,
            row.currency,
            row.code,
        ]


def _high_risk_rows(queryset) -> Iterator[list]:
    for prediction in queryset.iterator(chunk_size=2000):
        invoice = prediction.invoice
        yield [
            invoice.number,
            invoice.customer.name,
            invoice.due_date,
            invoice.balance,
            invoice.currency,
            round(prediction.risk_probability, 4),
            prediction.risk_level,
            round(prediction.p_paid_by_due, 4),
            prediction.expected_date,
            prediction.factors[0]["text"] if prediction.factors else "",
            invoice.code,
        ]


def _money(value, currency: str) -> str:
    return "n/a" if value is None else f"{value:,.2f} {currency}"


def _ratio(value, unit: str) -> str:
    return "n/a" if value is None else f"{value}{unit}"


def _ar_summary(result: dict) -> list[tuple[str, str]]:
    base = result["base_currency"]
    return [
        ("Open balance", _money(result["open_balance"], base)),
        (
            "Overdue",
            f"{_money(result['overdue_balance'], base)}"
            f" ({_ratio(result['overdue_percent'], ' %')})",
        ),
        ("DSO", _ratio(result["dso_days"], " days")),
        ("CEI", _ratio(result["cei_percent"], " %")),
    ]


def _daily_summary(result: selectors.DailySummary) -> list[tuple[str, str]]:
    p = result.payments
    lines = [
        ("Day", result.date.isoformat()),
        ("Payments received", f"{p.received_count} ({_money(p.received, result.base_currency)})"),
        ("Failed attempts", str(p.failed)),
        ("Success rate", _ratio(p.success_rate, " %")),
        (
            "New invoices",
            f"{result.new_invoices} ({_money(result.new_invoices_amount, result.base_currency)})",
        ),
    ]
    return lines + [(extra["label"], str(extra["count"])) for extra in result.extra]


def _count_summary(label: str) -> Callable[[Any], list[tuple[str, str]]]:
    def summary(result) -> list[tuple[str, str]]:
        count = len(result.rows) if hasattr(result, "rows") else result.count()
        lines = [(label, str(count))]
        if getattr(result, "message", ""):
            lines.append(("Note", result.message))
        return lines

    return summary


REPORTS: dict[str, Report] = {
    report.slug: report
    for report in (
        Report(
            slug="ar-summary",
            title="AR summary",
            description="What is owed, how late, DSO and CEI: the home figures, per currency too.",
            permission="read:invoices",
            params=params.NoParams,
            run=selectors.report_ar_summary,
            columns=("scope", "currency", "bucket", "amount", "count"),
            rows=_ar_rows,
            summary=_ar_summary,
        ),
        Report(
            slug="daily-summary",
            title="Daily summary",
            description="One day: payments received and failed, success rate, new invoices.",
            permission="read:invoices",
            params=params.DailySummaryParams,
            run=selectors.report_daily_summary,
            columns=("metric", "value", "currency"),
            rows=_daily_rows,
            summary=_daily_summary,
        ),
        Report(
            slug="failed-payments",
            title="Failed payments",
            description="Every failed payment attempt in a date range, with its reason.",
            permission="read:invoices",
            params=params.DateRangeParams,
            run=selectors.report_failed_payments,
            columns=(
                "received_at",
                "customer",
                "amount",
                "currency",
                "method",
                "failure_code",
                "failure_reason",
                "processor",
                "reference",
                "retry_of",
                "retried",
                "id",
            ),
            rows=_failed_rows,
            summary=_count_summary("Failed payment attempts"),
            listing=True,
        ),
        Report(
            slug="sla-breaches",
            title="SLA breaches",
            description="Disputes past their SLA, longest overdue first.",
            permission="read:invoices",
            params=params.NoParams,
            run=selectors.report_sla_breaches,
            columns=(
                "kind",
                "reference",
                "customer",
                "status",
                "opened_at",
                "sla_due_at",
                "hours_past_sla",
                "amount",
                "currency",
                "id",
            ),
            rows=_sla_rows,
            summary=_count_summary("Items past their SLA"),
        ),
        Report(
            slug="high-risk",
            title="High-risk invoices",
            description="Open invoices whose predicted risk of late payment is over a threshold.",
            permission="read:predictions",
            params=params.HighRiskParams,
            run=selectors.report_high_risk,
            columns=(
                "invoice",
                "customer",
                "due_date",
                "balance",
                "currency",
                "risk",
                "risk_level",
                "p_paid_by_due",
                "expected_date",
                "top_factor",
                "invoice_id",
            ),
            rows=_high_risk_rows,
            summary=_count_summary("High-risk open invoices"),
            listing=True,
        ),
    )
}
