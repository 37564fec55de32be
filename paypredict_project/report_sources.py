"""Sections that consumer apps contribute to the reports (F25) without the reports naming them.

The reports live in the predictions app, which may not import disputes (nor, later,
settlements). Those apps register their figures here from ``AppConfig.ready()``; a report
shows a section as "not available" while nothing is registered for it.

Contract for a disputes app (see docs/analytics.md):

    from paypredict_project import report_sources
    report_sources.register_sla_breaches("disputes", disputes_past_sla)
    report_sources.register_daily_count("new_disputes", "New disputes", disputes_opened_count)

``disputes_past_sla(*, organization, now) -> list[SlaBreach]`` and
``disputes_opened_count(*, organization, start_at, end_at) -> int`` (a half-open interval of
aware datetimes), both scoped to the organization.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class SlaBreach:
    kind: str  # "dispute"; later "settlement"
    code: str  # the public UUID of the late item
    reference: str  # what a person recognises: the invoice number, the batch reference
    customer_code: str
    customer_name: str
    status: str
    opened_at: dt.datetime
    due_at: dt.datetime
    amount: Decimal | None
    currency: str
    url: str = ""

    def hours_past(self, *, now: dt.datetime) -> int:
        return max(int((now - self.due_at).total_seconds() // 3600), 0)


SlaSource = Callable[..., list[SlaBreach]]
CountSource = Callable[..., int]

_sla_sources: dict[str, SlaSource] = {}
_daily_counts: dict[str, tuple[str, CountSource]] = {}


def register_sla_breaches(kind: str, source: SlaSource) -> None:
    _sla_sources[kind] = source


def register_daily_count(key: str, label: str, source: CountSource) -> None:
    _daily_counts[key] = (label, source)


def sla_sources() -> dict[str, SlaSource]:
    return dict(_sla_sources)


def daily_counts() -> dict[str, tuple[str, CountSource]]:
    return dict(_daily_counts)


def unregister(key: str) -> None:
    """For tests: forget a source registered under ``key`` (either kind)."""
    _sla_sources.pop(key, None)
    _daily_counts.pop(key, None)
