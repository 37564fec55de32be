"""Payment risk: point-in-time anomaly features for incoming payments, an IsolationForest
per organization over them, a score in [0, 1] and the reasons that drove it.

Pure code (pandas, numpy, scikit-learn; no Django): the owning app loads the payments and
invoices as data frames and calls :func:`payment_risk_features`, :meth:`PaymentRiskModel.fit`
and :meth:`PaymentRiskModel.score`.

Point in time: a payment's features use only what was known when it happened: the
customer's payments received strictly before it, invoices issued up to then, and, for a
refund, the refund itself (a refund is the event that makes the payment look wrong, so a
refunded payment is scored as of its refund). tests/ml/test_payment_risk.py checks that
appending later payments changes no earlier row.

Every feature is 0 for an ordinary payment and grows with how unusual it is, so "set the
feature back to 0 and see how much the score falls" is the attribution: the reasons are
the features whose neutralisation lowers the score most.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest

from ml.artifacts import file_sha256, verify_sha256

FORMAT_VERSION = 1
ARTIFACT_NAME = "payment_risk.npz"
HOUR = 3600
DAY = 86400
HISTORY_WINDOW = 50  # robust amount statistics over the customer's last 50 payments
MIN_HISTORY = 3  # fewer earlier payments than this: no amount z-score
REPEAT_WINDOW = 14 * DAY
REFUND_HORIZON_DAYS = 14.0
RARE_SHARE = 200.0  # a processor under 1/200 of the organization's payments is rare
PROCESSOR_WARMUP = 200  # payments the organization needs before a processor can be "rare"

# What the forest sees. Each is 0 for the bulk of ordinary payments and saturates, so the
# forest isolates the rare and extreme rather than the long tail of ordinary variation.
FEATURES = (
    "amount_z",
    "new_method",
    "new_processor",
    "processor_rarity",
    "new_currency",
    "velocity_1h",
    "failed_1h",
    "over_owed",
    "quick_refund",
    "repeat_amount",
)
Z_ORDINARY = 3.0  # robust z-scores below this are ordinary variation
PAYMENT_COLUMNS = (
    "id",
    "customer",
    "received_at",
    "amount",
    "currency",
    "method",
    "processor",
    "status",
    "refunded_at",
    "allocated",
)
INVOICE_COLUMNS = ("customer", "issued_at", "total")
# Statuses whose money counts as paid when working out what a customer still owes.
PAID_STATUSES = ("succeeded", "pending")


# ---------------------------------------------------------------- features
def payment_risk_features(
    payments: pd.DataFrame,
    invoices: pd.DataFrame | None = None,
    *,
    processor_counts: Mapping[str, int] | None = None,
) -> pd.DataFrame:
    """One row of features per payment (indexed by payment ``id``, in input order).

    ``payments``: PAYMENT_COLUMNS; ``received_at``/``refunded_at`` as UTC epoch seconds
    (``refunded_at`` NaN unless refunded), ``amount`` and ``allocated`` (what the payment
    applied to invoices) as floats. ``invoices``:
    INVOICE_COLUMNS (``issued_at`` epoch seconds) for the same customers; without them
    ``over_owed`` is 0. ``processor_counts``: the organization's payments per processor
    before these (when ``payments`` is one customer's history, not the organization's).
    Also returns the raw values the reasons quote (``usual_amount``, ``owed``,
    ``refund_hours``) and ``amount_z_raw``, the signed robust z-score.
    """
    p = payments.reset_index(drop=True)
    order = np.lexsort((p["id"].to_numpy(), p["received_at"].to_numpy(), p["customer"].to_numpy()))
    s = p.iloc[order].reset_index(drop=True)
    cust = s["customer"].to_numpy()
    at = s["received_at"].to_numpy(dtype=np.int64)
    rank = s.groupby("customer").cumcount().to_numpy()
    out = pd.DataFrame(index=s.index)
    z, usual, highest = _amount_stats(s)
    amount = s["amount"].to_numpy(dtype=float)
    # Only an amount beyond everything the customer paid recently counts: a big payment
    # run inside the customer's range is ordinary.
    out["amount_z"] = np.where(amount > highest, np.clip(z - Z_ORDINARY, 0, 12), 0.0)
    seen = rank > 0  # novelty only means something once there is a history
    new_method = seen & (s.groupby(["customer", "method"]).cumcount().to_numpy() == 0)
    new_processor = seen & (s.groupby(["customer", "processor"]).cumcount().to_numpy() == 0)
    out["new_method"] = new_method * 1.0
    # A new method brings its processor along; only a new processor for a known method
    # (the same card, a different acquirer) adds anything.
    out["new_processor"] = (new_processor & ~new_method) * 1.0
    out["new_currency"] = (seen & (s.groupby(["customer", "currency"]).cumcount() == 0)) * 1.0
    out["processor_rarity"] = (
        _processor_rarity(s)
        if processor_counts is None
        else _processor_rarity_from_counts(s["processor"].to_numpy(), processor_counts)
    )
    key = _customer_clock(cust, at)
    # Velocity counts against the customer's own pace: payments in the hour before beyond
    # the most this customer ever made in an hour (card payers settle invoices one by one).
    hourly = _count_before(key, key, HOUR)
    out["velocity_1h"] = np.clip(hourly - _pace(key, cust, hourly), 0, 5)
    failed = s["status"].to_numpy() == "failed"
    out["failed_1h"] = np.clip(_count_before(key[failed], key, HOUR), 0, 5)
    owed = _owed_before(s, invoices)
    out["over_owed"] = (
        np.clip(np.log1p(amount) - np.log1p(np.maximum(owed, 0.0)), 0, 10)
        if owed is not None
        else 0.0
    )
    refund_hours = (s["refunded_at"].to_numpy(dtype=float) - at) / HOUR
    refunded = (s["status"].to_numpy() == "refunded") & np.isfinite(refund_hours)
    speed = 1.0 - np.clip(refund_hours / 24.0, 0, REFUND_HORIZON_DAYS) / REFUND_HORIZON_DAYS
    out["quick_refund"] = np.where(refunded, speed, 0.0)
    out["repeat_amount"] = _repeat_amount(s)
    out["first_payment"] = (rank == 0).astype(float)
    out["amount_z_raw"] = z  # the plain per-customer robust z-score (the baseline)
    out["usual_amount"] = usual
    out["owed"] = owed if owed is not None else np.nan
    out["refund_hours"] = np.where(refunded, refund_hours, np.nan)
    out.index = s["id"].to_numpy()
    return out.loc[p["id"].to_numpy()]


def payment_risk_features_one(
    history: pd.DataFrame,
    payment_id: int,
    invoices: pd.DataFrame | None = None,
    *,
    processor_counts: Mapping[str, int] | None = None,
) -> pd.DataFrame:
    """The features of one payment from its customer's history, in plain numpy: the same
    values as :func:`payment_risk_features` gives that payment (tests check it), in a
    fraction of the time, for scoring a payment as it arrives. ``history`` holds the
    customer's payments (those after the payment are ignored)."""
    h = history.sort_values(["received_at", "id"], kind="stable")
    ids = h["id"].to_numpy()
    (where,) = np.flatnonzero(ids == payment_id)
    at = h["received_at"].to_numpy(dtype=np.int64)
    t, status = int(at[where]), h["status"].to_numpy()
    amount = h["amount"].to_numpy(dtype=float)
    a = float(amount[where])
    prior = np.arange(where)
    row: dict[str, float] = dict.fromkeys(FEATURES, 0.0)
    recent = np.log(np.clip(amount[prior[-HISTORY_WINDOW:]], 0.01, None))
    z = usual = np.nan
    if recent.size >= MIN_HISTORY:
        median = float(np.median(recent))
        q25, q75 = np.quantile(recent, [0.25, 0.75])
        z = (np.log(max(a, 0.01)) - median) / max((q75 - q25) / 1.349, 0.25)
        usual = float(np.exp(median))
        if a > float(np.exp(recent.max())):
            row["amount_z"] = float(np.clip(z - Z_ORDINARY, 0, 12))
    if where > 0:
        methods = set(h["method"].to_numpy()[prior])
        method, processor = h["method"].iat[where], h["processor"].iat[where]
        row["new_method"] = float(method not in methods)
        row["new_processor"] = float(
            processor not in set(h["processor"].to_numpy()[prior]) and method in methods
        )
        row["new_currency"] = float(h["currency"].iat[where] not in set(h["currency"].iloc[prior]))
    counts = processor_counts if processor_counts is not None else {}
    row["processor_rarity"] = float(
        _processor_rarity_from_counts(np.array([h["processor"].iat[where]]), counts)[0]
    )
    upto = at[: where + 1]
    hourly = np.arange(where + 1) - np.searchsorted(upto, upto - HOUR, side="left")
    # Rows at the same second as a row do not count for it (as in the batch).
    hourly = hourly - (np.arange(where + 1) - np.searchsorted(upto, upto, side="left"))
    earlier = np.flatnonzero(upto[:where] < t - HOUR)
    pace = float(np.max(hourly[: earlier[-1] + 1])) if earlier.size else 0.0
    row["velocity_1h"] = float(np.clip(hourly[where] - pace, 0, 5))
    window = (at[prior] >= t - HOUR) & (at[prior] < t)
    row["failed_1h"] = float(min((window & (status[prior] == "failed")).sum(), 5))
    owed = np.nan
    if invoices is not None:
        billed = (
            invoices["total"]
            .to_numpy(dtype=float)[invoices["issued_at"].to_numpy(dtype=np.int64) <= t]
            .sum()
        )
        counted = np.isin(status[prior], PAID_STATUSES)
        owed = float(billed - h["allocated"].to_numpy(dtype=float)[prior][counted].sum())
        row["over_owed"] = float(np.clip(np.log1p(a) - np.log1p(max(owed, 0.0)), 0, 10))
    refund_hours = (float(h["refunded_at"].iat[where]) - t) / HOUR
    refunded = status[where] == "refunded" and np.isfinite(refund_hours)
    if refunded:
        lag = np.clip(refund_hours / 24.0, 0, REFUND_HORIZON_DAYS)
        row["quick_refund"] = float(1.0 - lag / REFUND_HORIZON_DAYS)
    same = prior[(amount[prior] == a) & (status[prior] != "failed")]
    if same.size and 0 <= t - at[same[-1]] <= REPEAT_WINDOW:
        row["repeat_amount"] = 1.0
    row |= {
        "first_payment": float(where == 0),
        "amount_z_raw": float(z) if np.isfinite(z) else 0.0,
        "usual_amount": usual,
        "owed": owed,
        "refund_hours": refund_hours if refunded else np.nan,
    }
    return pd.DataFrame([row], index=[payment_id])


def _amount_stats(s: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Robust z of log(amount) against the customer's earlier payments (median and IQR of
    the last HISTORY_WINDOW; failed attempts included: they show what the customer pays),
    the usual (median) amount and the highest earlier amount in that window."""
    log_amount = pd.Series(np.log(s["amount"].to_numpy(dtype=float).clip(min=0.01)))
    earlier = log_amount.groupby(s["customer"].to_numpy()).shift()
    grouped = earlier.groupby(s["customer"].to_numpy())
    roll = grouped.rolling(HISTORY_WINDOW, min_periods=MIN_HISTORY)
    median = roll.median().reset_index(level=0, drop=True).sort_index().to_numpy()
    q75 = roll.quantile(0.75).reset_index(level=0, drop=True).sort_index().to_numpy()
    q25 = roll.quantile(0.25).reset_index(level=0, drop=True).sort_index().to_numpy()
    # IQR/1.349 is sigma for a normal; the floor keeps a customer who always pays the same
    # amount from turning a 5% difference into a huge z.
    scale = np.maximum((q75 - q25) / 1.349, 0.25)
    z = np.nan_to_num((log_amount.to_numpy() - median) / scale, nan=0.0)
    highest = roll.max().reset_index(level=0, drop=True).sort_index().to_numpy()
    return z, np.exp(median), np.exp(highest)


def _processor_rarity(s: pd.DataFrame) -> np.ndarray:
    """-log of the processor's share of the organization's earlier payments (smoothed)."""
    by_time = np.lexsort((s["id"].to_numpy(), s["received_at"].to_numpy()))
    t = s.iloc[by_time]
    before = t.groupby("processor").cumcount().to_numpy()
    total = np.arange(len(t))
    rarity = np.empty(len(t))
    rarity[by_time] = np.where(
        total >= PROCESSOR_WARMUP, -np.log((before + 1.0) / (total + 2.0)), 0.0
    )
    # Common processors (over 0.5% of payments so far) are not rare at all.
    return np.clip(rarity - np.log(RARE_SHARE), 0, None)


def _processor_rarity_from_counts(processor: np.ndarray, counts: Mapping[str, int]) -> np.ndarray:
    total = float(sum(counts.values()))
    if total < PROCESSOR_WARMUP:
        return np.zeros(processor.size)
    seen = np.array([counts.get(p, 0) for p in processor], dtype=float)
    return np.clip(-np.log((seen + 1.0) / (total + 2.0)) - np.log(RARE_SHARE), 0, None)


def _customer_clock(cust: np.ndarray, at: np.ndarray) -> np.ndarray:
    """One sortable int64 per (customer, time): customers far apart on the axis."""
    codes = pd.factorize(cust, sort=True)[0].astype(np.int64)
    return codes * (1 << 40) + (at - at.min() if at.size else at)


def _pace(key: np.ndarray, cust: np.ndarray, hourly: np.ndarray) -> np.ndarray:
    """The most payments the customer made within an hour, up to an hour before each row
    (so a burst does not raise its own bar). Rows are in (customer, time) order."""
    running = pd.Series(hourly).groupby(cust).cummax().to_numpy()
    before = np.searchsorted(key, key - HOUR, side="left") - 1
    same = (before >= 0) & (cust[np.maximum(before, 0)] == cust)
    return np.where(same, running[np.maximum(before, 0)], 0.0)


def _count_before(events: np.ndarray, keys: np.ndarray, window: int) -> np.ndarray:
    """For each key, how many events fall in [key - window, key) (same customer)."""
    events = np.sort(events)
    return (
        np.searchsorted(events, keys, side="left")
        - np.searchsorted(events, keys - window, side="left")
    ).astype(float)


def _owed_before(s: pd.DataFrame, invoices: pd.DataFrame | None) -> np.ndarray | None:
    """What the customer owed just before each payment: invoiced so far minus what earlier
    succeeded or pending payments applied to invoices (unapplied cash pays nothing off)."""
    if invoices is None:
        return None
    paid = np.where(s["status"].isin(PAID_STATUSES), s["allocated"].to_numpy(dtype=float), 0.0)
    events = pd.DataFrame(
        {
            "customer": np.concatenate([invoices["customer"].to_numpy(), s["customer"]]),
            "at": np.concatenate(
                [invoices["issued_at"].to_numpy(dtype=np.int64), s["received_at"].to_numpy()]
            ),
            # Invoices first at equal times: an invoice issued at that moment is owed.
            "tie": np.concatenate([np.zeros(len(invoices)), np.ones(len(s))]),
            "delta": np.concatenate([invoices["total"].to_numpy(dtype=float), -paid]),
            "row": np.concatenate([np.full(len(invoices), -1), np.arange(len(s))]),
        }
    ).sort_values(["customer", "at", "tie", "row"], kind="stable")
    owed_after = events.groupby("customer")["delta"].cumsum().to_numpy()
    rows = events["row"].to_numpy()
    mine = rows >= 0
    owed = np.empty(len(s))
    owed[rows[mine]] = owed_after[mine] - events["delta"].to_numpy()[mine]
    return owed


def _repeat_amount(s: pd.DataFrame) -> np.ndarray:
    """1 when the customer paid exactly this amount within the last 14 days and that
    payment did not fail (a retry after a failure is not a repeat)."""
    ok = s["status"].to_numpy() != "failed"
    at = s["received_at"].to_numpy(dtype=float)
    group = s.groupby(["customer", "amount"], sort=False).ngroup().to_numpy()
    # Rows are in (customer, time) order, so within a group they are in time order too.
    ok_at = pd.Series(np.where(ok, at, np.nan))
    last_ok = ok_at.groupby(group).shift().groupby(group).ffill().to_numpy()
    gap = at - last_ok
    return ((gap >= 0) & (gap <= REPEAT_WINDOW)).astype(float)


# ---------------------------------------------------------------- reasons
@dataclass(frozen=True)
class Reason:
    code: str
    text: str
    weight: float  # how much the score falls when this feature is set back to ordinary

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "text": self.text, "weight": round(self.weight, 4)}


def _money(value: float) -> str:
    return f"{value:,.2f}"


def reason_text(feature: str, row: pd.Series) -> tuple[str, str]:
    """(reason code, plain words) for a feature that drove a payment's score."""
    usual = row.get("usual_amount")
    words = {
        "amount_z": (
            "amount_outlier",
            f"Amount far above this customer's usual payments (typically about "
            f"{_money(usual)}) and above any of their recent ones"
            if usual == usual and usual
            else "Amount far outside this customer's usual range",
        ),
        "new_method": ("new_method", "A payment method this customer has never used before"),
        "new_processor": ("new_processor", "A processor this customer has never paid through"),
        "processor_rarity": (
            "rare_processor",
            "A processor the organization rarely or never receives payments through",
        ),
        "new_currency": ("new_currency", "A currency this customer has never paid in"),
        "velocity_1h": (
            "velocity",
            f"{int(row['velocity_1h'])} other payments from this customer in the hour before",
        ),
        "failed_1h": (
            "failed_retries",
            f"{int(row['failed_1h'])} failed attempts from this customer in the hour before",
        ),
        "over_owed": (
            "exceeds_balance",
            "Larger than everything the customer owed at the time"
            + (
                f" ({_money(max(row['owed'], 0))} open)"
                if row.get("owed") == row.get("owed")
                else ""
            ),
        ),
        "quick_refund": (
            "quick_refund",
            f"Refunded {row['refund_hours']:.0f} hours after it was received"
            if row.get("refund_hours") == row.get("refund_hours")
            else "Refunded soon after it was received",
        ),
        "repeat_amount": (
            "repeat_amount",
            "Same amount as another payment from this customer in the last 14 days",
        ),
    }
    return words[feature]


# ---------------------------------------------------------------- the model
@dataclass
class ScoredPayments:
    scores: np.ndarray  # in [0, 1]
    reasons: list[list[Reason]]


class PaymentRiskModel:
    """Per-organization detector, fitted on the organization's own payment history.

    Two parts, added as surprisals (-log of a tail probability under the training history):
    - per feature, how rare a value at least this extreme is (each feature is already a
      per-customer robust statistic or novelty); the terms add up, so a feature's term is
      exactly its share of the score, which is what the reasons quote;
    - an IsolationForest over all features, for combinations no single feature shows
      (its term is weighted by ``forest_weight``).
    The total maps to [0, 1] as total / (total + c), with c the total at the
    ``calibration_quantile`` of the history, so 0.5 flags that share of ordinary history.
    The forest is flattened into arrays: one payment scores in well under a millisecond
    (sklearn loops over trees in Python) and the artifact is plain numpy, no pickle.
    """

    kind = "payment_risk"

    def __init__(
        self,
        arrays: dict[str, np.ndarray],
        *,
        feature_columns: list[str],
        params: dict[str, Any],
        info: dict[str, Any] | None = None,
    ):
        self.arrays = arrays
        self.feature_columns = list(feature_columns)
        self.params = params
        self.info = info or {}

    @classmethod
    def fit(
        cls,
        X: pd.DataFrame,
        *,
        n_estimators: int = 100,
        max_samples: int = 256,
        forest_weight: float = 0.25,
        calibration_quantile: float = 0.985,
        seed: int = 0,
    ) -> PaymentRiskModel:
        if len(X) < 20:
            raise ValueError(f"need at least 20 payments to train a risk model, got {len(X)}")
        A = _binned(X[list(FEATURES)].to_numpy(dtype=float), list(FEATURES))
        forest = IsolationForest(
            n_estimators=n_estimators, max_samples=min(max_samples, len(A)), random_state=seed
        ).fit(A)
        arrays = _flatten(forest)
        arrays["tails"], arrays["tail_counts"] = _tail_tables(A)
        raw = _raw_scores(arrays, A)  # one pass of the forest over the history serves twice
        arrays["forest_tail"], arrays["forest_tail_count"] = _tail_tables(raw[:, None])
        arrays["rows"] = np.array([len(A)])
        arrays["forest_weight"] = np.array([forest_weight])
        arrays["scale"] = np.array([1.0])
        model = cls(arrays, feature_columns=list(FEATURES), params={}, info={"rows": len(A)})
        total = model._terms(A, raw=raw).sum(axis=1)
        arrays["scale"] = np.array([max(float(np.quantile(total, calibration_quantile)), 1e-6)])
        model.params = {
            "n_estimators": n_estimators,
            "max_samples": int(min(max_samples, len(A))),
            "forest_weight": forest_weight,
            "calibration_quantile": calibration_quantile,
            "seed": seed,
        }
        return model

    def _terms(self, A: np.ndarray, raw: np.ndarray | None = None) -> np.ndarray:
        """Surprisal per feature, then the forest's, as columns."""
        a = self.arrays
        rows = int(a["rows"][0])
        features = _surprisal(a["tails"], a["tail_counts"], rows, A)
        raw = _raw_scores(a, A) if raw is None else raw
        forest = _surprisal(a["forest_tail"], a["forest_tail_count"], rows, raw[:, None])
        return np.hstack([features, forest * a["forest_weight"][0]])

    def forest_scores(self, X: pd.DataFrame) -> np.ndarray:
        """The IsolationForest's own anomaly score (sklearn's ``-score_samples``)."""
        return _raw_scores(self.arrays, X[self.feature_columns].to_numpy(dtype=float))

    def score(
        self, X: pd.DataFrame, *, explain_above: float = 0.0, max_reasons: int = 3
    ) -> ScoredPayments:
        """Scores for every row; reasons for rows scoring at least ``explain_above``."""
        A = _binned(X[self.feature_columns].to_numpy(dtype=float), self.feature_columns)
        terms = self._terms(A)
        total = terms.sum(axis=1)
        scores = total / (total + self.arrays["scale"][0])
        reasons: list[list[Reason]] = [[] for _ in range(len(terms))]
        for i in np.flatnonzero(scores >= explain_above):
            reasons[i] = self._explain(terms[i], X.iloc[i], max_reasons)
        return ScoredPayments(scores=scores, reasons=reasons)

    def _explain(self, terms: np.ndarray, row: pd.Series, limit: int) -> list[Reason]:
        total = terms.sum()
        if total <= 0:
            return []
        reasons: dict[str, Reason] = {}
        for j in np.argsort(-terms):
            # A term that is a small part of the score did not drive it.
            if terms[j] < max(0.5, 0.15 * total):
                break
            if j == len(self.feature_columns):
                if terms[j] < 0.4 * total:  # the forest seconds what the features say
                    continue
                code, text = (
                    "unusual_combination",
                    ("An unusual combination of amount, timing and method for this organization"),
                )
            else:
                code, text = reason_text(self.feature_columns[j], row)
            if code not in reasons:  # two amount features say the same thing
                reasons[code] = Reason(code, text, float(terms[j] / total))
        return list(reasons.values())[:limit]

    # ------------------------------------------------------------ persistence
    def metadata(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "kind": self.kind,
            "feature_columns": self.feature_columns,
            "params": self.params,
            "info": self.info,
        }

    def save(self, directory: Path) -> dict[str, str]:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / ARTIFACT_NAME
        with open(path, "wb") as fh:
            np.savez_compressed(fh, metadata=np.array(json.dumps(self.metadata())), **self.arrays)
        (directory / "metadata.json").write_text(json.dumps(self.metadata(), indent=2))
        return {"path": str(path), "sha256": file_sha256(path)}

    @classmethod
    def load(cls, path: Path, sha256: str) -> PaymentRiskModel:
        verify_sha256(Path(path), sha256)
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["metadata"]))
            arrays = {name: data[name] for name in data.files if name != "metadata"}
        if meta.get("kind") != cls.kind:
            raise ValueError(f"{path} is not a PayPredict payment-risk model")
        return cls(
            arrays,
            feature_columns=meta["feature_columns"],
            params=meta["params"],
            info=meta.get("info", {}),
        )


# ---------------------------------------------------------------- tail probabilities
TAIL_POINTS = 2048
# Continuous features are compared in coarse steps: the most extreme ordinary value of a
# history must not look unique (and so as surprising as something never seen).
STEPS = {"amount_z": 1.0, "processor_rarity": 1.0, "over_owed": 1.0, "quick_refund": 0.25}


def _binned(A: np.ndarray, columns: list[str]) -> np.ndarray:
    out = A.copy()
    for j, name in enumerate(columns):
        step = STEPS.get(name)
        if step:
            out[:, j] = np.where(A[:, j] > 0, np.floor(A[:, j] / step) * step + step / 2, 0.0)
    return out


def _tail_tables(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column: up to TAIL_POINTS sorted values above the column's ordinary level (its
    median), and how many training rows they stand for."""
    columns = []
    counts = np.zeros(A.shape[1])
    for j in range(A.shape[1]):
        tail = np.sort(A[:, j][A[:, j] > np.median(A[:, j])])
        counts[j] = tail.size
        if tail.size > TAIL_POINTS:
            tail = tail[np.linspace(0, tail.size - 1, TAIL_POINTS).astype(int)]
        columns.append(tail)
    table = np.full((A.shape[1], max((c.size for c in columns), default=0)), np.inf)
    for j, tail in enumerate(columns):
        table[j, : tail.size] = tail
    return table, counts


def _surprisal(table: np.ndarray, counts: np.ndarray, rows: int, A: np.ndarray) -> np.ndarray:
    """-log P(value at least this extreme) per cell, 0 at or below the ordinary level;
    add-one smoothing, so a value never seen in training gets -log(1 / (rows + 2))."""
    out = np.zeros(A.shape)
    for j in range(A.shape[1]):
        tail = table[j][np.isfinite(table[j])]
        if counts[j] == 0:
            above = A[:, j] > 0
            out[:, j] = np.where(above, np.log(rows + 2.0), 0.0)
            continue
        ordinary = A[:, j] < tail[0]
        share = (tail.size - np.searchsorted(tail, A[:, j], side="left")) / max(tail.size, 1)
        at_least = share * counts[j]
        value = -np.log((at_least + 1.0) / (rows + 2.0))
        out[:, j] = np.where(ordinary, 0.0, value)
    return out


# ---------------------------------------------------------------- forest as arrays
def _average_path_length(n: np.ndarray) -> np.ndarray:
    """c(n) of the IsolationForest paper (as sklearn computes it)."""
    n = np.asarray(n, dtype=float)
    out = np.zeros_like(n)
    out[n == 2] = 1.0
    big = n > 2
    out[big] = 2.0 * (np.log(n[big] - 1.0) + np.euler_gamma) - 2.0 * (n[big] - 1.0) / n[big]
    return out


def _flatten(forest: IsolationForest) -> dict[str, np.ndarray]:
    """Stack every tree into (trees, nodes) arrays: feature (in X's columns; -1 at a leaf),
    threshold, children, and at leaves the path length depth + c(samples)."""
    trees = [e.tree_ for e in forest.estimators_]
    width = max(t.node_count for t in trees)
    shape = (len(trees), width)
    feature = np.full(shape, -1, dtype=np.int32)
    threshold = np.zeros(shape)
    left = np.zeros(shape, dtype=np.int32)
    right = np.zeros(shape, dtype=np.int32)
    path = np.zeros(shape)
    for k, (tree, columns) in enumerate(zip(trees, forest.estimators_features_, strict=True)):
        n = tree.node_count
        leaf = tree.children_left[:n] == -1
        feature[k, :n] = np.where(leaf, -1, np.asarray(columns)[np.maximum(tree.feature[:n], 0)])
        threshold[k, :n] = tree.threshold[:n]
        left[k, :n] = np.where(leaf, 0, tree.children_left[:n])
        right[k, :n] = np.where(leaf, 0, tree.children_right[:n])
        depth = _node_depths(tree.children_left[:n], tree.children_right[:n])
        path[k, :n] = depth + _average_path_length(tree.n_node_samples[:n])
    return {
        "feature": feature,
        "threshold": threshold,
        "left": left,
        "right": right,
        "path": path,
        "normalizer": np.array([_average_path_length(np.array([forest.max_samples_]))[0]]),
    }


def _node_depths(children_left: np.ndarray, children_right: np.ndarray) -> np.ndarray:
    depth = np.zeros(children_left.size)
    for node in range(children_left.size):  # parents come before children in sklearn trees
        for child in (children_left[node], children_right[node]):
            if child != -1:
                depth[child] = depth[node] + 1
    return depth


def _raw_scores(arrays: dict[str, np.ndarray], A: np.ndarray, chunk: int = 20_000) -> np.ndarray:
    if len(A) > chunk:
        return np.concatenate(
            [_raw_scores(arrays, A[i : i + chunk]) for i in range(0, len(A), chunk)]
        )
    feature, threshold = arrays["feature"], arrays["threshold"]
    trees = np.arange(feature.shape[0])[:, None]
    node = np.zeros((feature.shape[0], len(A)), dtype=np.int32)
    rows = np.arange(len(A))[None, :]
    while True:
        f = feature[trees, node]
        inner = f >= 0
        if not inner.any():
            break
        go_left = A[rows, np.maximum(f, 0)] <= threshold[trees, node]
        child = np.where(go_left, arrays["left"][trees, node], arrays["right"][trees, node])
        node = np.where(inner, child, node)
    depth = arrays["path"][trees, node].mean(axis=0)
    return 2.0 ** (-depth / arrays["normalizer"][0])
