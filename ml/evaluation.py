"""Time-split evaluation of the payment model beside its baselines (pure pandas/numpy).

The split is by issue date: the latest ``test_fraction`` of invoices (by issue date,
whole days kept together) is the holdout. The model is trained with labels as they were
known the day before the holdout starts (so an invoice issued before the cutoff but paid
after it is a right-censored training row, never a peek at the future); the holdout is
scored with features as known on each invoice's own issue date, and judged against
outcomes known at ``as_of``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from ml.features import features_at_issue, training_labels
from ml.payment_model import PaymentModel

Z80 = 1.2815515655446004  # standard-normal 90th percentile


class NotEnoughDataError(ValueError):
    """Too few paid invoices to train or evaluate a payment model."""


MIN_PAID_INVOICES = 50


def check_enough_data(invoices: pd.DataFrame, *, minimum: int = MIN_PAID_INVOICES) -> None:
    paid = int(invoices["paid_date"].notna().sum())
    if paid < minimum:
        raise NotEnoughDataError(
            f"only {paid} paid invoices in the ledger; at least {minimum} are needed "
            f"to train the payment model"
        )


def time_split(invoices: pd.DataFrame, test_fraction: float) -> pd.Timestamp:
    """First issue date of the holdout: the latest ``test_fraction`` of invoices."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test fraction must be between 0 and 1, got {test_fraction}")
    dates = np.sort(pd.to_datetime(invoices["issue_date"]).to_numpy())
    pos = int(np.floor(len(dates) * (1.0 - test_fraction)))
    pos = min(max(pos, 1), len(dates) - 1)
    cutoff = pd.Timestamp(dates[pos])
    if cutoff <= pd.Timestamp(dates[0]):
        raise NotEnoughDataError("all invoices share one issue date: no time split possible")
    return cutoff


def default_as_of(invoices: pd.DataFrame) -> dt.date:
    last = pd.concat([invoices["issue_date"], invoices["paid_date"]]).max()
    return pd.Timestamp(last).date()


# ---------------------------------------------------------------- metrics
def _roc(y: np.ndarray, p: np.ndarray) -> float | None:
    if len(y) == 0 or y.min() == y.max():
        return None
    return float(roc_auc_score(y, p))


def _brier(y: np.ndarray, p: np.ndarray) -> float | None:
    return float(np.mean((p - y) ** 2)) if len(y) else None


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, Any]]:
    """Ten equal-width bins of predicted P(paid by due): count, mean predicted, observed."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1], right=False), 0, bins - 1)
    table = []
    for b in range(bins):
        m = idx == b
        table.append(
            {
                "bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}",
                "count": int(m.sum()),
                "predicted": float(p[m].mean()) if m.any() else None,
                "observed": float(y[m].mean()) if m.any() else None,
            }
        )
    return table


def _metrics(
    y_due: np.ndarray,
    p_due: np.ndarray | None,
    actual_days: np.ndarray,
    pred_days: np.ndarray | None,
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
) -> dict[str, float | None]:
    out: dict[str, float | None] = {
        "roc_auc": None,
        "brier": None,
        "mae_days": None,
        "coverage_80": None,
    }
    if p_due is not None:
        out["roc_auc"] = _roc(y_due, p_due)
        out["brier"] = _brier(y_due, p_due)
    if pred_days is not None and len(actual_days):
        out["mae_days"] = float(np.mean(np.abs(pred_days - actual_days)))
    if lower is not None and upper is not None and len(actual_days):
        out["coverage_80"] = float(np.mean((actual_days >= lower) & (actual_days <= upper)))
    return out


def _round(d: dict[str, Any], ndigits: int = 4) -> dict[str, Any]:
    return {k: (round(v, ndigits) if isinstance(v, float) else v) for k, v in d.items()}


# ---------------------------------------------------------------- baselines
def _baselines(
    X_train: pd.DataFrame,
    lab_train: pd.DataFrame,
    X_test: pd.DataFrame,
    y_mask: np.ndarray,
    y_due: np.ndarray,
    exact: np.ndarray,
    actual: np.ndarray,
    terms_test: np.ndarray,
) -> dict[str, dict[str, float | None]]:
    known = lab_train["paid_by_due"].notna().to_numpy()
    y_train = lab_train["paid_by_due"].to_numpy()[known]
    rate = float(y_train.mean()) if len(y_train) else 0.5
    exact_train = np.isfinite(lab_train["upper_days"].to_numpy())
    days_train = lab_train["lower_days"].to_numpy()[exact_train]
    n_test = len(X_test)

    # (a) always-majority: the training on-time rate for everyone (the strongest constant
    # probability); typical days-to-pay and its 10-90% range for the date.
    med = float(np.median(days_train)) if len(days_train) else float(np.median(terms_test))
    q10, q90 = np.quantile(days_train, [0.1, 0.9]) if len(days_train) else (med, med)
    majority = _metrics(
        y_due,
        np.full(y_mask.sum(), rate),
        actual,
        np.full(exact.sum(), med),
        np.full(exact.sum(), q10),
        np.full(exact.sum(), q90),
    )
    majority["roc_auc"] = 0.5 if majority["roc_auc"] is not None else None

    # (b) customer history as known at issue: smoothed on-time share; the customer's mean
    # days-to-pay (± 1.28 sd for an 80% band), the training average when it has none.
    prior = X_test["prior_count"].to_numpy()
    late = X_test["late_count"].to_numpy()
    k = 2.0
    p_hist = (prior - late + k * rate) / (prior + k)
    mean_pay = X_test["mean_days_to_pay"].to_numpy()
    fallback = float(np.mean(days_train)) if len(days_train) else med
    mean_pay = np.where(np.isnan(mean_pay), fallback, mean_pay)
    sd = X_test["std_days_to_pay"].to_numpy()
    sd_fallback = float(np.std(days_train)) if len(days_train) > 1 else 0.0
    sd = np.where(np.isnan(sd), sd_fallback, sd)
    customer = _metrics(
        y_due,
        p_hist[y_mask],
        actual,
        mean_pay[exact],
        (mean_pay - Z80 * sd)[exact],
        (mean_pay + Z80 * sd)[exact],
    )

    # (c) everyone pays on the due date.
    due_date = _metrics(y_due, np.ones(y_mask.sum()), actual, terms_test[exact])
    due_date["roc_auc"] = 0.5 if due_date["roc_auc"] is not None else None

    # (d) logistic regression on the same features (median-imputed with missing flags).
    logistic: dict[str, float | None] = {
        "roc_auc": None,
        "brier": None,
        "mae_days": None,
        "coverage_80": None,
    }
    if len(y_train) and y_train.min() != y_train.max():
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        clf = make_pipeline(
            SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
            StandardScaler(),
            LogisticRegression(C=1.0, max_iter=2000),
        )
        clf.fit(X_train.to_numpy()[known], y_train.astype(int))
        p_log = clf.predict_proba(X_test.to_numpy())[:, 1]
        logistic = _metrics(y_due, p_log[y_mask], actual, None)

    # (e) linear regression of days-to-pay on the same features (same imputation), fitted
    # on the training invoices paid by the training cutoff: the date the model must beat.
    linear = _metrics(y_due, None, actual, _linear_days(X_train, lab_train, X_test)[exact])
    del n_test
    return {
        "majority": _round(majority),
        "customer_history": _round(customer),
        "due_date": _round(due_date),
        "logistic": _round(logistic),
        "linear": _round(linear),
    }


def _linear_days(X_train: pd.DataFrame, lab_train: pd.DataFrame, X_test: pd.DataFrame):
    """Days-to-pay predicted by ordinary least squares (median-imputed, missing flags,
    standardized), fitted on the training rows whose payment day is known."""
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    exact = np.isfinite(lab_train["upper_days"].to_numpy())
    days = lab_train["lower_days"].to_numpy()[exact]
    if len(days) < 2:
        return np.full(len(X_test), float(np.median(days)) if len(days) else np.nan)
    reg = make_pipeline(
        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
        StandardScaler(),
        LinearRegression(),
    )
    reg.fit(X_train.to_numpy()[exact], days)
    return np.clip(reg.predict(X_test.to_numpy()), 0.0, None)


# ---------------------------------------------------------------- the evaluation
def evaluate_payment(
    invoices: pd.DataFrame,
    payments: pd.DataFrame,
    *,
    test_fraction: float = 0.25,
    as_of: dt.date | None = None,
    params: dict | None = None,
    seed: int = 0,
    features: pd.DataFrame | None = None,
) -> tuple[dict[str, Any], PaymentModel]:
    """Train on the early invoices, evaluate on the latest ``test_fraction``.

    Returns the report (``rows``, ``model``, ``baselines``, ``calibration``, ``split``)
    and the model trained on the training part.
    """
    check_enough_data(invoices)
    inv = invoices.sort_values("issue_date", kind="stable").reset_index(drop=True)
    as_of = as_of or default_as_of(inv)
    cutoff = time_split(inv, test_fraction)
    X_all = features if features is not None else features_at_issue(inv, payments)
    X_all = X_all.loc[inv["invoice_id"].to_numpy()]
    is_test = (pd.to_datetime(inv["issue_date"]) >= cutoff).to_numpy()
    train_inv, test_inv = inv[~is_test], inv[is_test]
    train_as_of = (cutoff - pd.Timedelta(days=1)).date()
    lab_train = training_labels(train_inv, train_as_of)
    lab_test = training_labels(test_inv, as_of)
    X_train, X_test = X_all[~is_test], X_all[is_test]
    check_enough_data(train_inv[train_inv["paid_date"] <= pd.Timestamp(train_as_of)])

    model = PaymentModel.fit(X_train, lab_train, params=params, seed=seed)
    terms = lab_test["due_in_days"].to_numpy()
    pred = model.predict(X_test, due_in_days=terms)

    y_all = lab_test["paid_by_due"].to_numpy()
    y_mask = ~np.isnan(y_all)
    y_due = y_all[y_mask]
    exact = np.isfinite(lab_test["upper_days"].to_numpy())
    actual = lab_test["lower_days"].to_numpy()[exact]
    p_due = pred["p_paid_by_due"].to_numpy()[y_mask]
    model_metrics = _metrics(
        y_due,
        p_due,
        actual,
        pred["point_days"].to_numpy()[exact],
        pred["lower_days"].to_numpy()[exact],
        pred["upper_days"].to_numpy()[exact],
    )
    # Cold start: test invoices of customers with nothing settled at issue (a new customer
    # is predicted from organization-level and invoice features only).
    cold = X_test["prior_count"].fillna(0).to_numpy() == 0
    cold_metrics = _metrics(
        y_all[cold & y_mask],
        pred["p_paid_by_due"].to_numpy()[cold & y_mask],
        lab_test["lower_days"].to_numpy()[cold & exact],
        pred["point_days"].to_numpy()[cold & exact],
        pred["lower_days"].to_numpy()[cold & exact],
        pred["upper_days"].to_numpy()[cold & exact],
    )
    report: dict[str, Any] = {
        "rows": {"train": int((~is_test).sum()), "test": int(is_test.sum())},
        "model": _round(model_metrics),
        "baselines": _baselines(X_train, lab_train, X_test, y_mask, y_due, exact, actual, terms),
        "calibration": calibration_table(y_due, p_due),
        "cold_start": {
            "rows": int(cold.sum()),
            "paid": int((cold & exact).sum()),
            "model": _round(cold_metrics),
        },
        "split": {
            "test_fraction": test_fraction,
            "test_from": cutoff.date().isoformat(),
            "train_labels_as_of": train_as_of.isoformat(),
            "as_of": pd.Timestamp(as_of).date().isoformat(),
            "test_with_known_paid_by_due": int(y_mask.sum()),
            "test_paid": int(exact.sum()),
            "test_on_time_rate": float(y_due.mean()) if len(y_due) else None,
        },
        "model_info": {
            "distribution": model.distribution,
            "sigma": model.sigma,
            "calibration": model.calibrator.kind,
            **model.info,
        },
    }
    return report, model
