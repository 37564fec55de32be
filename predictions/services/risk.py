"""Customer risk (F12): a 0-100 score and level per customer, with drivers in plain words,
kept current in ``CustomerRisk`` and recorded daily in ``CustomerRiskSnapshot``.

Score = 100 x (0.6 x open-balance lateness + 0.4 x history lateness), where
- open-balance risk is the balance-weighted mean over the customer's open invoices of their
  probability of being at risk (not paid within 30 days after due), from the current
  predictions: the customer's expected money at risk / its open balance;
- history lateness is the share of the customer's invoices settled in the last 365 days
  that were paid after their due date, shrunk towards the organization's share with a
  prior of two invoices (so one late invoice does not make a new customer "high").
With only one of the two available, that one is the score.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from invoices.models import OPEN_STATUSES, Customer, Invoice, InvoiceStatus
from invoices.services import customer_risk_set_bulk
from paypredict_project.tenancy.models import Organization
from predictions.models import CustomerRisk, CustomerRiskSnapshot, Prediction
from predictions.services.currency import rates_to_base
from predictions.services.scoring import organization_today, risk_thresholds_get

OPEN_WEIGHT = 0.6
HISTORY_WEIGHT = 0.4
HISTORY_DAYS = 365
PRIOR_INVOICES = 2.0


@dataclass
class RiskRunResult:
    customers: int
    high: int
    medium: int
    low: int
    as_of: dt.date


def _money(value: float, currency: str) -> str:
    return f"{value:,.0f} {currency}"


def customer_risk_compute(
    *, organization: Organization, as_of: dt.date | None = None
) -> list[dict]:
    """Scores and drivers for every customer of the organization (no writes)."""
    as_of = as_of or organization_today(organization)
    base = organization.base_currency
    rates = rates_to_base(organization=organization, as_of=as_of)
    thresholds = risk_thresholds_get(organization=organization)

    open_rows = (
        Prediction.objects.filter(organization=organization, invoice__status__in=OPEN_STATUSES)
        .values_list(
            "invoice__customer_id",
            "invoice__balance",
            "invoice__currency",
            "invoice__due_date",
            "risk_probability",
        )
        .order_by()
    )
    open_by_customer: dict[int, dict] = {}
    for customer_id, balance, currency, due_date, risk_p in open_rows:
        rate = rates.get(currency)
        if rate is None:
            continue  # no exchange rate: left out rather than mixed in another currency
        amount = float(balance * rate)
        agg = open_by_customer.setdefault(
            customer_id, {"balance": 0.0, "late": 0.0, "n": 0, "overdue30": 0, "overdue30_amt": 0.0}
        )
        agg["balance"] += amount
        agg["late"] += amount * risk_p
        agg["n"] += 1
        if (as_of - due_date).days > 30:
            agg["overdue30"] += 1
            agg["overdue30_amt"] += amount

    since = as_of - dt.timedelta(days=HISTORY_DAYS)
    history = dict(
        (row["customer_id"], row)
        for row in Invoice.objects.filter(
            organization=organization,
            status=InvoiceStatus.PAID,
            paid_date__gt=since,
            paid_date__lte=as_of,
        )
        .values("customer_id")
        .annotate(n=Count("id"), late=Count("id", filter=Q(paid_date__gt=F("due_date"))))
        .order_by()
    )
    total_n = sum(row["n"] for row in history.values())
    org_share = (sum(row["late"] for row in history.values()) / total_n) if total_n else 0.0

    results = []
    customers = Customer.objects.filter(organization=organization).values_list("id", flat=True)
    for customer_id in customers:
        open_agg = open_by_customer.get(customer_id)
        hist = history.get(customer_id)
        parts, drivers = [], []
        if open_agg and open_agg["balance"] > 0:
            open_risk = open_agg["late"] / open_agg["balance"]
            parts.append((OPEN_WEIGHT, open_risk))
            drivers.append(
                {
                    "text": f"{open_risk:.0%} of its open balance "
                    f"({_money(open_agg['balance'], base)} on {open_agg['n']} invoices) "
                    "is at risk of not being paid within 30 days after due",
                    "weight": round(open_risk, 4),
                }
            )
            if open_agg["overdue30"]:
                drivers.append(
                    {
                        "text": f"{open_agg['overdue30']} invoices more than 30 days past due "
                        f"({_money(open_agg['overdue30_amt'], base)})",
                        "weight": round(open_agg["overdue30_amt"] / open_agg["balance"], 4),
                    }
                )
        if hist:
            hist_risk = (hist["late"] + PRIOR_INVOICES * org_share) / (hist["n"] + PRIOR_INVOICES)
            parts.append((HISTORY_WEIGHT, hist_risk))
            drivers.append(
                {
                    "text": f"paid {hist['late']} of its {hist['n']} invoices settled in the "
                    "last 12 months late",
                    "weight": round(hist["late"] / hist["n"], 4),
                }
            )
        if not parts:
            continue  # no open invoices and no recent history: nothing to grade
        weight = sum(w for w, _ in parts)
        score = round(100.0 * sum(w * v for w, v in parts) / weight, 2)
        drivers.sort(key=lambda d: -d["weight"])
        results.append(
            {
                "customer_id": customer_id,
                "score": score,
                "level": thresholds.level_for_score(score),
                "drivers": drivers,
                "open_balance": Decimal(str(round(open_agg["balance"], 2)))
                if open_agg
                else Decimal("0.00"),
            }
        )
    return results


@transaction.atomic
def customer_risk_refresh(
    *, organization: Organization, as_of: dt.date | None = None
) -> RiskRunResult:
    """Recompute every customer's risk, rewrite the current rows and the day's snapshot."""
    as_of = as_of or organization_today(organization)
    rows = customer_risk_compute(organization=organization, as_of=as_of)
    now = timezone.now()
    common = ["score", "level", "drivers", "open_balance"]
    CustomerRisk.objects.bulk_create(
        [
            CustomerRisk(organization=organization, as_of=as_of, computed_at=now, **row)
            for row in rows
        ],
        update_conflicts=True,
        unique_fields=["customer"],
        update_fields=[*common, "as_of", "computed_at"],
        batch_size=5000,
    )
    graded = {row["customer_id"] for row in rows}
    CustomerRisk.objects.filter(organization=organization).exclude(customer_id__in=graded).delete()
    CustomerRiskSnapshot.objects.bulk_create(
        [CustomerRiskSnapshot(organization=organization, date=as_of, **row) for row in rows],
        update_conflicts=True,
        unique_fields=["customer", "date"],
        update_fields=common,
        batch_size=5000,
    )
    # The ledger keeps a denormalized copy (customer API, exports, customer filters); it is
    # written through the ledger's own service.
    customer_risk_set_bulk(
        organization=organization,
        risks={
            row["customer_id"]: (Decimal(str(round(row["score"], 2))), row["level"]) for row in rows
        },
    )
    levels = [row["level"] for row in rows]
    return RiskRunResult(
        customers=len(rows),
        high=levels.count("high"),
        medium=levels.count("medium"),
        low=levels.count("low"),
        as_of=as_of,
    )
