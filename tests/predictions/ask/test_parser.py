"""Reading questions: parameters, periods, shapes and follow-ups, without a database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from predictions.ask.parser import SHAPES, parse_question, read_params
from predictions.ask.periods import period_in
from predictions.ask.sqlsafety import safe_select

TODAY = dt.date(2026, 5, 14)  # a Thursday in Q2
NAMES = ["Acme Ltd", "Acme Logistics", "Globex Corporation", "Initech"]


def _parse(question, previous=None):
    return parse_question(question, today=TODAY, customer_names=NAMES, previous=previous)


@pytest.mark.parametrize(
    ("phrase", "start", "end"),
    [
        ("this month", dt.date(2026, 5, 1), dt.date(2026, 6, 1)),
        ("last month", dt.date(2026, 4, 1), dt.date(2026, 5, 1)),
        ("this quarter", dt.date(2026, 4, 1), dt.date(2026, 7, 1)),
        ("last quarter", dt.date(2026, 1, 1), dt.date(2026, 4, 1)),
        ("last year", dt.date(2025, 1, 1), dt.date(2026, 1, 1)),
        ("in 2024", dt.date(2024, 1, 1), dt.date(2025, 1, 1)),
        ("in march 2025", dt.date(2025, 3, 1), dt.date(2025, 4, 1)),
        ("in november", dt.date(2025, 11, 1), dt.date(2025, 12, 1)),
        ("next week", dt.date(2026, 5, 18), dt.date(2026, 5, 25)),
        ("last 30 days", dt.date(2026, 4, 15), dt.date(2026, 5, 15)),
        ("yesterday", dt.date(2026, 5, 13), dt.date(2026, 5, 14)),
    ],
)
def test_periods_follow_the_calendar(phrase, start, end):
    period = period_in(f"payments {phrase}", today=TODAY)
    assert (period.start, period.end) == (start, end)


def test_may_alone_is_not_a_month():
    assert period_in("may i see the failed payments", today=TODAY) is None
    assert period_in("payments in may 2025", today=TODAY).start == dt.date(2025, 5, 1)


def test_parameters_are_read_wherever_they_stand():
    params = read_params(
        "top 5 invoices over 10k in eur for globex paid by wire last month",
        today=TODAY,
        customer_names=NAMES,
    )
    assert params.top_n == 5
    assert params.threshold == Decimal("10000")
    assert params.currency == "EUR"
    assert params.customer == "Globex Corporation"
    assert params.method == "wire"
    assert params.period.label == "last month"


def test_an_ambiguous_customer_name_is_not_guessed():
    params = read_params("how much did acme pay", today=TODAY, customer_names=NAMES)
    assert params.customer is None
    assert params.ambiguous_customers == ("Acme Logistics", "Acme Ltd")
    assert _parse("how much did acme ltd pay").params.customer == "Acme Ltd"


@pytest.mark.parametrize(
    ("question", "shape"),
    [
        ("what is our success rate this month", "success_rate"),
        ("what is the error rate", "failure_rate"),
        ("highest payment amount processed till date", "highest_payment"),
        ("list failed payments in USD", "failed_payments"),
        ("which customers are most overdue", "most_overdue_customers"),
        ("DSO this quarter vs last", "dso"),
        ("invoices over 10k predicted to pay late next week", "predicted_late"),
        ("how much did Initech pay us in 2025", "customer_paid"),
        ("what is our open AR balance", "open_balance"),
        ("show the aging", "aging"),
        ("what is the peak hour", "peak_hour"),
        ("top failure reasons", "failure_reasons"),
    ],
)
def test_the_seed_questions_find_their_shape(question, shape):
    assert _parse(question).shape.name == shape


def test_every_shape_builds_sql_that_passes_the_gate():
    for shape in SHAPES:
        parsed = _parse(shape.example.replace("Acme", "Initech"))
        assert parsed is not None, shape.example
        assert parsed.shape.name == shape.name, shape.example
        safe_select(parsed.query.sql)
    assert len(SHAPES) >= 30


def test_a_follow_up_reuses_the_previous_shape_with_its_changes():
    first = _parse("what is the error rate this month")
    follow = _parse("and in EUR?", previous=(first.shape.name, first.params))
    assert follow.shape.name == "failure_rate"
    assert follow.params.currency == "EUR"
    assert follow.params.period == first.params.period
    assert "currency = 'EUR'" in follow.query.sql


def test_nothing_is_made_up_for_an_unknown_question():
    first = _parse("what is the error rate")
    assert _parse("what is the weather like", previous=(first.shape.name, first.params)) is None


def test_quotes_in_a_customer_name_cannot_break_out_of_the_literal():
    names = ["O'Reilly Media'; DROP TABLE x; --"]
    parsed = parse_question(
        "how much did o'reilly media'; drop table x; -- pay us",
        today=TODAY,
        customer_names=names,
    )
    sql = safe_select(parsed.query.sql)
    assert "'O''Reilly Media''; DROP TABLE x; --'" in sql
