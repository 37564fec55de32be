"""Per-invoice explanations: the model's contributions, grouped into reasons a collector reads.

``PaymentModel.contributions`` gives, per feature, the shift it causes in the classifier's
log-odds of paying LATE (positive = later). Features that measure one fact in several ways
(the customer's delay as a mean, a median, an EWM, the last three ...) are strongly
correlated and the model splits their effect between them in arbitrary ways: shown one by
one they contradicted each other ("pays 32 days late: +563%" beside "typical delay 32 days:
-70%") or repeated a fact ("259 settled invoices" beside "276 earlier invoices").

So every feature belongs to exactly one reason group (``REASON_GROUPS``); a group's
contributions are summed and reported ONCE, with one sentence built from the row's values.
Its size is given on the scale the page shows, percentage points of "likely late"
(P(paid after the due date)): the group moves the log-odds by ``c``, so removing it would
move the probability from ``p`` to ``sigmoid(logit(p) - c)``; the reason's effect is
``p - that``. The direction, the sign of the effect and the sign of the summed
contribution therefore always agree.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import numpy as np
import pandas as pd

TOP_PER_DIRECTION = 3
# A reason must move "likely late" by at least one percentage point to be shown.
MIN_POINTS = 1

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _known(*values: float) -> bool:
    return all(v is not None and not (isinstance(v, float) and math.isnan(v)) for v in values)


def _days_vs_due(days: float) -> str:
    """A signed delay in words: 5 -> "5 days after", -3 -> "3 days before"."""
    n = round(abs(days))
    if n == 0:
        return "on"
    unit = "day" if n == 1 else "days"
    return f"{n} {unit} {'after' if days > 0 else 'before'}"


def _record_text(v: dict[str, float]) -> str:
    """History length, late share and delay in one sentence: the model splits these
    correlated facts arbitrarily, so apart they pointed opposite ways."""
    settled, tenure = v["prior_count"], v["tenure_days"]
    share, typical, recent = v["late_share"], v["median_days_late"], v["last3_days_late"]
    if not _known(settled, share) or settled == 0:
        return "new customer: no invoice settled yet"
    if _known(tenure) and tenure >= 60:
        text = f"a customer for {tenure / 30.44:.0f} months; "
    elif _known(tenure):
        text = f"a customer for {tenure:.0f} days; "
    else:
        text = ""
    text += f"paid {share:.0%} of its {settled:.0f} settled invoices late"
    if _known(typical):
        text += f", typically {_days_vs_due(typical)} the due date"
    if _known(recent, typical) and abs(recent - typical) >= 5:
        text += f"; its last 3 were {_days_vs_due(recent)} the due date on average"
    return text


def _amount_text(v: dict[str, float]) -> str:
    ratio = v["amount_ratio"]
    if not _known(ratio):
        return "size of the invoice (no earlier invoice to compare with)"
    if 0.8 <= ratio <= 1.25:
        return "amount is about this customer's usual invoice"
    return f"amount is {ratio:.1f}x this customer's usual invoice"


def _balance_text(v: dict[str, float]) -> str:
    open_count, overdue = v["open_count"], v["overdue_count"]
    if not _known(open_count) or open_count == 0:
        return "customer owes nothing on other invoices"
    text = f"customer has {open_count:.0f} other unpaid invoice{'s' if open_count != 1 else ''}"
    if _known(overdue) and overdue > 0:
        text += f", {overdue:.0f} of them overdue"
    return text


def _disputes_text(v: dict[str, float]) -> str:
    n = v["prior_disputes"]
    if not _known(n) or n == 0:
        return "customer never disputed an earlier invoice"
    return f"customer disputed {n:.0f} earlier invoice{'s' if n != 1 else ''}"


def _failed_text(v: dict[str, float]) -> str:
    total, recent = v["failed_payments"], v["failed_payments_90d"]
    if not _known(total) or total == 0:
        return "no failed payments on record"
    text = f"{total:.0f} failed payment{'s' if total != 1 else ''} on record"
    if _known(recent):
        text += f" ({recent:.0f} in the last 90 days)"
    return text


def _activity_text(v: dict[str, float]) -> str:
    last = v["days_since_last_payment"]
    if not _known(last):
        return "no payment received from this customer yet"
    return f"last payment received {last:.0f} days ago"


def _terms_text(v: dict[str, float]) -> str:
    terms = v["terms_days"]
    return f"payment terms of {terms:.0f} days" if _known(terms) else "payment terms"


def _calendar_text(v: dict[str, float]) -> str:
    dow, dom = v["issue_dow"], v["issue_dom"]
    if not _known(dow, dom):
        return "when the invoice was issued"
    text = f"issued on a {_WEEKDAYS[int(dow) % 7]}, day {dom:.0f} of the month"
    if v["month_end"] == 1:
        text += " (month end)"
    return text


def _channel_text(v: dict[str, float]) -> str:
    paperless = v["paperless"]
    if not _known(paperless):
        return "billing channel unknown"
    return "sent electronically" if paperless == 1 else "sent on paper"


def _book_text(v: dict[str, float]) -> str:
    share = v["org_late_share_90d"]
    if not _known(share):
        return "no invoice of the organization settled in the last 90 days"
    return f"{share:.0%} of all invoices settled in the last 90 days were late"


# Every feature of ml.features.FEATURE_COLUMNS in exactly one group (tested). A group's
# sentence reads only features of its own group, so no fact appears in two reasons.
REASON_GROUPS: dict[str, tuple[list[str], Callable[[dict[str, float]], str]]] = {
    "payment_record": (
        [
            "prior_count",
            "prior_issued_count",
            "tenure_days",
            "late_count",
            "late_share",
            "last5_late_share",
            "ewm_late",
            "mean_days_late",
            "median_days_late",
            "last3_days_late",
            "last_days_late",
            "trend_days_late",
            "ewm_days_late",
            "mean_days_to_pay",
            "last3_days_to_pay",
            "std_days_to_pay",
            "last5_days_to_pay",
            "ewm_days_to_pay",
        ],
        _record_text,
    ),
    "amount": (["log_amount", "amount_ratio"], _amount_text),
    "other_balance": (
        ["open_count", "open_amount", "open_ratio", "overdue_count", "overdue_amount"],
        _balance_text,
    ),
    "disputes": (["prior_disputes", "dispute_share"], _disputes_text),
    "failed_payments": (["failed_payments", "failed_payments_90d"], _failed_text),
    "activity": (["days_since_last_payment", "days_since_prior_invoice"], _activity_text),
    "terms": (["terms_days"], _terms_text),
    "calendar": (
        ["issue_month", "issue_dow", "issue_dom", "month_end", "quarter_end"],
        _calendar_text,
    ),
    "channel": (["paperless"], _channel_text),
    "whole_book": (["org_late_share_90d", "org_mean_days_late_90d"], _book_text),
}


# Groups whose sentence states several numbers a reader may weigh differently from the
# model (59% late but only 2 days late on average): the sentence also says which way the
# model reads the record against the average customer's, so words and direction agree.
_COMPARED = {"payment_record"}


def reason_text(group: str, values: dict[str, float], direction: str | None = None) -> str:
    """The group's sentence for one row (missing values read as unknown, never "nan")."""
    features, build = REASON_GROUPS[group]
    text = build({name: float(values.get(name, math.nan)) for name in features})
    if group in _COMPARED and direction and not text.startswith("new customer"):
        text += f" ({'worse' if direction == 'later' else 'better'} than the average customer)"
    return text


def group_contributions(contributions: pd.DataFrame) -> pd.DataFrame:
    """Summed contribution per reason group (columns in ``REASON_GROUPS`` order)."""
    return pd.DataFrame(
        {
            group: contributions[[f for f in features if f in contributions.columns]].sum(axis=1)
            for group, (features, _) in REASON_GROUPS.items()
        },
        index=contributions.index,
    )


def effect_points(p_late: np.ndarray, group_sums: np.ndarray) -> np.ndarray:
    """Percentage points each group adds to P(late): p - sigmoid(logit(p) - c)."""
    p = np.clip(p_late, 1e-6, 1 - 1e-6)[:, None]
    logit = np.log(p / (1 - p))
    without = 1.0 / (1.0 + np.exp(-(logit - group_sums)))
    return (p - without) * 100.0


def explain_rows(
    X: pd.DataFrame, contributions: pd.DataFrame, p_late: np.ndarray | None = None
) -> list[list[dict]]:
    """Reasons per row: up to 3 groups pushing payment later and 3 pulling it earlier,
    largest effect first.

    ``p_late`` is the probability shown as "likely late" (calibrated). Where it is unknown
    or already decided (0 or 1: an overdue invoice is late for sure) the model's own
    at-issue probability, from the contributions' sum, is the base instead.
    """
    if len(X) == 0:
        return []
    sums = group_contributions(contributions)
    S = sums.to_numpy(dtype=float)
    raw_logit = contributions.sum(axis=1).to_numpy(dtype=float)  # log-odds of paying late
    base = 1.0 / (1.0 + np.exp(-raw_logit))
    if p_late is not None:
        p_late = np.asarray(p_late, dtype=float)
        usable = (p_late > 0.005) & (p_late < 0.995)
        base = np.where(usable, p_late, base)
    points = effect_points(base, S)
    rounded = np.rint(points).astype(int)
    groups = list(sums.columns)
    needed = sorted({f for g in groups for f in REASON_GROUPS[g][0]} & set(X.columns))
    values = X[needed].to_numpy(dtype=float)
    col = {name: i for i, name in enumerate(needed)}
    order = np.argsort(-np.abs(points), axis=1, kind="stable")
    texts: dict[tuple, str] = {}
    out: list[list[dict]] = []
    for r in range(len(X)):
        later = earlier = 0
        reasons = []
        for j in order[r]:
            pts = int(rounded[r, j])
            if abs(pts) < MIN_POINTS:
                break  # sorted by size: everything after is smaller
            if pts > 0 and later >= TOP_PER_DIRECTION:
                continue
            if pts < 0 and earlier >= TOP_PER_DIRECTION:
                continue
            group = groups[j]
            features = REASON_GROUPS[group][0]
            row_values = tuple(
                values[r, col[f]] if f in col and values[r, col[f]] == values[r, col[f]] else None
                for f in features
            )
            direction = "later" if pts > 0 else "earlier"
            key = (group, direction, row_values)
            text = texts.get(key)
            if text is None:
                filled = {
                    f: (math.nan if v is None else v)
                    for f, v in zip(features, row_values, strict=True)
                }
                text = texts[key] = reason_text(group, filled, direction)
            if pts > 0:
                later += 1
            else:
                earlier += 1
            reasons.append(
                {
                    "feature": group,
                    "text": text,
                    "direction": direction,
                    "impact": round(float(S[r, j]), 4),
                    "effect": f"likely late {pts:+d} pts",
                }
            )
        out.append(reasons)
    return out


def explain_rows_json(
    X: pd.DataFrame, contributions: pd.DataFrame, p_late: np.ndarray | None = None
) -> list[str]:
    """``explain_rows`` as JSON text per row, ready for COPY."""
    return [json.dumps(reasons) for reasons in explain_rows(X, contributions, p_late)]
