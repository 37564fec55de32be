"""Small filters for the report pages."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def hours_past(row, now) -> int:
    return row.hours_past(now=now)


@register.filter
def risk_of(risk_probability: float) -> str:
    """The report's risk (1 - probability of payment by the next milestone), 2 decimals."""
    return f"{1 - risk_probability:.2f}"
