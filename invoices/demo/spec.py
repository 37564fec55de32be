"""What to generate (``DemoSpec``) and what comes out per block of customers (``DemoChunk``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from invoices.demo import catalog
from invoices.demo.dates import EPOCH


@dataclass(frozen=True)
class DemoSpec:
    customers: int
    invoices: int
    seed: int
    as_of: dt.date
    base_currency: str = "USD"
    time_zone: str = "UTC"
    history_days: int = 730
    chunk_customers: int = 1000

    def __post_init__(self) -> None:
        if self.customers < 1:
            raise ValueError(f"customers must be at least 1, got {self.customers}")
        if self.invoices < 1:
            raise ValueError(f"invoices must be at least 1, got {self.invoices}")
        if self.seed < 0:
            raise ValueError(f"seed must not be negative, got {self.seed}")
        if self.base_currency not in catalog.SUPPORTED_BASE_CURRENCIES:
            raise ValueError(
                f"demo data supports base currencies {', '.join(catalog.SUPPORTED_BASE_CURRENCIES)}"
                f", not {self.base_currency}"
            )

    @property
    def as_of_day(self) -> int:
        return (self.as_of - EPOCH).days

    @property
    def start_day(self) -> int:
        return self.as_of_day - self.history_days + 1


@dataclass
class DemoChunk:
    """One block of customers with everything that belongs to them.

    Keys: ``customers.key`` and ``invoices.key`` are global indexes; ``payments.key`` is local
    to the chunk (``retry_of``, ``allocations.payment`` and ``anomalies.payment`` refer to it, -1
    means none).
    """

    index: int
    customers: pd.DataFrame
    invoices: pd.DataFrame
    lines: pd.DataFrame
    payments: pd.DataFrame
    allocations: pd.DataFrame
    # Ground truth of anomalous payments (``payment`` key, ``kind``); see demo/anomalies.py.
    anomalies: pd.DataFrame
