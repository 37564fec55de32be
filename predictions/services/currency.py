"""Exchange rates into the organization's base currency, for KPIs and the forecast."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from invoices.models import ExchangeRate
from paypredict_project.tenancy.models import Organization


def rates_to_base(*, organization: Organization, as_of: dt.date) -> dict[str, Decimal]:
    """Currency -> rate into the base currency: the latest rate on or before ``as_of``,
    else the earliest one after it (a backtest origin older than the stored rates).
    A currency with no stored rate is absent, so callers can report it instead of mixing
    currencies silently."""
    rates: dict[str, Decimal] = {organization.base_currency: Decimal(1)}
    before = (
        ExchangeRate.objects.filter(organization=organization, date__lte=as_of)
        .order_by("currency", "-date")
        .distinct("currency")
        .values_list("currency", "rate")
    )
    after = (
        ExchangeRate.objects.filter(organization=organization, date__gt=as_of)
        .order_by("currency", "date")
        .distinct("currency")
        .values_list("currency", "rate")
    )
    for currency, rate in after:
        rates.setdefault(currency, rate)
    for currency, rate in before:
        if currency != organization.base_currency:
            rates[currency] = rate
    return rates
