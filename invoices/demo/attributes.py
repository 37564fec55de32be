"""Dispute amounts and the JSON attributes of each invoice (dispute note, void and write-off
details), assembled from the invoice's own lines so the note agrees with the ledger."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from invoices.demo import catalog, dates
from invoices.demo.disputes import CATEGORIES, DisputeFacts, render_note
from invoices.demo.spec import DemoSpec

WRITE_OFF_AFTER_DAYS = 180
METHOD_LABEL = {
    "card": "card",
    "ach": "ACH",
    "wire": "wire transfer",
    "check": "check",
    "sepa": "SEPA transfer",
    "other": "BACS",
}


def dispute_amounts(
    rng: np.random.Generator,
    lines: pd.DataFrame,
    disputed: np.ndarray,
    category: np.ndarray,
    subtotal: np.ndarray,
    tax: np.ndarray,
    total: np.ndarray,
) -> dict[str, np.ndarray]:
    """The line a dispute cites and the amount in dispute."""
    n = total.size
    count = np.bincount(lines["invoice"].to_numpy(), minlength=n)
    starts = np.cumsum(count) - count
    line = starts + (rng.random(n) * np.maximum(count, 1)).astype(np.int64)
    line = np.minimum(line, max(len(lines) - 1, 0))
    qty = lines["quantity"].to_numpy()[line]
    unit = lines["unit_price_cents"].to_numpy()[line]
    contract = np.maximum(1, np.rint(unit * (1 - rng.uniform(0.04, 0.15, n)))).astype(np.int64)
    short = np.clip(np.rint(qty * rng.uniform(0.05, 0.4, n)), 1, qty).astype(np.int64)
    fee = np.rint(subtotal * rng.uniform(0.02, 0.05, n)).astype(np.int64)
    name = CATEGORIES
    diff = np.select(
        [
            category == name.index("pricing_error"),
            np.isin(
                category, [name.index("quantity_mismatch"), name.index("damaged_or_defective")]
            ),
            (category == name.index("tax_or_fees")) & (tax > 0),
            category == name.index("tax_or_fees"),
            category == name.index("terms_or_discount"),
        ],
        [(unit - contract) * qty, short * unit, tax, fee, np.rint(total * 0.02)],
        default=total,
    ).astype(np.int64)
    diff = np.clip(diff, 1, np.maximum(total, 1))
    return {
        "line": line,
        "qty": qty,
        "unit": unit,
        "contract": contract,
        "short": short,
        "diff": np.where(disputed, diff, 0),
    }


def invoice_attributes(
    spec: DemoSpec,
    rng: np.random.Generator,
    customers: pd.DataFrame,
    cust: np.ndarray,
    numbers: np.ndarray,
    lines: pd.DataFrame,
    dispute: dict[str, np.ndarray],
    state: dict[str, np.ndarray],
) -> list[str]:
    """JSON attributes per invoice: the dispute (for the disputes app to import), void and
    write-off notes. Disputes live here until the disputes app has its own model."""
    attributes = ["{}"] * cust.size
    names = customers["name"].to_numpy()
    currency = customers["currency"].to_numpy()
    method = customers["method"].to_numpy()
    descriptions = lines["description"].to_numpy()
    positions = lines["position"].to_numpy()
    flagged = np.flatnonzero(state["visible"] | state["void"] | state["written_off"])
    for i in flagged:
        data: dict[str, object] = {}
        if state["visible"][i]:
            c = cust[i]
            sym = catalog.CURRENCY_SYMBOL[currency[c]]
            category = CATEGORIES[state["category"][i]]
            neighbour = i - 1 if i > 0 and cust[i - 1] == c else min(i + 1, cust.size - 1)
            terms = int(state["terms"][i])
            facts = DisputeFacts(
                category=category,
                number=numbers[i],
                other_number=numbers[neighbour] if neighbour != i else f"{numbers[i]}-D",
                po=state["po"][i] or f"PO-{int(rng.integers(100000, 999999))}",
                customer=names[c],
                product=descriptions[dispute["line"][i]],
                line=int(positions[dispute["line"][i]]),
                qty=int(dispute["qty"][i]),
                short=int(dispute["short"][i]),
                unit_price=_money(sym, dispute["unit"][i]),
                contract_price=_money(sym, dispute["contract"][i]),
                diff=_money(sym, dispute["diff"][i]),
                total=_money(sym, state["total"][i]),
                issue_date=dates.iso(state["issue"][i]),
                promised_date=dates.iso(state["issue"][i] - int(rng.integers(5, 15))),
                claim_date=dates.iso(state["due"][i] - int(rng.integers(-5, 10))),
                method=METHOD_LABEL[method[c]],
                ref=f"{int(rng.integers(10**7, 10**8))}",
                terms=terms,
                alt_terms=int(rng.choice([t for t in catalog.PAYMENT_TERMS if t != terms])),
                days=int(rng.integers(3, 22)),
                tax_kind=(
                    "fee"
                    if state["tax"][i] == 0
                    else "vat"
                    if currency[c] in ("EUR", "GBP")
                    else "sales_tax"
                ),
            )
            resolved = bool(state["done"][i]) and state["resolved"][i] <= spec.as_of_day
            data["dispute"] = {
                "category": category,
                "text": render_note(facts, rng),
                "opened_on": dates.iso(state["opened"][i]),
                "amount": _decimal(dispute["diff"][i]),
                "status": "resolved" if resolved else "open",
                "resolved_on": dates.iso(state["resolved"][i]) if resolved else None,
                "resolution": (
                    ("voided" if state["void"][i] else "short_paid" if state["short"][i]
                     else "paid_in_full") if resolved else None
                ),
            }  # fmt: skip
        if state["void"][i]:
            reason = (
                catalog.VOID_REASONS[int(rng.integers(len(catalog.VOID_REASONS)))]
                if state["random_void"][i]
                else "Duplicate billing confirmed in dispute"
            )
            data["void"] = {"on": dates.iso(state["void_day"][i]), "reason": reason}
        if state["written_off"][i]:
            reason = (
                f"Uncollectible: unpaid {WRITE_OFF_AFTER_DAYS} days after due date"
                if state["never"][i]
                else "Disputed remainder written off after short payment"
            )
            data["write_off"] = {"on": dates.iso(state["write_off_day"][i]), "reason": reason}
        attributes[i] = json.dumps(data, ensure_ascii=False, sort_keys=True)
    return attributes


def _money(symbol: str, cents: int) -> str:
    return f"{symbol}{int(cents) / 100:,.2f}"


def _decimal(cents: int) -> str:
    return f"{int(cents) // 100}.{int(cents) % 100:02d}"
