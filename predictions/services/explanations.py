"""Per-invoice explanations: XGBoost contributions turned into plain words.

``PaymentModel.contributions`` gives, per feature, the shift it causes in the model's
log time-to-pay (positive = pays later). A shift ``c`` multiplies the expected time to pay
by ``exp(c)``, which is how the magnitude is put into words ("+35% time to pay").
"""

from __future__ import annotations

import math
import string
from typing import Any

import numpy as np
import pandas as pd

from ml.features import FEATURE_DESCRIPTIONS

TOP_PER_DIRECTION = 3
# Contributions smaller than this (about 2% of the time to pay) are noise, not reasons.
MIN_IMPACT = 0.02

_formatter = string.Formatter()
_PLACEHOLDERS: dict[str, list[str]] = {
    feature: [name for _, name, _, _ in _formatter.parse(template) if name]
    for feature, template in FEATURE_DESCRIPTIONS.items()
}


def factor_text(feature: str, values: dict[str, float]) -> str:
    """The feature's sentence, filled with this row's values.

    A placeholder whose value is unknown (NaN: e.g. a new customer has no late share)
    falls back to a sentence without numbers rather than printing "nan".
    """
    template = FEATURE_DESCRIPTIONS.get(feature)
    if template is None:
        return feature.replace("_", " ")
    needed = _PLACEHOLDERS[feature]
    row = {name: values.get(name, math.nan) for name in needed}
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in row.values()):
        return f"{feature.replace('_', ' ')}: no history yet"
    try:
        return template.format(**row)
    except (KeyError, ValueError, TypeError):
        return f"{feature.replace('_', ' ')} = {values.get(feature)}"


def impact_words(impact: float) -> str:
    # Clipped: a contribution beyond +-5 (x150) is already "far later/sooner" in words.
    change = math.exp(max(min(impact, 5.0), -5.0)) - 1.0
    return f"{change:+.0%} time to pay"


def explain_rows(X: pd.DataFrame, contributions: pd.DataFrame) -> list[list[dict[str, Any]]]:
    """Top factors per row: up to 3 pushing payment later and 3 pushing it earlier,
    strongest first. Vectorized selection; only the sentence formatting is per factor."""
    features = [c for c in contributions.columns if c != "bias"]
    C = contributions[features].to_numpy(dtype=float)
    n, k = C.shape
    if n == 0:
        return []
    top = min(TOP_PER_DIRECTION, k)
    later_idx = (
        np.argpartition(-C, top - 1, axis=1)[:, :top] if k > top else np.tile(np.arange(k), (n, 1))
    )
    earlier_idx = (
        np.argpartition(C, top - 1, axis=1)[:, :top] if k > top else np.tile(np.arange(k), (n, 1))
    )
    # Only columns used by some template are needed for the sentences.
    value_cols = sorted(
        {name for names in _PLACEHOLDERS.values() for name in names} & set(X.columns)
    )
    values = X[value_cols].to_numpy(dtype=float)
    col_pos = {name: i for i, name in enumerate(value_cols)}
    out: list[list[dict[str, Any]]] = []
    # Many rows share a sentence (counts, same customer): format each one once per call.
    texts: dict[tuple, str] = {}
    for r in range(n):
        row_c = C[r]
        chosen = [(j, row_c[j]) for j in later_idx[r] if row_c[j] >= MIN_IMPACT]
        chosen += [(j, row_c[j]) for j in earlier_idx[r] if row_c[j] <= -MIN_IMPACT]
        chosen.sort(key=lambda item: -abs(item[1]))
        row_values = values[r]
        factors = []
        for j, c in chosen:
            feature = features[j]
            needed = _PLACEHOLDERS.get(feature, [])
            key = (feature, *(float(row_values[col_pos[n]]) for n in needed if n in col_pos))
            text = texts.get(key)
            if text is None:
                vals = {n: float(row_values[col_pos[n]]) for n in needed if n in col_pos}
                text = texts[key] = factor_text(feature, vals)
            factors.append(
                {
                    "feature": feature,
                    "text": text,
                    "direction": "later" if c > 0 else "earlier",
                    "impact": round(float(c), 4),
                    "effect": impact_words(float(c)),
                }
            )
        out.append(factors)
    return out
