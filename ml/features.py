"""Point-in-time features for the payment model (pure pandas/numpy, vectorized).

Everything here works on two data frames that the owning app loads in bulk:

- invoices: ``INVOICE_COLUMNS``; ``amount`` is a float in the organization's base
  currency, dates are ``datetime64[ns]`` normalized to the day, ``paid_date`` is NaT
  while the invoice is open (or was written off).
- payments: ``PAYMENT_COLUMNS``; ``received_at`` is a (tz-naive, org-local) datetime.

Leakage rules (see docs/ml.md):
- Training features of an invoice use only what was known on its issue date: customer
  history is the customer's invoices SETTLED strictly before that date, balances are
  the invoices issued before it and not settled before it, failed payments are those
  received before it.
- An invoice's own ``disputed`` flag is NOT a feature: the flag records a dispute raised
  after issue (the IBM data has no dispute date), so at issue it is always unknown.
  Disputes of the customer's earlier, already settled invoices are known and used.
- Nothing about the invoice's own outcome (paid date, days late) is ever a feature.

The history is found per (customer, cutoff day) with ``np.searchsorted`` over a
composite sorted key, so computing features for a million invoices is a handful of
array operations, never one query or one Python loop per invoice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np
import pandas as pd

INVOICE_COLUMNS = [
    "invoice_id",
    "customer_id",
    "issue_date",
    "due_date",
    "amount",
    "currency",
    "paid_date",
    "disputed",
    "status",
    "attributes",
]
PAYMENT_COLUMNS = ["payment_id", "customer_id", "received_at", "status", "amount"]

FEATURE_COLUMNS: list[str] = [
    # the invoice itself (known at issue)
    "terms_days",
    "log_amount",
    "amount_ratio",
    "issue_month",
    "issue_dow",
    "issue_dom",
    "month_end",
    "quarter_end",
    "paperless",
    # customer history: invoices settled before the cutoff
    "prior_count",
    "late_count",
    "late_share",
    "mean_days_late",
    "median_days_late",
    "last3_days_late",
    "last_days_late",
    "trend_days_late",
    "mean_days_to_pay",
    "last3_days_to_pay",
    "std_days_to_pay",
    "last5_late_share",
    "last5_days_to_pay",
    "ewm_late",
    "ewm_days_late",
    "ewm_days_to_pay",
    "prior_disputes",
    "dispute_share",
    # customer exposure at the cutoff
    "prior_issued_count",
    "open_count",
    "open_amount",
    "open_ratio",
    "overdue_count",
    "overdue_amount",
    "failed_payments",
    "failed_payments_90d",
    "days_since_last_payment",
    "days_since_prior_invoice",
    "tenure_days",
    # organization-wide recent behaviour (captures drift in the whole book)
    "org_late_share_90d",
    "org_mean_days_late_90d",
]

# Plain-word templates for explanations. Placeholders are feature names, formatted with
# the row's own feature values (e.g. ``template.format(**row)``); every placeholder used
# here is a column of FEATURE_COLUMNS.
FEATURE_DESCRIPTIONS: dict[str, str] = {
    "terms_days": "payment terms are {terms_days:.0f} days",
    "log_amount": "invoice amount (size of the invoice)",
    "amount_ratio": "amount is {amount_ratio:.1f}x this customer's typical invoice",
    "issue_month": "issued in month {issue_month:.0f} (seasonality)",
    "issue_dow": "day of the week the invoice was issued",
    "issue_dom": "issued on day {issue_dom:.0f} of the month",
    "month_end": "issued in the last days of the month",
    "quarter_end": "issued in the last month of a quarter",
    "paperless": "billing channel (paperless = {paperless:.0f})",
    "prior_count": "customer has {prior_count:.0f} settled invoices on record",
    "late_count": "customer paid {late_count:.0f} of its last {prior_count:.0f} invoices late",
    "late_share": "customer paid {late_share:.0%} of its past invoices late",
    "mean_days_late": "customer pays on average {mean_days_late:.1f} days after the due date",
    "median_days_late": "customer's typical delay is {median_days_late:.0f} days past due",
    "last3_days_late": "customer's last 3 invoices were {last3_days_late:.1f} days late on average",
    "last_days_late": "customer's most recent invoice was paid {last_days_late:.0f} days late",
    "trend_days_late": "customer's recent delay is {trend_days_late:+.1f} days off its usual",
    "mean_days_to_pay": "customer takes {mean_days_to_pay:.0f} days to pay on average",
    "last3_days_to_pay": "customer took {last3_days_to_pay:.0f} days to pay its last 3 invoices",
    "std_days_to_pay": "customer's payment timing varies by {std_days_to_pay:.0f} days",
    "last5_late_share": "customer paid {last5_late_share:.0%} of its last 5 invoices late",
    "last5_days_to_pay": "customer took {last5_days_to_pay:.0f} days to pay its last 5 invoices",
    "ewm_late": "customer's recent invoices were mostly late (recency-weighted {ewm_late:.0%})",
    "ewm_days_late": "customer's recent invoices were {ewm_days_late:.1f} days late (weighted)",
    "ewm_days_to_pay": "recent invoices took {ewm_days_to_pay:.0f} days to pay (weighted)",
    "prior_disputes": "customer disputed {prior_disputes:.0f} earlier invoices",
    "dispute_share": "customer disputed {dispute_share:.0%} of its earlier invoices",
    "prior_issued_count": "customer has {prior_issued_count:.0f} earlier invoices",
    "open_count": "customer has {open_count:.0f} other unpaid invoices",
    "open_amount": "customer owes {open_amount:,.0f} on other unpaid invoices",
    "open_ratio": "customer's unpaid balance is {open_ratio:.1f}x its typical invoice",
    "overdue_count": "customer has {overdue_count:.0f} overdue invoices",
    "overdue_amount": "customer has {overdue_amount:,.0f} overdue",
    "failed_payments": "customer had {failed_payments:.0f} failed payments",
    "failed_payments_90d": "customer had {failed_payments_90d:.0f} failed payments in 90 days",
    "days_since_last_payment": "customer's last payment was {days_since_last_payment:.0f} days ago",
    "days_since_prior_invoice": "previous invoice was {days_since_prior_invoice:.0f} days earlier",
    "tenure_days": "customer has been billed for {tenure_days:.0f} days",
    "org_late_share_90d": "{org_late_share_90d:.0%} of all invoices settled in 90 days were late",
    "org_mean_days_late_90d": "recent settlements were {org_mean_days_late_90d:.1f} days late",
}

# Composite sort key: customer code in the high bits, day number in the low bits.
_DAY_OFFSET = 1 << 20  # days since 1970 shifted positive (covers years 1970 ± 2800)
_SHIFT = np.int64(1 << 22)
_ORG_WINDOW_DAYS = 90
_FAILED_WINDOW_DAYS = 90
_PAPERLESS_KEYS = ("paperless", "paperless_bill", "PaperlessBill", "billing")


def _days(values: pd.Series) -> np.ndarray:
    """Day numbers (days since 1970-01-01) as float, NaN for NaT."""
    arr = pd.to_datetime(values).to_numpy(dtype="datetime64[ns]")
    out = arr.astype("datetime64[D]").astype(np.int64).astype(np.float64)
    out[np.isnat(arr)] = np.nan
    return out


def _keys(codes: np.ndarray, days: np.ndarray) -> np.ndarray:
    return codes.astype(np.int64) * _SHIFT + (days.astype(np.int64) + _DAY_OFFSET)


class _Events:
    """Per-customer events sorted by (customer, day), answering "events before day d"."""

    def __init__(self, codes: np.ndarray, days: np.ndarray, **values: np.ndarray):
        keep = ~np.isnan(days)
        codes, days = codes[keep], days[keep]
        order = np.lexsort((days, codes))
        self.codes = codes[order]
        self.days = days[order]
        self.keys = _keys(self.codes, self.days)
        self.values = {
            name: np.asarray(v, dtype=np.float64)[keep][order] for name, v in values.items()
        }
        self._cums = {
            name: np.concatenate([[0.0], np.cumsum(np.nan_to_num(v))])
            for name, v in self.values.items()
        }

    def bounds(self, q_codes: np.ndarray, q_days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """[start, end) index range of the customer's events strictly before q_day."""
        start = np.searchsorted(self.keys, q_codes.astype(np.int64) * _SHIFT, side="left")
        end = np.searchsorted(self.keys, _keys(q_codes, q_days), side="left")
        return start, end

    def total(self, name: str, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        cum = self._cums[name]
        return cum[end] - cum[start]

    def nth_last(self, name: str, start: np.ndarray, end: np.ndarray, n: int) -> np.ndarray:
        """Value of the n-th most recent event before the cutoff (n=1: the last), NaN if none."""
        idx = end - n
        ok = idx >= start
        out = np.full(len(end), np.nan)
        if len(self.values[name]):
            out[ok] = self.values[name][idx[ok]]
        return out


def _prepare(invoices: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in INVOICE_COLUMNS if c not in invoices.columns]
    if missing:
        raise ValueError(f"invoices frame is missing columns: {', '.join(missing)}")
    inv = invoices.reset_index(drop=True)
    out = pd.DataFrame(
        {
            "invoice_id": inv["invoice_id"].to_numpy(),
            "cust": pd.factorize(inv["customer_id"])[0].astype(np.int64),
            "issue": _days(inv["issue_date"]),
            "due": _days(inv["due_date"]),
            "paid": _days(inv["paid_date"]),
            "amount": pd.to_numeric(inv["amount"], errors="coerce").astype(np.float64),
            "disputed": inv["disputed"].fillna(False).astype(bool).to_numpy(),
        }
    )
    if out["issue"].isna().any():
        bad = out.loc[out["issue"].isna(), "invoice_id"].iloc[0]
        raise ValueError(f"invoice {bad}: issue_date is missing")
    out["due"] = out["due"].fillna(out["issue"] + 30.0)
    out["paperless"] = _paperless(inv["attributes"])
    return out


def _paperless(attributes: pd.Series) -> np.ndarray:
    """1 electronic, 0 paper, NaN unknown, read from the invoice's import attributes."""

    def one(attrs) -> float:
        if not isinstance(attrs, dict):
            return np.nan
        for key in _PAPERLESS_KEYS:
            if key in attrs and attrs[key] not in (None, ""):
                value = str(attrs[key]).strip().lower()
                if value in ("electronic", "paperless", "true", "1", "yes", "e-mail", "email"):
                    return 1.0
                if value in ("paper", "false", "0", "no", "mail", "post"):
                    return 0.0
        return np.nan

    return np.fromiter((one(a) for a in attributes), dtype=np.float64, count=len(attributes))


def _history(inv: pd.DataFrame, pay: pd.DataFrame, q_codes: np.ndarray, q_days: np.ndarray):
    """Customer-history and exposure features for query points (customer, cutoff day)."""
    n = len(q_codes)
    settled = ~np.isnan(inv["paid"].to_numpy())
    days_late = np.maximum(inv["paid"].to_numpy() - inv["due"].to_numpy(), 0.0)
    days_to_pay = inv["paid"].to_numpy() - inv["issue"].to_numpy()
    amount = np.nan_to_num(inv["amount"].to_numpy())
    cust = inv["cust"].to_numpy()

    # Settlements, ordered by the day they became known (the paid date).
    st = _Events(
        cust[settled],
        inv["paid"].to_numpy()[settled],
        one=np.ones(settled.sum()),
        late=(days_late[settled] > 0).astype(float),
        days_late=days_late[settled],
        days_to_pay=days_to_pay[settled],
        days_to_pay_sq=days_to_pay[settled] ** 2,
        disputed=inv["disputed"].to_numpy()[settled].astype(float),
        amount=amount[settled],
    )
    s0, s1 = st.bounds(q_codes, q_days)
    prior = (s1 - s0).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        has = prior > 0
        f = {}
        f["prior_count"] = prior
        f["late_count"] = st.total("late", s0, s1)
        f["late_share"] = np.where(has, f["late_count"] / prior, np.nan)
        f["mean_days_late"] = np.where(has, st.total("days_late", s0, s1) / prior, np.nan)
        f["mean_days_to_pay"] = np.where(has, st.total("days_to_pay", s0, s1) / prior, np.nan)
        var = st.total("days_to_pay_sq", s0, s1) / prior - f["mean_days_to_pay"] ** 2
        f["std_days_to_pay"] = np.where(prior > 1, np.sqrt(np.maximum(var, 0.0)), np.nan)
        last = [st.nth_last("days_late", s0, s1, k) for k in (1, 2, 3)]
        last_pay = [st.nth_last("days_to_pay", s0, s1, k) for k in (1, 2, 3)]
        f["last_days_late"] = last[0]
        f["last3_days_late"] = _nanmean_rows(last)
        f["last3_days_to_pay"] = _nanmean_rows(last_pay)
        f["trend_days_late"] = f["last3_days_late"] - f["mean_days_late"]
        f["median_days_late"] = _expanding_stat(st, "days_late", s0, s1, "median")
        w = np.maximum(s1 - 5, s0)
        n5 = (s1 - w).astype(float)
        f["last5_late_share"] = np.where(
            n5 > 0, st.total("late", w, s1) / np.maximum(n5, 1), np.nan
        )
        f["last5_days_to_pay"] = np.where(
            n5 > 0, st.total("days_to_pay", w, s1) / np.maximum(n5, 1), np.nan
        )
        f["ewm_late"] = _expanding_stat(st, "late", s0, s1, "ewm")
        f["ewm_days_late"] = _expanding_stat(st, "days_late", s0, s1, "ewm")
        f["ewm_days_to_pay"] = _expanding_stat(st, "days_to_pay", s0, s1, "ewm")
        f["prior_disputes"] = st.total("disputed", s0, s1)
        f["dispute_share"] = np.where(has, f["prior_disputes"] / prior, np.nan)

        # Issued invoices, ordered by issue day: exposure and typical amount.
        iss = _Events(
            cust,
            inv["issue"].to_numpy(),
            one=np.ones(len(inv)),
            amount=amount,
            log_amount=np.log1p(amount),
        )
        i0, i1 = iss.bounds(q_codes, q_days)
        issued = (i1 - i0).astype(float)
        f["prior_issued_count"] = issued
        issued_amount = iss.total("amount", i0, i1)
        f["open_count"] = issued - prior
        f["open_amount"] = np.maximum(issued_amount - st.total("amount", s0, s1), 0.0)
        typical = np.where(issued > 0, np.expm1(iss.total("log_amount", i0, i1) / issued), np.nan)
        f["open_ratio"] = np.where(typical > 0, f["open_amount"] / typical, np.nan)
        first_issue = np.full(n, np.nan)
        ok = issued > 0
        first_issue[ok] = iss.days[i0[ok]]
        f["tenure_days"] = q_days - first_issue
        last_issue = iss.nth_last("one", i0, i1, 1)  # placeholder for existence
        prev_day = np.full(n, np.nan)
        prev_day[~np.isnan(last_issue)] = iss.days[(i1 - 1)[~np.isnan(last_issue)]]
        f["days_since_prior_invoice"] = q_days - prev_day

        # Overdue at the cutoff: due before it and not settled before it.
        # sum(due < d) - sum(max(due, paid) < d), since "due < d and paid < d" <=> max < d.
        due_ev = _Events(cust, inv["due"].to_numpy(), one=np.ones(len(inv)), amount=amount)
        closed_day = np.where(
            settled, np.maximum(inv["due"].to_numpy(), inv["paid"].to_numpy()), np.nan
        )
        closed_ev = _Events(cust, closed_day, one=np.ones(len(inv)), amount=amount)
        d0, d1 = due_ev.bounds(q_codes, q_days)
        c0, c1 = closed_ev.bounds(q_codes, q_days)
        f["overdue_count"] = due_ev.total("one", d0, d1) - closed_ev.total("one", c0, c1)
        f["overdue_amount"] = np.maximum(
            due_ev.total("amount", d0, d1) - closed_ev.total("amount", c0, c1), 0.0
        )

        # Payments: failures before the cutoff, and the last money received.
        pay_codes, pay_days, pay_failed = _payment_arrays(pay)
        fail = _Events(pay_codes[pay_failed], pay_days[pay_failed], one=np.ones(pay_failed.sum()))
        p0, p1 = fail.bounds(q_codes, q_days)
        f["failed_payments"] = (p1 - p0).astype(float)
        w0, _ = fail.bounds(q_codes, q_days - _FAILED_WINDOW_DAYS)
        f["failed_payments_90d"] = (p1 - np.maximum(w0, p0)).astype(float)
        ok_pay = ~pay_failed
        recv = _Events(pay_codes[ok_pay], pay_days[ok_pay], one=np.ones(ok_pay.sum()))
        r0, r1 = recv.bounds(q_codes, q_days)
        last_recv = np.full(n, np.nan)
        has_recv = r1 > r0
        last_recv[has_recv] = recv.days[r1[has_recv] - 1]
        last_settle = np.full(n, np.nan)
        last_settle[has] = st.days[s1[has] - 1]
        last_money = np.fmax(last_recv, last_settle)
        f["days_since_last_payment"] = q_days - last_money

        # Organization-wide: invoices settled in the window before the cutoff.
        org_days = inv["paid"].to_numpy()[settled]
        order = np.argsort(org_days, kind="stable")
        org_days = org_days[order]
        org_late = np.concatenate([[0.0], np.cumsum((days_late[settled] > 0)[order])])
        org_dl = np.concatenate([[0.0], np.cumsum(days_late[settled][order])])
        e = np.searchsorted(org_days, q_days, side="left")
        b = np.searchsorted(org_days, q_days - _ORG_WINDOW_DAYS, side="left")
        cnt = (e - b).astype(float)
        f["org_late_share_90d"] = np.where(cnt > 0, (org_late[e] - org_late[b]) / cnt, np.nan)
        f["org_mean_days_late_90d"] = np.where(cnt > 0, (org_dl[e] - org_dl[b]) / cnt, np.nan)
    return f, typical


def _payment_arrays(pay: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return pay["_cust"].to_numpy(), pay["_day"].to_numpy(), pay["_failed"].to_numpy()


def _nanmean_rows(cols: list[np.ndarray]) -> np.ndarray:
    stacked = np.vstack(cols)
    cnt = (~np.isnan(stacked)).sum(axis=0)
    tot = np.nansum(stacked, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)


_EWM_ALPHA = 0.3  # weight of the most recent settled invoice in recency-weighted stats


def _expanding_stat(
    ev: _Events, name: str, start: np.ndarray, end: np.ndarray, stat: str
) -> np.ndarray:
    """A per-customer running statistic (median, or exponentially weighted mean) of the
    events before the cutoff: computed once over the sorted events, then read at the
    customer's last event before each cutoff."""
    values = ev.values[name]
    out = np.full(len(end), np.nan)
    if not len(values):
        return out
    grouped = pd.Series(values).groupby(ev.codes, sort=False)
    running = (
        grouped.expanding().median() if stat == "median" else grouped.ewm(alpha=_EWM_ALPHA).mean()
    )
    med = running.reset_index(level=0, drop=True).sort_index().to_numpy()
    ok = end > start
    out[ok] = med[end[ok] - 1]
    return out


def _prepare_payments(payments: pd.DataFrame, customer_index: pd.Index) -> pd.DataFrame:
    if payments is None or len(payments) == 0:
        return pd.DataFrame(
            {
                "_cust": np.array([], dtype=np.int64),
                "_day": np.array([]),
                "_failed": np.array([], dtype=bool),
            }
        )
    missing = [c for c in PAYMENT_COLUMNS if c not in payments.columns]
    if missing:
        raise ValueError(f"payments frame is missing columns: {', '.join(missing)}")
    codes = customer_index.get_indexer(payments["customer_id"])
    known = codes >= 0  # payments of customers without invoices say nothing about invoices
    received = pd.to_datetime(payments["received_at"])
    if getattr(received.dt, "tz", None) is not None:
        received = received.dt.tz_localize(None)
    days = _days(received.dt.normalize())
    status = payments["status"].astype(str).str.lower().to_numpy()
    return pd.DataFrame(
        {
            "_cust": codes[known].astype(np.int64),
            "_day": days[known],
            "_failed": (status == "failed")[known],
        }
    )


def _invoice_own(inv: pd.DataFrame, typical_at_issue: np.ndarray) -> dict[str, np.ndarray]:
    issue = pd.to_datetime(inv["issue"].to_numpy(), unit="D")
    f: dict[str, np.ndarray] = {}
    f["terms_days"] = inv["due"].to_numpy() - inv["issue"].to_numpy()
    amount = inv["amount"].to_numpy()
    f["log_amount"] = np.log1p(np.maximum(amount, 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        f["amount_ratio"] = np.where(typical_at_issue > 0, amount / typical_at_issue, np.nan)
    f["issue_month"] = issue.month.to_numpy().astype(float)
    f["issue_dow"] = issue.day_of_week.to_numpy().astype(float)
    f["issue_dom"] = issue.day.to_numpy().astype(float)
    f["month_end"] = np.asarray(issue.days_in_month - issue.day < 5, dtype=float)
    f["quarter_end"] = np.asarray(issue.month % 3 == 0, dtype=float)
    f["paperless"] = inv["paperless"].to_numpy()
    return f


def _frame(index: np.ndarray, *parts: dict[str, np.ndarray]) -> pd.DataFrame:
    data: dict[str, np.ndarray] = {}
    for part in parts:
        data.update(part)
    X = pd.DataFrame({c: np.asarray(data[c], dtype=np.float64) for c in FEATURE_COLUMNS})
    X.index = pd.Index(index, name="invoice_id")
    return X


def features_at_issue(invoices: pd.DataFrame, payments: pd.DataFrame) -> pd.DataFrame:
    """Training features, one row per invoice (index = invoice_id, same order as given),
    computed as known on each invoice's issue date."""
    inv = _prepare(invoices)
    customers = pd.Index(pd.unique(invoices["customer_id"]))
    pay = _prepare_payments(payments, customers)
    codes = inv["cust"].to_numpy()
    issue = inv["issue"].to_numpy()
    hist, typical = _history(inv, pay, codes, issue)
    own = _invoice_own(inv, typical)
    return _frame(inv["invoice_id"].to_numpy(), own, hist)


def features_as_of(
    invoices: pd.DataFrame,
    payments: pd.DataFrame,
    as_of: dt.date,
    invoice_ids: Iterable,
) -> pd.DataFrame:
    """Scoring features of the given invoices as known at the end of ``as_of``.

    The invoice's own fields (terms, amount relative to the customer's typical invoice at
    issue, calendar) are as at issue; the customer's history, exposure and payments are
    as of ``as_of`` (events on ``as_of`` included). The invoice itself is left out of its
    customer's open/overdue balance, as it is at issue, so the features mean the same
    thing in training and scoring.
    """
    inv = _prepare(invoices)
    customers = pd.Index(pd.unique(invoices["customer_id"]))
    pay = _prepare_payments(payments, customers)
    wanted = pd.Index(list(invoice_ids))
    pos = pd.Index(inv["invoice_id"]).get_indexer(wanted)
    if (pos < 0).any():
        raise ValueError(f"unknown invoice ids: {list(wanted[pos < 0][:5])}")
    sub = inv.iloc[pos].reset_index(drop=True)
    codes = sub["cust"].to_numpy()
    _, typical = _history(inv, pay, codes, sub["issue"].to_numpy())
    cutoff = float((pd.Timestamp(as_of) - pd.Timestamp("1970-01-01")).days + 1)
    q_days = np.full(len(sub), cutoff)
    hist, _ = _history(inv, pay, codes, q_days)
    # The invoice itself: issued before the cutoff, so counted in its own exposure unless
    # already settled; take it out again (and from overdue when past due).
    own_open = np.isnan(sub["paid"].to_numpy()) | (sub["paid"].to_numpy() >= cutoff)
    own_open &= sub["issue"].to_numpy() < cutoff
    amt = np.nan_to_num(sub["amount"].to_numpy())
    hist["open_count"] = hist["open_count"] - own_open
    hist["open_amount"] = np.maximum(hist["open_amount"] - own_open * amt, 0.0)
    own_overdue = own_open & (sub["due"].to_numpy() < cutoff)
    hist["overdue_count"] = hist["overdue_count"] - own_overdue
    hist["overdue_amount"] = np.maximum(hist["overdue_amount"] - own_overdue * amt, 0.0)
    hist["prior_issued_count"] = hist["prior_issued_count"] - (sub["issue"].to_numpy() < cutoff)
    with np.errstate(invalid="ignore", divide="ignore"):
        hist["open_ratio"] = np.where(typical > 0, hist["open_amount"] / typical, np.nan)
    own = _invoice_own(sub, typical)
    return _frame(sub["invoice_id"].to_numpy(), own, hist)


def training_labels(invoices: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """AFT interval labels as known at the end of ``as_of`` (index = invoice_id).

    - paid on or before ``as_of``: lower = upper = days from issue to payment (floor 0.5,
      the AFT objective takes logs);
    - otherwise (open, written off, or paid only after ``as_of``): right-censored,
      lower = days open as of ``as_of`` (floor 0.5), upper = +inf;
    - ``paid_by_due``: 1/0 when known on ``as_of``, NaN when still open and not yet due.
    Also returns ``issue_date`` so that callers can order rows in time.
    Callers pass invoices issued on or before ``as_of``.
    """
    inv = _prepare(invoices)
    cutoff = float((pd.Timestamp(as_of) - pd.Timestamp("1970-01-01")).days)
    paid = inv["paid"].to_numpy()
    issue = inv["issue"].to_numpy()
    due = inv["due"].to_numpy()
    known = ~np.isnan(paid) & (paid <= cutoff)
    days = np.where(known, paid - issue, cutoff - issue)
    days = np.maximum(days, 0.5)
    lower = days
    upper = np.where(known, days, np.inf)
    paid_by_due = np.where(known, (paid <= due).astype(float), np.where(cutoff >= due, 0.0, np.nan))
    return pd.DataFrame(
        {
            "lower_days": lower,
            "upper_days": upper,
            "paid_by_due": paid_by_due,
            "issue_date": pd.to_datetime(issue, unit="D"),
            "due_in_days": due - issue,
        },
        index=pd.Index(inv["invoice_id"].to_numpy(), name="invoice_id"),
    )
