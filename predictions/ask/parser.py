"""The offline path of Ask: common question shapes turned into SQL over the BI views.

A question is read in two steps: its parameters (period, currency, method, customer, amount
threshold, top-N, comparison) are picked out wherever they stand, then the first shape whose
pattern matches names the query. Every value enters the SQL as a quoted literal, and the SQL
still passes the same safety gate and read-only login as the LLM's.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlglot import exp

from predictions.ask.periods import Period, period_in, quarter

CURRENCIES = ("USD", "EUR", "GBP", "CAD", "AUD", "JPY", "CHF", "INR", "NZD", "SEK", "MXN")
_CURRENCY_WORDS = {"dollars": "USD", "euros": "EUR", "euro": "EUR", "pounds": "GBP"}
METHODS = ("card", "ach", "wire", "check", "sepa", "cash")
OPEN = "status IN ('open', 'partially_paid')"


@dataclass(frozen=True)
class Params:
    period: Period | None = None
    currency: str | None = None
    method: str | None = None
    customer: str | None = None
    threshold: Decimal | None = None
    top_n: int = 10
    compare: bool = False
    # Several customers fit the name used: the question needs a clearer one.
    ambiguous_customers: tuple[str, ...] = ()
    today: dt.date = dt.date(1970, 1, 1)  # the organization's today, set by read_params


@dataclass(frozen=True)
class Query:
    sql: str
    chart: dict[str, str] | None = None


Describe = Callable[[list[str], Sequence[Sequence[Any]], Params], str]


@dataclass(frozen=True)
class Shape:
    name: str
    pattern: str
    build: Callable[[Params], Query]
    describe: Describe
    example: str
    needs_customer: bool = False


@dataclass(frozen=True)
class Parsed:
    shape: Shape
    params: Params

    @property
    def query(self) -> Query:
        return self.shape.build(self.params)

    def describe(self, columns: list[str], rows: Sequence[Sequence[Any]]) -> str:
        return self.shape.describe(columns, rows, self.params)


# ---------------------------------------------------------------- reading a question


def parse_question(
    question: str,
    *,
    today: dt.date,
    customer_names: Sequence[str],
    previous: tuple[str, Params] | None = None,
) -> Parsed | None:
    """The shape and parameters of ``question``; a follow-up ("and in EUR?") reuses the
    previous turn's shape with the parameters it changes. None when nothing fits."""
    text = " ".join(question.lower().split())
    params = read_params(text, today=today, customer_names=customer_names)
    for shape in SHAPES:
        if re.search(shape.pattern, text) and (params.customer or not shape.needs_customer):
            return Parsed(shape, params)
    if previous is not None and _is_follow_up(text, params):
        shape = SHAPES_BY_NAME.get(previous[0])
        if shape is not None:
            return Parsed(shape, _merge(previous[1], params, text))
    return None


def read_params(text: str, *, today: dt.date, customer_names: Sequence[str]) -> Params:
    candidates = _customers(text, customer_names)
    customer = candidates[0] if len(candidates) == 1 else None
    ambiguous = tuple(candidates) if len(candidates) > 1 else ()
    return Params(
        period=period_in(text, today=today),
        currency=_currency(text),
        method=_method(text),
        customer=customer,
        ambiguous_customers=ambiguous,
        threshold=_threshold(text),
        top_n=_top_n(text),
        compare=bool(re.search(r"\b(vs\.?|versus|compared (to|with))\b", text)),
        today=today,
    )


def _is_follow_up(text: str, params: Params) -> bool:
    changes_something = any(
        getattr(params, name) is not None
        for name in ("period", "currency", "method", "customer", "threshold")
    ) or bool(re.search(r"\btop \d+|all currencies|any currency", text))
    return changes_something and bool(
        re.match(r"(and|what about|how about|only|just|same|now|in|for)\b", text)
        or len(text.split()) <= 4
    )


def _merge(before: Params, now: Params, text: str) -> Params:
    changes = {
        name: getattr(now, name)
        for name in ("period", "currency", "method", "customer", "threshold")
        if getattr(now, name) is not None
    }
    if re.search(r"\btop \d+", text):
        changes["top_n"] = now.top_n
    if re.search(r"\b(all currencies|any currency)\b", text):
        changes["currency"] = None
    return replace(before, **changes)


def _currency(text: str) -> str | None:
    for code in CURRENCIES:
        if re.search(rf"\b{code.lower()}\b", text):
            return code
    for word, code in _CURRENCY_WORDS.items():
        if re.search(rf"\b{word}\b", text):
            return code
    return None


def _method(text: str) -> str | None:
    for method in METHODS:
        if re.search(rf"\b{method}\b", text):
            return method
    if re.search(r"\bcheque\b", text):
        return "check"
    return None


def _customers(text: str, names: Sequence[str]) -> list[str]:
    """The customers the question names: by full name, else by a distinctive first word.
    More than one means the name is ambiguous."""
    full = [name for name in names if name and name.lower() in text]
    if full:
        longest = max(len(name) for name in full)
        return sorted(name for name in full if len(name) == longest)
    by_first_word = []
    for name in names:
        first = re.split(r"[\s,]+", name.lower())[0] if name else ""
        if len(first) >= 4 and re.search(rf"\b{re.escape(first)}\b", text):
            by_first_word.append(name)
    return sorted(by_first_word)


def _threshold(text: str) -> Decimal | None:
    match = re.search(
        r"\b(?:over|above|more than|greater than|exceeding|at least)\s*[$€£]?\s*"
        r"(\d[\d,]*(?:\.\d+)?)\s*(k|m|thousand|million)?\b",
        text,
    )
    if not match:
        return None
    value = Decimal(match.group(1).replace(",", ""))
    multiplier = {"k": 1000, "thousand": 1000, "m": 1_000_000, "million": 1_000_000}
    return value * multiplier.get(match.group(2) or "", 1)


def _top_n(text: str) -> int:
    match = re.search(r"\b(?:top|first|largest|biggest|highest)\s+(\d{1,3})\b", text)
    return max(1, min(int(match.group(1)), 100)) if match else 10


# ---------------------------------------------------------------- SQL pieces


def _lit(value: Any) -> str:
    if isinstance(value, str):
        return exp.Literal.string(value).sql(dialect="postgres")
    if isinstance(value, dt.date):
        return f"DATE {exp.Literal.string(value.isoformat()).sql(dialect='postgres')}"
    return str(value)


def _where(conditions: list[str]) -> str:
    return f" WHERE {' AND '.join(conditions)}" if conditions else ""


def _period_conditions(column: str, period: Period | None) -> list[str]:
    if period is None:
        return []
    return [f"{column} >= {_lit(period.start)}", f"{column} < {_lit(period.end)}"]


def _payment_conditions(p: Params, *extra: str) -> list[str]:
    conditions = list(extra) + _period_conditions("received_date", p.period)
    if p.currency:
        conditions.append(f"currency = {_lit(p.currency)}")
    if p.method:
        conditions.append(f"method = {_lit(p.method)}")
    if p.customer:
        conditions.append(f"customer_name = {_lit(p.customer)}")
    if p.threshold is not None:
        conditions.append(f"amount > {p.threshold}")
    return conditions


def _invoice_conditions(p: Params, *extra: str, period_column: str = "issue_date") -> list[str]:
    conditions = list(extra) + _period_conditions(period_column, p.period)
    if p.currency:
        conditions.append(f"currency = {_lit(p.currency)}")
    if p.customer:
        conditions.append(f"customer_name = {_lit(p.customer)}")
    if p.threshold is not None:
        conditions.append(f"balance > {p.threshold}")
    return conditions


# ---------------------------------------------------------------- words


def _scope(p: Params) -> str:
    parts = []
    if p.customer:
        parts.append(f"for {p.customer}")
    if p.method:
        parts.append(f"by {p.method.upper() if p.method in ('ach', 'sepa') else p.method}")
    if p.currency:
        parts.append(f"in {p.currency}")
    if p.threshold is not None:
        parts.append(f"over {p.threshold:,}")
    parts.append(p.period.label if p.period else "to date")
    return " ".join(parts)


def _money(amount: Any, currency: Any) -> str:
    return f"{Decimal(amount or 0):,.2f} {currency}"


def _money_list(rows: Sequence[Sequence[Any]], amount_at: int = 1, currency_at: int = 0) -> str:
    return "; ".join(_money(row[amount_at], row[currency_at]) for row in rows)


def _none_found(what: str, p: Params) -> str:
    return f"No {what} {_scope(p)}."


def _rows_sentence(what: str) -> Describe:
    def describe(columns, rows, p):
        if not rows:
            return _none_found(what, p)
        return f"{len(rows)} {what} {_scope(p)}, largest first."

    return describe


# ---------------------------------------------------------------- payment shapes


def _rate_query(p: Params) -> Query:
    sql = (
        "SELECT round(100.0 * count(*) FILTER (WHERE status = 'succeeded') / "
        "nullif(count(*) FILTER (WHERE status IN ('succeeded', 'failed')), 0), 1) "
        "AS success_rate_percent, "
        "round(100.0 * count(*) FILTER (WHERE status = 'failed') / "
        "nullif(count(*) FILTER (WHERE status IN ('succeeded', 'failed')), 0), 1) "
        "AS failure_rate_percent, "
        "count(*) FILTER (WHERE status IN ('succeeded', 'failed')) AS settled_attempts "
        f"FROM vw_payment_analytics{_where(_payment_conditions(p))}"
    )
    return Query(sql)


def _rate_sentence(which: int, word: str) -> Describe:
    def describe(columns, rows, p):
        rate, attempts = rows[0][which], rows[0][2]
        if not attempts:
            return _none_found("payment attempts", p)
        return f"The {word} rate {_scope(p)} is {rate}% of {attempts:,} attempts."

    return describe


def _extreme_payment(order: str) -> Callable[[Params], Query]:
    def build(p: Params) -> Query:
        conditions = _payment_conditions(p, "status = 'succeeded'")
        return Query(
            "SELECT amount, currency, customer_name, received_date, method "
            f"FROM vw_payment_analytics{_where(conditions)} ORDER BY amount {order} LIMIT 1"
        )

    return build


def _extreme_sentence(word: str) -> Describe:
    def describe(columns, rows, p):
        if not rows:
            return _none_found("successful payments", p)
        amount, currency, customer, day, _ = rows[0]
        return (
            f"The {word} payment {_scope(p)} is {_money(amount, currency)} "
            f"from {customer} on {day:%Y-%m-%d}."
        )

    return describe


def _per_currency(select: str, view: str, conditions: list[str]) -> str:
    where = _where(conditions)
    return f"SELECT currency, {select} FROM {view}{where} GROUP BY currency ORDER BY 2 DESC"


def _average_payment(p: Params) -> Query:
    conditions = _payment_conditions(p, "status = 'succeeded'")
    select = "round(avg(amount), 2) AS average_amount, count(*) AS payments"
    return Query(_per_currency(select, "vw_payment_analytics", conditions))


def _average_sentence(columns, rows, p):
    if not rows:
        return _none_found("successful payments", p)
    return f"Average successful payment {_scope(p)}: {_money_list(rows)}."


def _total_received(p: Params) -> Query:
    conditions = _payment_conditions(p, "status = 'succeeded'")
    select = "sum(amount) AS amount_received, count(*) AS payments"
    return Query(_per_currency(select, "vw_payment_analytics", conditions))


def _received_sentence(columns, rows, p):
    if not rows:
        return _none_found("payments received", p)
    who = f"{p.customer} paid" if p.customer else "Received"
    scope = _scope(replace(p, customer=None)) if p.customer else _scope(p)
    count = sum(row[2] for row in rows)
    return f"{who} {_money_list(rows)} {scope} ({count:,} payments)."


def _payment_count(p: Params) -> Query:
    return Query(
        "SELECT status, count(*) AS payments FROM vw_payment_analytics"
        f"{_where(_payment_conditions(p))} GROUP BY status ORDER BY 2 DESC",
        chart={"type": "bar", "x": "status", "y": "payments"},
    )


def _count_sentence(columns, rows, p):
    total = sum(row[1] for row in rows)
    if not total:
        return _none_found("payments", p)
    parts = ", ".join(f"{row[1]:,} {row[0]}" for row in rows)
    return f"{total:,} payment attempts {_scope(p)}: {parts}."


def _payment_list(status: str) -> Callable[[Params], Query]:
    def build(p: Params) -> Query:
        conditions = _payment_conditions(p, f"status = {_lit(status)}")
        return Query(
            "SELECT received_date, customer_name, amount, currency, method, processor, "
            "failure_code, failure_reason, reference "
            f"FROM vw_payment_analytics{_where(conditions)} ORDER BY received_at DESC"
        )

    return build


def _list_sentence(what: str) -> Describe:
    def describe(columns, rows, p):
        if not rows:
            return _none_found(what, p)
        return f"{len(rows):,} {what} {_scope(p)}, newest first."

    return describe


def _failure_reasons(p: Params) -> Query:
    conditions = _payment_conditions(p, "status = 'failed'")
    return Query(
        "SELECT coalesce(nullif(failure_reason, ''), 'unknown') AS failure_reason, "
        "count(*) AS failures FROM vw_payment_analytics"
        f"{_where(conditions)} GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {p.top_n}",
        chart={"type": "bar", "x": "failure_reason", "y": "failures"},
    )


def _reasons_sentence(columns, rows, p):
    if not rows:
        return _none_found("failed payments", p)
    return f"The most common failure reason {_scope(p)} is {rows[0][0]} ({rows[0][1]:,} failures)."


def _by_method(p: Params) -> Query:
    conditions = _payment_conditions(replace(p, method=None), "status = 'succeeded'")
    return Query(
        "SELECT method, currency, count(*) AS payments, sum(amount) AS amount "
        f"FROM vw_payment_analytics{_where(conditions)} GROUP BY 1, 2 ORDER BY 3 DESC",
        chart={"type": "bar", "x": "method", "y": "payments"},
    )


def _method_sentence(columns, rows, p):
    if not rows:
        return _none_found("successful payments", p)
    return f"The top payment method {_scope(p)} is {rows[0][0]} ({rows[0][2]:,} payments)."


def _peak(column: str) -> Callable[[Params], Query]:
    def build(p: Params) -> Query:
        return Query(
            f"SELECT {column}, count(*) AS payments FROM vw_payment_analytics"
            f"{_where(_payment_conditions(p))} GROUP BY 1 ORDER BY 2 DESC, 1",
            chart={"type": "bar", "x": column, "y": "payments"},
        )

    return build


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _peak_hour_sentence(columns, rows, p):
    if not rows:
        return _none_found("payments", p)
    hour = rows[0][0]
    count = rows[0][1]
    return f"The peak hour {_scope(p)} is {hour:02d}:00 to {hour:02d}:59 ({count:,} payments)."


def _peak_day_sentence(columns, rows, p):
    if not rows:
        return _none_found("payments", p)
    return (
        f"The busiest weekday {_scope(p)} is {_WEEKDAYS[rows[0][0] - 1]} ({rows[0][1]:,} payments)."
    )


def _trend(p: Params) -> Query:
    grain = "month"
    if p.period and (p.period.end - p.period.start).days <= 31:
        grain = "day"
    elif p.period and (p.period.end - p.period.start).days <= 120:
        grain = "week"
    conditions = _payment_conditions(p)
    return Query(
        f"SELECT date_trunc('{grain}', received_date)::date AS {grain}, currency, "
        "count(*) FILTER (WHERE status = 'succeeded') AS payments_succeeded, "
        "count(*) FILTER (WHERE status = 'failed') AS payments_failed, "
        "coalesce(sum(amount) FILTER (WHERE status = 'succeeded'), 0) AS amount_received "
        f"FROM vw_payment_analytics{_where(conditions)} GROUP BY 1, 2 ORDER BY 1, 2",
        chart={"type": "line", "x": grain, "y": "payments_succeeded"},
    )


def _trend_sentence(columns, rows, p):
    if not rows:
        return _none_found("payments", p)
    return f"Payments {_scope(p)} by {columns[0]}: {len(rows)} periods, from {rows[0][0]:%Y-%m-%d}."


# ---------------------------------------------------------------- invoice shapes


def _most_overdue_customers(p: Params) -> Query:
    conditions = ["overdue_balance > 0"]
    if p.currency:
        conditions.append(f"currency = {_lit(p.currency)}")
    return Query(
        "SELECT customer_name, currency, overdue_balance, max_days_past_due, open_invoices "
        f"FROM vw_customer_insights{_where(conditions)} "
        f"ORDER BY overdue_balance DESC LIMIT {p.top_n}",
        chart={"type": "bar", "x": "customer_name", "y": "overdue_balance"},
    )


def _overdue_customers_sentence(columns, rows, p):
    if not rows:
        return "No customer has an overdue balance."
    top = rows[0]
    return (
        f"{top[0]} is the most overdue customer with {_money(top[2], top[1])} overdue "
        f"(oldest {top[3]} days past due); {len(rows)} customers listed."
    )


def _top_balance_customers(p: Params) -> Query:
    conditions = ["open_balance > 0"]
    if p.currency:
        conditions.append(f"currency = {_lit(p.currency)}")
    return Query(
        "SELECT customer_name, currency, open_balance, overdue_balance, open_invoices "
        f"FROM vw_customer_insights{_where(conditions)} ORDER BY open_balance DESC LIMIT {p.top_n}",
        chart={"type": "bar", "x": "customer_name", "y": "open_balance"},
    )


def _top_balance_sentence(columns, rows, p):
    if not rows:
        return "No customer owes anything."
    return f"{rows[0][0]} owes the most: {_money(rows[0][2], rows[0][1])} open."


def _balance_total(overdue: bool) -> Callable[[Params], Query]:
    def build(p: Params) -> Query:
        extra = [OPEN, "days_past_due > 0"] if overdue else [OPEN]
        conditions = _invoice_conditions(replace(p, period=None), *extra)
        select = "sum(balance) AS amount, count(*) AS invoices"
        return Query(_per_currency(select, "vw_invoice_predictions", conditions))

    return build


def _balance_sentence(word: str) -> Describe:
    def describe(columns, rows, p):
        if not rows:
            return f"Nothing is {word}{' for ' + p.customer if p.customer else ''}."
        count = sum(row[2] for row in rows)
        who = f" by {p.customer}" if p.customer else ""
        return f"{_money_list(rows)} is {word}{who} across {count:,} invoices."

    return describe


def _aging(p: Params) -> Query:
    conditions = []
    if p.currency:
        conditions.append(f"currency = {_lit(p.currency)}")
    if p.customer:
        conditions.append(f"customer_name = {_lit(p.customer)}")
    return Query(
        "SELECT bucket, currency, sum(balance) AS amount, count(*) AS invoices "
        f"FROM vw_ar_aging{_where(conditions)} GROUP BY bucket, bucket_order, currency "
        "ORDER BY currency, bucket_order",
        chart={"type": "bar", "x": "bucket", "y": "amount"},
    )


def _aging_sentence(columns, rows, p):
    if not rows:
        return "There is no open receivable to age."
    worst = max(rows, key=lambda row: Decimal(row[2] or 0))
    return f"Open AR by aging bucket; the largest is {worst[0]} with {_money(worst[2], worst[1])}."


def _invoice_list(*extra: str, order: str, ranking: bool = False) -> Callable:
    """Open invoices matching ``extra``; a ranking ("top 5 largest") keeps the top N only."""

    def build(p: Params) -> Query:
        conditions = _invoice_conditions(p, *extra)
        limit = f" LIMIT {p.top_n}" if ranking else ""
        return Query(
            "SELECT invoice_number, customer_name, currency, amount, balance, due_date, "
            "days_past_due, predicted_payment_date, risk_level, status "
            f"FROM vw_invoice_predictions{_where(conditions)} ORDER BY {order}{limit}"
        )

    return build


def _predicted_late(p: Params) -> Query:
    conditions = _invoice_conditions(
        replace(p, period=None), OPEN, "predicted_payment_date > due_date"
    )
    conditions += _period_conditions("due_date", p.period)
    return Query(
        "SELECT invoice_number, customer_name, currency, balance, due_date, "
        "predicted_payment_date, predicted_payment_date - due_date AS days_late_predicted, "
        "p_paid_by_due, risk_level "
        f"FROM vw_invoice_predictions{_where(conditions)} ORDER BY balance DESC"
    )


def _predicted_late_sentence(columns, rows, p):
    if not rows:
        return f"No open invoice {_due_scope(p)} is predicted to be paid late."
    scope = _due_scope(p)
    return f"{len(rows):,} open invoices {scope} are predicted to be paid after their due date."


def _due_scope(p: Params) -> str:
    parts = [f"over {p.threshold:,}"] if p.threshold is not None else []
    if p.currency:
        parts.append(f"in {p.currency}")
    if p.customer:
        parts.append(f"for {p.customer}")
    if p.period:
        parts.append(f"due {p.period.label}")
    return " ".join(parts)


def _due_soon(p: Params) -> Query:
    conditions = _invoice_conditions(replace(p, period=None), OPEN)
    conditions += _period_conditions("due_date", p.period)
    return Query(
        "SELECT invoice_number, customer_name, currency, balance, due_date, "
        "predicted_payment_date, risk_level "
        f"FROM vw_invoice_predictions{_where(conditions)} ORDER BY due_date, balance DESC"
    )


def _due_sentence(columns, rows, p):
    if not rows:
        return f"No open invoice is {_due_scope(p) or 'due'}."
    total = {}
    for row in rows:
        total[row[2]] = total.get(row[2], Decimal(0)) + Decimal(row[3])
    money = "; ".join(_money(amount, currency) for currency, amount in total.items())
    return f"{len(rows):,} open invoices {_due_scope(p)}: {money}."


def _dso(p: Params) -> Query:
    # Asked without a period, DSO compares this quarter with the last one.
    period = p.period or quarter(p.today, "this quarter")
    periods = [period, period.previous()] if p.compare or p.period is None else [period]
    parts = [_dso_part(item, p) for item in periods]
    return Query(" UNION ALL ".join(parts) + " ORDER BY 2 DESC, 3")


def _dso_part(period: Period, p: Params) -> str:
    # DSO = AR at the period's end (or today) / sales billed in the period * days in the period.
    end = _lit(min(period.end, p.today + dt.timedelta(days=1)))
    customer = f" AND customer_name = {_lit(p.customer)}" if p.customer else ""
    currency = f" AND currency = {_lit(p.currency)}" if p.currency else ""
    return (
        f"(SELECT {_lit(period.label)} AS period, {_lit(period.start)} AS period_start, currency, "
        f"round(sum(amount) FILTER (WHERE (paid_date IS NULL OR paid_date >= {end}) "
        f"AND status NOT IN ('void', 'written_off')) / "
        f"nullif(sum(amount) FILTER (WHERE issue_date >= {_lit(period.start)}), 0) "
        f"* ({end} - {_lit(period.start)}), 1) AS dso_days "
        f"FROM vw_invoice_predictions WHERE issue_date < {end}{customer}{currency} "
        "GROUP BY currency)"
    )


def _dso_sentence(columns, rows, p):
    if not rows:
        return "There are no invoices to compute DSO from."
    parts = [f"{row[0]}: {row[3]} days ({row[2]})" for row in rows if row[3] is not None]
    return "DSO " + "; ".join(parts) + "." if parts else "No sales in that period: DSO undefined."


def _count_invoices(*extra: str, period_column: str = "issue_date") -> Callable:
    def build(p: Params) -> Query:
        conditions = _invoice_conditions(p, *extra, period_column=period_column)
        select = "count(*) AS invoices, sum(amount) AS amount"
        return Query(
            f"SELECT currency, {select} FROM vw_invoice_predictions"
            f"{_where(conditions)} GROUP BY currency ORDER BY 2 DESC"
        )

    return build


def _count_sentence_for(what: str) -> Describe:
    def describe(columns, rows, p):
        count = sum(row[1] for row in rows)
        if not count:
            return _none_found(what, p)
        return f"{count:,} {what} {_scope(p)}, totalling {_money_list(rows, amount_at=2)}."

    return describe


def _avg_days_late(p: Params) -> Query:
    conditions = _invoice_conditions(p, "status = 'paid'", period_column="paid_date")
    return Query(
        "SELECT round(avg(days_late), 1) AS average_days_late, "
        "round(100.0 * count(*) FILTER (WHERE days_late > 0) / nullif(count(*), 0), 1) "
        "AS percent_paid_late, count(*) AS paid_invoices "
        f"FROM vw_invoice_predictions{_where(conditions)}"
    )


def _avg_late_sentence(columns, rows, p):
    average, share, count = rows[0]
    if not count:
        return _none_found("paid invoices", p)
    return (
        f"Invoices {_scope(p)} were paid {average} days after due on average; "
        f"{share}% of {count:,} were late."
    )


def _expected_collections(p: Params) -> Query:
    conditions = _invoice_conditions(replace(p, period=None), OPEN)
    conditions += _period_conditions("predicted_payment_date", p.period)
    return Query(
        "SELECT currency, sum(balance) AS expected_amount, count(*) AS invoices "
        f"FROM vw_invoice_predictions{_where(conditions)} GROUP BY currency ORDER BY 2 DESC"
    )


def _expected_sentence(columns, rows, p):
    if not rows:
        return f"No collections are expected{' ' + p.period.label if p.period else ''}."
    when = p.period.label if p.period else "in total"
    return f"Expected collections {when}: {_money_list(rows)}."


def _high_risk_customers(p: Params) -> Query:
    conditions = ["risk_level = 'high'"]
    if p.currency:
        conditions.append(f"currency = {_lit(p.currency)}")
    return Query(
        "SELECT customer_name, risk_score, currency, open_balance, overdue_balance "
        f"FROM vw_customer_insights{_where(conditions)} ORDER BY open_balance DESC "
        f"LIMIT {p.top_n * 5}"
    )


def _risky_customers_sentence(columns, rows, p):
    if not rows:
        return "No customer is graded high risk."
    return f"{len(rows)} high-risk customers, largest open balance first ({rows[0][0]})."


# ---------------------------------------------------------------- the shapes, in match order

_PAY = r"payments?|transactions?|charges?"
SHAPES: tuple[Shape, ...] = (
    Shape("dso", r"\bdso\b|days sales outstanding", _dso, _dso_sentence,
          "What is our DSO this quarter vs last?"),
    Shape("failure_reasons", r"(failure|decline|error) reasons?|why .*fail|reasons? .*fail",
          _failure_reasons, _reasons_sentence, "What are the top failure reasons this month?"),
    Shape("success_rate", r"success rate|succe\w* percentage", _rate_query,
          _rate_sentence(0, "success"), "What is our success rate this month?"),
    Shape("failure_rate", r"(error|failure|fail|decline) rate", _rate_query,
          _rate_sentence(1, "failure"), "What is the error rate?"),
    Shape("peak_hour", r"peak hour|busiest hour|what (time|hour) .*(pay|payment)",
          _peak("received_hour"), _peak_hour_sentence, "What is the peak hour for payments?"),
    Shape("peak_weekday", r"peak (day|weekday)|busiest (day|weekday)|which (week)?day",
          _peak("received_weekday"), _peak_day_sentence, "Which weekday has the most payments?"),
    Shape("highest_payment",
          rf"(highest|largest|biggest|max\w*|top) ({_PAY})( amount)?\b(?! method)",
          _extreme_payment("DESC"), _extreme_sentence("highest"),
          "Highest payment amount processed till date"),
    Shape("lowest_payment", rf"(lowest|smallest|min\w*) ({_PAY})",
          _extreme_payment("ASC"), _extreme_sentence("lowest"), "What was the smallest payment?"),
    Shape("average_payment", rf"(average|avg|mean) ({_PAY})|({_PAY}) .*average",
          _average_payment, _average_sentence, "What is the average payment amount?"),
    Shape("payment_methods", r"payment methods?|top method|by method|which method",
          _by_method, _method_sentence, "What is the top payment method?"),
    Shape("failed_payments", r"failed (payments?|transactions?|charges?)|payments? .*failed",
          _payment_list("failed"), _list_sentence("failed payments"),
          "List failed payments in USD"),
    Shape("refunds", r"refund", _payment_list("refunded"), _list_sentence("refunded payments"),
          "Show refunded payments last month"),
    Shape("pending_payments", r"pending (payments?|transactions?)", _payment_list("pending"),
          _list_sentence("pending payments"), "Are there pending payments?"),
    Shape("payment_trend", rf"({_PAY}).*(trend|by (month|week|day)|per (month|week|day)|monthly|"
          r"weekly|daily)|trend", _trend, _trend_sentence, "Payments by month this year"),
    Shape("expected_collections", r"expect\w* (to )?(collect|collections|cash|receive)|"
          r"cash (forecast|coming in)|collections? forecast", _expected_collections,
          _expected_sentence, "How much do we expect to collect next week?"),
    Shape("customer_paid", r"\bpa(y|id)\b", _total_received, _received_sentence,
          "How much did Acme pay us in 2025?", needs_customer=True),
    Shape("payments_received", r"(how much|total|amount|sum).*(receiv\w*|collect\w*|cash in)|"
          r"(received|collected) .*(how much|total)|how much .*(paid|came in)",
          _total_received, _received_sentence, "How much did we collect last month?"),
    Shape("payment_count", rf"how many ({_PAY})|number of ({_PAY})|({_PAY}) count",
          _payment_count, _count_sentence, "How many payments did we get this week?"),
    Shape("most_overdue_customers", r"customers?.*(most overdue|overdue the most|most late|"
          r"latest|worst)|(most overdue|worst) customers?|who is (most )?overdue",
          _most_overdue_customers, _overdue_customers_sentence,
          "Which customers are most overdue?"),
    Shape("top_balance_customers", r"customers?.*(highest|largest|biggest|most) (open )?"
          r"(balance|ar|receivable)|who owes (us )?(the )?most", _top_balance_customers,
          _top_balance_sentence, "Who owes us the most?"),
    Shape("high_risk_customers", r"(high[- ]risk|risky|riskiest) customers?|customers? .*"
          r"(high[- ]risk|risky)",
          _high_risk_customers, _risky_customers_sentence, "Which customers are high risk?"),
    Shape("predicted_late", r"(predicted|expected|likely|forecast)\w* (to )?(be )?(pay|paid)?"
          r"\s*late|will (be )?pa(y|id) late|late payers?", _predicted_late,
          _predicted_late_sentence, "Invoices over 10k predicted to pay late next week"),
    Shape("aging", r"\bag(e)?ing\b|aging buckets?", _aging, _aging_sentence,
          "Show the aging of our receivables"),
    Shape("overdue_total", r"overdue", _balance_total(True), _balance_sentence("overdue"),
          "How much is overdue in EUR?"),
    Shape("high_risk_invoices", r"(high[- ]risk|risky|at[- ]risk) invoices?|invoices? .*(high "
          r"risk|at risk)", _invoice_list(OPEN, "risk_level = 'high'", order="balance DESC"),
          _rows_sentence("high-risk open invoices"), "List high-risk invoices over 5000"),
    Shape("disputed_invoices", r"disputed|in dispute|disputes?",
          _invoice_list(OPEN, "disputed", order="balance DESC"),
          _rows_sentence("disputed open invoices"), "Which invoices are disputed?"),
    Shape("due_soon", r"(due|coming due|falling due) (next|this|today|tomorrow|in the)",
          _due_soon, _due_sentence, "What is due next week?"),
    Shape("avg_days_late", r"(average|avg|mean) .*days? late|how late|days late",
          _avg_days_late, _avg_late_sentence, "How many days late do customers pay on average?"),
    Shape("written_off", r"writ\w*[- ]off", _count_invoices("status = 'written_off'",
          period_column="issue_date"), _count_sentence_for("written-off invoices"),
          "How much did we write off this year?"),
    Shape("paid_invoices", r"(?<!un)paid invoices|invoices (were )?paid",
          _count_invoices("status = 'paid'", period_column="paid_date"),
          _count_sentence_for("paid invoices"), "How many invoices were paid last month?"),
    Shape("largest_open_invoices", r"(largest|biggest|top|highest) (\d+ )?(open |unpaid )?"
          r"invoices", _invoice_list(OPEN, order="balance DESC", ranking=True),
          _rows_sentence("open invoices"), "Top 5 largest open invoices"),
    Shape("open_invoice_count", r"how many (open|unpaid|outstanding) invoices",
          _count_invoices(OPEN), _count_sentence_for("open invoices"),
          "How many open invoices do we have?"),
    Shape("invoices_issued", r"invoices? (issued|sent|billed|raised|created)|how much .*"
          r"(bill\w*|invoic\w*)|(billed|invoiced) .*how much|new invoices",
          _count_invoices(), _count_sentence_for("invoices issued"),
          "How much did we invoice last month?"),
    Shape("customer_open", r"\b(owe|open|outstanding|unpaid)\b", _balance_total(False),
          _balance_sentence("open"), "What does Acme owe?", needs_customer=True),
    Shape("open_balance", r"(open|outstanding|total) (ar|balance|receivables?)|accounts "
          r"receivable|\bar\b|how much .*(owed|outstanding)|receivables?",
          _balance_total(False), _balance_sentence("open"), "What is our open AR balance?"),
)  # fmt: skip

SHAPES_BY_NAME = {shape.name: shape for shape in SHAPES}


def example_questions() -> list[str]:
    return [shape.example for shape in SHAPES]


_SUGGESTED = (
    "most_overdue_customers", "open_balance", "success_rate", "failed_payments", "dso",
    "predicted_late", "aging", "payments_received",
)  # fmt: skip


def suggested_questions() -> list[str]:
    """A varied handful of questions, offered when a question is not understood."""
    return [SHAPES_BY_NAME[name].example for name in _SUGGESTED]
