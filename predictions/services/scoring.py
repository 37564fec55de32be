"""Batch scoring of open invoices: features, prediction, explanation, risk level, bulk write.

One call loads the organization's ledger once (``ledger_frames``), builds the as-of
features of its open invoices, predicts in chunks and writes each chunk with COPY into a
temporary table followed by one ``INSERT ... ON CONFLICT DO UPDATE`` (and one history
insert of the rows that moved). Nothing here issues a query per invoice.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.utils import timezone

from invoices.analytics import organization_today as analytics_organization_today
from invoices.models import OPEN_STATUSES
from ml.features import FEATURE_COLUMNS, features_as_of
from ml.registry import get_active, load_active_model
from paypredict_project.tenancy.models import Organization
from predictions.models import Prediction, RiskThresholds
from predictions.selectors import ledger_frames
from predictions.services.explanations import explain_rows_json

logger = logging.getLogger(__name__)

OPEN_STATUS_VALUES = tuple(str(s) for s in OPEN_STATUSES)
# An invoice is "at risk" when it is not paid this many days after its due date (see
# at_risk_horizon).
AT_RISK_GRACE_DAYS = 30
# Bumped when what a stored prediction holds changes, so unchanged-looking rows are
# rewritten once by the next run instead of being skipped by their fingerprint.
SCORING_REVISION = 3
# A rescoring is kept in the history only when it moved at least this much.
HISTORY_MIN_P_CHANGE = 0.05
HISTORY_MIN_DAYS_CHANGE = 3


class NoActiveModel(Exception):
    def __init__(self, organization: Organization):
        super().__init__(
            f"organization {organization.slug!r} has no active payment model: "
            f"run `manage.py train_payment_model --org {organization.slug}` first"
        )


@dataclass
class ScoreResult:
    organization: str
    model_version: str
    as_of: dt.date
    open_invoices: int = 0
    scored: int = 0
    skipped_unchanged: int = 0
    removed_stale: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "organization": self.organization,
            "model_version": self.model_version,
            "as_of": self.as_of.isoformat(),
            "open_invoices": self.open_invoices,
            "scored": self.scored,
            "skipped_unchanged": self.skipped_unchanged,
            "removed_stale": self.removed_stale,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
        }


def organization_today(organization: Organization) -> dt.date:
    """Positional-argument spelling of ``invoices.analytics.organization_today``."""
    return analytics_organization_today(organization=organization)


def risk_thresholds_get(*, organization: Organization) -> RiskThresholds:
    thresholds, _ = RiskThresholds.objects.get_or_create(organization=organization)
    return thresholds


def at_risk_horizon(due_days: np.ndarray, as_of_day: np.int64) -> np.ndarray:
    """The day by which an unpaid invoice counts as AT RISK: 30 days after its due date,
    and once it is past due, 30 days after the scoring day (so the grade never jumps to
    certainty just because the clock ran; it asks "will this money come in within a
    month?"). Day numbers since 1970."""
    return np.maximum(np.asarray(due_days, dtype=np.int64), as_of_day) + AT_RISK_GRACE_DAYS


def risk_levels(probabilities: np.ndarray, thresholds: RiskThresholds) -> np.ndarray:
    """Grade P(at risk): high from ``high_at_risk``, medium from ``medium_at_risk``."""
    p = np.asarray(probabilities, dtype=float)
    return np.where(
        p >= thresholds.high_at_risk,
        "high",
        np.where(p >= thresholds.medium_at_risk, "medium", "low"),
    )


def inputs_fingerprint(
    X: pd.DataFrame, extra: dict[str, np.ndarray], version_id: int
) -> np.ndarray:
    """A signed 64-bit hash per row of everything the prediction depends on."""
    frame = X[FEATURE_COLUMNS].round(6).copy()
    for name, values in extra.items():
        frame[name] = values
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy(dtype=np.uint64)
    salt = (version_id * 1000 + SCORING_REVISION) * 0x9E3779B97F4A7C15
    hashed = hashed ^ np.uint64(salt & 0xFFFFFFFFFFFFFFFF)
    return hashed.view(np.int64)


def _days(values: pd.Series) -> np.ndarray:
    return pd.to_datetime(values).to_numpy(dtype="datetime64[D]").astype(np.int64)


def _open_rows(invoices: pd.DataFrame, as_of: dt.date, invoice_ids) -> pd.DataFrame:
    status = invoices["status"].astype(str)
    issue = pd.to_datetime(invoices["issue_date"])
    mask = status.isin(OPEN_STATUS_VALUES) & (issue <= pd.Timestamp(as_of))
    if invoice_ids is not None:
        mask &= invoices["invoice_id"].isin(list(invoice_ids))
    return invoices.loc[mask]


def _existing_fingerprints(organization: Organization, invoice_ids: np.ndarray) -> pd.DataFrame:
    qs = Prediction.objects.filter(organization=organization)
    if len(invoice_ids) < 10_000:
        qs = qs.filter(invoice_id__in=[int(i) for i in invoice_ids])
    rows = list(qs.values_list("invoice_id", "model_version_id", "inputs_hash"))
    return pd.DataFrame(rows, columns=["invoice_id", "model_version_id", "inputs_hash"])


@transaction.atomic
def _remove_stale(organization: Organization, invoice_ids: Iterable[int] | None) -> int:
    """Current predictions of invoices no longer open are dropped (history keeps them)."""
    qs = Prediction.objects.filter(organization=organization).exclude(
        invoice__status__in=OPEN_STATUS_VALUES
    )
    if invoice_ids is not None:
        qs = qs.filter(invoice_id__in=list(invoice_ids))
    deleted, _ = qs.delete()
    return deleted


_TEMP_COLUMNS = [
    ("invoice_id", "bigint"),
    ("p_paid_by_due", "double precision"),
    ("p_paid_30", "double precision"),
    ("p_paid_60", "double precision"),
    ("p_paid_90", "double precision"),
    ("expected_date", "date"),
    ("lower_date", "date"),
    ("upper_date", "date"),
    ("p_late", "double precision"),
    ("risk_probability", "double precision"),
    ("risk_level", "varchar(8)"),
    ("money_at_risk", "numeric(18, 2)"),
    ("factors", "text"),
    ("inputs_hash", "bigint"),
]
_VALUE_COLUMNS = [name for name, _ in _TEMP_COLUMNS if name not in ("invoice_id", "factors")]


def _write_chunk(
    *, organization: Organization, version_id: int, as_of: dt.date, scored_at, rows: pd.DataFrame
) -> None:
    """COPY the chunk into a temp table, upsert the current rows, append history rows."""
    buffer = io.StringIO()
    rows[[name for name, _ in _TEMP_COLUMNS]].to_csv(buffer, index=False, header=False)
    buffer.seek(0)
    columns_sql = ", ".join(f"{name} {kind}" for name, kind in _TEMP_COLUMNS)
    names = ", ".join(name for name, _ in _TEMP_COLUMNS)
    common = ", ".join(_VALUE_COLUMNS)
    updates = ", ".join(
        f"{name} = EXCLUDED.{name}"
        for name in ["model_version_id", "scored_at", "as_of", *_VALUE_COLUMNS, "factors"]
    )
    history_cols = (
        "organization_id, invoice_id, model_version_id, scored_at, as_of, "
        "p_paid_by_due, p_paid_30, p_paid_60, p_paid_90, expected_date, lower_date, "
        "upper_date, p_late, risk_probability, risk_level, money_at_risk"
    )
    params = {"org": organization.pk, "version": version_id, "scored_at": scored_at, "as_of": as_of}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE tmp_prediction ({columns_sql}) ON COMMIT DROP")
        with cursor.copy(f"COPY tmp_prediction ({names}) FROM STDIN WITH (FORMAT csv)") as copy:
            while chunk := buffer.read(1 << 20):
                copy.write(chunk)
        # History first, while the current row still holds the previous prediction: a row
        # is appended only when the prediction is new or moved materially (risk level, model
        # version, P(paid by due) by 0.05+, expected date by 3+ days), so nightly rescoring
        # of a million unchanged-looking invoices does not grow the history by a million.
        cursor.execute(
            f"""
            INSERT INTO predictions_predictionhistory ({history_cols})
            SELECT %(org)s, t.invoice_id, %(version)s, %(scored_at)s, %(as_of)s,
                   t.p_paid_by_due, t.p_paid_30, t.p_paid_60, t.p_paid_90, t.expected_date,
                   t.lower_date, t.upper_date, t.p_late, t.risk_probability, t.risk_level,
                   t.money_at_risk
            FROM tmp_prediction t
            LEFT JOIN predictions_prediction p ON p.invoice_id = t.invoice_id
            WHERE p.id IS NULL
               OR p.model_version_id <> %(version)s
               OR p.risk_level <> t.risk_level
               OR abs(p.p_paid_by_due - t.p_paid_by_due) >= {HISTORY_MIN_P_CHANGE}
               OR abs(p.expected_date - t.expected_date) >= {HISTORY_MIN_DAYS_CHANGE}
            """,
            params,
        )
        cursor.execute(
            f"""
            INSERT INTO predictions_prediction
                (code, organization_id, invoice_id, model_version_id, scored_at, as_of,
                 {common}, factors)
            SELECT gen_random_uuid(), %(org)s, t.invoice_id, %(version)s, %(scored_at)s,
                   %(as_of)s, {", ".join("t." + c for c in _VALUE_COLUMNS)}, t.factors::jsonb
            FROM tmp_prediction t
            ON CONFLICT (invoice_id) DO UPDATE SET {updates}
            """,
            params,
        )
        # ON COMMIT DROP covers the normal case; inside an outer transaction (a test, a
        # caller's atomic block) the commit is later, so drop it now for the next chunk.
        cursor.execute("DROP TABLE tmp_prediction")


def _to_dates(issue_days: np.ndarray, offsets: np.ndarray, floor_days: np.ndarray) -> np.ndarray:
    days = issue_days + np.round(np.nan_to_num(offsets, nan=0.0)).astype(np.int64)
    days = np.maximum(days, floor_days)
    return days.astype("datetime64[D]")


def invoices_score(
    *,
    organization: Organization,
    invoice_ids: Iterable[int] | None = None,
    as_of: dt.date | None = None,
    chunk_size: int = 50_000,
    force: bool = False,
) -> ScoreResult:
    """Score the organization's open invoices (or just ``invoice_ids``) as of ``as_of``.

    Rows already scored by the active model version with identical inputs are skipped
    unless ``force`` (re-running the nightly job the same day is then nearly free).
    """
    timings: dict[str, float] = {}
    started = time.perf_counter()
    version = get_active(organization)
    model = load_active_model(organization) if version else None
    if version is None or model is None:
        raise NoActiveModel(organization)
    as_of = as_of or organization_today(organization)
    ids = None if invoice_ids is None else {int(i) for i in invoice_ids}
    result = ScoreResult(organization=organization.slug, model_version=version.version, as_of=as_of)
    timings["load_model"] = time.perf_counter() - started

    t = time.perf_counter()
    invoices, payments = ledger_frames(organization=organization)
    timings["load_ledger"] = time.perf_counter() - t
    open_rows = _open_rows(invoices, as_of, ids)
    result.open_invoices = len(open_rows)
    result.removed_stale = _remove_stale(organization, ids)
    if open_rows.empty:
        result.seconds = {**timings, "total": time.perf_counter() - started}
        return result

    t = time.perf_counter()
    X = features_as_of(invoices, payments, as_of, open_rows["invoice_id"].to_numpy())
    issue_days = _days(open_rows["issue_date"])
    due_days = _days(open_rows["due_date"])
    as_of_day = np.int64((as_of - dt.date(1970, 1, 1)).days)
    due_in = (due_days - issue_days).astype(float)
    age = (as_of_day - issue_days).astype(float)
    # Open balance in the base currency (NaN without an exchange rate: no money at risk is
    # claimed rather than mixing currencies).
    balance = open_rows["balance"].to_numpy(dtype=float)
    horizon = (at_risk_horizon(due_days, as_of_day) - issue_days).astype(float)
    fingerprints = inputs_fingerprint(
        X, {"due_in": due_in, "age": age, "balance": balance}, version.pk
    )
    timings["features"] = time.perf_counter() - t

    keep = np.ones(len(X), dtype=bool)
    if not force:
        existing = _existing_fingerprints(organization, X.index.to_numpy())
        if not existing.empty:
            same = existing[existing["model_version_id"] == version.pk]
            known = pd.Series(same["inputs_hash"].to_numpy(), index=same["invoice_id"].to_numpy())
            previous = known.reindex(X.index.to_numpy()).to_numpy()
            keep = ~(previous == fingerprints)
    result.skipped_unchanged = int((~keep).sum())

    thresholds = risk_thresholds_get(organization=organization)
    scored_at = timezone.now()
    predict_s = explain_s = write_s = 0.0
    positions = np.flatnonzero(keep)
    for start in range(0, len(positions), chunk_size):
        pos = positions[start : start + chunk_size]
        Xc = X.iloc[pos]
        t = time.perf_counter()
        predicted = model.predict(
            Xc, due_in_days=due_in[pos], age_days=age[pos], horizon_days=horizon[pos]
        )
        predict_s += time.perf_counter() - t

        t = time.perf_counter()
        p_late = 1.0 - predicted["p_paid_by_due"].to_numpy(dtype=float)
        factors = explain_rows_json(Xc, model.contributions(Xc), p_late)
        explain_s += time.perf_counter() - t

        t = time.perf_counter()
        floor = np.full(len(pos), as_of_day)
        expected = _to_dates(issue_days[pos], predicted["point_days"].to_numpy(), floor)
        lower = _to_dates(issue_days[pos], predicted["lower_days"].to_numpy(), floor)
        upper = _to_dates(issue_days[pos], predicted["upper_days"].to_numpy(), floor)
        lower = np.minimum(lower, expected)
        upper = np.maximum(upper, expected)
        p_by_due = predicted["p_paid_by_due"].to_numpy(dtype=float)
        risk_p = 1.0 - predicted["p_paid_horizon"].to_numpy(dtype=float)
        money = np.round(np.nan_to_num(balance[pos] * risk_p, nan=0.0), 2)
        rows = pd.DataFrame(
            {
                "invoice_id": Xc.index.to_numpy(),
                "p_paid_by_due": p_by_due.round(6),
                "p_paid_30": predicted["p_paid_30"].to_numpy(dtype=float).round(6),
                "p_paid_60": predicted["p_paid_60"].to_numpy(dtype=float).round(6),
                "p_paid_90": predicted["p_paid_90"].to_numpy(dtype=float).round(6),
                "expected_date": expected,
                "lower_date": lower,
                "upper_date": upper,
                "p_late": np.round(1.0 - p_by_due, 6),
                "risk_probability": np.round(risk_p, 6),
                "risk_level": risk_levels(risk_p, thresholds),
                "money_at_risk": money,
                "factors": factors,
                "inputs_hash": fingerprints[pos],
            }
        )
        _write_chunk(
            organization=organization,
            version_id=version.pk,
            as_of=as_of,
            scored_at=scored_at,
            rows=rows,
        )
        write_s += time.perf_counter() - t
        result.scored += len(pos)
    timings.update(predict=predict_s, explain=explain_s, write=write_s)
    timings["total"] = time.perf_counter() - started
    result.seconds = timings
    logger.info("scored invoices", extra=result.as_dict())
    return result


def invoice_rescore(*, organization: Organization, invoice) -> Prediction | None:
    """Synchronous rescore of one invoice (API POST). None when the invoice is not open."""
    invoices_score(organization=organization, invoice_ids=[invoice.pk], force=True)
    return (
        Prediction.objects.filter(organization=organization, invoice=invoice)
        .select_related("model_version", "invoice")
        .first()
    )
