"""Benchmark: a full QuickBooks sync of 10,000 invoices (with lines) and their payments from
the local fake server, then an idempotent re-run.

    .venv/bin/python -m bench.integrations_sync [--invoices N] [--customers N] [--page-size N]

Runs against the PostgreSQL server of DATABASE_URL (or the embedded one) in a separate database,
``paypredict_bench_integrations``, dropped and re-created each run. The fake QuickBooks runs in
this process on loopback (tests/fakes/quickbooks_server.py, the same wire format the tests use).
Prints seconds, requests, rows written per second, and writes bench/results/integrations_sync.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

from bench.import_csv import _server_url, _with_db

BENCH_DB = "paypredict_bench_integrations"
RESULTS = Path(__file__).resolve().parent / "results"


def recreate_database(url: str) -> str:
    import psycopg

    with psycopg.connect(_with_db(url, "postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    return _with_db(url, BENCH_DB)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--page-size", type=int, default=1000)
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = recreate_database(_server_url())
    os.environ["INTEGRATIONS_PAGE_SIZE"] = str(args.page_size)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paypredict_project.settings")
    from cryptography.fernet import Fernet

    os.environ["FIELD_ENCRYPTION_KEY"] = Fernet.generate_key().decode()
    import django

    django.setup()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    from django.conf import settings
    from django.core.management import call_command

    from integrations.services import connection_connect_refresh_token, connection_sync
    from invoices.models import Invoice, InvoiceLine, Payment, PaymentAllocation
    from paypredict_project.tenancy.models import Organization
    from tests.fakes.quickbooks_server import FakeQuickBooks, populate_quickbooks

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    fake = FakeQuickBooks()
    populate_quickbooks(fake, customers=args.customers, invoices=args.invoices)
    fake.start()
    print(f"fake book built in {time.perf_counter() - started:.1f} s", flush=True)
    settings.QUICKBOOKS_CLIENT_ID = fake.oauth.client_id
    settings.QUICKBOOKS_CLIENT_SECRET = fake.oauth.client_secret
    settings.QUICKBOOKS_API_BASE_URL = fake.url
    settings.QUICKBOOKS_OAUTH_TOKEN_URL = f"{fake.url}/oauth2/v1/tokens/bearer"
    organization = Organization.objects.create(slug="bench", name="Bench")
    connection = connection_connect_refresh_token(
        organization=organization,
        provider="quickbooks",
        account_id=fake.realm,
        refresh_token=fake.oauth.refresh_token,
    )

    started = time.perf_counter()
    run = connection_sync(connection=connection)
    full_s = time.perf_counter() - started
    rows = {
        "customers": args.customers,
        "invoices": Invoice.objects.count(),
        "invoice_lines": InvoiceLine.objects.count(),
        "payments": Payment.objects.count(),
        "allocations": PaymentAllocation.objects.count(),
    }
    written = sum(rows.values())
    started = time.perf_counter()
    rerun = connection_sync(connection=connection)
    rerun_s = time.perf_counter() - started
    fake.stop()
    result = {
        "invoices": args.invoices,
        "page_size": args.page_size,
        "full_sync": {
            "status": run.status,
            "seconds": round(full_s, 1),
            "requests": run.requests,
            "pages": run.pages,
            "rows_written": rows,
            "rows_per_second": round(written / full_s),
            "invoices_per_second": round(rows["invoices"] / full_s),
            "errors": run.error_count,
        },
        "rerun": {
            "status": rerun.status,
            "seconds": round(rerun_s, 1),
            "requests": rerun.requests,
            "created_or_updated": sum(c["created"] + c["updated"] for c in rerun.counts.values()),
        },
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "integrations_sync.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result))
    return 0 if run.status == "succeeded" and rows["invoices"] == args.invoices else 1


if __name__ == "__main__":
    sys.exit(main())
