"""What Ask may read: the BI views (docs/bi.md), with the column notes the LLM is shown.

The views are the whole vocabulary: the SQL gate allows no other table, and the database login
that runs the queries can read nothing else.
"""

from __future__ import annotations

VIEWS: dict[str, tuple[str, str]] = {
    "vw_invoice_predictions": (
        "one row per invoice (drafts excluded) with its latest payment prediction",
        "invoice_id uuid, invoice_number text, customer_id uuid, customer_name text, "
        "currency text, amount numeric (invoice total), balance numeric (still owed), "
        "amount_paid numeric, status text (open|partially_paid|paid|void|written_off), "
        "disputed bool, source text, po_number text, issue_date date, due_date date, "
        "paid_date date, days_past_due int (open invoices: today - due_date, negative = not "
        "due yet; null otherwise), days_late int (paid invoices: paid_date - due_date), "
        "p_paid_by_due float (0-1), predicted_payment_date date, predicted_payment_date_low "
        "date, predicted_payment_date_high date, risk_level text (low|medium|high), "
        "risk_probability float (probability of not being paid within 30 days after due), "
        "scored_at timestamptz",
    ),
    "vw_ar_aging": (
        "one row per open invoice with its aging bucket",
        "invoice_id, invoice_number, customer_id, customer_name, currency, balance numeric, "
        "due_date date, days_past_due int, bucket text (current|1-30|31-60|61-90|90+), "
        "bucket_order int (0-4), risk_level text",
    ),
    "vw_payment_analytics": (
        "one row per payment attempt",
        "payment_id uuid, customer_id uuid, customer_name text, amount numeric, currency text, "
        "status text (succeeded|failed|pending|refunded), method text "
        "(card|ach|wire|check|sepa|cash|other), processor text, failure_code text, "
        "failure_reason text, reference text, source text, received_at timestamptz, "
        "received_date date (organization time zone), received_hour int (0-23), "
        "received_weekday int (1 = Monday .. 7 = Sunday), is_retry bool, "
        "allocated_amount numeric",
    ),
    "vw_collections_daily": (
        "one row per day and currency of payment attempts",
        "day date, currency text, attempts int, payments_succeeded int, payments_failed int, "
        "payments_refunded int, amount_collected numeric",
    ),
    "vw_customer_insights": (
        "one row per customer and invoice currency",
        "customer_id uuid, customer_name text, country text, industry text, "
        "payment_terms_days int, credit_limit numeric, risk_score numeric, risk_level text, "
        "currency text, open_invoices int, open_balance numeric, overdue_balance numeric, "
        "max_days_past_due int, paid_invoices int, avg_days_late numeric, "
        "last_payment_at timestamptz, payments_succeeded int, payments_failed int",
    ),
    "vw_exchange_rates": (
        "the organization's exchange rates: 1 unit of currency = rate units of base_currency",
        "currency text, base_currency text, date date, rate numeric",
    ),
}

VIEW_NAMES = frozenset(VIEWS)

EXAMPLES = (
    (
        "what is our success rate this month",
        "SELECT round(100.0 * count(*) FILTER (WHERE status = 'succeeded') / "
        "nullif(count(*) FILTER (WHERE status IN ('succeeded', 'failed')), 0), 1) "
        "AS success_rate_percent FROM vw_payment_analytics "
        "WHERE received_date >= date_trunc('month', current_date)::date",
    ),
    (
        "which customers are most overdue",
        "SELECT customer_name, currency, overdue_balance, max_days_past_due "
        "FROM vw_customer_insights WHERE overdue_balance > 0 "
        "ORDER BY overdue_balance DESC LIMIT 10",
    ),
)


def catalog_prompt() -> str:
    """The views, their columns and example queries, as the LLM reads them."""
    lines = ["Views you may query (PostgreSQL):"]
    for name, (description, columns) in VIEWS.items():
        lines.append(f"- {name}: {description}. Columns: {columns}.")
    lines.append("Examples:")
    lines.extend(f"Q: {question}\nSQL: {sql}" for question, sql in EXAMPLES)
    return "\n".join(lines)
