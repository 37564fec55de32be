"""Benchmark (a): ``import_csv`` of 1,000,000 invoices versus a bare COPY of the same file.

    .venv/bin/python -m bench.import_csv [--rows 1000000] [--customers 2000] [--keep-db]

Runs against the PostgreSQL server of DATABASE_URL (or the embedded one) in a separate database,
``paypredict_bench_import``, dropped and re-created each run. In one run it:

1. writes a deterministic invoices CSV (seeded; ~2,000 customers; paid, open and partly paid
   invoices; our own column names, so no mapping file is needed) to a temporary directory;
2. times ``csv_import`` end to end into a fresh organization (read, check every row, COPY into
   staging, create customers, upsert, commit);
3. times a plain ``COPY ... FROM STDIN (FORMAT csv)`` of the same bytes into a bare table of
   text columns (no types, no constraints, no indexes): the floor for moving the file in;
4. times a second ``csv_import`` of the same file (idempotent: nothing may change);

and prints seconds, rows/s and the ratio, and writes them to bench/results/import_csv.json.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BENCH_DB = "paypredict_bench_import"
RESULTS = Path(__file__).resolve().parent / "results"
COLUMNS = [
    "external_id",
    "number",
    "customer",
    "customer_name",
    "issue_date",
    "due_date",
    "currency",
    "total",
    "amount_paid",
    "disputed",
    "po_number",
    "paid_date",
]


def write_csv(path: Path, *, rows: int, customers: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    start = dt.date(2023, 1, 1)
    names = [f"C{n:05d}" for n in range(customers)]
    currencies = ["USD"] * 8 + ["EUR", "GBP"]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for n in range(rows):
            customer = rng.randrange(customers)
            issue = start + dt.timedelta(days=rng.randrange(730))
            terms = (15, 30, 30, 45, 60)[customer % 5]
            due = issue + dt.timedelta(days=terms)
            total = rng.randrange(1_000, 5_000_000) / 100
            kind = rng.random()
            amount_paid = ""
            paid_date = ""
            if kind < 0.7:
                paid_date = (due + dt.timedelta(days=rng.randrange(-10, 40))).isoformat()
                if paid_date < issue.isoformat():
                    paid_date = issue.isoformat()
            elif kind < 0.8:
                amount_paid = f"{total / 2:.2f}"
            writer.writerow(
                [
                    f"BENCH-{n:07d}",
                    f"INV-{n:07d}",
                    names[customer],
                    f"Customer {names[customer]} Ltd",
                    issue.isoformat(),
                    due.isoformat(),
                    currencies[customer % len(currencies)],
                    f"{total:.2f}",
                    amount_paid,
                    "yes" if rng.random() < 0.05 else "no",
                    f"PO-{rng.randrange(100000):05d}" if rng.random() < 0.3 else "",
                    paid_date,
                ]
            )


def _server_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        from paypredict_project import embedded

        url = embedded.database_url()
    return url


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def recreate_database(url: str) -> str:
    import psycopg

    with psycopg.connect(_with_db(url, "postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    return _with_db(url, BENCH_DB)


def bare_copy(url: str, path: Path) -> tuple[float, int]:
    import psycopg

    columns = ", ".join(f"{name} text" for name in COLUMNS)
    with psycopg.connect(url) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_bare_copy")
        conn.execute(f"CREATE TABLE bench_bare_copy ({columns})")
        conn.commit()
        started = time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy("COPY bench_bare_copy FROM STDIN (FORMAT csv, HEADER true)") as copy,
            path.open("rb") as handle,
        ):
            while block := handle.read(1 << 20):
                copy.write(block)
        conn.commit()
        elapsed = time.perf_counter() - started
        (count,) = conn.execute("SELECT count(*) FROM bench_bare_copy").fetchone()
        conn.execute("DROP TABLE bench_bare_copy")
        conn.commit()
    return elapsed, count


def table_floor(path: Path, organization) -> float:
    """The same file loaded into our real tables with no checks at all: COPY into a typed temp
    table, one INSERT of the customers, one plain INSERT of the invoices, commit. This is the cost
    the schema itself imposes (10 indexes, foreign keys and check constraints on the invoice
    table), shown beside the import so the import's own overhead can be read off."""
    from django.db import connection, transaction

    from invoices.imports.loader import _defaults_sql
    from invoices.models import Customer, Invoice

    customer_cols = {
        "organization_id": "%(org)s",
        "source": "'csv'",
        "external_id": "customer",
        "name": "min(customer_name)",
        "currency": "min(currency)",
    }
    invoice_cols = {
        "organization_id": "%(org)s",
        "customer_id": "c.id",
        "number": "f.number",
        "source": "'csv'",
        "external_id": "f.external_id",
        "issue_date": "f.issue_date",
        "due_date": "f.due_date",
        "currency": "f.currency",
        "subtotal": "f.total",
        "tax_total": "0",
        "total": "f.total",
        "balance": "CASE WHEN f.paid_date IS NOT NULL THEN 0 "
        "ELSE f.total - coalesce(f.amount_paid, 0) END",
        "status": "CASE WHEN f.paid_date IS NOT NULL THEN 'paid' "
        "WHEN f.amount_paid IS NOT NULL THEN 'partially_paid' ELSE 'open' END",
        "disputed": "f.disputed",
        "po_number": "coalesce(f.po_number, '')",
        "payment_terms_days": "30",
        "paid_date": "f.paid_date",
        "attributes": "'{}'::jsonb",
    }
    params = {"org": organization.id}
    for model, cols in ((Customer, customer_cols), (Invoice, invoice_cols)):
        for column, value in _defaults_sql(
            model, [*cols, "code", "created_at", "updated_at"]
        ).items():
            params[f"{model.__name__}_{column}"] = value
            cols[column] = f"%({model.__name__}_{column})s"
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as django_cursor:
        cursor = django_cursor.cursor
        cursor.execute(
            "CREATE TEMP TABLE floor_stage (external_id text, number text, customer text, "
            "customer_name text, issue_date date, due_date date, currency text, total numeric, "
            "amount_paid numeric, disputed boolean, po_number text, paid_date date) "
            "ON COMMIT DROP"
        )
        with (
            cursor.copy("COPY floor_stage FROM STDIN (FORMAT csv, HEADER true)") as copy,
            path.open("rb") as handle,
        ):
            while block := handle.read(1 << 20):
                copy.write(block)
        cursor.execute(
            "INSERT INTO invoices_customer "
            f"(code, created_at, updated_at, {', '.join(customer_cols)}) "
            f"SELECT gen_random_uuid(), now(), now(), {', '.join(customer_cols.values())} "
            "FROM floor_stage GROUP BY customer",
            params,
        )
        cursor.execute(
            "INSERT INTO invoices_invoice "
            f"(code, created_at, updated_at, {', '.join(invoice_cols)}) "
            f"SELECT gen_random_uuid(), now(), now(), {', '.join(invoice_cols.values())} "
            "FROM floor_stage f JOIN invoices_customer c ON c.organization_id = %(org)s "
            "AND c.source = 'csv' AND c.external_id = f.customer",
            params,
        )
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=2_000)
    parser.add_argument("--keep-db", action="store_true", help="do not drop the bench database")
    args = parser.parse_args()

    server = _server_url()
    bench_url = recreate_database(server)
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paypredict_project.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from invoices.imports import csv_import
    from invoices.models import Invoice
    from paypredict_project.tenancy.models import Organization

    # Only the ledger's tables (and what they depend on) are needed here.
    call_command("migrate", "invoices", verbosity=0)
    organization = Organization.objects.create(slug="bench-import", name="Bench import")

    with tempfile.TemporaryDirectory(prefix="bench_import_") as tmp:
        path = Path(tmp) / "invoices.csv"
        started = time.perf_counter()
        write_csv(path, rows=args.rows, customers=args.customers)
        generated = time.perf_counter() - started
        size_mb = path.stat().st_size / 1e6
        print(f"generated {args.rows:,} rows ({size_mb:.0f} MB) in {generated:.1f} s", flush=True)

        started = time.perf_counter()
        result = csv_import(organization=organization, kind="invoices", file=path)
        import_seconds = time.perf_counter() - started
        print(
            f"import_csv: {import_seconds:.2f} s  created={result.created:,} "
            f"errors={result.error_count} customers={result.extra.get('customers_created')}",
            flush=True,
        )
        connection.close()

        copy_seconds, copied = bare_copy(bench_url, path)
        print(f"bare COPY:  {copy_seconds:.2f} s  rows={copied:,}", flush=True)

        floor_org = Organization.objects.create(slug="bench-floor", name="Bench floor")
        floor_seconds = table_floor(path, floor_org)
        print(f"floor (no checks, plain INSERT into our tables): {floor_seconds:.2f} s", flush=True)

        started = time.perf_counter()
        again = csv_import(organization=organization, kind="invoices", file=path)
        reimport_seconds = time.perf_counter() - started
        print(
            f"re-import:  {reimport_seconds:.2f} s  created={again.created} "
            f"updated={again.updated} unchanged={again.unchanged:,}",
            flush=True,
        )
        stored = Invoice.objects.filter(organization=organization).count()

    ok = (
        result.error_count == 0
        and result.created == args.rows
        and stored == args.rows
        and copied == args.rows
        and (again.created, again.updated) == (0, 0)
    )
    figures = {
        "rows": args.rows,
        "customers": args.customers,
        "file_mb": round(size_mb, 1),
        "import_seconds": round(import_seconds, 2),
        "import_rows_per_second": round(args.rows / import_seconds),
        "bare_copy_seconds": round(copy_seconds, 2),
        "bare_copy_rows_per_second": round(args.rows / copy_seconds),
        "ratio_import_to_copy": round(import_seconds / copy_seconds, 2),
        "table_floor_seconds": round(floor_seconds, 2),
        "ratio_floor_to_copy": round(floor_seconds / copy_seconds, 2),
        "ratio_import_to_floor": round(import_seconds / floor_seconds, 2),
        "import_phases_seconds": {
            **result.timings,
            "commit_and_rest": round(import_seconds - sum(result.timings.values()), 2),
        },
        "reimport_unchanged_seconds": round(reimport_seconds, 2),
        "reimport_phases_seconds": again.timings,
        "ratio_reimport_to_copy": round(reimport_seconds / copy_seconds, 2),
        "load_average_1m_at_end": round(os.getloadavg()[0], 1),
        "cpus": os.cpu_count(),
        "postgres": connection.cursor().connection.info.server_version,
        "correct": ok,
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    print(json.dumps(figures, indent=2))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "import_csv.json").write_text(json.dumps(figures, indent=2) + "\n")
    connection.close()
    if not args.keep_db:
        import psycopg

        with psycopg.connect(_with_db(server, "postgres"), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
