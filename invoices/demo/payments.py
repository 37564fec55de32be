"""Payments from intended payment days: remittances grouped by payment run, card/ACH
failures with real codes and their retries, duplicate remittances refunded, and the as-of cut
(nothing after it has happened yet)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from invoices.demo import catalog, dates
from invoices.demo.spec import DemoSpec


def build_payments(
    spec: DemoSpec,
    rng: np.random.Generator,
    col: dict[str, np.ndarray],
    cust: np.ndarray,
    *,
    events: list[tuple[np.ndarray, np.ndarray, np.ndarray, int]],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Turn intended payment events into payments, failed attempts, retries and refunds."""
    invoice = np.concatenate([e[0] for e in events]).astype(np.int64)
    day = np.concatenate([e[1] for e in events]).astype(np.int64)
    amount = np.concatenate([e[2] for e in events]).astype(np.int64)
    groupable = np.concatenate([np.full(e[0].size, bool(e[3])) for e in events])
    keep = amount > 0
    invoice, day, amount, groupable = invoice[keep], day[keep], amount[keep], groupable[keep]
    customer = cust[invoice]
    method = col["method"][customer].copy()  # the customer's usual method
    other = rng.random(invoice.size) < 0.1
    if other.any():
        alternatives = np.array(["wire", "check", "ach", "card"], dtype=object)
        currency = col["currency"][customer]
        swap = alternatives[rng.integers(0, 4, invoice.size)]
        # Off-pattern payments stay within what the currency's rails allow.
        allowed = np.array(
            [m in catalog.METHODS_BY_CURRENCY[c][0] for m, c in zip(swap, currency, strict=True)]
        )
        method = np.where(other & allowed, swap, method)
    # One remittance settles every invoice a customer pays on the same day by the same
    # method (payment runs), except card charges, which are one per invoice.
    solo = np.where(groupable & (method != "card"), -1, np.arange(invoice.size))
    events_frame = pd.DataFrame(
        {"customer": customer, "day": day, "method": method, "solo": solo, "invoice": invoice,
         "amount": amount}
    )  # fmt: skip
    group = events_frame.groupby(["customer", "day", "method", "solo"], sort=True).ngroup()
    group = group.to_numpy()
    first_of_group = np.unique(group, return_index=True)[1]
    g_customer = customer[first_of_group]
    g_day = day[first_of_group]
    g_method = method[first_of_group]
    g_amount = np.bincount(group, weights=amount, minlength=first_of_group.size).astype(np.int64)
    g = g_customer.size

    # Card and ACH charges fail now and then; a retry follows a few days later.
    can_fail = np.isin(g_method, ["card", "ach"])
    rate = col["latent_fail_rate"][g_customer] * np.where(g_method == "ach", 1.3, 1.0)
    failures = np.where(can_fail & (rng.random(g) < rate), 1, 0)
    failures += (failures > 0) & (rng.random(g) < 0.15)
    gap_low = np.where(g_method == "card", 1, 3)
    gap1 = rng.integers(gap_low, gap_low + 3)
    gap2 = rng.integers(gap_low, gap_low + 3)
    attempts = failures + 1
    row_group = np.repeat(np.arange(g), attempts)
    row_attempt = np.arange(row_group.size) - (np.cumsum(attempts) - attempts)[row_group]
    # Each retry waits a few (business) days after the attempt before it.
    first_retry = dates.business_day(g_day + gap1)
    second_retry = dates.business_day(first_retry + gap2)
    row_day = np.stack([g_day, first_retry, second_retry])[row_attempt, row_group]
    row_failed = row_attempt < failures[row_group]
    row_method = g_method[row_group]
    code, reason = _failure_reasons(rng, row_method, row_failed)

    # Duplicate remittances get refunded (unapplied; they never touch an invoice balance).
    duplicate = ~row_failed & (rng.random(row_group.size) < 0.004)
    dup_rows = np.flatnonzero(duplicate)
    dup_day = dates.business_day(row_day[dup_rows] + rng.integers(1, 4, dup_rows.size))
    refund_day = dup_day + rng.integers(3, 15, dup_rows.size)

    status = np.where(row_failed, "failed", "succeeded").astype(object)
    recent = (row_method == "ach") & (row_day > spec.as_of_day - 2) & ~row_failed
    status[recent] = "pending"
    retry_of = np.where(row_attempt > 0, np.arange(row_group.size) - 1, -1)

    p_customer = np.concatenate([g_customer[row_group], g_customer[row_group[dup_rows]]])
    p_day = np.concatenate([row_day, dup_day])
    p_method = np.concatenate([row_method, row_method[dup_rows]])
    p_amount = np.concatenate([g_amount[row_group], g_amount[row_group[dup_rows]]])
    p_status = np.concatenate(
        [status, np.where(refund_day <= spec.as_of_day, "refunded", "succeeded")]
    )
    p_code = np.concatenate([code, np.full(dup_rows.size, "", dtype=object)])
    p_reason = np.concatenate([reason, np.full(dup_rows.size, "", dtype=object)])
    p_retry = np.concatenate([retry_of, np.full(dup_rows.size, -1)])
    p_group = np.concatenate([row_group, np.full(dup_rows.size, -1)])
    p_duplicate = np.concatenate([np.zeros(row_group.size, bool), np.ones(dup_rows.size, bool)])
    # A refund happens at noon on its day (``updated_at`` of a refunded payment); -1: none.
    p_refund_day = np.concatenate([np.full(row_group.size, -1), refund_day])

    # Nothing after the as-of date has happened yet.
    happened = p_day <= spec.as_of_day
    new_key = np.cumsum(happened) - 1
    p_retry = np.where(p_retry >= 0, new_key[np.maximum(p_retry, 0)], -1)[happened]
    count = int(happened.sum())
    seconds = _time_of_day(rng, p_method[happened])
    payments = pd.DataFrame(
        {
            "key": np.arange(count),
            "customer": p_customer[happened],
            "day": p_day[happened],
            "received_at": dates.local_to_utc(p_day[happened], seconds, spec.time_zone),
            "currency": col["currency"][p_customer[happened]],
            "amount_cents": p_amount[happened],
            "method": p_method[happened],
            "status": p_status[happened],
            "failure_code": p_code[happened],
            "failure_reason": p_reason[happened],
            "processor": [catalog.PROCESSORS[m] for m in p_method[happened]],
            "reference": references(rng, p_method[happened]),
            "retry_of": p_retry,
            "duplicate": p_duplicate[happened],
            "refunded_at": np.where(
                (p_refund_day[happened] >= 0) & (p_refund_day[happened] <= spec.as_of_day),
                dates.local_to_utc(
                    np.maximum(p_refund_day[happened], 0),
                    np.full(count, 12 * 3600),
                    spec.time_zone,
                ),
                -1,
            ),
        }
    )
    # Every attempt (failed or not) carries the allocations of its remittance group.
    rows = np.flatnonzero(happened & (p_group >= 0))
    event_order = np.argsort(group, kind="stable")
    event_start = np.searchsorted(group[event_order], np.arange(g))
    members = np.bincount(group, minlength=g)[p_group[rows]]
    row_of = np.repeat(rows, members)
    within = np.arange(row_of.size) - np.repeat(np.cumsum(members) - members, members)
    member = event_order[np.repeat(event_start[p_group[rows]], members) + within]
    allocations = pd.DataFrame(
        {"payment": new_key[row_of], "invoice": invoice[member], "amount_cents": amount[member]}
    )
    return payments, allocations


def _failure_reasons(
    rng: np.random.Generator, method: np.ndarray, failed: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    code = np.full(method.size, "", dtype=object)
    reason = np.full(method.size, "", dtype=object)
    for name, table in (("card", catalog.CARD_FAILURES), ("ach", catalog.ACH_FAILURES)):
        mask = failed & (method == name)
        weights = np.array([t[2] for t in table])
        pick = rng.choice(len(table), size=int(mask.sum()), p=weights / weights.sum())
        code[mask] = np.array([t[0] for t in table], dtype=object)[pick]
        reason[mask] = np.array([t[1] for t in table], dtype=object)[pick]
    return code, reason


def _time_of_day(rng: np.random.Generator, method: np.ndarray) -> np.ndarray:
    """Seconds after local midnight: banks post early, lockboxes midday, cards any time."""
    windows = {"card": (7, 23), "ach": (6, 10), "sepa": (6, 10), "wire": (9, 17)}
    windows |= {"check": (10, 15), "other": (8, 12)}
    low = np.array([windows[m][0] for m in method]) * 3600
    high = np.array([windows[m][1] for m in method]) * 3600
    return (low + rng.random(method.size) * (high - low)).astype(np.int64)


def references(rng: np.random.Generator, method: np.ndarray) -> list[str]:
    numbers = rng.integers(0, 2**62, size=method.size)
    formats = {
        "card": lambda v: f"ch_{v:016x}",
        "ach": lambda v: f"0210000{v % 10**8:08d}",
        "wire": lambda v: f"FT{v % 10**10:010d}",
        "check": lambda v: f"CHK {v % 900000 + 100000}",
        "sepa": lambda v: f"E2E-{v % 10**12:012d}",
        "other": lambda v: f"BACS{v % 10**8:08d}",
    }
    return [formats[m](int(v)) for m, v in zip(method, numbers, strict=True)]
