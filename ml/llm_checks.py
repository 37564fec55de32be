"""Pure checks on text a model wrote, for the ``validate`` callbacks of ``llm_structured``.

A drafted reminder or dispute reply may only state facts the caller gave it. These helpers
pull the checkable facts (amounts, identifiers, dates, leftover template placeholders) out of
free text; each feature compares them with its own evidence.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from decimal import Decimal, InvalidOperation

# 1,234.56 / 1234.5 / 1.234,56 is not supported on purpose: the prompts ask for the
# organization's own formatting, which is the dot-decimal one the ledger stores.
_AMOUNT = re.compile(
    r"(?<![\w.,/-])"  # not inside a word, number, date or identifier
    r"(?:[$€£¥]|(?:USD|EUR|GBP|CAD|AUD|JPY|CHF|INR)\s?)?"
    r"(\d{1,3}(?:,\d{3})+|\d+)(\.\d{1,2})?"
    r"(?![\w/-]|[.,]\d)"
)
_MONEY_CUE = re.compile(r"[$€£¥]|\b(?:USD|EUR|GBP|CAD|AUD|JPY|CHF|INR)\b")

_PLACEHOLDERS = (
    re.compile(r"\[[^\[\]\n]{1,60}\]"),  # [Customer Name]
    re.compile(r"\{\{?[^{}\n]{1,60}\}?\}"),  # {amount} / {{ amount }}
    re.compile(r"<(?:insert|your|customer|company|name|date|amount)[^<>\n]{0,50}>", re.I),
    re.compile(r"\b(?:XXX+|TBD|TODO|lorem ipsum)\b", re.I),
)

_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_MONTH_WORDS = "|".join(sorted(_MONTHS, key=len, reverse=True))
# "March 5, 2026" / "5 March 2026" / "Mar 5 2026"
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_WORD_DATE_MDY = re.compile(rf"\b({_MONTH_WORDS})\.?\s+{_DAY},?\s+(\d{{4}})\b", re.I)
_WORD_DATE_DMY = re.compile(rf"\b{_DAY}\s+({_MONTH_WORDS})\.?,?\s+(\d{{4}})\b", re.I)


def money_amounts_in_text(text: str, *, require_currency: bool = False) -> set[Decimal]:
    """Every number written like an amount of money (``$1,200.50``, ``EUR 300``, ``1200.50``).

    Bare integers without a currency sign or decimals (``3 invoices``, ``30 days``) are not
    amounts; with ``require_currency`` only numbers next to a currency sign or code count.
    """
    amounts: set[Decimal] = set()
    for match in _AMOUNT.finditer(text):
        whole, cents = match.group(1), match.group(2)
        has_currency = bool(_MONEY_CUE.search(match.group(0)))
        if require_currency and not has_currency:
            continue
        if not has_currency and not cents:
            continue
        try:
            amounts.add(Decimal(whole.replace(",", "") + (cents or "")))
        except InvalidOperation:
            continue
    return amounts


def placeholders_in_text(text: str) -> list[str]:
    """Template leftovers such as ``[Customer Name]``, ``{amount}``, ``<insert date>``, ``XXX``."""
    found: list[str] = []
    for pattern in _PLACEHOLDERS:
        found.extend(match.group(0) for match in pattern.finditer(text))
    return found


def tokens_matching(text: str, pattern: str) -> set[str]:
    """Every distinct match of ``pattern`` (for example the organization's invoice numbers)."""
    return {match.group(0) for match in re.finditer(pattern, text)}


def dates_in_text(text: str) -> set[dt.date]:
    """Calendar dates written as ISO (2026-03-05) or with a month name (March 5, 2026)."""
    found: set[dt.date] = set()
    candidates = [(int(y), int(m), int(d)) for y, m, d in _ISO_DATE.findall(text)]
    candidates += [(int(y), _MONTHS[m.lower()], int(d)) for m, d, y in _WORD_DATE_MDY.findall(text)]
    candidates += [(int(y), _MONTHS[m.lower()], int(d)) for d, m, y in _WORD_DATE_DMY.findall(text)]
    for year, month, day in candidates:
        try:
            found.add(dt.date(year, month, day))
        except ValueError:
            continue
    return found


def unknown_facts(
    text: str,
    *,
    amounts: Collection[Decimal],
    dates: Collection[dt.date] = (),
    identifiers: Collection[str] = (),
    identifier_pattern: str | None = None,
) -> list[str]:
    """Problems for a validator: amounts, dates or identifiers stated but not in the evidence,
    and placeholders left in. An empty list means the text claims nothing it was not given."""
    # Decimal compares by value, so 1200.5 in the evidence admits "1,200.50" in the text.
    stray_amounts = money_amounts_in_text(text) - set(amounts)
    problems = [f"amount {amount} is not in the evidence" for amount in sorted(stray_amounts)]
    stray_dates = dates_in_text(text) - set(dates)
    problems += [f"date {day.isoformat()} is not in the evidence" for day in sorted(stray_dates)]
    if identifier_pattern:
        stray_ids = tokens_matching(text, identifier_pattern) - set(identifiers)
        problems += [f"{token} is not in the evidence" for token in sorted(stray_ids)]
    problems += [f"placeholder {token!r} left in" for token in placeholders_in_text(text)]
    return problems
