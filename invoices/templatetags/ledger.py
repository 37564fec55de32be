"""Formatting for ledger values in dashboard templates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import template
from django.template.defaultfilters import floatformat

register = template.Library()


@register.filter
def money(value: Decimal | None, currency: str = "") -> str:
    """1234.5 → "1,234.50 USD"; None → an en dash."""
    if value is None:
        return "\u2013"
    amount = floatformat(value, "2g")
    return f"{amount} {currency}".strip()


@register.filter
def days_overdue(due_date: dt.date | None, today: dt.date | None) -> int:
    """Whole days past the due date (0 when not yet due)."""
    if due_date is None or today is None:
        return 0
    return max((today - due_date).days, 0)


@register.filter
def percent(value: Decimal | None) -> str:
    return "\u2013" if value is None else f"{floatformat(value, 1)} %"
