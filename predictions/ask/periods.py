"""Time phrases in questions ("this quarter", "last 30 days", "in March 2025") as date ranges
in the organization's calendar."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_MONTHS = [
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
]  # fmt: skip


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # exclusive
    label: str

    def previous(self) -> Period:
        """The period of the same kind just before (last quarter for this quarter...)."""
        if self.label.startswith("this quarter"):
            return quarter(_add_months(self.start, -3), "last quarter")
        if self.label.startswith("this month"):
            return month(_add_months(self.start, -1), "last month")
        if self.label.startswith("this year"):
            return Period(self.start.replace(year=self.start.year - 1), self.start, "last year")
        length = self.end - self.start
        return Period(self.start - length, self.start, f"the {length.days} days before")


def period_in(question: str, *, today: dt.date) -> Period | None:
    """The period a question names, or None (all time)."""
    text = question.lower()
    for pattern, build in _RULES:
        match = re.search(pattern, text)
        if match:
            return build(match, today)
    return None


def month(day: dt.date, label: str) -> Period:
    start = day.replace(day=1)
    return Period(start, _add_months(start, 1), label)


def quarter(day: dt.date, label: str) -> Period:
    start = dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return Period(start, _add_months(start, 3), label)


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _week(today: dt.date, offset: int, label: str) -> Period:
    start = today - dt.timedelta(days=today.weekday()) + dt.timedelta(weeks=offset)
    return Period(start, start + dt.timedelta(days=7), label)


def _named_month(match: re.Match, today: dt.date) -> Period:
    number = _MONTHS.index(match.group(1)) + 1
    year = int(match.group(2)) if match.group(2) else today.year
    if not match.group(2) and number > today.month:
        year -= 1  # "in November" asked in March means the last one
    return month(dt.date(year, number, 1), f"in {match.group(1).title()} {year}")


def _year(match: re.Match, today: dt.date) -> Period:
    year = int(match.group(1))
    return Period(dt.date(year, 1, 1), dt.date(year + 1, 1, 1), f"in {year}")


def _last_days(match: re.Match, today: dt.date) -> Period:
    days = int(match.group(1))
    return Period(today - dt.timedelta(days=days - 1), today + dt.timedelta(days=1), match.group(0))


_RULES = [
    (r"\btoday\b", lambda m, t: Period(t, t + dt.timedelta(days=1), "today")),
    (r"\byesterday\b", lambda m, t: Period(t - dt.timedelta(days=1), t, "yesterday")),
    (r"\btomorrow\b", lambda m, t: Period(t + dt.timedelta(1), t + dt.timedelta(2), "tomorrow")),
    (r"\bnext week\b", lambda m, t: _week(t, 1, "next week")),
    (r"\bthis week\b", lambda m, t: _week(t, 0, "this week")),
    (r"\blast week\b", lambda m, t: _week(t, -1, "last week")),
    (r"\b(?:last|past) (\d{1,3}) days\b", _last_days),
    (r"\bthis month\b|\bmonth to date\b|\bmtd\b", lambda m, t: month(t, "this month")),
    (r"\blast month\b", lambda m, t: month(_add_months(t, -1), "last month")),
    (r"\bthis quarter\b|\bqtd\b", lambda m, t: quarter(t, "this quarter")),
    (r"\blast quarter\b", lambda m, t: quarter(_add_months(t, -3), "last quarter")),
    (r"\bthis year\b|\bytd\b|\byear to date\b", lambda m, t: _year_of(t.year, "this year")),
    (r"\blast year\b", lambda m, t: _year_of(t.year - 1, "last year")),
    # "may" alone is a verb far more often than a month: only "May 2025" counts.
    (rf"\b({'|'.join(m for m in _MONTHS if m != 'may')})(?:\s+(\d{{4}}))?\b", _named_month),
    (r"\b(may)\s+(\d{4})\b", _named_month),
    (r"\b(?:in|for|during|of)\s+(20\d\d|19\d\d)\b", _year),
]


def _year_of(year: int, label: str) -> Period:
    return Period(dt.date(year, 1, 1), dt.date(year + 1, 1, 1), label)
