"""The SQL gate of Ask: one read-only SELECT over the allow-listed views, nothing else."""

from __future__ import annotations

import pytest

from predictions.ask.sqlsafety import UnsafeQuery, safe_select

ALLOWED = [
    "SELECT count(*) FROM vw_payment_analytics WHERE status = 'failed'",
    "WITH x AS (SELECT customer_name, sum(balance) AS b FROM vw_ar_aging GROUP BY 1) "
    "SELECT * FROM x ORDER BY b DESC LIMIT 5",
    "SELECT round(100.0 * count(*) FILTER (WHERE status = 'succeeded') / nullif(count(*), 0), 1)"
    " FROM vw_payment_analytics WHERE received_date >= date_trunc('month', current_date)::date",
    "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY amount) FROM vw_payment_analytics",
    "SELECT customer_name, rank() OVER (ORDER BY open_balance DESC) FROM vw_customer_insights",
    "SELECT a.invoice_number FROM vw_invoice_predictions a JOIN vw_ar_aging b "
    "ON a.invoice_id = b.invoice_id WHERE a.balance > 100 OR b.bucket = '90+'",
]

HOSTILE = {
    "write": "UPDATE vw_ar_aging SET balance = 0",
    "delete": "DELETE FROM vw_invoice_predictions",
    "ddl": "DROP VIEW vw_ar_aging",
    "two statements": "SELECT 1 FROM vw_ar_aging; DROP TABLE invoices_invoice",
    "comment hiding a statement": "SELECT 1 FROM vw_ar_aging /* x */; DELETE FROM vw_ar_aging",
    "select into": "SELECT * INTO stolen FROM vw_ar_aging",
    "pg_sleep": "SELECT pg_sleep(60) FROM vw_ar_aging",
    "pg_read_file": "SELECT pg_read_file('/etc/passwd')",
    "copy": "COPY (SELECT * FROM vw_ar_aging) TO '/tmp/out.csv'",
    "dblink": "SELECT * FROM dblink('host=evil', 'SELECT 1') AS t(a int)",
    "set_config": "SELECT set_config('role', 'postgres', false) FROM vw_ar_aging",
    "set role": "SET ROLE postgres",
    "base table": "SELECT * FROM invoices_invoice",
    "system catalog": "SELECT * FROM pg_catalog.pg_authid",
    "information schema": "SELECT * FROM information_schema.tables",
    "unlisted catalog view": "SELECT * FROM pg_roles",
    "row lock": "SELECT * FROM vw_ar_aging FOR UPDATE",
    "data-modifying CTE": "WITH d AS (DELETE FROM vw_ar_aging RETURNING *) SELECT * FROM d",
    "greek question mark": "SELECT * FROM vw_ar_aging\u037e DROP TABLE x",
    "generate_series bomb": "SELECT * FROM generate_series(1, 1000000000)",
    "current_setting": "SELECT current_setting('app.org') FROM vw_ar_aging",
    "lo_import": "SELECT lo_import('/etc/passwd')",
    "empty": "   ",
    "not sql": "please show me everything",
}


@pytest.mark.parametrize("query", ALLOWED)
def test_it_allows_read_only_selects_over_the_views(query):
    rendered = safe_select(query)
    assert rendered.upper().startswith(("SELECT", "WITH"))
    assert safe_select(rendered) == rendered  # stable when read again


@pytest.mark.parametrize("query", list(HOSTILE.values()), ids=list(HOSTILE))
def test_it_refuses_everything_else_with_a_reason(query):
    with pytest.raises(UnsafeQuery) as refused:
        safe_select(query)
    assert str(refused.value)


def test_the_reason_names_what_was_refused():
    with pytest.raises(UnsafeQuery, match=r"pg_sleep\(\) is not allowed"):
        safe_select("SELECT pg_sleep(1)")
    with pytest.raises(UnsafeQuery, match="invoices_invoice is not an allowed view"):
        safe_select("SELECT * FROM invoices_invoice")
    with pytest.raises(UnsafeQuery, match="exactly one statement is allowed, found 2"):
        safe_select("SELECT 1; SELECT 2")


def test_comments_do_not_survive_into_the_query_that_runs():
    rendered = safe_select("SELECT invoice_number -- ; DELETE\nFROM vw_ar_aging")
    assert "DELETE" not in rendered
    assert "--" not in rendered
