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


def _trimmed(value: Decimal | None, min_places: int) -> str:
    """Stored with four decimals, shown with only those that carry information."""
    if value is None:
        return "\u2013"
    value = Decimal(value)
    places = max(min_places, -value.normalize().as_tuple().exponent)
    return floatformat(value, f"{places}g")


@register.filter
def unit_price(value: Decimal | None) -> str:
    """Two decimals like any price, more only when it has them: 12.5000 → "12.50",
    0.1234 → "0.1234", 3.1250 → "3.125"."""
    return _trimmed(value, 2)


@register.filter
def quantity(value: Decimal | None) -> str:
    """2.0000 → "2", 2.5000 → "2.5"."""
    return _trimmed(value, 0)


@register.filter
def days_overdue(due_date: dt.date | None, today: dt.date | None) -> int:
    """Whole days past the due date (0 when not yet due)."""
    if due_date is None or today is None:
        return 0
    return max((today - due_date).days, 0)


@register.filter
def percent(value: Decimal | None) -> str:
    return "\u2013" if value is None else f"{floatformat(value, 1)} %"
