"""Fact extraction from model-written text, used to reject invented amounts, dates and ids."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ml.llm_checks import (
    dates_in_text,
    money_amounts_in_text,
    placeholders_in_text,
    tokens_matching,
    unknown_facts,
)


def test_it_finds_amounts_written_like_money():
    text = (
        "Please pay $1,200.50 for INV-2026-000123 and EUR 300 by 2026-03-05; 3 invoices, 30 days."
    )
    assert money_amounts_in_text(text) == {Decimal("1200.50"), Decimal("300")}


def test_it_can_insist_on_a_currency():
    text = "Balance 980.00 overall, of which USD 450.25 overdue."
    assert money_amounts_in_text(text, require_currency=True) == {Decimal("450.25")}
    assert money_amounts_in_text(text) == {Decimal("980.00"), Decimal("450.25")}


def test_it_finds_placeholders():
    text = "Dear [Customer Name], your balance of {amount} is due on <insert date>. XXX"
    assert placeholders_in_text(text) == ["[Customer Name]", "{amount}", "<insert date>", "XXX"]
    assert placeholders_in_text("Dear Acme Ltd, thank you.") == []


def test_it_finds_dates_in_three_spellings():
    text = "Due 2026-03-05, reminded on March 9, 2026 and again on 1st April 2026 (not 2026-02-30)."
    assert dates_in_text(text) == {dt.date(2026, 3, 5), dt.date(2026, 3, 9), dt.date(2026, 4, 1)}


def test_it_lists_tokens_by_pattern():
    text = "INV-2026-000123 and INV-2026-000124, not PO-77."
    assert tokens_matching(text, r"INV-\d{4}-\d{6}") == {"INV-2026-000123", "INV-2026-000124"}


def test_unknown_facts_accepts_text_made_of_evidence():
    text = "Invoice INV-1 of $1,200.50 was due on 2026-03-05."
    problems = unknown_facts(
        text,
        amounts={Decimal("1200.5")},
        dates={dt.date(2026, 3, 5)},
        identifiers={"INV-1"},
        identifier_pattern=r"INV-\d+",
    )
    assert problems == []


def test_unknown_facts_names_every_invented_fact():
    text = "Invoices INV-1 and INV-9 total $1,500.00, due 2026-04-01. Regards, [Your Name]"
    problems = unknown_facts(
        text,
        amounts={Decimal("1200.50")},
        dates={dt.date(2026, 3, 5)},
        identifiers={"INV-1"},
        identifier_pattern=r"INV-\d+",
    )
    assert problems == [
        "amount 1500.00 is not in the evidence",
        "date 2026-04-01 is not in the evidence",
        "INV-9 is not in the evidence",
        "placeholder '[Your Name]' left in",
    ]
