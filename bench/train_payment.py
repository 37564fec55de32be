"""Benchmark: train the payment model on 1,000,000 invoices.

    .venv/bin/python -m bench.train_payment [--invoices 1000000] [--customers 10000] [--seed 7]
                                            [--tune]

The ledger frames are synthesized in memory by ``ml.synthetic.synthetic_ledger`` (customers
with their own delay and spread, varied terms, amount and month-end effects, failed payments,
open invoices at the end), so the figure measures the ml pipeline, not the database. It
times: point-in-time features for every invoice, labels, and ``PaymentModel.fit`` (both
boosters, calibration and interval tuning on the latest 20%, refit on all rows). By default
the AFT distribution/scale is fixed (normal, 0.3), as in the production refit of
``payment_model_train``; ``--tune`` runs the full validation search instead.
Results go to bench/results/train_payment.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--tune", action="store_true")
    args = parser.parse_args()

    import pandas as pd

    from ml.features import features_at_issue, training_labels
    from ml.payment_model import PaymentModel
    from ml.synthetic import synthetic_ledger

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    invoices, payments = synthetic_ledger(
        customers=args.customers, invoices=args.invoices, seed=args.seed, days=1095
    )
    timings["generate"] = time.perf_counter() - t0

    t = time.perf_counter()
    X = features_at_issue(invoices, payments)
    timings["features"] = time.perf_counter() - t
    as_of = pd.Timestamp(invoices["issue_date"].max()).date() + dt.timedelta(days=1)
    t = time.perf_counter()
    labels = training_labels(invoices, as_of)
    timings["labels"] = time.perf_counter() - t

    params = None if args.tune else {"distributions": ["normal"], "sigmas": [0.3]}
    t = time.perf_counter()
    model = PaymentModel.fit(X, labels, params=params, seed=args.seed)
    timings["fit"] = time.perf_counter() - t
    timings["train_total"] = timings["features"] + timings["labels"] + timings["fit"]

    result = {
        "invoices": len(invoices),
        "payments": len(payments),
        "open_at_as_of": int(invoices["paid_date"].isna().sum()),
        "customers": args.customers,
        "tune": args.tune,
        "cpu_count": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
        "model": {
            "distribution": model.distribution,
            "sigma": model.sigma,
            "spread": model.spread,
            "calibration": model.calibrator.kind,
            **model.info,
        },
        "seconds": {k: round(v, 2) for k, v in timings.items()},
    }
    for name, secs in result["seconds"].items():
        print(f"{name:12} {secs:8.2f} s")
    print(f"trained on {len(invoices):,} invoices in {timings['train_total']:.1f} s")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "train_payment.json").write_text(json.dumps(result, indent=2, default=str))
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
