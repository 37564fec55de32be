"""Which steps bring cash in: per reminder item, whether and when its invoice was paid after
the reminder; a report by step and risk level; the holdout comparison with a 95% interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.db.models import F, OuterRef, Subquery

from invoices.models import Invoice
from paypredict_project.tenancy.models import Organization
from reminders.models import ReminderItem, ReminderStatus

MEASURED = (ReminderStatus.SENT, ReminderStatus.HOLDOUT)


def reminder_outcomes_refresh(*, organization: Organization) -> int:
    """Copy the paid date of every reminded invoice paid since onto its items (one UPDATE)."""
    paid = Invoice.objects.filter(pk=OuterRef("invoice_id"), paid_date__isnull=False)
    return ReminderItem.objects.filter(
        organization=organization,
        paid_on__isnull=True,
        dropped=False,
        reminder__status__in=MEASURED,
        invoice__paid_date__isnull=False,
    ).update(paid_on=Subquery(paid.values("paid_date")[:1]))


@dataclass
class OutcomeRow:
    step_key: str
    step_name: str
    risk_level: str
    reminders: int = 0
    invoices: int = 0
    paid_7: int = 0
    paid_14: int = 0

    @property
    def share_7(self) -> float | None:
        return self.paid_7 / self.invoices if self.invoices else None

    @property
    def share_14(self) -> float | None:
        return self.paid_14 / self.invoices if self.invoices else None


def _reference_day(item: dict):
    # A sent reminder counts from the day it went out; a held-out one from its planning day.
    sent_at = item["reminder__sent_at"]
    return sent_at.date() if sent_at else item["reminder__planned_on"]


def _items(organization: Organization, status: str) -> list[dict]:
    return list(
        ReminderItem.objects.filter(
            organization=organization, dropped=False, reminder__status=status
        )
        .values(
            "reminder_id",
            "paid_on",
            "reminder__sent_at",
            "reminder__planned_on",
            "reminder__risk_level",
            step=F("step_key"),
            step_name=F("reminder__step__name"),
            offset=F("step_offset"),
        )
        .order_by("offset")
    )


def reminder_outcome_report(*, organization: Organization) -> list[OutcomeRow]:
    """Share of reminded invoices paid within 7 and 14 days after each step, by risk level."""
    rows: dict[tuple[str, str], OutcomeRow] = {}
    seen: dict[tuple[str, str], set[int]] = {}
    for item in _items(organization, ReminderStatus.SENT):
        key = (item["step"], item["reminder__risk_level"] or "unknown")
        row = rows.setdefault(key, OutcomeRow(item["step"], item["step_name"], key[1]))
        seen.setdefault(key, set()).add(item["reminder_id"])
        row.invoices += 1
        if item["paid_on"] is not None:
            days = (item["paid_on"] - _reference_day(item)).days
            row.paid_7 += days <= 7
            row.paid_14 += days <= 14
    for key, reminders in seen.items():
        rows[key].reminders = len(reminders)
    return list(rows.values())


@dataclass
class HoldoutRow:
    step_key: str
    reminded: int
    reminded_paid_14: int
    held_out: int
    held_out_paid_14: int

    @property
    def lift(self) -> float | None:
        if not self.reminded or not self.held_out:
            return None
        return self.reminded_paid_14 / self.reminded - self.held_out_paid_14 / self.held_out

    @property
    def interval(self) -> tuple[float, float] | None:
        """95% normal-approximation interval of the difference of two proportions."""
        if self.lift is None:
            return None
        p1, p0 = self.reminded_paid_14 / self.reminded, self.held_out_paid_14 / self.held_out
        se = math.sqrt(p1 * (1 - p1) / self.reminded + p0 * (1 - p0) / self.held_out)
        return (self.lift - 1.96 * se, self.lift + 1.96 * se)


def reminder_holdout_report(*, organization: Organization) -> list[HoldoutRow]:
    """Per step: invoices paid within 14 days, reminded versus held out (the extra share
    collected because of the reminder, with its 95% confidence interval)."""
    counts: dict[str, list[int]] = {}
    for index, status in enumerate((ReminderStatus.SENT, ReminderStatus.HOLDOUT)):
        for item in _items(organization, status):
            row = counts.setdefault(item["step"], [0, 0, 0, 0])
            row[index * 2] += 1
            if item["paid_on"] is not None and (item["paid_on"] - _reference_day(item)).days <= 14:
                row[index * 2 + 1] += 1
    return [HoldoutRow(step, *values) for step, values in counts.items() if values[2]]
