"""Anomalous payments planted in the demo ledger, with their ground truth kept apart.

Each chunk gets a small share of payments of each kind (``RATES``, per generated payment);
they are appended to the chunk's payments as unallocated cash (no invoice balance moves),
and their kind goes to ``DemoChunk.anomalies``, which ``demo_seed`` loads into
``DemoPaymentAnomaly``: a table only the payment-risk evaluation reads, never the detector.
The generator's own duplicate remittances (refunded days later) are recorded as kind
``duplicate``: the same remittance paid twice is an anomaly too. See docs/demo-data.md.

A separate random stream (``[seed, 7, chunk]``) keeps every other demo row identical to
what the generator made before anomalies existed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from invoices.demo import catalog
from invoices.demo.payments import references
from invoices.demo.spec import DemoSpec

# Planted rows per generated payment, by kind (velocity: bursts, each of 3-5 attempts).
RATES = {
    "amount_outlier": 0.0015,
    "new_method": 0.0015,
    "velocity": 0.0005,
    "overpayment": 0.0015,
    "quick_refund": 0.0015,
    "new_currency": 0.0015,
}
KINDS = (*RATES, "duplicate")
# Processors no demo customer uses: a payment through one is new to the organization too.
UNFAMILIAR_PROCESSORS = ("paypal", "wise", "payoneer", "revolut_business")
HOUR = 3600
DAY = 86400
MIN_HISTORY = 5  # a customer needs this many earlier payments to have a "usual"


def plant_anomalies(
    spec: DemoSpec, index: int, payments: pd.DataFrame, invoices: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the chunk's payments with planted rows appended, and the ground truth
    (columns ``payment`` = chunk-local key, ``kind``)."""
    rng = np.random.default_rng([spec.seed, 7, index])
    truth = [
        pd.DataFrame({"payment": payments.loc[payments["duplicate"], "key"], "kind": "duplicate"})
    ]
    anchors = _anchors(payments, invoices)
    until = int(payments["received_at"].max()) if len(payments) else 0
    rows: list[dict] = []
    for kind, rate in RATES.items():
        count = round(rate * len(payments))
        if count == 0 or anchors.empty:
            continue
        pool = anchors[anchors["cleared"]] if kind == "overpayment" else anchors
        picked = pool.iloc[rng.choice(len(pool), size=min(count, len(pool)), replace=False)]
        for anchor in picked.itertuples(index=False):
            rows.extend(_plant(kind, anchor, rng, until))
    if not rows:
        return payments, pd.concat(truth, ignore_index=True)
    planted = _frame(rows, rng, start=len(payments))
    kind = planted.pop("kind")
    # The first attempt of a burst looks like any payment when it arrives: only the
    # attempts after it are a velocity anomaly.
    first_of_burst = (kind == "velocity") & (planted["retry_of"] < 0)
    truth.append(pd.DataFrame({"payment": planted["key"], "kind": kind})[~first_of_burst])
    combined = pd.concat([payments, planted], ignore_index=True)
    return combined, pd.concat(truth, ignore_index=True)


def _anchors(payments: pd.DataFrame, invoices: pd.DataFrame) -> pd.DataFrame:
    """Succeeded payments of customers with enough history, with the customer's usual
    amount, method and currency, and whether the payment left nothing owed."""
    ok = payments[payments["status"] == "succeeded"].sort_values(["customer", "received_at"])
    rank = ok.groupby("customer").cumcount()
    usual = ok.groupby("customer").agg(
        usual_amount=("amount_cents", "median"),
        largest=("amount_cents", "max"),
        usual_method=("method", lambda m: m.mode().iat[0]),
        methods=("method", lambda m: frozenset(m)),
    )
    anchors = ok[rank >= MIN_HISTORY].join(usual, on="customer")
    owed = _owed_after(ok, invoices)
    anchors = anchors.assign(cleared=owed.reindex(anchors.index).to_numpy() <= 0)
    return anchors.reset_index(drop=True)


def _owed_after(succeeded: pd.DataFrame, invoices: pd.DataFrame) -> pd.Series:
    """What each customer owes right after each succeeded payment: invoiced so far minus
    paid so far (by payment amount, which the generator allocates in full)."""
    issued = pd.DataFrame(
        {
            "customer": invoices["customer"].to_numpy(),
            "at": invoices["issue_date"].to_numpy() * DAY,
            "delta": invoices["total_cents"].to_numpy(),
            "payment": -1,
        }
    )
    paid = pd.DataFrame(
        {
            "customer": succeeded["customer"].to_numpy(),
            "at": succeeded["received_at"].to_numpy(),
            "delta": -succeeded["amount_cents"].to_numpy(),
            "payment": succeeded.index.to_numpy(),
        }
    )
    events = pd.concat([issued, paid]).sort_values(["customer", "at"], kind="stable")
    events["owed"] = events.groupby("customer")["delta"].cumsum()
    after = events[events["payment"] >= 0]
    return pd.Series(after["owed"].to_numpy(), index=after["payment"].to_numpy())


def _plant(kind: str, a, rng: np.random.Generator, until: int) -> list[dict]:
    at = min(int(a.received_at) + int(rng.integers(2 * HOUR, 3 * DAY)), until)
    base = {
        "customer": a.customer,
        "day": at // DAY,
        "received_at": at,
        "currency": a.currency,
        "amount_cents": int(a.usual_amount * rng.uniform(0.7, 1.3)),
        "method": a.usual_method,
        "status": "succeeded",
        "processor": catalog.PROCESSORS[a.usual_method],
        "kind": kind,
    }
    if kind == "amount_outlier":
        # Far outside the customer's range: several times the largest they ever paid.
        return [base | {"amount_cents": int(a.largest * rng.uniform(3, 10))}]
    if kind == "new_method":
        unused = [m for m in ("card", "wire", "check", "ach") if m not in a.methods] or ["other"]
        method = str(rng.choice(unused))
        return [base | {"method": method, "processor": str(rng.choice(UNFAMILIAR_PROCESSORS))}]
    if kind == "overpayment":
        # Everything was just paid; this one is larger than anything the customer owes.
        return [base | {"amount_cents": int(a.amount_cents * rng.uniform(1.0, 1.6))}]
    if kind == "quick_refund":
        return [base | {"status": "refunded", "refunded_at": at + int(rng.integers(HOUR, DAY))}]
    if kind == "new_currency":
        others = [c for c in catalog.USD_PER_UNIT if c != a.currency]
        return [
            base | {"currency": str(rng.choice(others)), "method": "wire", "processor": "swift"}
        ]
    return _burst(base, rng, until)


def _burst(base: dict, rng: np.random.Generator, until: int) -> list[dict]:
    """Card attempts minutes apart, declined until maybe the last (a card-testing pattern)."""
    attempts = int(rng.integers(3, 6))
    start = min(base["received_at"], until - attempts * 15 * 60)
    codes = rng.choice(len(catalog.CARD_FAILURES), size=attempts)
    rows = []
    for i in range(attempts):
        failed = i < attempts - 1 or rng.random() < 0.5
        code, reason, _ = catalog.CARD_FAILURES[codes[i]]
        at = start + i * int(rng.integers(2 * 60, 15 * 60))
        rows.append(
            base
            | {
                "received_at": at,
                "day": at // DAY,
                "method": "card",
                "processor": catalog.PROCESSORS["card"],
                "status": "failed" if failed else "succeeded",
                "failure_code": code if failed else "",
                "failure_reason": reason if failed else "",
                "retry_of": -2 if i else -1,  # -2: the row before (resolved in _frame)
            }
        )
    return rows


def _frame(rows: list[dict], rng: np.random.Generator, *, start: int) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame["key"] = np.arange(start, start + len(frame))
    defaults = {"failure_code": "", "failure_reason": "", "retry_of": -1, "refunded_at": -1}
    for name, value in defaults.items():
        frame[name] = frame[name].fillna(value) if name in frame else value
    retry = frame["retry_of"].to_numpy(dtype=np.int64)
    frame["retry_of"] = np.where(retry == -2, frame["key"] - 1, retry)
    frame["refunded_at"] = frame["refunded_at"].astype(np.int64)
    # References look like any other of the method: nothing visible marks a planted row.
    frame["reference"] = references(rng, frame["method"].to_numpy())
    frame["duplicate"] = False
    return frame
