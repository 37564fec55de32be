"""Benchmark: score 1,000,000 open invoices end to end, beside XGBoost's bare predict.

    .venv/bin/python -m bench.score_invoices [--open 1000000] [--history 300000]
                                             [--customers 20000] [--chunk-size 100000]

Runs against the PostgreSQL server of DATABASE_URL (or the embedded one) in its own database,
``paypredict_bench_score``, dropped, re-created and migrated at the start of each run and
filled with SQL ``generate_series`` (customers with their own lateness, a paid history and the
open invoices). A payment model is fitted on the paid history (fixed hyper-parameters: this
measures scoring, not tuning) and registered as active. Then, in the same process:

- end to end: ``invoices_score(force=True)`` = load the ledger (two SQL statements), as-of
  features, conditional predictions, explanations (XGBoost ``pred_contribs``), risk levels,
  COPY + upsert of every prediction and its history row;
- bare: ``booster.predict`` on the already prepared DMatrix of the same open invoices.

Prints both, their ratio and the per-phase timings; writes bench/results/score_invoices.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BENCH_DB = "paypredict_bench_score"
RESULTS = Path(__file__).resolve().parent / "results"
AS_OF = "2026-11-26"


def _server_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        from paypredict_project import embedded

        url = embedded.database_url()
    return url


def _with_db(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _recreate_database(url: str) -> str:
    import psycopg

    with psycopg.connect(_with_db(url, "postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    return _with_db(url, BENCH_DB)


CUSTOMERS_SQL = """
INSERT INTO invoices_customer
    (code, created_at, updated_at, source, external_id, name, email, phone, contacts, currency,
     payment_terms_days, industry, country, reminder_channel, reminder_contact,
     reminder_language, do_not_remind, notes, attributes, risk_level, organization_id)
SELECT gen_random_uuid(), now(), now(), 'demo', '', 'Bench customer ' || g, '', '', '[]',
       'USD', 30, '', '', 'email', '', 'en', false, '', '{}', '', %(org)s
FROM generate_series(1, %(n)s::bigint) g
"""

# Each customer has a habitual delay (its id modulo 45 days, minus 8) plus noise.
HISTORY_SQL = """
INSERT INTO invoices_invoice
    (code, created_at, updated_at, number, source, external_id, issue_date, due_date, currency,
     subtotal, tax_total, total, balance, status, disputed, po_number, attributes, paid_date,
     customer_id, organization_id)
SELECT gen_random_uuid(), now(), now(), 'H-' || g, 'demo', '', d.issue, d.issue + 30, 'USD',
       d.total, 0, d.total, 0, 'paid', false, '', '{}',
       d.issue + 30 + GREATEST(-30, (c.rank %% 45) - 8 + ((g * 7919) %% 21) - 10)::int,
       c.id, %(org)s
FROM generate_series(1, %(n)s::bigint) g
JOIN LATERAL (
    SELECT (DATE %(as_of)s - 120 - ((g * 104729) %% 700)::int)::date AS issue,
           (100 + ((g * 2654435761) %% 900000) / 100.0)::numeric(18, 2) AS total
) d ON true
JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS rank FROM invoices_customer) c
  ON c.rank = g %% %(customers)s
"""

OPEN_SQL = """
INSERT INTO invoices_invoice
    (code, created_at, updated_at, number, source, external_id, issue_date, due_date, currency,
     subtotal, tax_total, total, balance, status, disputed, po_number, attributes, paid_date,
     customer_id, organization_id)
SELECT gen_random_uuid(), now(), now(), 'O-' || g, 'demo', '', d.issue, d.issue + 30, 'USD',
       d.total, 0, d.total, d.total, 'open', false, '', '{}', NULL, c.id, %(org)s
FROM generate_series(1, %(n)s::bigint) g
JOIN LATERAL (
    SELECT (DATE %(as_of)s - ((g * 31) %% 110)::int)::date AS issue,
           (100 + ((g * 2654435761) %% 900000) / 100.0)::numeric(18, 2) AS total
) d ON true
JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS rank FROM invoices_customer) c
  ON c.rank = g %% %(customers)s
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--open", type=int, default=1_000_000)
    parser.add_argument("--history", type=int, default=300_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--chunk-size", type=int, default=100_000)
    parser.add_argument("--train-rows", type=int, default=100_000)
    args = parser.parse_args()

    server = _server_url()
    os.environ["DATABASE_URL"] = _recreate_database(server)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paypredict_project.settings")
    model_dir = Path(os.environ.setdefault("MODEL_DIR", "/tmp/paypredict_bench_score_models"))
    import django

    django.setup()
    import datetime as dt

    import numpy as np
    import xgboost as xgb
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from ml.features import features_as_of, features_at_issue, training_labels
    from ml.payment_model import PaymentModel
    from ml.registry import promote_if_better, register_candidate
    from paypredict_project.tenancy.models import Organization
    from predictions.models import Prediction
    from predictions.selectors import ledger_frames
    from predictions.services import scoring

    call_command("migrate", verbosity=0)
    org = Organization.objects.create(slug="bench", name="Bench", base_currency="USD")
    as_of = dt.date.fromisoformat(AS_OF)
    # Pin "today" so the bench is comparable from one day to the next.
    fixed_now = timezone.make_aware(dt.datetime(2026, 11, 26, 12, 0), dt.UTC)
    timezone.now = lambda: fixed_now  # the bench process only

    t = time.perf_counter()
    params = {"org": org.pk, "customers": args.customers, "as_of": AS_OF}
    with connection.cursor() as cursor:
        cursor.execute(CUSTOMERS_SQL, {**params, "n": args.customers})
        cursor.execute(HISTORY_SQL, {**params, "n": args.history})
        cursor.execute(OPEN_SQL, {**params, "n": args.open})
        cursor.execute("ANALYZE")
    fill_s = time.perf_counter() - t
    print(
        f"filled {args.customers:,} customers, {args.history:,} paid and {args.open:,} open "
        f"invoices in {fill_s:.1f}s",
        flush=True,
    )

    t = time.perf_counter()
    invoices, payments = ledger_frames(organization=org)
    paid = invoices[invoices["status"] == "paid"]
    sample = paid.sample(n=min(args.train_rows, len(paid)), random_state=0)
    features = features_at_issue(invoices, payments).loc[sample["invoice_id"].to_numpy()]
    labels = training_labels(sample, as_of)
    model = PaymentModel.fit(
        features.loc[labels.index],
        labels,
        params={
            "distributions": ["normal"],
            "sigmas": [0.35],
            "max_rounds": 150,
            "max_depth": 6,
            "learning_rate": 0.15,
            "calibration": "platt",
            "refit_all": False,
        },
    )
    version = register_candidate(
        organization=org,
        model=model,
        metrics={"model": {}},
        rows={"train": len(labels), "test": 0},
    )
    promote_if_better(version)
    train_s = time.perf_counter() - t
    trees = len(model.booster.get_dump())
    print(f"trained a {trees}-tree model on {len(labels):,} paid invoices in {train_s:.1f}s")

    t = time.perf_counter()
    result = scoring.invoices_score(organization=org, chunk_size=args.chunk_size, force=True)
    end_to_end = time.perf_counter() - t
    written = Prediction.objects.filter(organization=org).count()

    # Bare predict on the prepared matrix of the same open invoices.
    open_ids = invoices.loc[invoices["status"] == "open", "invoice_id"].to_numpy()
    X = features_as_of(invoices, payments, as_of, open_ids)
    matrix = xgb.DMatrix(X[model.feature_columns].to_numpy(dtype=np.float32), missing=np.nan)
    t = time.perf_counter()
    model.booster.predict(matrix, output_margin=True)
    bare = time.perf_counter() - t
    t = time.perf_counter()
    model.booster.predict(matrix, pred_contribs=True)
    contribs = time.perf_counter() - t

    report = {
        "open_invoices": result.open_invoices,
        "scored": result.scored,
        "predictions_written": written,
        "history_invoices": args.history,
        "customers": args.customers,
        "chunk_size": args.chunk_size,
        "trees": trees,
        "end_to_end_seconds": round(end_to_end, 2),
        "end_to_end_rows_per_second": round(result.scored / end_to_end),
        "bare_predict_seconds": round(bare, 3),
        "bare_pred_contribs_seconds": round(contribs, 2),
        "ratio_end_to_end_over_bare_predict": round(end_to_end / bare, 1),
        "phases": {k: round(v, 2) for k, v in result.seconds.items()},
        "cpus": os.cpu_count(),
    }
    print(json.dumps(report, indent=2))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "score_invoices.json").write_text(json.dumps(report, indent=2) + "\n")
    del model_dir
    return 0 if written == result.open_invoices else 1


if __name__ == "__main__":
    sys.exit(main())
