"""Benchmark: payment risk on 1,000,000 payments, and one payment as it arrives.

    .venv/bin/python -m bench.payment_risk [--customers 14000] [--invoices 1400000] [--seed 7]
                                           [--single 1000]

The payments are the demo generator's (``invoices.demo``: remittances, card/ACH failures and
retries, duplicates, refunds, plus the planted anomalies), built in memory, so the figures
measure the ml pipeline, not the database: point-in-time features for every payment,
``PaymentRiskModel.fit`` and batch ``score`` (with reasons for every payment scoring at least
0.3), then single-payment latency (``payment_risk_features_one`` over the customer's history
+ ``score``) for ``--single`` random payments. Also prints AP / share flagged on the planted
anomalies. Results go to bench/results/payment_risk.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def _frames(args):
    import numpy as np
    import pandas as pd

    from invoices.demo import DemoSpec, generate

    spec = DemoSpec(
        customers=args.customers,
        invoices=args.invoices,
        seed=args.seed,
        as_of=dt.date(2026, 11, 26),
        time_zone="America/New_York",
    )
    payments, invoices, truth, offset = [], [], [], 0
    for chunk in generate(spec):
        p = chunk.payments
        applied = chunk.allocations.groupby("payment")["amount_cents"].sum()
        payments.append(
            pd.DataFrame(
                {
                    "id": p["key"].to_numpy() + offset,
                    "customer": p["customer"].to_numpy(),
                    "received_at": p["received_at"].to_numpy(),
                    "amount": p["amount_cents"].to_numpy() / 100,
                    "currency": p["currency"].to_numpy(),
                    "method": p["method"].to_numpy(),
                    "processor": p["processor"].to_numpy(),
                    "status": p["status"].to_numpy(),
                    "refunded_at": np.where(p["refunded_at"] >= 0, p["refunded_at"], np.nan),
                    "allocated": p["key"].map(applied).fillna(0).to_numpy() / 100,
                }
            )
        )
        inv = chunk.invoices
        invoices.append(
            pd.DataFrame(
                {
                    "customer": inv["customer"].to_numpy(),
                    "issued_at": inv["issue_date"].to_numpy() * 86400,
                    "total": inv["total_cents"].to_numpy() / 100,
                }
            )
        )
        truth.append(chunk.anomalies["payment"].to_numpy() + offset)
        offset += len(p)
    return (
        pd.concat(payments, ignore_index=True),
        pd.concat(invoices, ignore_index=True),
        np.concatenate(truth),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=14_000)
    parser.add_argument("--invoices", type=int, default=1_400_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--single", type=int, default=1000)
    args = parser.parse_args()

    import numpy as np
    from sklearn.metrics import average_precision_score

    from ml.payment_risk import PaymentRiskModel, payment_risk_features, payment_risk_features_one

    timings: dict[str, float] = {}
    t = time.perf_counter()
    payments, invoices, truth = _frames(args)
    timings["generate"] = time.perf_counter() - t

    t = time.perf_counter()
    X = payment_risk_features(payments, invoices)
    timings["features"] = time.perf_counter() - t
    t = time.perf_counter()
    model = PaymentRiskModel.fit(X)
    timings["fit"] = time.perf_counter() - t
    t = time.perf_counter()
    scored = model.score(X, explain_above=0.3)
    timings["score_with_reasons"] = time.perf_counter() - t
    timings["batch_total"] = timings["features"] + timings["fit"] + timings["score_with_reasons"]

    labels = X.index.isin(truth)
    quality = {
        "average_precision": round(float(average_precision_score(labels, scored.scores)), 4),
        "share_flagged": round(float((scored.scores >= 0.5).mean()), 4),
        "planted": int(labels.sum()),
    }

    # One payment as it arrives: its customer's history (as the selector loads it) in, score
    # and reasons out.
    rng = np.random.default_rng(args.seed)
    by_customer = {c: frame for c, frame in payments.groupby("customer")}
    invoices_by_customer = {c: frame for c, frame in invoices.groupby("customer")}
    counts = payments["processor"].value_counts().to_dict()
    latencies = []
    for row in rng.choice(len(payments), size=args.single, replace=False):
        customer, payment_id = payments["customer"].iat[row], int(payments["id"].iat[row])
        history = by_customer[customer]
        history = history[history["received_at"] <= payments["received_at"].iat[row]]
        started = time.perf_counter()
        one = payment_risk_features_one(
            history, payment_id, invoices_by_customer.get(customer), processor_counts=counts
        )
        model.score(one, explain_above=0.0)
        latencies.append(time.perf_counter() - started)
    ms = np.array(latencies) * 1000
    single = {
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p95_ms": round(float(np.percentile(ms, 95)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "median_history_rows": int(
            np.median([len(by_customer[c]) for c in payments["customer"].iloc[:1000]])
        ),
    }
    result = {
        "payments": len(payments),
        "invoices": len(invoices),
        "customers": args.customers,
        "seconds": {k: round(v, 1) for k, v in timings.items()},
        "payments_per_second_batch": round(len(payments) / timings["batch_total"]),
        "single_payment": single,
        "quality": quality,
        "load_average": [round(x, 1) for x in os.getloadavg()],
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "payment_risk.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
