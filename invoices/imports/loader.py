"""The bulk path: clean rows go through COPY into a temporary staging table, then SQL upserts.

Each kind knows its staging columns, how to finish a parsed row in Python (derived values such as
an invoice's balance and status) and the SQL that checks what needs the database (duplicates in
the file, unknown customers, number clashes, over-allocation) and upserts. Rows failing a check
are reported and removed from the staging table before the upsert, so valid rows land and
invalid ones never half-land.

The upsert matches rows on ``(organization_id, source="csv", external_id)``. It copies the stored
versions of the file's rows aside, INSERTs the new rows, and UPDATEs only the rows whose values
differ (``(columns) IS DISTINCT FROM (new values)``). An unchanged row is not touched at all: its
``updated_at`` stays. Imports of one organization are serialized by an advisory lock, so no other
writer of CSV rows can slip in between.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models
from django.db.models.fields import NOT_PROVIDED

from invoices.imports.parsing import CellError, ParsedRow, RowError, RowReader, json_text
from invoices.models import (
    CLOSED_STATUSES,
    FIXED_STATUSES,
    Customer,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentAllocation,
    status_for_balance,
    status_for_balance_sql,
    status_sql,
)
from invoices.services.payments import COUNTED_STATUSES
from paypredict_project.tenancy.models import Organization

# The statuses a balance does not change (status_for_balance keeps them). The SQL below mirrors
# that rule, so it takes them from here; plain strings, as they are also spliced into SQL.
# Payment statuses whose allocations count against an invoice, as the services count them.
COUNTED = tuple(str(status) for status in COUNTED_STATUSES)
# The write time of each statement (now() would be the transaction's start: wrong for rows
# written by a later statement of a long import, or of a test's outer transaction).
NOW = "statement_timestamp()"
# Temporary tables an import creates. ON COMMIT DROP does not fire when the import runs inside
# an outer transaction (a test, a larger job), so they are also dropped explicitly.
TEMP_TABLES = ("csv_stage", "csv_customer_map", "csv_applied", "csv_touched", "csv_existing")
# Enough to fix a file by; the total count is always exact.
MAX_REPORTED_ERRORS = 10_000


def _defaults_sql(model: type[models.Model], provided: Iterable[str]) -> dict[str, Any]:
    """Python-side defaults of NOT NULL columns the SQL does not set.

    Django keeps most defaults in Python, so a raw INSERT must supply them; reading them from the
    model keeps this right when someone adds a column.
    """
    provided = set(provided)
    values: dict[str, Any] = {}
    for field in model._meta.concrete_fields:
        column = field.column
        if column in provided or field.primary_key or field.null:
            continue
        if field.default is NOT_PROVIDED:
            continue
        default = field.get_default()
        if isinstance(default, dict | list):
            from psycopg.types.json import Jsonb

            default = Jsonb(default)
        values[column] = default
    return values


class Staging:
    """A TEMP table with row_no + typed columns, filled by COPY."""

    def __init__(self, cursor, name: str, columns: list[tuple[str, str]]) -> None:
        self.cursor = cursor
        self.name = name
        self.columns = columns
        cols = ", ".join(f"{name} {sql_type}" for name, sql_type in [("row_no", "int"), *columns])
        cursor.execute(f"CREATE TEMP TABLE {name} ({cols}) ON COMMIT DROP")

    def copy(self, rows: Iterable[tuple]) -> int:
        names = ", ".join(["row_no", *(name for name, _ in self.columns)])
        count = 0
        with self.cursor.copy(f"COPY {self.name} ({names}) FROM STDIN") as copy:
            write = copy.write_row
            for row in rows:
                write(row)
                count += 1
        self.cursor.execute(f"ANALYZE {self.name}")
        return count

    def drop_rows(self, row_numbers: list[int]) -> None:
        if row_numbers:
            self.cursor.execute(
                f"DELETE FROM {self.name} WHERE row_no = ANY(%s)", [sorted(set(row_numbers))]
            )


class KindLoader:
    kind = ""
    staging_columns: list[tuple[str, str]] = []

    def __init__(self, *, cursor, organization: Organization, reader: RowReader) -> None:
        self.cursor = cursor
        self.organization = organization
        self.reader = reader
        self.mapping = reader.mapping
        self.errors: list[CellError] = []
        self.error_count = 0
        self.extra: dict[str, int] = {}
        self.timings: dict[str, float] = {}

    # -- Python side
    def finish(self, parsed: ParsedRow) -> tuple:
        raise NotImplementedError

    # -- SQL side
    def add_error(self, error: CellError) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(error)

    def error(self, row: int, field: str, reason: str) -> None:
        self.add_error(CellError(row, self.reader.column_of(field), reason))

    def reject(self, staging: Staging, rows: list[tuple[int, str, str]]) -> None:
        for row, field, reason in rows:
            self.error(row, field, reason)
        staging.drop_rows([row for row, _, _ in rows])

    def reject_duplicates(self, staging: Staging, key: str, field: str) -> None:
        """A key repeated in the file: the first row wins, later ones are errors."""
        self.cursor.execute(
            f"""
            WITH dup AS (SELECT {key} AS k FROM {staging.name} GROUP BY 1 HAVING count(*) > 1)
            SELECT s.row_no, s.{key}, min(s.row_no) OVER (PARTITION BY s.{key})
            FROM {staging.name} s JOIN dup ON dup.k = s.{key}
            """
        )
        rows = [
            (row, field, f"{field} {value!r} repeats row {first}")
            for row, value, first in self.cursor.fetchall()
            if row != first
        ]
        self.reject(staging, rows)

    def load(self, staging: Staging) -> tuple[int, int]:
        """Run checks and the upsert; return (created, updated)."""
        raise NotImplementedError

    def upsert(
        self,
        *,
        table: str,
        insert: dict[str, str],
        update: dict[str, str],
        source_sql: str,
        params: dict[str, Any],
        model: type[models.Model],
    ) -> tuple[int, int]:
        """Insert new rows, update changed ones, leave unchanged ones; return (created, updated).

        Rows are matched on (organization, source="csv", external_id). ``insert`` maps
        column -> SQL over the source; ``update`` maps column -> SQL over ``t`` (the stored row)
        and ``EXCLUDED`` (the proposed row), as in ON CONFLICT.
        """
        defaults = _defaults_sql(model, [*insert, "code", "created_at", "updated_at"])
        for column, value in defaults.items():
            key = f"default_{column}"
            params[key] = value
            insert[column] = f"%({key})s"
        columns = ["code", "created_at", "updated_at", *insert]
        exprs = ["gen_random_uuid()", NOW, NOW, *insert.values()]
        started = time.perf_counter()
        # The stored versions of the file's rows, copied aside first: joining the target table
        # inside its own INSERT could rescan the pages that INSERT keeps adding to.
        self.cursor.execute(
            f"""
            CREATE TEMP TABLE csv_existing ON COMMIT DROP AS
            SELECT ex.id, ex.external_id, {", ".join(f"ex.{column}" for column in update)}
            FROM csv_stage s JOIN {table} ex ON ex.organization_id = %(org)s
                AND ex.source = 'csv' AND ex.external_id = s.external_id
                AND NOT (ex.external_id = '')
            """,
            params,
        )
        self.cursor.execute("ANALYZE csv_existing")
        # New rows go in with a plain INSERT and changed rows with an UPDATE. This is cheaper than
        # INSERT ... ON CONFLICT: no speculative insertion, and unchanged rows are not locked and
        # rewritten (ON CONFLICT DO UPDATE locks every conflicting row even when its WHERE then
        # skips it). It is safe because the import holds the organization's import lock (no other
        # writer of source="csv" rows); the unique keys still guard the table. Rows go in file
        # order: hash joins would otherwise shuffle them, and random order into a dozen b-trees
        # larger than shared_buffers cost 1.6x the floor at 1M rows.
        self.cursor.execute(
            f"""
            INSERT INTO {table} ({", ".join(columns)})
            SELECT {", ".join(exprs)} FROM {source_sql}
            LEFT JOIN csv_existing ex ON ex.external_id = s.external_id
            WHERE ex.id IS NULL
            ORDER BY s.row_no
            """,
            params,
        )
        created = self.cursor.rowcount
        proposed = {column: _over_proposed(expr) for column, expr in update.items()}
        needed = {name for expr in update.values() for name in _EXCLUDED.findall(expr)}
        self.cursor.execute(
            f"""
            UPDATE {table} t SET {", ".join(f"{c} = {e}" for c, e in proposed.items())},
                updated_at = {NOW}
            FROM (
                SELECT ex.id AS existing_id,
                       {", ".join(f"{insert[column]} AS {column}" for column in sorted(needed))}
                FROM {source_sql} JOIN csv_existing ex ON ex.external_id = s.external_id
            ) x
            WHERE t.id = x.existing_id
              AND ({", ".join(f"t.{c}" for c in proposed)})
                  IS DISTINCT FROM ({", ".join(proposed.values())})
            """,
            params,
        )
        updated = self.cursor.rowcount
        self.timings["upsert"] = time.perf_counter() - started
        return created, updated


# ---------------------------------------------------------------------------- invoices


class InvoiceLoader(KindLoader):
    kind = "invoices"
    staging_columns = [
        ("external_id", "text"),
        ("number", "text"),
        ("customer_ref", "text"),
        ("customer_name", "text"),
        ("issue_date", "date"),
        ("due_date", "date"),
        ("currency", "text"),
        ("subtotal", "numeric"),
        ("tax_total", "numeric"),
        ("total", "numeric"),
        ("balance", "numeric"),
        ("status", "text"),
        ("status_given", "boolean"),
        ("disputed", "boolean"),
        ("po_number", "text"),
        ("payment_terms_days", "int"),
        ("paid_date", "date"),
        ("attributes", "jsonb"),
        ("cust_country", "text"),
        ("cust_industry", "text"),
        ("cust_email", "text"),
        ("cust_phone", "text"),
        ("cust_attributes", "jsonb"),
    ]

    def finish(self, parsed: ParsedRow) -> tuple:
        v = parsed.values
        total: Decimal = v["total"]
        tax = v.get("tax_total") or Decimal("0")
        if tax > total:
            raise RowError("tax_total", f"tax_total {tax} exceeds total {total}")
        status = v.get("status")
        balance = v.get("balance")
        amount_paid = v.get("amount_paid")
        paid_date = v.get("paid_date")
        if balance is None and amount_paid is not None:
            if amount_paid > total:
                raise RowError("amount_paid", f"amount_paid {amount_paid} exceeds total {total}")
            balance = total - amount_paid
        if balance is None:
            # A settled date (or an explicit "paid") with no balance given means fully paid.
            balance = Decimal("0") if (paid_date or status == "paid") else total
        if balance > total:
            raise RowError("balance", f"balance {balance} exceeds total {total}")
        derived = str(status_for_balance(total=total, balance=balance, current=InvoiceStatus.OPEN))
        if status in FIXED_STATUSES:
            final = status
        else:
            if status and status != derived:
                raise RowError(
                    "status", f"status {status} does not match a balance of {balance} of {total}"
                )
            final = derived
        if paid_date and final != "paid" and final not in FIXED_STATUSES:
            raise RowError("paid_date", f"a paid date is given but {balance} is still owed")
        if final != "paid":
            paid_date = None
        issue = v["issue_date"]
        due = v.get("due_date")
        if due is not None and due < issue:
            raise RowError("due_date", f"due date {due} is before the issue date {issue}")
        customer = parsed.customer_values or {}
        return (
            parsed.row,
            v["external_id"],
            v["number"],
            v["customer"],
            v.get("customer_name") or "",
            issue,
            due,
            v["currency"],
            total - tax,
            tax,
            total,
            balance,
            final,
            status is not None,
            v.get("disputed"),
            v.get("po_number") or "",
            v.get("payment_terms_days"),
            paid_date,
            json_text(parsed.attributes),
            customer.get("country"),
            customer.get("industry"),
            customer.get("email"),
            customer.get("phone"),
            json_text(parsed.customer_attributes),
        )

    def resolve_customers(self, staging: Staging) -> None:
        """Map customer_ref to customers.id in ``csv_customer_map``; create missing ones."""
        org = self.organization.id
        cur = self.cursor
        # The last row that mentions a customer describes it (files are usually chronological).
        cur.execute(
            f"""
            CREATE TEMP TABLE csv_customer_map ON COMMIT DROP AS
            SELECT s.customer_ref, s.customer_name, s.currency, s.cust_country, s.cust_industry,
                s.cust_email, s.cust_phone, s.cust_attributes, NULL::bigint AS customer_id,
                false AS created
            FROM {staging.name} s
            JOIN (SELECT customer_ref, max(row_no) AS row_no FROM {staging.name} GROUP BY 1) last
                USING (customer_ref, row_no)
            """
        )
        cur.execute(
            """
            UPDATE csv_customer_map m SET customer_id = c.id
            FROM (
                SELECT DISTINCT ON (external_id) id, external_id FROM invoices_customer
                WHERE organization_id = %s
                  AND external_id IN (SELECT customer_ref FROM csv_customer_map)
                ORDER BY external_id, (source = 'csv') DESC, id
            ) c
            WHERE c.external_id = m.customer_ref
            """,
            [org],
        )
        if not self.mapping.create_missing_customers:
            cur.execute(
                f"""
                SELECT s.row_no, s.customer_ref FROM {staging.name} s
                JOIN csv_customer_map m USING (customer_ref) WHERE m.customer_id IS NULL
                """
            )
            self.reject(
                staging,
                [
                    (row, "customer", f"no customer with external id {ref!r} in this organization")
                    for row, ref in cur.fetchall()
                ],
            )
            cur.execute("DELETE FROM csv_customer_map WHERE customer_id IS NULL")
            self.extra["customers_created"] = 0
        else:
            insert = {
                "organization_id": "%(org)s",
                "source": "'csv'",
                "external_id": "m.customer_ref",
                "name": "left(coalesce(nullif(m.customer_name, ''), m.customer_ref), 200)",
                "currency": "m.currency",
                "country": "coalesce(m.cust_country, '')",
                "industry": "coalesce(m.cust_industry, '')",
                "email": "coalesce(m.cust_email, '')",
                "phone": "coalesce(m.cust_phone, '')",
                "attributes": "coalesce(m.cust_attributes, '{}'::jsonb)",
            }
            params: dict[str, Any] = {"org": org}
            defaults = _defaults_sql(Customer, [*insert, "code", "created_at", "updated_at"])
            for column, value in defaults.items():
                params[f"default_{column}"] = value
                insert[column] = f"%(default_{column})s"
            cur.execute(
                f"""
                WITH created AS (
                    INSERT INTO invoices_customer
                        (code, created_at, updated_at, {", ".join(insert)})
                    SELECT gen_random_uuid(), {NOW}, {NOW}, {", ".join(insert.values())}
                    FROM csv_customer_map m WHERE m.customer_id IS NULL
                    RETURNING id, external_id
                )
                UPDATE csv_customer_map m SET customer_id = created.id, created = true
                FROM created WHERE created.external_id = m.customer_ref
                """,
                params,
            )
            self.extra["customers_created"] = cur.rowcount
        # Customer columns the file carries refresh existing customers, only when they differ.
        sets = []
        for name in self.mapping.customer_fields:
            sets.append((name, f"coalesce(m.cust_{name}, '')"))
        if self.mapping.customer_attributes:
            sets.append(("attributes", "c.attributes || coalesce(m.cust_attributes, '{}')"))
        if sets:
            cur.execute(
                f"""
                UPDATE invoices_customer c SET {", ".join(f"{k} = {e}" for k, e in sets)},
                    updated_at = {NOW}
                FROM csv_customer_map m
                WHERE c.id = m.customer_id AND NOT m.created
                  AND ({", ".join(k for k, _ in sets)})
                      IS DISTINCT FROM ({", ".join(e for _, e in sets)})
                """
            )
            self.extra["customers_updated"] = cur.rowcount

    def load(self, staging: Staging) -> tuple[int, int]:
        org = self.organization.id
        cur = self.cursor
        self.reject_duplicates(staging, "external_id", "external_id")
        self.reject_duplicates(staging, "number", "number")
        # The number is unique per organization across every source.
        cur.execute(
            f"""
            SELECT s.row_no, s.number FROM {staging.name} s
            JOIN invoices_invoice i ON i.organization_id = %s AND i.number = s.number
            WHERE NOT (i.source = 'csv' AND i.external_id = s.external_id)
            """,
            [org],
        )
        self.reject(
            staging,
            [
                (row, "number", f"invoice number {number!r} is already used by another invoice")
                for row, number in cur.fetchall()
            ],
        )
        self.resolve_customers(staging)
        # Void / written off set in the app survive an import whose row says nothing about
        # status; a row with an explicit status is the source of truth.
        cur.execute(
            f"""
            UPDATE {staging.name} s SET status = i.status FROM invoices_invoice i
            WHERE i.organization_id = %s AND i.source = 'csv' AND i.external_id = s.external_id
              AND i.status IN {status_sql(CLOSED_STATUSES)} AND NOT s.status_given
            """,
            [org],
        )
        # Invoices that already have payments applied keep the balance those payments imply.
        # Most imports are into organizations (or files) without allocations: skip the join then.
        cur.execute(
            "SELECT EXISTS (SELECT 1 FROM invoices_paymentallocation WHERE organization_id = %s)",
            [org],
        )
        (has_allocations,) = cur.fetchone()
        cur.execute(
            f"""
            CREATE TEMP TABLE csv_applied ON COMMIT DROP AS
            SELECT s.external_id,
                   coalesce(sum(pa.amount) FILTER (WHERE p.status = 'succeeded'), 0) AS paid,
                   (max(p.received_at) FILTER (WHERE p.status = 'succeeded')
                        AT TIME ZONE %s)::date AS last_paid
            FROM {staging.name} s
            JOIN invoices_invoice i ON i.organization_id = %s AND i.source = 'csv'
                AND i.external_id = s.external_id AND NOT (i.external_id = '')
            JOIN invoices_paymentallocation pa ON pa.invoice_id = i.id
            JOIN invoices_payment p ON p.id = pa.payment_id
            WHERE %s
            GROUP BY s.external_id
            """,
            [self.organization.time_zone, org, has_allocations],
        )
        cur.execute(
            f"""
            SELECT s.row_no, s.total, a.paid FROM {staging.name} s
            JOIN csv_applied a USING (external_id) WHERE a.paid > s.total
            """
        )
        self.reject(
            staging,
            [
                (row, "total", f"total {total} is less than the {paid} already paid on it")
                for row, total, paid in cur.fetchall()
            ],
        )
        # status_for_balance in SQL (invoices/models.py), from the payments applied.
        balance = "CASE WHEN a.external_id IS NULL THEN s.balance ELSE s.total - a.paid END"
        derived = status_for_balance_sql(paid="a.paid", total="s.total", current="s.status")
        status = f"CASE WHEN a.external_id IS NULL THEN s.status ELSE {derived} END"
        paid_date = """CASE WHEN a.external_id IS NULL THEN s.paid_date
            WHEN a.paid >= s.total THEN a.last_paid END"""
        insert = {
            "organization_id": "%(org)s",
            "customer_id": "m.customer_id",
            "number": "s.number",
            "source": "'csv'",
            "external_id": "s.external_id",
            "issue_date": "s.issue_date",
            "due_date": (
                "coalesce(s.due_date, s.issue_date + coalesce(s.payment_terms_days, "
                "c.payment_terms_days))"
            ),
            "currency": "s.currency",
            "subtotal": "s.subtotal",
            "tax_total": "s.tax_total",
            "total": "s.total",
            "balance": balance,
            "status": status,
            "disputed": "coalesce(s.disputed, false)",
            "po_number": "s.po_number",
            "payment_terms_days": "coalesce(s.payment_terms_days, c.payment_terms_days)",
            "paid_date": paid_date,
            "attributes": "coalesce(s.attributes, '{}'::jsonb)",
        }
        update_columns = [
            "customer_id",
            "number",
            "issue_date",
            "due_date",
            "currency",
            "subtotal",
            "tax_total",
            "total",
            "balance",
            "payment_terms_days",
            "paid_date",
        ]
        update = {column: f"EXCLUDED.{column}" for column in update_columns}
        update["status"] = "EXCLUDED.status"
        if "disputed" in self.mapping.fields or "disputed" in self.mapping.defaults:
            update["disputed"] = "EXCLUDED.disputed"
        if "po_number" in self.mapping.fields or "po_number" in self.mapping.defaults:
            update["po_number"] = "EXCLUDED.po_number"
        if self.mapping.attributes:
            update["attributes"] = "t.attributes || EXCLUDED.attributes"
        source_sql = f"""{staging.name} s
            JOIN csv_customer_map m USING (customer_ref)
            JOIN invoices_customer c ON c.id = m.customer_id
            LEFT JOIN csv_applied a ON a.external_id = s.external_id"""
        return self.upsert(
            table="invoices_invoice",
            insert=insert,
            update=update,
            source_sql=source_sql,
            params={"org": org},
            model=Invoice,
        )


# ---------------------------------------------------------------------------- customers


class CustomerLoader(KindLoader):
    kind = "customers"
    optional = (
        ("email", "text"),
        ("phone", "text"),
        ("currency", "text"),
        ("payment_terms_days", "int"),
        ("credit_limit", "numeric"),
        ("credit_score", "int"),
        ("industry", "text"),
        ("country", "text"),
        ("reminder_channel", "text"),
        ("reminder_contact", "text"),
        ("reminder_language", "text"),
        ("do_not_remind", "boolean"),
        ("notes", "text"),
    )
    staging_columns = [
        ("external_id", "text"),
        ("name", "text"),
        *optional,
        ("attributes", "jsonb"),
    ]

    def finish(self, parsed: ParsedRow) -> tuple:
        v = parsed.values
        email = v.get("email") or ""
        if email:
            try:
                validate_email(email)
            except ValidationError:
                raise RowError("email", f"{email!r} is not an e-mail address") from None
        return (
            parsed.row,
            v["external_id"],
            v["name"],
            *(v.get(name) for name, _ in self.optional),
            json_text(parsed.attributes),
        )

    def load(self, staging: Staging) -> tuple[int, int]:
        self.reject_duplicates(staging, "external_id", "external_id")
        provided = set(self.mapping.fields) | set(self.mapping.defaults)
        insert = {
            "organization_id": "%(org)s",
            "source": "'csv'",
            "external_id": "s.external_id",
            "name": "s.name",
            "attributes": "coalesce(s.attributes, '{}'::jsonb)",
        }
        update = {"name": "EXCLUDED.name"}
        for name, _ in self.optional:
            if name == "currency" or name in provided:
                # Currency always has a value: the file's, a default, or the base currency.
                insert[name] = f"s.{name}"
                update[name] = f"EXCLUDED.{name}"
        if self.mapping.attributes:
            update["attributes"] = "t.attributes || EXCLUDED.attributes"
        return self.upsert(
            table="invoices_customer",
            insert=insert,
            update=update,
            source_sql=f"{staging.name} s",
            params={"org": self.organization.id},
            model=Customer,
        )


# ---------------------------------------------------------------------------- payments


class PaymentLoader(KindLoader):
    kind = "payments"
    optional = (
        ("method", "text"),
        ("status", "text"),
        ("failure_code", "text"),
        ("failure_reason", "text"),
        ("processor", "text"),
        ("reference", "text"),
    )
    staging_columns = [
        ("external_id", "text"),
        ("customer_ref", "text"),
        ("amount", "numeric"),
        ("currency", "text"),
        ("received_at", "timestamptz"),
        *optional,
        ("invoice_ref", "text"),
        ("allocated_amount", "numeric"),
    ]

    def finish(self, parsed: ParsedRow) -> tuple:
        v = parsed.values
        amount = v["amount"]
        status = v.get("status") or "succeeded"
        if status == "failed" and not v.get("failure_code"):
            raise RowError("failure_code", "a failed payment needs a failure code")
        invoice = v.get("invoice") or ""
        allocated = v.get("allocated_amount")
        if allocated is not None and not invoice:
            raise RowError("allocated_amount", "an allocated amount needs an invoice")
        if invoice and allocated is None:
            allocated = amount
        if allocated is not None and allocated > amount:
            raise RowError(
                "allocated_amount", f"allocated {allocated} exceeds the payment amount {amount}"
            )
        values = {**v, "status": status}
        return (
            parsed.row,
            v["external_id"],
            v["customer"],
            amount,
            v["currency"],
            v["received_at"],
            *(values.get(name) or _PAYMENT_DEFAULTS.get(name, "") for name, _ in self.optional),
            invoice,
            allocated,
        )

    def load(self, staging: Staging) -> tuple[int, int]:
        org = self.organization.id
        cur = self.cursor
        self.reject_duplicates(staging, "external_id", "external_id")
        cur.execute(
            f"""
            ALTER TABLE {staging.name} ADD customer_id bigint, ADD invoice_id bigint,
                ADD invoice_currency text, ADD invoice_status text, ADD invoice_number text,
                ADD invoice_total numeric;
            UPDATE {staging.name} s SET customer_id = c.id FROM (
                SELECT DISTINCT ON (external_id) id, external_id FROM invoices_customer
                WHERE organization_id = %(org)s
                ORDER BY external_id, (source = 'csv') DESC, id
            ) c WHERE c.external_id = s.customer_ref;
            UPDATE {staging.name} s SET invoice_id = i.id, invoice_currency = i.currency,
                invoice_status = i.status, invoice_number = i.number, invoice_total = i.total
            FROM (
                SELECT DISTINCT ON (external_id) id, external_id, currency, status, number, total
                FROM invoices_invoice WHERE organization_id = %(org)s AND external_id <> ''
                ORDER BY external_id, (source = 'csv') DESC, id
            ) i WHERE i.external_id = s.invoice_ref AND s.invoice_ref <> '';
            """,
            {"org": org},
        )
        cur.execute(f"SELECT row_no, customer_ref FROM {staging.name} WHERE customer_id IS NULL")
        self.reject(
            staging,
            [
                (row, "customer", f"no customer with external id {ref!r} in this organization")
                for row, ref in cur.fetchall()
            ],
        )
        cur.execute(
            f"""
            SELECT row_no, invoice_ref, currency, invoice_currency, invoice_status, invoice_number
            FROM {staging.name} WHERE invoice_ref <> ''
            """
        )
        problems = []
        for row, ref, currency, inv_currency, inv_status, number in cur.fetchall():
            if inv_currency is None:
                problems.append(
                    (row, "invoice", f"no invoice with external id {ref!r} in this organization")
                )
            elif inv_currency != currency:
                problems.append(
                    (
                        row,
                        "invoice",
                        f"a {currency} payment cannot be applied to invoice {number} "
                        f"in {inv_currency}",
                    )
                )
            elif inv_status in FIXED_STATUSES:
                problems.append(
                    (row, "invoice", f"invoice {number} is {inv_status.replace('_', ' ')}")
                )
        self.reject(staging, problems)
        # Over-allocation: what other payments already hold on each invoice plus this file's
        # counted allocations (succeeded and pending, as the services count them), in file
        # order; a refused row does not count against the rows after it.
        cur.execute(
            f"""
            WITH held AS (
                SELECT pa.invoice_id, sum(pa.amount) AS amount
                FROM invoices_paymentallocation pa
                JOIN invoices_payment p ON p.id = pa.payment_id
                JOIN (SELECT DISTINCT invoice_id FROM {staging.name}) touched
                    ON touched.invoice_id = pa.invoice_id
                WHERE p.status IN {COUNTED}
                  AND NOT EXISTS (
                    SELECT 1 FROM {staging.name} again
                    WHERE again.invoice_ref <> '' AND again.external_id = p.external_id
                      AND p.source = 'csv' AND p.organization_id = %(org)s)
                GROUP BY pa.invoice_id
            )
            SELECT s.row_no, s.invoice_id, s.invoice_number, s.invoice_total,
                   coalesce(h.amount, 0), s.allocated_amount
            FROM {staging.name} s LEFT JOIN held h USING (invoice_id)
            WHERE s.invoice_id IS NOT NULL AND s.status IN {COUNTED}
            ORDER BY s.row_no
            """,
            {"org": org},
        )
        applied: dict[int, Decimal] = {}
        over = []
        amount_field = "allocated_amount" if "allocated_amount" in self.mapping.fields else "amount"
        for row, invoice_id, number, total, held, amount in cur.fetchall():
            so_far = applied.get(invoice_id, held)
            if so_far + amount > total:
                over.append(
                    (
                        row,
                        amount_field,
                        f"over-allocation: {amount} exceeds the {total - so_far} "
                        f"still open on invoice {number}",
                    )
                )
            else:
                applied[invoice_id] = so_far + amount
        self.reject(staging, over)
        # A new allocation of a failed or refunded payment is refused, as in payment_record.
        cur.execute(
            f"""
            SELECT s.row_no, s.status FROM {staging.name} s
            WHERE s.invoice_id IS NOT NULL AND s.status IN ('failed', 'refunded')
              AND NOT EXISTS (
                SELECT 1 FROM invoices_paymentallocation pa
                JOIN invoices_payment p ON p.id = pa.payment_id
                WHERE pa.invoice_id = s.invoice_id AND p.organization_id = %s
                  AND p.source = 'csv' AND p.external_id = s.external_id)
            """,
            [org],
        )
        self.reject(
            staging,
            [
                (row, "invoice", f"a {status} payment cannot be allocated")
                for row, status in cur.fetchall()
            ],
        )
        provided = set(self.mapping.fields) | set(self.mapping.defaults)
        insert = {
            "organization_id": "%(org)s",
            "customer_id": "s.customer_id",
            "source": "'csv'",
            "external_id": "s.external_id",
            "amount": "s.amount",
            "currency": "s.currency",
            "received_at": "s.received_at",
        }
        update = {
            name: f"EXCLUDED.{name}"
            for name in ("customer_id", "amount", "currency", "received_at")
        }
        for name, _ in self.optional:
            insert[name] = f"s.{name}"
            if name in provided or name == "status":
                update[name] = f"EXCLUDED.{name}"
        # Balances of every invoice these payments touch before or after, recomputed below.
        cur.execute(
            f"""
            CREATE TEMP TABLE csv_touched ON COMMIT DROP AS
            SELECT pa.invoice_id FROM {staging.name} s
            JOIN invoices_payment p ON p.organization_id = %s AND p.source = 'csv'
                AND p.external_id = s.external_id AND NOT (p.external_id = '')
            JOIN invoices_paymentallocation pa ON pa.payment_id = p.id
            UNION SELECT invoice_id FROM {staging.name} WHERE invoice_id IS NOT NULL
            """,
            [org],
        )
        created, updated = self.upsert(
            table="invoices_payment",
            insert=insert,
            update=update,
            source_sql=f"{staging.name} s",
            params={"org": org},
            model=Payment,
        )
        allocations_changed = self._write_allocations(staging)
        self.extra["allocations_changed"] = allocations_changed
        self.extra["invoices_recalculated"] = self._recalculate()
        return created, updated

    def _write_allocations(self, staging: Staging) -> int:
        cur = self.cursor
        org = self.organization.id
        # A row naming an invoice defines that payment's allocation: others are removed.
        cur.execute(
            f"""
            DELETE FROM invoices_paymentallocation pa USING invoices_payment p, {staging.name} s
            WHERE p.id = pa.payment_id AND p.organization_id = %s AND p.source = 'csv'
              AND p.external_id = s.external_id AND s.invoice_id IS NOT NULL
              AND pa.invoice_id <> s.invoice_id
            """,
            [org],
        )
        removed = cur.rowcount
        defaults = _defaults_sql(
            PaymentAllocation, ["organization_id", "payment_id", "invoice_id", "amount"]
        )
        params: dict[str, Any] = {"org": org}
        extra_cols = "".join(f", {column}" for column in defaults)
        extra_vals = "".join(f", %(default_{column})s" for column in defaults)
        params.update({f"default_{column}": value for column, value in defaults.items()})
        created_at = ", created_at" if "created_at" not in defaults else ""
        cur.execute(
            f"""
            INSERT INTO invoices_paymentallocation
                (organization_id, payment_id, invoice_id, amount{created_at}{extra_cols})
            SELECT %(org)s, p.id, s.invoice_id, s.allocated_amount
                {f", {NOW}" if created_at else ""}{extra_vals}
            FROM {staging.name} s
            JOIN invoices_payment p ON p.organization_id = %(org)s AND p.source = 'csv'
                AND p.external_id = s.external_id
            WHERE s.invoice_id IS NOT NULL
            ON CONFLICT (payment_id, invoice_id) DO UPDATE SET amount = EXCLUDED.amount
            WHERE invoices_paymentallocation.amount IS DISTINCT FROM EXCLUDED.amount
            """,
            params,
        )
        return removed + cur.rowcount

    def _recalculate(self) -> int:
        """invoice_recalculate in SQL for every touched invoice, writing only real changes.

        The status CASE is status_for_balance (invoices/services/invoices.py); keep them equal.
        """
        cur = self.cursor
        cur.execute(
            f"""
            WITH applied AS (
                SELECT i.id, i.total, i.status,
                       coalesce(sum(pa.amount) FILTER (WHERE p.status = 'succeeded'), 0) AS paid,
                       (max(p.received_at) FILTER (WHERE p.status = 'succeeded')
                            AT TIME ZONE %s)::date AS last_paid
                FROM csv_touched touched
                JOIN invoices_invoice i ON i.id = touched.invoice_id
                LEFT JOIN invoices_paymentallocation pa ON pa.invoice_id = i.id
                LEFT JOIN invoices_payment p ON p.id = pa.payment_id
                GROUP BY i.id
            ), target AS (
                SELECT id, total - paid AS balance,
                       {status_for_balance_sql(paid="paid", total="total", current="status")}
                           AS status,
                       last_paid
                FROM applied
            )
            UPDATE invoices_invoice i SET balance = t.balance, status = t.status,
                paid_date = CASE WHEN t.status = 'paid' THEN coalesce(t.last_paid, i.paid_date) END,
                updated_at = statement_timestamp()
            FROM target t
            WHERE i.id = t.id AND (i.balance, i.status, i.paid_date) IS DISTINCT FROM
                (t.balance, t.status,
                 CASE WHEN t.status = 'paid' THEN coalesce(t.last_paid, i.paid_date) END)
            """,
            [self.organization.time_zone],
        )
        return cur.rowcount


_PAYMENT_DEFAULTS = {"method": "ach", "status": "succeeded"}

LOADERS: dict[str, type[KindLoader]] = {
    "invoices": InvoiceLoader,
    "customers": CustomerLoader,
    "payments": PaymentLoader,
}


def _over_proposed(expr: str) -> str:
    """An update expression (over ``t``, the stored row, and ``EXCLUDED``, the proposed one, as
    in ON CONFLICT) rewritten for the UPDATE ... FROM, where the proposed row is ``x``."""
    return _EXCLUDED.sub(r"x.\1", expr)


_EXCLUDED = re.compile(r"\bEXCLUDED\.(\w+)")


def drop_temp_tables(cursor) -> None:
    cursor.execute(f"DROP TABLE IF EXISTS {', '.join(TEMP_TABLES)}")


__all__ = ["LOADERS", "KindLoader", "Staging", "drop_temp_tables"]
