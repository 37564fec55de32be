"""Benchmark (b): ``seed_demo`` of 1,000,000 invoices into a fresh organization.

    .venv/bin/python -m bench.seed_demo [--invoices 1000000] [--customers 10000] [--seed 7]
                                        [--as-of 2026-11-26] [--drop-db]

Runs against the PostgreSQL server of DATABASE_URL (or the embedded one) in its own database,
``paypredict_bench_seed``, dropped, re-created and migrated at the start of each run. It times
the ``seed_demo`` command end to end (generate, COPY every table, deferred foreign-key checks
at commit), counts what landed, and prints seconds and rows/s; the figures also go to
bench/results/seed_demo.json. The database is kept afterwards (other benchmarks can point at
a 1M-invoice organization) unless --drop-db.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BENCH_DB = "paypredict_bench_seed"
RESULTS = Path(__file__).resolve().parent / "results"
TABLES = (
    "invoices_customer",
    "invoices_invoice",
    "invoices_invoiceline",
    "invoices_payment",
    "invoices_paymentallocation",
    "invoices_exchangerate",
)


def _server_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        from paypredict_project import embedded

        url = embedded.database_url()
    return url


def _with_db(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _recreate_database(url: str, name: str, *, drop_only: bool = False) -> str:
    import psycopg

    with psycopg.connect(_with_db(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')
    return _with_db(url, name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-of", default="2026-11-26", help="pinned so runs are comparable")
    parser.add_argument("--drop-db", action="store_true", help="drop the bench database after")
    parser.add_argument(
        "--database",
        default=BENCH_DB,
        help="database to (re)create; other benchmarks copy the default one, so pick another "
        "name to measure without disturbing them",
    )
    args = parser.parse_args()

    server = _server_url()
    os.environ["DATABASE_URL"] = _recreate_database(server, args.database)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paypredict_project.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from paypredict_project.tenancy.services import organization_create

    call_command("migrate", verbosity=0)
    organization_create(
        slug="bench-seed", name="Bench seed Co", base_currency="USD", time_zone="America/New_York"
    )
    started = time.perf_counter()
    call_command(
        "seed_demo",
        org="bench-seed",
        customers=args.customers,
        invoices=args.invoices,
        seed=args.seed,
        as_of=args.as_of,
        verbosity=2,  # progress per chunk, printed as it goes
    )
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        counts = {}
        for table in TABLES:
            cursor.execute(f"SELECT count(*) FROM {table}")
            counts[table] = cursor.fetchone()[0]
    rows = sum(counts.values())
    result = {
        "invoices": counts["invoices_invoice"],
        "customers": args.customers,
        "rows": counts,
        "seconds": round(seconds, 1),
        "rows_per_second": round(rows / seconds),
        "invoices_per_second": round(counts["invoices_invoice"] / seconds),
        "command": " ".join(["python -m bench.seed_demo", *sys.argv[1:]]),
    }
    print(json.dumps(result, indent=2))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "seed_demo.json").write_text(json.dumps(result, indent=2) + "\n")
    if args.drop_db:
        connection.close()
        _recreate_database(server, args.database, drop_only=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
