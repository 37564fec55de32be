"""Exchange rates into the organization's base currency, for the forecast and customer risk.

The rule lives in the ledger (``invoices.selectors.exchange_rates_on``); this keeps the
predictions side's shape (currency → rate) without a second implementation.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from invoices.selectors import exchange_rates_on
from paypredict_project.tenancy.models import Organization


def rates_to_base(*, organization: Organization, as_of: dt.date) -> dict[str, Decimal]:
    """Currency -> rate into the base currency on ``as_of``. A currency with no stored rate
    is absent, so callers can report it instead of mixing currencies silently."""
    rates = exchange_rates_on(organization=organization, on=as_of)
    return {currency: rate for currency, (rate, _) in rates.items()}
