"""Benchmark: dashboard page latency on a large organization (server side, in process).

    .venv/bin/python -m bench.dashboard_pages [--invoices 1000000] [--customers 10000]
                                             [--repeat 20] [--seed 7] [--reuse] [--drop-db]
                                             [--template paypredict_bench_seed --org bench-seed]

Runs against the PostgreSQL server of DATABASE_URL (or the embedded one) in its own database,
``paypredict_bench_dashboard``: re-created, migrated and filled by ``seed_demo`` unless --reuse
finds it already seeded with the requested number of invoices. ``--template DB --org SLUG``
copies an already seeded database instead (e.g. the one bench.seed_demo leaves behind), which
saves the seeding time and never writes to the original. Then it renders each dashboard
page ``--repeat`` times through Django's test client as a collector (full middleware, session,
templates and SQL; no HTTP socket or browser) and prints p50 / p95 / max milliseconds and the
number of SQL queries per page. Figures also go to bench/results/dashboard_pages.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BENCH_DB = "paypredict_bench_dashboard"  # --database overrides it
ORG_SLUG = "bench-dashboard"
RESULTS = Path(__file__).resolve().parent / "results"


def _server_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        from paypredict_project import embedded

        url = embedded.database_url()
    return url


def _with_db(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _database(
    url: str,
    *,
    recreate: bool,
    drop_only: bool = False,
    template: str | None = None,
    name: str = BENCH_DB,
) -> str:
    import psycopg
    from psycopg import sql

    with psycopg.connect(_with_db(url, "postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if recreate or drop_only:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            exists = None
        if not exists and not drop_only:
            create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if template:
                create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
            conn.execute(create)
    return _with_db(url, name)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--reuse", action="store_true", help="keep a seeded bench database")
    parser.add_argument("--drop-db", action="store_true", help="drop the bench database after")
    parser.add_argument("--template", help="copy this already seeded database instead")
    parser.add_argument("--org", default=ORG_SLUG, help="organization slug to read")
    parser.add_argument("--database", default=BENCH_DB, help="bench database name")
    parser.add_argument("--only", help="run only the pages whose label contains this")
    args = parser.parse_args()

    server = _server_url()
    os.environ["DATABASE_URL"] = _database(
        server, recreate=not args.reuse, template=args.template, name=args.database
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paypredict_project.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from invoices.analytics import dashboard_summary_invalidate
    from invoices.models import Customer, Invoice
    from paypredict_project.tenancy.models import Organization, Role
    from paypredict_project.tenancy.services import membership_create, organization_create

    call_command("migrate", verbosity=0)
    organization = Organization.objects.filter(slug=args.org).first()
    seeded = organization and Invoice.objects.filter(organization=organization).count()
    if args.template and not seeded:
        print(f"{args.template} has no invoices for organization {args.org!r}", file=sys.stderr)
        return 1
    if seeded != args.invoices and not args.template:
        if organization:
            Organization.objects.filter(pk=organization.pk).delete()
        organization = organization_create(slug=args.org, name="Bench Dashboard")
        started = time.perf_counter()
        call_command(
            "seed_demo",
            org=args.org,
            customers=args.customers,
            invoices=args.invoices,
            seed=args.seed,
            verbosity=0,
        )
        print(f"seed_demo {args.invoices:,} invoices: {time.perf_counter() - started:.0f} s")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    membership = membership_create(
        organization=organization, email="bench-collector@example.com", role=Role.COLLECTOR
    )
    client = Client()
    client.force_login(membership.user)
    customer = Customer.objects.filter(organization=organization).order_by("id").first()
    word = customer.name.split()[0]
    # A rare invoice-number fragment (one invoice) and a PO-number fragment: the slow searches.
    rare = Invoice.objects.filter(organization=organization).order_by("id")[500_000 // 2 :][:1]
    number_fragment = (rare[0].number[-6:] if rare else "000001").lower()
    po = (
        Invoice.objects.filter(organization=organization)
        .exclude(po_number="")
        .values_list("po_number", flat=True)
        .first()
    )
    po_fragment = po[-5:] if po else "PO-1"
    htmx = {"HTTP_HX_REQUEST": "true"}
    worklist = "/invoices/?status=open&status=partially_paid&sort=due_date"
    pages = [
        ("home dashboard, recomputed", "/", {"cold": True}),
        ("home dashboard, cached", "/", {}),
        ("worklist, default (open)", worklist, {}),
        ("worklist, default, htmx", worklist, htmx),
        ("worklist, all statuses", "/invoices/?sort=due_date", htmx),
        ("worklist, overdue by balance", "/invoices/?overdue=true&sort=-balance", htmx),
        ("worklist, search", f"/invoices/?q={word}", htmx),
        ("worklist, search customer, open", f"{worklist}&q={word}", htmx),
        ("worklist, search rare number", f"/invoices/?q={number_fragment}", htmx),
        ("worklist, search PO number", f"/invoices/?q={po_fragment}", htmx),
        ("worklist, page 50 of 100/page", f"{worklist}&per_page=100&page=50", htmx),
        ("customer list", "/customers/", {}),
        ("customer profile", f"/customers/{customer.code}/", {}),
        ("payments, failed", "/payments/?status=failed", {}),
    ]
    if args.only:
        pages = [page for page in pages if args.only in page[0]]
    load_before = os.getloadavg()
    results = []
    print(f"\n{'page':34} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'queries':>8}")
    for label, url, headers in pages:
        timings = []
        cold = headers.pop("cold", False)
        for _ in range(args.repeat):
            if cold:  # what the first visit after a ledger change costs
                dashboard_summary_invalidate(organization_id=organization.id)
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(url, **headers)
                timings.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                print(f"{label}: HTTP {response.status_code}", file=sys.stderr)
                return 1
        row = {
            "page": label,
            "url": url,
            "p50_ms": round(statistics.median(timings), 1),
            "p95_ms": round(_percentile(timings, 0.95), 1),
            "max_ms": round(max(timings), 1),
            "queries": len(queries),
        }
        results.append(row)
        print(
            f"{label:34} {row['p50_ms']:>8} {row['p95_ms']:>8} {row['max_ms']:>8} "
            f"{row['queries']:>8}"
        )
    load_after = os.getloadavg()
    print(f"load average before {load_before}, after {load_after}")
    invoices = Invoice.objects.filter(organization=organization).count()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "dashboard_pages.json").write_text(
        json.dumps(
            {
                "invoices": invoices,
                "repeat": args.repeat,
                "load_average": {"before": load_before, "after": load_after},
                "pages": results,
            },
            indent=2,
        )
    )
    connection.close()
    if args.drop_db:
        _database(server, recreate=False, drop_only=True, name=args.database)
    return 0


if __name__ == "__main__":
    sys.exit(main())
