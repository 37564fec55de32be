"""Benchmark (c): invoice list API latency on a 1,000,000-invoice organization.

    .venv/bin/python -m bench.api_list [--invoices 1000000] [--requests 2000]
        [--concurrency 16] [--workers 2] [--rebuild]

Works in its own database, ``paypredict_bench_api``, on the PostgreSQL server of
DATABASE_URL (or the embedded one): migrates it and, unless an organization with
``--invoices`` invoices is already there, loads one in SQL (INSERT ... SELECT
generate_series: 2,000 customers, the invoices with one line each, realistic status mix
over two years), then ANALYZEs.

Then it:
1. EXPLAINs (ANALYZE, BUFFERS) the exact invoice query each variant makes, captured from a
   real request, and records the plan's access path and that no COUNT(*) ran;
2. serves the app with uvicorn (``--workers`` processes) on a free 127.0.0.1 port, with a
   session cookie of an org admin;
3. sends ``--requests`` GETs from ``--concurrency`` threads (httpx), spread evenly over the
   variants below, and reports p50/p95/p99 per variant and overall.

Prints one JSON object on the last line and writes it to bench/results/api_list.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BENCH_DB = "paypredict_bench_api"
ORG_SLUG = "bench-1m"
RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parent.parent
LIST = "/api/v1/invoices"


def _server_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        from paypredict_project import embedded

        url = embedded.database_url()
    return url


def _with_db(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _ensure_database(url: str, *, rebuild: bool) -> str:
    import psycopg

    with psycopg.connect(_with_db(url, "postgres"), autocommit=True) as conn:
        if rebuild:
            conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone()
        if not exists:
            conn.execute(f"CREATE DATABASE {BENCH_DB}")
    return _with_db(url, BENCH_DB)


# Status mix: the newest 8% of invoices are still open (a fifth partly paid); of the older
# ones 2% are void, 1% written off, 4% open and overdue, 2% partly paid, the rest paid.
LOAD_SQL = """
WITH c AS (
    SELECT array_agg(id ORDER BY id) AS ids FROM invoices_customer WHERE organization_id = %(org)s
),
g AS (
    SELECT n,
           date '2024-11-26' + (n * 730 / %(count)s)::int AS issue,
           round((40 + (n * 7919 %% 200000) / 10.0)::numeric, 2) AS total,
           CASE
               WHEN n > %(count)s * 0.92 THEN
                   CASE WHEN n %% 5 = 0 THEN 'partially_paid' ELSE 'open' END
               WHEN n %% 100 < 2 THEN 'void'
               WHEN n %% 100 = 2 THEN 'written_off'
               WHEN n %% 100 < 7 THEN 'open'
               WHEN n %% 100 < 9 THEN 'partially_paid'
               ELSE 'paid'
           END AS status
    FROM generate_series(1::bigint, %(count)s) AS n
)
INSERT INTO invoices_invoice (
    code, organization_id, created_at, updated_at, customer_id, number, source, external_id,
    issue_date, due_date, currency, subtotal, tax_total, total, balance, status, disputed,
    po_number, payment_terms_days, paid_date, attributes
)
SELECT gen_random_uuid(), %(org)s,
       timestamptz '2024-11-26 00:00+00' + g.n * interval '63 seconds',
       timestamptz '2024-11-26 00:00+00' + g.n * interval '63 seconds',
       c.ids[1 + g.n %% array_length(c.ids, 1)],
       'B-' || lpad(g.n::text, 7, '0'), 'demo', '',
       g.issue, g.issue + 30, 'USD', g.total, 0, g.total,
       CASE g.status
           WHEN 'paid' THEN 0
           WHEN 'partially_paid' THEN round(g.total / 2, 2)
           ELSE g.total
       END,
       g.status, g.n %% 41 = 0, '', 30,
       CASE WHEN g.status = 'paid' THEN g.issue + (g.n %% 60)::int END,
       '{}'
FROM g, c
"""

CUSTOMERS_SQL = """
INSERT INTO invoices_customer (
    code, organization_id, created_at, updated_at, source, external_id, name, email, phone,
    contacts, currency, payment_terms_days, industry, country, reminder_channel,
    reminder_contact, reminder_language, do_not_remind, notes, attributes, risk_level
)
SELECT gen_random_uuid(), %(org)s, now(), now(), 'demo', '',
       'Bench Customer ' || lpad(n::text, 5, '0'), 'ap' || n || '@bench.example', '',
       '[]', 'USD', 30, 'Manufacturing', 'US', 'email', '', 'en', false, '', '{}', ''
FROM generate_series(1, %(count)s) AS n
"""

LINES_SQL = """
INSERT INTO invoices_invoiceline (invoice_id, position, description, quantity, unit_price,
                                  amount, tax)
SELECT id, 1, 'Bench services', 1, total, total, 0
FROM invoices_invoice WHERE organization_id = %(org)s
"""


def _ensure_org(invoices: int, customers: int):
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from invoices.models import Invoice
    from paypredict_project.tenancy.models import Membership, Organization, Role

    org, _ = Organization.objects.get_or_create(
        slug=ORG_SLUG, defaults={"name": "Bench 1M", "base_currency": "USD"}
    )
    user, created = get_user_model().objects.get_or_create(
        username="bench-admin@bench.example", defaults={"email": "bench-admin@bench.example"}
    )
    if created:
        user.set_password("bench")
        user.save()
    Membership.objects.get_or_create(user=user, organization=org, defaults={"role": Role.ADMIN})
    have = Invoice.objects.filter(organization=org).count()
    load_seconds = None
    if have != invoices:
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM invoices_invoiceline WHERE invoice_id IN "
                "(SELECT id FROM invoices_invoice WHERE organization_id = %s)",
                [org.id],
            )
            cursor.execute("DELETE FROM invoices_invoice WHERE organization_id = %s", [org.id])
            cursor.execute("DELETE FROM invoices_customer WHERE organization_id = %s", [org.id])
            cursor.execute(CUSTOMERS_SQL, {"org": org.id, "count": customers})
            cursor.execute(LOAD_SQL, {"org": org.id, "count": invoices})
            cursor.execute(LINES_SQL, {"org": org.id})
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE invoices_customer, invoices_invoice, invoices_invoiceline")
        load_seconds = round(time.perf_counter() - started, 1)
        print(f"loaded {invoices:,} invoices in {load_seconds} s", file=sys.stderr)
    return org, user, load_seconds


def _variants(org) -> dict[str, str]:
    from invoices.models import Customer

    customer = Customer.objects.filter(organization=org).order_by("name")[17]
    return {
        "default (-issue_date)": LIST,
        "status=open, ordering=due_date": f"{LIST}?status=open&ordering=due_date",
        "overdue=true, ordering=due_date": f"{LIST}?overdue=true&ordering=due_date",
        "ordering=-due_date": f"{LIST}?ordering=-due_date",
        "ordering=-total": f"{LIST}?ordering=-total",
        "ordering=number": f"{LIST}?ordering=number",
        "customer=<id>": f"{LIST}?customer={customer.code}",
        "disputed=true, amount_min=1000": f"{LIST}?disputed=true&amount_min=1000",
    }


def _explain(user, variants: dict[str, str]) -> tuple[dict, dict[str, str]]:
    """Run each variant once in-process, EXPLAIN its invoice query; collect page-2 links."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(user)
    plans, page_two = {}, {}
    for name, url in variants.items():
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200, (url, response.content[:300])
        body = response.json()
        if body["next"]:
            page_two[f"{name} page 2"] = body["next"].replace("http://testserver", "")
        sqls = [q["sql"] for q in captured.captured_queries]
        counts = [sql for sql in sqls if "COUNT(" in sql.upper()]
        main = next(
            sql for sql in sqls if 'FROM "invoices_invoice"' in sql and "LIMIT" in sql.upper()
        )
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + main)
            plan = [row[0] for row in cursor.fetchall()]
        plans[name] = {
            "count_queries": len(counts),
            "queries": len(sqls),
            "plan": plan,
        }
    # Page 2 of a few variants, through the same keyset condition.
    for name, url in list(page_two.items())[:3]:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200
        main = next(
            q["sql"]
            for q in captured.captured_queries
            if 'FROM "invoices_invoice"' in q["sql"] and "LIMIT" in q["sql"].upper()
        )
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + main)
            plans[name] = {
                "count_queries": sum(
                    "COUNT(" in q["sql"].upper() for q in captured.captured_queries
                ),
                "queries": len(captured.captured_queries),
                "plan": [row[0] for row in cursor.fetchall()],
            }
    return plans, page_two


def _session_cookie(user) -> str:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def _uvicorn(workers: int, database_url: str):
    import httpx

    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        # The throttle still runs (one Redis round trip per request) but must not cut the run.
        "API_THROTTLE_USER": "10000000/minute",
        "DATABASE_POOL_MAX": os.environ.get("DATABASE_POOL_MAX", "16"),
        "LOG_LEVEL": "WARNING",
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "paypredict_project.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code in (200, 503):
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not come up")
            time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _load(base: str, cookie: str, urls: dict[str, str], requests: int, concurrency: int):
    import httpx

    plan = [name for _ in range(requests // len(urls) + 1) for name in urls][:requests]
    random.Random(7).shuffle(plan)
    local = threading.local()
    timings: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    lock = threading.Lock()

    def client() -> httpx.Client:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=base, cookies={"sessionid": cookie}, timeout=60)
        return local.client

    def one(name: str) -> None:
        started = time.perf_counter()
        response = client().get(urls[name])
        elapsed = time.perf_counter() - started
        ok = response.status_code == 200 and "results" in response.json()
        with lock:
            if ok:
                timings[name].append(elapsed * 1000)
            else:
                errors[f"{name}: {response.status_code}"] += 1

    # Warm-up: every variant a few times (connection pools, plan caches).
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, [name for name in urls for _ in range(3)]))
    timings.clear()
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, plan))
    wall = time.perf_counter() - started
    return timings, dict(errors), wall


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))], 1)

    return {
        "n": len(ordered),
        "p50_ms": pct(50),
        "p95_ms": pct(95),
        "p99_ms": pct(99),
        "mean_ms": round(statistics.fmean(ordered), 1),
    }


def _access_path(plan: list[str]) -> str:
    nodes = [
        line.strip().lstrip("-> ").split("  (")[0]
        for line in plan
        if "Scan" in line or "Sort" in line
    ]
    return "; ".join(dict.fromkeys(nodes))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=2_000)
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--rebuild", action="store_true", help="drop and reload the database")
    args = parser.parse_args()

    database_url = _ensure_database(_server_url(), rebuild=args.rebuild)
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paypredict_project.settings")
    import django

    django.setup()
    import logging

    from django.core.management import call_command

    logging.getLogger("httpx").setLevel(logging.WARNING)

    call_command("migrate", verbosity=0)
    org, user, load_seconds = _ensure_org(args.invoices, args.customers)
    variants = _variants(org)
    plans, page_two = _explain(user, variants)
    urls = {**variants, **page_two}
    cookie = _session_cookie(user)

    load_before = os.getloadavg()[0]
    with _uvicorn(args.workers, database_url) as base:
        # One client, one request at a time: the latency without queueing, for reference.
        single, _, _ = _load(base, cookie, urls, len(urls) * 10, 1)
        timings, errors, wall = _load(base, cookie, urls, args.requests, args.concurrency)
    load_after = os.getloadavg()[0]

    every = [value for values in timings.values() for value in values]
    result = {
        "benchmark": "api_list",
        "invoices": args.invoices,
        "requests": len(every),
        "concurrency": args.concurrency,
        "uvicorn_workers": args.workers,
        "cpus": os.cpu_count(),
        "load_seconds": load_seconds,
        "throughput_rps": round(len(every) / wall, 1),
        # Other processes on the machine compete for the same CPUs: recorded, not controlled.
        "load_average_1m": [round(load_before, 1), round(load_after, 1)],
        "sequential": _percentiles([v for values in single.values() for v in values]),
        "overall": _percentiles(every),
        "variants": {name: _percentiles(values) for name, values in timings.items()},
        "errors": errors,
        "plans": {
            name: {
                "access_path": _access_path(info["plan"]),
                "execution": next(
                    (line for line in info["plan"] if line.startswith("Execution Time")), ""
                ),
                "count_queries": info["count_queries"],
                "queries_per_request": info["queries"],
            }
            for name, info in plans.items()
        },
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "api_list.json").write_text(json.dumps(result, indent=2))
    (RESULTS / "api_list_plans.txt").write_text(
        "\n\n".join(f"== {name}\n" + "\n".join(info["plan"]) for name, info in plans.items())
    )
    print(f"\n{'variant':42} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}", file=sys.stderr)
    for name, stats in sorted(result["variants"].items()):
        print(
            f"{name:42} {stats['n']:>5} {stats['p50_ms']:>8} {stats['p95_ms']:>8} "
            f"{stats['p99_ms']:>8}",
            file=sys.stderr,
        )
    overall = result["overall"]
    print(
        f"{'overall':42} {overall['n']:>5} {overall['p50_ms']:>8} {overall['p95_ms']:>8} "
        f"{overall['p99_ms']:>8}",
        file=sys.stderr,
    )
    sequential = result["sequential"]
    print(
        f"{'sequential (concurrency 1)':42} {sequential['n']:>5} {sequential['p50_ms']:>8} "
        f"{sequential['p95_ms']:>8} {sequential['p99_ms']:>8}",
        file=sys.stderr,
    )
    print(json.dumps(result))
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
