"""Per-invoice explanations: XGBoost contributions turned into plain words.

``PaymentModel.contributions`` gives, per feature, the shift it causes in the model's
log time-to-pay (positive = pays later). A shift ``c`` multiplies the expected time to pay
by ``exp(c)``, which is how the magnitude is put into words ("+35% time to pay").
"""

from __future__ import annotations

import json
import math
import string

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


def explain_rows_json(X: pd.DataFrame, contributions: pd.DataFrame) -> list[str]:
    """Top factors per row as JSON text, ready for COPY: up to 3 pushing payment later and
    3 pushing it earlier, strongest first.

    Selection and ordering are vectorized; per factor only a memoized sentence and a string
    join remain (a million invoices make six million factors, so dicts plus ``json.dumps``
    per row were the slowest part of a scoring run).
    """
    features = [c for c in contributions.columns if c != "bias"]
    C = contributions[features].to_numpy(dtype=float)
    n, k = C.shape
    if n == 0:
        return []
    top = min(TOP_PER_DIRECTION, k)
    if k > top:
        later = np.argpartition(-C, top - 1, axis=1)[:, :top]
        earlier = np.argpartition(C, top - 1, axis=1)[:, :top]
    else:
        later = earlier = np.tile(np.arange(k), (n, 1))
    idx = np.concatenate([later, earlier], axis=1)
    vals = np.take_along_axis(C, idx, axis=1)
    keep = np.concatenate([vals[:, :top] >= MIN_IMPACT, vals[:, top:] <= -MIN_IMPACT], axis=1)
    order = np.argsort(-np.abs(vals), axis=1, kind="stable")
    idx = np.take_along_axis(idx, order, axis=1).tolist()
    vals = np.take_along_axis(vals, order, axis=1)
    keep = np.take_along_axis(keep, order, axis=1).tolist()
    impacts = np.round(vals, 4).tolist()
    percents = np.rint(np.expm1(np.clip(vals, -5.0, 5.0)) * 100).astype(int).tolist()

    # Only columns used by some template are needed for the sentences.
    value_cols = sorted(
        {name for names in _PLACEHOLDERS.values() for name in names} & set(X.columns)
    )
    col_pos = {name: i for i, name in enumerate(value_cols)}
    needed_pos = [
        [(name, col_pos[name]) for name in _PLACEHOLDERS.get(f, []) if name in col_pos]
        for f in features
    ]
    values = X[value_cols].to_numpy(dtype=float).tolist()
    feature_json = [json.dumps(f) for f in features]
    texts: dict[tuple, str] = {}  # (feature, values) -> JSON-quoted sentence
    effects: dict[int, str] = {}  # percent -> JSON-quoted effect
    out: list[str] = []
    for r in range(n):
        row_values = values[r]
        parts = []
        for slot, j in enumerate(idx[r]):
            if not keep[r][slot]:
                continue
            pairs = needed_pos[j]
            key = (j, *(v if v == v else None for v in (row_values[p] for _, p in pairs)))
            text = texts.get(key)
            if text is None:
                text = texts[key] = json.dumps(
                    factor_text(features[j], {name: row_values[p] for name, p in pairs})
                )
            pct = percents[r][slot]
            effect = effects.get(pct)
            if effect is None:
                effect = effects[pct] = json.dumps(f"{pct:+d}% time to pay")
            impact = impacts[r][slot]
            parts.append(
                f'{{"feature": {feature_json[j]}, "text": {text}, "direction": '
                f'"{"later" if impact > 0 else "earlier"}", "impact": {impact!r}, '
                f'"effect": {effect}}}'
            )
        out.append("[" + ", ".join(parts) + "]")
    return out
