"""Reads for the prediction side. ``ledger_frames`` is the bulk edge between the ledger
(PostgreSQL) and the pure ``ml`` code: two SQL statements, no ORM object per row."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from django.db import connection

from invoices.models import Invoice, InvoiceStatus, Payment, PaymentAllocation, status_sql
from invoices.selectors import exchange_rate_sql
from ml.features import INVOICE_COLUMNS, PAYMENT_COLUMNS
from paypredict_project.tenancy.models import Organization

_INVOICES_SQL = """
SELECT i.id, i.customer_id, i.issue_date, i.due_date,
       i.total::double precision * {rate} AS amount,
       i.currency,
       CASE WHEN i.status = {paid} THEN COALESCE(
           i.paid_date,
           (SELECT max((p.received_at AT TIME ZONE %(tz)s)::date)
              FROM {allocations} a JOIN {payments} p ON p.id = a.payment_id
             WHERE a.invoice_id = i.id)
       ) END AS paid_date,
       i.disputed, i.status, i.attributes,
       -- the open share of the total, so the balance in base currency reuses the rate above
       CASE WHEN i.total = 0 THEN 0 ELSE i.balance / i.total END::double precision
FROM {invoices} i
WHERE i.organization_id = %(org)s AND i.status NOT IN {not_issued}
ORDER BY i.issue_date, i.id
"""

_PAYMENTS_SQL = """
SELECT p.id, p.customer_id, (p.received_at AT TIME ZONE %(tz)s) AS received_at, p.status,
       p.amount::double precision * {rate} AS amount
FROM {payments} p
WHERE p.organization_id = %(org)s
ORDER BY p.received_at, p.id
"""


def _sql(template: str, *, currency: str, on: str) -> str:
    tables = {
        "invoices": Invoice._meta.db_table,
        "payments": Payment._meta.db_table,
        "allocations": PaymentAllocation._meta.db_table,
    }
    # The ledger's one exchange-rate rule, as a per-row SQL expression.
    return template.format(
        rate=exchange_rate_sql(currency=currency, on=on),
        # Status sets from their one home beside InvoiceStatus.
        paid=f"'{InvoiceStatus.PAID.value}'",
        not_issued=status_sql((InvoiceStatus.VOID, InvoiceStatus.DRAFT)),
        **tables,
    )


def _fetch(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def ledger_frames(*, organization: Organization) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The organization's invoices and payments as data frames for ``ml``.

    invoices (``ml.features.INVOICE_COLUMNS``): void and draft invoices excluded; ``amount``
    is the invoice total in the base currency (float, NaN when no rate exists for its
    currency), ``balance`` (an extra column) the open balance converted the same way;
    ``paid_date`` only for paid invoices (written-off invoices stay NaT: they were never
    paid, so they are right-censored); dates are ``datetime64[ns]``.
    payments (``ml.features.PAYMENT_COLUMNS``): all payments, ``received_at`` as a naive
    datetime in the organization's time zone, ``amount`` in the base currency.
    """
    params = {
        "org": organization.pk,
        "base": organization.base_currency,
        "tz": organization.time_zone,
    }
    inv_sql = _sql(_INVOICES_SQL, currency="i.currency", on="i.issue_date")
    rows = _fetch(inv_sql, params)
    invoices = pd.DataFrame(rows, columns=[*INVOICE_COLUMNS, "open_share"])
    for col in ("issue_date", "due_date", "paid_date"):
        invoices[col] = pd.to_datetime(invoices[col]).astype("datetime64[ns]")
    invoices["amount"] = invoices["amount"].astype(np.float64)
    invoices["balance"] = invoices["amount"] * invoices.pop("open_share").astype(np.float64)
    invoices["disputed"] = invoices["disputed"].astype(bool)
    invoices["attributes"] = [
        json.loads(a) if isinstance(a, str) else (a or {}) for a in invoices["attributes"]
    ]

    pay_sql = _sql(
        _PAYMENTS_SQL, currency="p.currency", on="(p.received_at AT TIME ZONE %(tz)s)::date"
    )
    payments = pd.DataFrame(_fetch(pay_sql, params), columns=PAYMENT_COLUMNS)
    payments["received_at"] = pd.to_datetime(payments["received_at"]).astype("datetime64[ns]")
    payments["amount"] = payments["amount"].astype(np.float64)
    return invoices, payments


# ---------------------------------------------------------------- predictions, risk, forecast
# Reads behind the predictions API and dashboard pages; every one is scoped to the
# organization, and list reads join what they display (no query per row).


def prediction_list(*, organization: Organization):
    from invoices.models import OPEN_STATUSES
    from paypredict_project.tenancy.selectors import scoped
    from predictions.models import Prediction

    return scoped(
        Prediction.objects.select_related(
            "invoice", "invoice__customer", "model_version", "organization"
        ),
        organization=organization,
    ).filter(invoice__status__in=OPEN_STATUSES)


def prediction_for_invoice(*, organization: Organization, invoice):
    return prediction_list(organization=organization).filter(invoice=invoice).first()


def prediction_history_for_invoice(*, organization: Organization, invoice, limit: int = 60):
    from predictions.models import PredictionHistory

    return list(
        PredictionHistory.objects.filter(organization=organization, invoice=invoice)
        .select_related("model_version")
        .order_by("-scored_at")[:limit]
    )


def customer_risk_trend(*, customer, days: int = 90) -> list:
    import datetime as dt

    from invoices.analytics import organization_today
    from predictions.models import CustomerRiskSnapshot

    today = organization_today(organization=customer.organization)
    return list(
        CustomerRiskSnapshot.objects.filter(
            organization_id=customer.organization_id,
            customer=customer,
            date__gt=today - dt.timedelta(days=days),
        ).order_by("date")
    )


def customer_risk_summary(*, customer) -> dict:
    """Current score, level and drivers, the daily trend and its 30-day change."""
    from predictions.models import CustomerRisk

    risk = CustomerRisk.objects.filter(
        organization_id=customer.organization_id, customer=customer
    ).first()
    trend = customer_risk_trend(customer=customer)
    change = None
    if risk is not None and trend:
        month_ago = [s for s in trend if (risk.as_of - s.date).days >= 30]
        reference = month_ago[-1] if month_ago else trend[0]
        if reference.date != risk.as_of:
            change = round(risk.score - reference.score, 2)
    return {
        "customer": customer,
        "score": risk.score if risk else None,
        "level": risk.level if risk else None,
        "as_of": risk.as_of if risk else None,
        "open_balance": risk.open_balance if risk else None,
        "currency": customer.organization.base_currency,
        "drivers": risk.drivers if risk else [],
        "trend": [{"date": s.date, "score": s.score, "level": s.level} for s in trend],
        "change_30d": change,
    }


def model_version_list(*, organization: Organization, kind: str | None = None) -> list:
    from ml.models import ModelVersion
    from paypredict_project.tenancy.selectors import scoped

    versions = scoped(ModelVersion.objects.all(), organization=organization)
    if kind:
        versions = versions.filter(kind=kind)
    return list(versions.order_by("-trained_at", "-id"))


def forecast_backtest_latest(*, organization: Organization):
    from predictions.models import ForecastBacktest

    return ForecastBacktest.objects.filter(organization=organization).first()


def forecast_latest(*, organization: Organization):
    from predictions.models import ForecastSnapshot

    return (
        ForecastSnapshot.objects.filter(organization=organization)
        .select_related("model_version")
        .order_by("-as_of")
        .first()
    )


def prediction_list_high_risk(*, organization: Organization, threshold: float):
    """Open invoices whose probability of being at risk (not paid within 30 days after due,
    the basis of the risk level) is at least ``threshold``; riskiest first, then largest
    balance."""
    return (
        prediction_list(organization=organization)
        .filter(risk_probability__gte=threshold)
        .order_by("-risk_probability", "-invoice__balance", "invoice__number")
    )


def high_risk_default_threshold(*, organization: Organization) -> float:
    """The at-risk probability from which an invoice is graded high (``high_at_risk``)."""
    from predictions.models import RiskThresholds

    thresholds = RiskThresholds.objects.filter(organization=organization).first()
    high_at_risk = thresholds.high_at_risk if thresholds else RiskThresholds().high_at_risk
    return round(high_at_risk, 4)


def customer_risk_levels(*, organization: Organization, customer_ids: list[int]) -> dict[int, str]:
    """Current risk level per customer id (customers never graded are absent). For reminders."""
    from predictions.models import CustomerRisk

    rows = CustomerRisk.objects.filter(organization=organization, customer_id__in=customer_ids)
    return dict(rows.values_list("customer_id", "level"))


def invoice_risk_levels(*, organization: Organization, invoice_ids: list[int]) -> dict[int, str]:
    """Current risk level per open invoice id (unscored invoices are absent). For reminders."""
    from predictions.models import Prediction

    rows = Prediction.objects.filter(organization=organization, invoice_id__in=invoice_ids)
    return dict(rows.values_list("invoice_id", "risk_level"))


def open_ar_risk_mix(*, organization: Organization) -> dict:
    """Open AR by predicted risk level, in the base currency (one grouped query).

    Invoices not scored yet are their own group; currencies without a rate are left out and
    named, as on the dashboard.
    """
    from decimal import Decimal

    from django.db.models import Count, Sum

    from invoices.analytics import exchange_rates_latest, organization_today
    from invoices.models import OPEN_STATUSES

    today = organization_today(organization=organization)
    rates = exchange_rates_latest(organization=organization, on=today)
    rows = (
        Invoice.objects.filter(organization=organization, status__in=OPEN_STATUSES)
        .order_by()
        .values("currency", "prediction__risk_level")
        .annotate(amount=Sum("balance"), count=Count("id"))
    )
    groups = {level: {"amount": Decimal(0), "count": 0} for level in ("high", "medium", "low", "")}
    unconverted = set()
    for row in rows:
        if row["currency"] not in rates:
            unconverted.add(row["currency"])
            continue
        group = groups[row["prediction__risk_level"] or ""]
        group["amount"] += row["amount"] * rates[row["currency"]][0]
        group["count"] += row["count"]
    total = sum((g["amount"] for g in groups.values()), Decimal(0))
    mix = []
    for level, label in (
        ("high", "High"),
        ("medium", "Medium"),
        ("low", "Low"),
        ("", "Not scored"),
    ):
        amount = groups[level]["amount"].quantize(Decimal("0.01"))
        share = (amount / total * 100).quantize(Decimal("0.1")) if total else Decimal(0)
        mix.append(
            {
                "level": level or "unscored",
                "label": label,
                "amount": amount,
                "count": groups[level]["count"],
                "share": share,
            }
        )
    return {
        "total": total.quantize(Decimal("0.01")),
        "mix": mix,
        "unconverted": sorted(unconverted),
    }


def forecast_outlook(*, organization: Organization) -> dict | None:
    """Expected collections in the next 7 days and next 4 weeks from the latest forecast."""
    snapshot = forecast_latest(organization=organization)
    if snapshot is None or not snapshot.weeks:
        return None
    weeks = snapshot.weeks

    def window(n: int) -> dict:
        part = weeks[:n]
        return {
            "expected": round(sum(w["expected"] for w in part), 2),
            "lower": round(sum(w["lower"] for w in part), 2),
            "upper": round(sum(w["upper"] for w in part), 2),
            "start": part[0]["start"],
            "end": part[-1].get("end", ""),
        }

    return {"snapshot": snapshot, "week": window(1), "month": window(4)}
