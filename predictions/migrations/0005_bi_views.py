"""The BI views (docs/bi.md): read-only, one organization per reader login.

Each view keeps only the rows of the organization bound to the connected role in
tenancy_readerrole, so a BI tool or Ask PayPredict connected as that role cannot see another
organization's rows whatever SQL it sends; security_barrier keeps user predicates from running
before that filter. The application's own login sees no rows through them (it has no binding).
"""

from __future__ import annotations

from django.db import migrations

READER_ORG = (
    "(SELECT r.organization_id FROM tenancy_readerrole r WHERE r.role_name = current_user)"
)

INVOICE_PREDICTIONS = f"""
CREATE VIEW vw_invoice_predictions WITH (security_barrier = true) AS
SELECT
    i.organization_id,
    i.code AS invoice_id,
    i.number AS invoice_number,
    c.code AS customer_id,
    c.name AS customer_name,
    i.currency,
    i.total AS amount,
    i.balance,
    i.total - i.balance AS amount_paid,
    i.status,
    i.disputed,
    i.source,
    i.po_number,
    i.issue_date,
    i.due_date,
    i.paid_date,
    CASE WHEN i.status IN ('open', 'partially_paid') THEN t.today - i.due_date END
        AS days_past_due,
    CASE WHEN i.paid_date IS NOT NULL THEN i.paid_date - i.due_date END AS days_late,
    p.p_paid_by_due,
    p.expected_date AS predicted_payment_date,
    p.lower_date AS predicted_payment_date_low,
    p.upper_date AS predicted_payment_date_high,
    p.risk_level,
    p.risk_probability,
    p.scored_at
FROM invoices_invoice i
JOIN invoices_customer c ON c.id = i.customer_id
JOIN tenancy_organization o ON o.id = i.organization_id
CROSS JOIN LATERAL (SELECT (now() AT TIME ZONE o.time_zone)::date AS today) t
LEFT JOIN predictions_prediction p ON p.invoice_id = i.id
WHERE i.organization_id = {READER_ORG} AND i.status <> 'draft'
"""

AR_AGING = """
CREATE VIEW vw_ar_aging WITH (security_barrier = true) AS
SELECT
    organization_id, invoice_id, invoice_number, customer_id, customer_name, currency,
    balance, due_date, days_past_due,
    CASE
        WHEN days_past_due <= 0 THEN 'current'
        WHEN days_past_due <= 30 THEN '1-30'
        WHEN days_past_due <= 60 THEN '31-60'
        WHEN days_past_due <= 90 THEN '61-90'
        ELSE '90+'
    END AS bucket,
    CASE
        WHEN days_past_due <= 0 THEN 0
        WHEN days_past_due <= 30 THEN 1
        WHEN days_past_due <= 60 THEN 2
        WHEN days_past_due <= 90 THEN 3
        ELSE 4
    END AS bucket_order,
    risk_level
FROM vw_invoice_predictions
WHERE status IN ('open', 'partially_paid')
"""

PAYMENT_ANALYTICS = f"""
CREATE VIEW vw_payment_analytics WITH (security_barrier = true) AS
SELECT
    p.organization_id,
    p.code AS payment_id,
    c.code AS customer_id,
    c.name AS customer_name,
    p.amount,
    p.currency,
    p.status,
    p.method,
    p.processor,
    p.failure_code,
    p.failure_reason,
    p.reference,
    p.source,
    p.received_at,
    (p.received_at AT TIME ZONE o.time_zone)::date AS received_date,
    extract(hour FROM p.received_at AT TIME ZONE o.time_zone)::int AS received_hour,
    extract(isodow FROM p.received_at AT TIME ZONE o.time_zone)::int AS received_weekday,
    p.retry_of_id IS NOT NULL AS is_retry,
    COALESCE(alloc.amount, 0) AS allocated_amount
FROM invoices_payment p
JOIN invoices_customer c ON c.id = p.customer_id
JOIN tenancy_organization o ON o.id = p.organization_id
LEFT JOIN LATERAL (
    SELECT sum(a.amount) AS amount FROM invoices_paymentallocation a WHERE a.payment_id = p.id
) alloc ON true
WHERE p.organization_id = {READER_ORG}
"""

COLLECTIONS_DAILY = """
CREATE VIEW vw_collections_daily WITH (security_barrier = true) AS
SELECT
    organization_id,
    received_date AS day,
    currency,
    count(*) AS attempts,
    count(*) FILTER (WHERE status = 'succeeded') AS payments_succeeded,
    count(*) FILTER (WHERE status = 'failed') AS payments_failed,
    count(*) FILTER (WHERE status = 'refunded') AS payments_refunded,
    COALESCE(sum(amount) FILTER (WHERE status = 'succeeded'), 0) AS amount_collected
FROM vw_payment_analytics
GROUP BY organization_id, received_date, currency
"""

CUSTOMER_INSIGHTS = f"""
CREATE VIEW vw_customer_insights WITH (security_barrier = true) AS
SELECT
    c.organization_id,
    c.code AS customer_id,
    c.name AS customer_name,
    c.country,
    c.industry,
    c.payment_terms_days,
    c.credit_limit,
    c.risk_score,
    c.risk_level,
    inv.currency,
    inv.open_invoices,
    inv.open_balance,
    inv.overdue_balance,
    inv.max_days_past_due,
    inv.paid_invoices,
    inv.avg_days_late,
    pay.last_payment_at,
    pay.payments_succeeded,
    pay.payments_failed
FROM invoices_customer c
JOIN tenancy_organization o ON o.id = c.organization_id
CROSS JOIN LATERAL (SELECT (now() AT TIME ZONE o.time_zone)::date AS today) t
JOIN LATERAL (
    SELECT
        i.currency,
        count(*) FILTER (WHERE i.status IN ('open', 'partially_paid')) AS open_invoices,
        COALESCE(sum(i.balance) FILTER (WHERE i.status IN ('open', 'partially_paid')), 0)
            AS open_balance,
        COALESCE(sum(i.balance) FILTER (
            WHERE i.status IN ('open', 'partially_paid') AND i.due_date < t.today
        ), 0) AS overdue_balance,
        max(t.today - i.due_date) FILTER (WHERE i.status IN ('open', 'partially_paid'))
            AS max_days_past_due,
        count(*) FILTER (WHERE i.status = 'paid') AS paid_invoices,
        round(avg(i.paid_date - i.due_date) FILTER (WHERE i.status = 'paid'), 1)
            AS avg_days_late
    FROM invoices_invoice i
    WHERE i.customer_id = c.id AND i.status <> 'draft'
    GROUP BY i.currency
) inv ON true
LEFT JOIN LATERAL (
    SELECT
        max(p.received_at) FILTER (WHERE p.status = 'succeeded') AS last_payment_at,
        count(*) FILTER (WHERE p.status = 'succeeded') AS payments_succeeded,
        count(*) FILTER (WHERE p.status = 'failed') AS payments_failed
    FROM invoices_payment p
    WHERE p.customer_id = c.id AND p.currency = inv.currency
) pay ON true
WHERE c.organization_id = {READER_ORG}
"""

EXCHANGE_RATES = f"""
CREATE VIEW vw_exchange_rates WITH (security_barrier = true) AS
SELECT r.organization_id, r.currency, o.base_currency, r.date, r.rate
FROM invoices_exchangerate r
JOIN tenancy_organization o ON o.id = r.organization_id
WHERE r.organization_id = {READER_ORG}
"""

VIEWS = [
    ("vw_invoice_predictions", INVOICE_PREDICTIONS),
    ("vw_ar_aging", AR_AGING),
    ("vw_payment_analytics", PAYMENT_ANALYTICS),
    ("vw_collections_daily", COLLECTIONS_DAILY),
    ("vw_customer_insights", CUSTOMER_INSIGHTS),
    ("vw_exchange_rates", EXCHANGE_RATES),
]


class Migration(migrations.Migration):
    dependencies = [
        ("predictions", "0004_payment_risk"),
        ("tenancy", "0002_reader_role"),
        ("invoices", "0005_demo_payment_anomaly"),
    ]

    operations = [
        migrations.RunSQL(sql, reverse_sql=f"DROP VIEW IF EXISTS {name}")
        for name, sql in VIEWS
    ]
