"""The payment-time model: XGBoost accelerated-failure-time survival with a calibrated CDF.

What it models: T = days from issue to payment. XGBoost's ``survival:aft`` objective fits
log T = mu(x) + sigma * Z with Z from a normal / logistic / extreme-value distribution
and interval labels, so paid invoices are exact observations ([d, d]) and open invoices,
including overdue ones, are right-censored observations ([days open, +inf)). Nothing is
dropped for being unpaid.

From the fitted distribution we get the raw CDF F_raw(d | x). A single monotone map g,
fitted on a time-ordered validation slice of the TRAINING period (never the test set),
calibrates it for every horizon at once: F(d | x) = g(F_raw(d | x)). Pooling the horizons
(due-20 ... due+90 days) keeps the CDF monotone in d while making P(paid by due), the
30/60/90-day probabilities and the 80% interval honest together.

Sign convention of ``contributions``: they are XGBoost's ``pred_contribs`` on mu (the log
of the expected time to pay), so a POSITIVE contribution means the factor makes the
invoice be paid LATER; negative means sooner.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb
from scipy.special import expit, logit, ndtr, ndtri

from ml.artifacts import file_sha256, verify_sha256

ARTIFACT_NAME = "payment_model.json"
FORMAT_VERSION = 1
MAX_DAYS = 3650.0  # predictions beyond ten years are reported as ten years
_EPS = 1e-6
# Horizons (days after due) pooled to fit the CDF calibration map.
_CAL_HORIZONS = (-20, -10, -5, 0, 5, 10, 20, 30, 45, 60, 90)

DEFAULT_PARAMS: dict[str, Any] = {
    "learning_rate": 0.05,
    "max_depth": 4,
    "min_child_weight": 5.0,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    "max_rounds": 2000,
    "early_stopping_rounds": 50,
    "val_fraction": 0.2,
    # Tuned on the validation slice unless fixed by the caller.
    "distributions": ["normal", "logistic", "extreme"],
    "sigmas": [0.2, 0.35, 0.5, 0.8, 1.2],
    "calibration": "auto",  # "auto" (chosen by cross-fit on validation), "platt", "isotonic", "none"
    "refit_all": True,  # after tuning, refit the trees on fit + validation rows
    "nthread": 0,
}


# ---------------------------------------------------------------- distributions
def _dist_cdf(dist: str, z: np.ndarray) -> np.ndarray:
    if dist == "normal":
        return ndtr(z)
    if dist == "logistic":
        return expit(z)
    if dist == "extreme":
        return -np.expm1(-np.exp(np.clip(z, -50, 50)))
    raise ValueError(f"unknown AFT distribution {dist!r}")


def _dist_ppf(dist: str, r: np.ndarray) -> np.ndarray:
    r = np.clip(r, _EPS, 1 - _EPS)
    if dist == "normal":
        return ndtri(r)
    if dist == "logistic":
        return logit(r)
    if dist == "extreme":
        return np.log(-np.log1p(-r))
    raise ValueError(f"unknown AFT distribution {dist!r}")


# ---------------------------------------------------------------- calibration maps
@dataclass
class _Calibrator:
    kind: str = "none"  # none | platt | isotonic
    a: float = 1.0
    b: float = 0.0
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)

    def __call__(self, r: np.ndarray) -> np.ndarray:
        r = np.clip(r, _EPS, 1 - _EPS)
        if self.kind == "platt":
            return expit(self.a * logit(r) + self.b)
        if self.kind == "isotonic":
            return np.interp(r, self.x, self.y)
        return r

    def inverse(self, q: np.ndarray) -> np.ndarray:
        """Smallest raw r with g(r) >= q (NaN when g never reaches q)."""
        q = np.asarray(q, dtype=float)
        if self.kind == "platt":
            return expit((logit(np.clip(q, _EPS, 1 - _EPS)) - self.b) / self.a)
        if self.kind == "isotonic":
            y = np.asarray(self.y)
            x = np.asarray(self.x)
            # Keep the first x of each plateau so the inverse is the smallest r.
            keep = np.concatenate([[True], np.diff(y) > 0])
            out = np.interp(q, y[keep], x[keep])
            out = np.where(q > y[-1] + 1e-12, np.nan, out)
            return np.where(q <= y[0], x[0], out)
        return q

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "a": self.a, "b": self.b, "x": self.x, "y": self.y}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> _Calibrator:
        return cls(**data)


def _fit_platt(r: np.ndarray, y: np.ndarray) -> _Calibrator:
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=1e4, max_iter=1000)
    lr.fit(logit(np.clip(r, _EPS, 1 - _EPS)).reshape(-1, 1), y)
    a = float(lr.coef_[0][0])
    if a <= 0:  # a non-increasing map would break the CDF; fall back to identity
        return _Calibrator("none")
    return _Calibrator("platt", a=a, b=float(lr.intercept_[0]))


def _fit_isotonic(r: np.ndarray, y: np.ndarray) -> _Calibrator:
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip", increasing=True)
    iso.fit(r, y)
    x = np.concatenate([[0.0], iso.X_thresholds_, [1.0]])
    yy = np.concatenate([[iso.y_thresholds_[0]], iso.y_thresholds_, [iso.y_thresholds_[-1]]])
    # Strictly inside (0, 1) so the conditional CDF stays defined.
    yy = np.clip(yy, 1e-4, 1 - 1e-4)
    yy = np.maximum.accumulate(yy)
    return _Calibrator("isotonic", x=[float(v) for v in x], y=[float(v) for v in yy])


def _brier(p: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((p - y) ** 2)) if len(y) else float("nan")


# ---------------------------------------------------------------- label helpers
def _recensor(labels: pd.DataFrame, cutoff_days_from_issue: np.ndarray) -> pd.DataFrame:
    """Labels as they were known ``cutoff_days_from_issue`` days after each issue date."""
    lower = labels["lower_days"].to_numpy(dtype=float)
    upper = labels["upper_days"].to_numpy(dtype=float)
    exact = np.isfinite(upper)
    known = exact & (upper <= cutoff_days_from_issue)
    age = np.maximum(cutoff_days_from_issue, 0.5)
    new_lower = np.where(known, lower, np.minimum(lower, age))
    new_upper = np.where(known, upper, np.inf)
    out = labels.copy()
    out["lower_days"] = np.maximum(new_lower, 0.5)
    out["upper_days"] = new_upper
    if "due_in_days" in labels:
        due = labels["due_in_days"].to_numpy(dtype=float)
        out["paid_by_due"] = np.where(
            known,
            (upper <= due).astype(float),
            np.where(cutoff_days_from_issue >= due, 0.0, np.nan),
        )
    return out


def _horizon_pairs(
    labels: pd.DataFrame, due: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, horizon, outcome) for every pooled horizon whose outcome is known."""
    lower = labels["lower_days"].to_numpy(dtype=float)
    upper = labels["upper_days"].to_numpy(dtype=float)
    rows, days, ys = [], [], []
    for h in _CAL_HORIZONS:
        d = np.maximum(due + h, 0.5)
        paid_by = np.isfinite(upper) & (upper <= d)
        not_by = lower > d
        known = paid_by | not_by
        idx = np.nonzero(known)[0]
        rows.append(idx)
        days.append(d[idx])
        ys.append(paid_by[idx].astype(float))
    return np.concatenate(rows), np.concatenate(days), np.concatenate(ys)


# ---------------------------------------------------------------- the model
class PaymentModel:
    """A fitted payment-time model. Create with :meth:`fit` or :meth:`load`."""

    def __init__(
        self,
        booster: xgb.Booster,
        *,
        feature_columns: list[str],
        distribution: str,
        sigma: float,
        calibrator: _Calibrator,
        params: dict[str, Any],
        info: dict[str, Any] | None = None,
    ):
        self.booster = booster
        self.feature_columns = list(feature_columns)
        self.distribution = distribution
        self.sigma = float(sigma)
        self.calibrator = calibrator
        self.params = params
        self.info = info or {}

    # ------------------------------------------------------------ training
    @classmethod
    def fit(
        cls,
        X: pd.DataFrame,
        labels: pd.DataFrame,
        *,
        params: dict | None = None,
        seed: int = 0,
    ) -> PaymentModel:
        """Fit on interval labels (see ``ml.features.training_labels``).

        Rows are put in issue-date order (``labels["issue_date"]`` when present, else the
        given order); the latest ``val_fraction`` of them is the validation slice used for
        early stopping, choosing the AFT distribution and scale, and fitting the CDF
        calibration. The earlier rows' labels are re-censored at the validation cutoff so
        that tuning never sees outcomes that were in the validation slice's future.
        """
        p = {**DEFAULT_PARAMS, **(params or {})}
        labels = labels.loc[X.index] if not X.index.equals(labels.index) else labels
        order = (
            np.argsort(labels["issue_date"].to_numpy(), kind="stable")
            if "issue_date" in labels
            else np.arange(len(X))
        )
        X = X.iloc[order]
        labels = labels.iloc[order]
        n = len(X)
        if n < 20:
            raise ValueError(f"need at least 20 invoices to fit the payment model, got {n}")
        n_val = max(round(n * float(p["val_fraction"])), 10)
        n_fit = n - n_val
        feats = list(X.columns)

        fit_labels = labels.iloc[:n_fit]
        val_labels = labels.iloc[n_fit:]
        if "issue_date" in labels:
            val_start = labels["issue_date"].iloc[n_fit]
            days_to_cut = (val_start - fit_labels["issue_date"]).dt.days.to_numpy(dtype=float)
            fit_labels = _recensor(fit_labels, days_to_cut)

        due_val = _due(val_labels, X.iloc[n_fit:])
        d_fit = _dmatrix(X.iloc[:n_fit], fit_labels)
        d_val = _dmatrix(X.iloc[n_fit:], val_labels)

        best: tuple[float, str, float, xgb.Booster] | None = None
        for dist in p["distributions"]:
            for sigma in p["sigmas"]:
                booster = _train(p, dist, sigma, d_fit, d_val, seed)
                score = float(booster.best_score)
                if best is None or score < best[0]:
                    best = (score, dist, sigma, booster)
        assert best is not None
        _, dist, sigma, booster = best
        best_rounds = int(booster.best_iteration) + 1

        mu_val = booster.predict(d_val, output_margin=True, iteration_range=(0, best_rounds))
        calibrator = _choose_calibrator(
            p["calibration"], mu_val, dist, sigma, val_labels, due_val, seed
        )

        if p["refit_all"]:
            d_all = _dmatrix(X, labels)
            rounds = round(best_rounds * n / max(n_fit, 1))
            booster = xgb.train(
                _xgb_params(p, dist, sigma, seed), d_all, num_boost_round=max(rounds, 1)
            )
        else:
            booster = booster[:best_rounds]

        info = {
            "rows_fit": n_fit,
            "rows_validation": n_val,
            "best_rounds": best_rounds,
            "validation_nloglik": best[0],
            "refit_all": bool(p["refit_all"]),
        }
        return cls(
            booster,
            feature_columns=feats,
            distribution=dist,
            sigma=sigma,
            calibrator=calibrator,
            params={k: v for k, v in p.items()},
            info=info,
        )

    # ------------------------------------------------------------ prediction
    def _matrix(self, X: pd.DataFrame) -> xgb.DMatrix:
        missing = [c for c in self.feature_columns if c not in X.columns]
        if missing:
            raise ValueError(f"feature frame is missing columns: {', '.join(missing)}")
        return xgb.DMatrix(X[self.feature_columns].to_numpy(dtype=np.float32), missing=np.nan)

    def margin(self, X: pd.DataFrame) -> np.ndarray:
        """mu: the predicted log days-to-pay location (before the noise term)."""
        return self.booster.predict(self._matrix(X), output_margin=True).astype(np.float64)

    def _cdf_from_mu(self, mu: np.ndarray, days: np.ndarray) -> np.ndarray:
        days = np.maximum(np.asarray(days, dtype=float), 1e-3)
        z = (np.log(days) - mu) / self.sigma
        return self.calibrator(_dist_cdf(self.distribution, z))

    def _ppf_from_mu(self, mu: np.ndarray, q: np.ndarray) -> np.ndarray:
        r = self.calibrator.inverse(q)
        out = np.exp(mu + self.sigma * _dist_ppf(self.distribution, np.nan_to_num(r, nan=0.5)))
        out = np.where(np.isnan(r), MAX_DAYS, out)
        return np.minimum(out, MAX_DAYS)

    def cdf(self, X: pd.DataFrame, days: np.ndarray) -> np.ndarray:
        """P(paid within ``days`` days of issue), unconditioned and calibrated.

        ``days`` is either 1-D (the same horizons for every row: result (n_rows, len(days)))
        or 2-D of shape (n_rows, k) (per-row horizons: result (n_rows, k)).
        """
        mu = self.margin(X)
        days = np.asarray(days, dtype=float)
        if days.ndim == 1:
            return self._cdf_from_mu(mu[:, None], days[None, :])
        if days.shape[0] != len(mu):
            raise ValueError("2-D days must have one row per invoice")
        return self._cdf_from_mu(mu[:, None], days)

    def predict(
        self,
        X: pd.DataFrame,
        *,
        due_in_days: np.ndarray,
        age_days: np.ndarray | None = None,
    ) -> pd.DataFrame:
        """Per-invoice summary of the payment-date distribution (days counted from issue).

        With ``age_days`` the distribution is conditioned on the invoice still being unpaid
        ``age_days`` after issue: P(T <= d | T > age) = (F(d) - F(age)) / (1 - F(age)).
        """
        mu = self.margin(X)
        due = np.asarray(due_in_days, dtype=float)
        if age_days is None:
            base = np.zeros(len(mu))
        else:
            age = np.maximum(np.asarray(age_days, dtype=float), 0.0)
            base = np.where(age > 0, self._cdf_from_mu(mu, np.maximum(age, 1e-3)), 0.0)
        rest = np.maximum(1.0 - base, 1e-9)

        def cond_cdf(days: np.ndarray) -> np.ndarray:
            f = self._cdf_from_mu(mu, days)
            return np.clip((f - base) / rest, 0.0, 1.0)

        def cond_ppf(q: float) -> np.ndarray:
            out = self._ppf_from_mu(mu, base + q * rest)
            if age_days is not None:
                out = np.maximum(out, np.asarray(age_days, dtype=float))
            return out

        return pd.DataFrame(
            {
                "p_paid_by_due": cond_cdf(due),
                "p_paid_30": cond_cdf(due + 30),
                "p_paid_60": cond_cdf(due + 60),
                "p_paid_90": cond_cdf(due + 90),
                "median_days": cond_ppf(0.5),
                "lower_days": cond_ppf(0.1),
                "upper_days": cond_ppf(0.9),
            },
            index=X.index,
        )

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Per-feature contributions to mu (log days to pay) plus ``bias``.
        Positive = pushes the payment LATER; negative = sooner."""
        contribs = self.booster.predict(self._matrix(X), pred_contribs=True)
        return pd.DataFrame(contribs, columns=[*self.feature_columns, "bias"], index=X.index)

    # ------------------------------------------------------------ persistence
    def metadata(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "kind": "payment",
            "feature_columns": self.feature_columns,
            "distribution": self.distribution,
            "sigma": self.sigma,
            "calibrator": self.calibrator.to_dict(),
            "params": self.params,
            "info": self.info,
        }

    def save(self, directory: Path) -> dict[str, str]:
        """Write the booster in XGBoost's JSON format, with our metadata embedded as a
        booster attribute (one file, one checksum) and mirrored to metadata.json for humans."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        meta = self.metadata()
        self.booster.set_attr(paypredict=json.dumps(meta))
        path = directory / ARTIFACT_NAME
        self.booster.save_model(str(path))
        (directory / "metadata.json").write_text(json.dumps(meta, indent=2, default=str))
        return {"path": str(path), "sha256": file_sha256(path)}

    @classmethod
    def load(cls, path: Path, sha256: str) -> PaymentModel:
        """Load an artifact after checking its sha256 (raises ArtifactChecksumError)."""
        verify_sha256(Path(path), sha256)
        booster = xgb.Booster()
        booster.load_model(str(path))
        raw = booster.attr("paypredict")
        if not raw:
            raise ValueError(f"{path} is not a PayPredict payment model (no metadata)")
        meta = json.loads(raw)
        return cls(
            booster,
            feature_columns=meta["feature_columns"],
            distribution=meta["distribution"],
            sigma=meta["sigma"],
            calibrator=_Calibrator.from_dict(meta["calibrator"]),
            params=meta["params"],
            info=meta.get("info", {}),
        )


# ---------------------------------------------------------------- training helpers
def _due(labels: pd.DataFrame, X: pd.DataFrame) -> np.ndarray:
    if "due_in_days" in labels:
        return labels["due_in_days"].to_numpy(dtype=float)
    if "terms_days" in X:
        return X["terms_days"].to_numpy(dtype=float)
    raise ValueError("labels need a due_in_days column (or features a terms_days column)")


def _dmatrix(X: pd.DataFrame, labels: pd.DataFrame) -> xgb.DMatrix:
    d = xgb.DMatrix(X.to_numpy(dtype=np.float32), missing=np.nan)
    d.set_float_info("label_lower_bound", labels["lower_days"].to_numpy(dtype=np.float64))
    d.set_float_info("label_upper_bound", labels["upper_days"].to_numpy(dtype=np.float64))
    return d


def _xgb_params(p: dict[str, Any], dist: str, sigma: float, seed: int) -> dict[str, Any]:
    return {
        "objective": "survival:aft",
        "eval_metric": "aft-nloglik",
        "aft_loss_distribution": dist,
        "aft_loss_distribution_scale": sigma,
        "tree_method": "hist",
        "learning_rate": p["learning_rate"],
        "max_depth": p["max_depth"],
        "min_child_weight": p["min_child_weight"],
        "subsample": p["subsample"],
        "colsample_bytree": p["colsample_bytree"],
        "lambda": p["reg_lambda"],
        "seed": seed,
        "nthread": p["nthread"],
        "verbosity": 0,
    }


def _train(p, dist, sigma, d_fit, d_val, seed) -> xgb.Booster:
    return xgb.train(
        _xgb_params(p, dist, sigma, seed),
        d_fit,
        num_boost_round=int(p["max_rounds"]),
        evals=[(d_val, "val")],
        early_stopping_rounds=int(p["early_stopping_rounds"]),
        verbose_eval=False,
    )


def _choose_calibrator(kind, mu_val, dist, sigma, val_labels, due_val, seed) -> _Calibrator:
    rows, days, y = _horizon_pairs(val_labels, due_val)
    if kind == "none" or len(y) < 20 or y.min() == y.max():
        return _Calibrator("none")
    r = _dist_cdf(dist, (np.log(days) - mu_val[rows]) / sigma)
    if kind == "platt":
        return _fit_platt(r, y)
    if kind == "isotonic":
        return _fit_isotonic(r, y)
    # auto: 2-fold cross-fit by validation row (all horizons of a row stay together)
    rng = np.random.default_rng(seed)
    fold_of_row = rng.integers(0, 2, size=len(val_labels))
    fold = fold_of_row[rows]
    scores: dict[str, float] = {"none": _brier(r, y)}
    for name, fitter in (("platt", _fit_platt), ("isotonic", _fit_isotonic)):
        err = 0.0
        for k in (0, 1):
            train, test = fold != k, fold == k
            if y[train].min() == y[train].max():
                err = float("inf")
                break
            cal = fitter(r[train], y[train])
            err += float(np.sum((cal(r[test]) - y[test]) ** 2))
        scores[name] = err / len(y)
    choice = min(scores, key=scores.get)
    if choice == "platt":
        return _fit_platt(r, y)
    if choice == "isotonic":
        return _fit_isotonic(r, y)
    return _Calibrator("none")
