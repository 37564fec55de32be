"""A seeded generative model of two years of accounts receivable for one organization.

Pure numpy/pandas, no ORM: ``generate(spec)`` yields one ``DemoChunk`` of columnar frames per
block of customers, so memory stays bounded however many invoices are asked for, and the
loader streams each chunk into PostgreSQL with COPY. Same spec (seed, sizes, as-of date,
currency, time zone) gives identical frames.

Money is integer cents (int64) throughout, so lines, subtotals, tax and allocations add up
exactly. Dates are int32 days since 1970-01-01 (numpy's datetime64[D] epoch).

What a model can learn, and why it is there (docs/demo-data.md says more):
- every customer has a latent mean delay and spread (segment: early / punctual / late /
  chronic, shifted by industry and country), some with a drift over time, so history
  predicts the future;
- due month (December and summer pay later), payment habit (weekly payment runs on one
  weekday, month-end runs, ad hoc) and invoice size relative to the customer's typical
  invoice move the payment date;
- disputes are likelier the later an invoice would have been, and delay it further;
- card/ACH payments fail with real decline/return codes and are retried days later.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from invoices.demo import catalog
from invoices.demo.disputes import (
    CATEGORIES,
    CATEGORY_WEIGHTS,
    PARTIAL_CATEGORIES,
    DisputeFacts,
    render_note,
)

EPOCH = dt.date(1970, 1, 1)
SEGMENTS = ("early", "punctual", "late", "chronic")
SEGMENT_WEIGHTS = (0.12, 0.45, 0.28, 0.15)
SEGMENT_MEAN_DELAY = np.array([-10.0, -4.0, 6.0, 26.0])
SEGMENT_MEAN_SPREAD = np.array([3.0, 2.5, 4.0, 12.0])
SEGMENT_NOISE = np.array([2.5, 3.5, 7.0, 16.0])
HABITS = ("weekly_run", "month_end_run", "ad_hoc")
HABIT_WEIGHTS = (0.35, 0.2, 0.45)
# Extra days of delay by the month the invoice falls due (index 1..12).
SEASON_DELAY = np.array([0, 3, 0, 0, 0, 0, 0, 3, 5, 0, 0, 1, 8], dtype=float)
# Relative invoicing volume by month of issue (quieter December and August).
SEASON_VOLUME = np.array([0, 1, 1, 1.08, 1, 1, 1.08, 1, 0.9, 1.08, 1, 1.05, 0.8])
LINES_PER_INVOICE = (1, 2, 3, 4, 5)
LINES_WEIGHTS = (0.35, 0.25, 0.2, 0.12, 0.08)
WRITE_OFF_AFTER_DAYS = 180
METHOD_LABEL = {
    "card": "card",
    "ach": "ACH",
    "wire": "wire transfer",
    "check": "check",
    "sepa": "SEPA transfer",
    "other": "BACS",
}


@dataclass(frozen=True)
class DemoSpec:
    customers: int
    invoices: int
    seed: int
    as_of: dt.date
    base_currency: str = "USD"
    time_zone: str = "UTC"
    history_days: int = 730
    chunk_customers: int = 1000

    def __post_init__(self) -> None:
        if self.customers < 1:
            raise ValueError(f"customers must be at least 1, got {self.customers}")
        if self.invoices < 1:
            raise ValueError(f"invoices must be at least 1, got {self.invoices}")
        if self.seed < 0:
            raise ValueError(f"seed must not be negative, got {self.seed}")
        if self.base_currency not in catalog.SUPPORTED_BASE_CURRENCIES:
            raise ValueError(
                f"demo data supports base currencies {', '.join(catalog.SUPPORTED_BASE_CURRENCIES)}"
                f", not {self.base_currency}"
            )

    @property
    def as_of_day(self) -> int:
        return (self.as_of - EPOCH).days

    @property
    def start_day(self) -> int:
        return self.as_of_day - self.history_days + 1


@dataclass
class DemoChunk:
    """One block of customers with everything that belongs to them.

    Keys: ``customers.key`` and ``invoices.key`` are global indexes; ``payments.key`` is local
    to the chunk (``retry_of`` and ``allocations.payment`` refer to it, -1 means none).
    """

    index: int
    customers: pd.DataFrame
    invoices: pd.DataFrame
    lines: pd.DataFrame
    payments: pd.DataFrame
    allocations: pd.DataFrame


def generate(spec: DemoSpec) -> Iterator[DemoChunk]:
    world = _customer_world(spec)
    skeleton = _invoice_skeleton(spec, world)
    bounds = np.concatenate([[0], np.cumsum(world["invoice_count"].to_numpy())])
    for index, c0 in enumerate(range(0, spec.customers, spec.chunk_customers)):
        c1 = min(c0 + spec.chunk_customers, spec.customers)
        rng = np.random.default_rng([spec.seed, 3, index])
        customers = world.iloc[c0:c1].reset_index(drop=True)
        invoices = skeleton.iloc[bounds[c0] : bounds[c1]].reset_index(drop=True)
        yield _chunk(spec, rng, index, customers, invoices, offset=int(bounds[c0]))


def exchange_rates(spec: DemoSpec) -> pd.DataFrame:
    """Weekday rates (1 unit of currency = rate units of base) for the demo currencies."""
    rng = np.random.default_rng([spec.seed, 4])
    days = np.arange(spec.start_day - 7, spec.as_of_day + 1)
    usd_per = {}
    for currency, start in catalog.USD_PER_UNIT.items():
        steps = rng.normal(0, 0.004, days.size) if currency != "USD" else np.zeros(days.size)
        usd_per[currency] = start * np.exp(np.cumsum(steps))
    weekdays = _weekday(days) < 5
    frames = []
    for currency in catalog.USD_PER_UNIT:
        if currency == spec.base_currency:
            continue
        rate = usd_per[currency] / usd_per[spec.base_currency]
        frames.append(
            pd.DataFrame(
                {"currency": currency, "date": days[weekdays], "rate": np.round(rate[weekdays], 10)}
            )
        )
    return pd.concat(frames, ignore_index=True)


# --- The customer world ----------------------------------------------------------------


def _customer_world(spec: DemoSpec) -> pd.DataFrame:
    rng = np.random.default_rng([spec.seed, 1])
    n = spec.customers
    others = [c for c in ("USD", "EUR", "GBP", "CAD") if c != spec.base_currency]
    currency = rng.choice([spec.base_currency, *others], size=n, p=[0.72, 0.12, 0.09, 0.07])
    country = np.empty(n, dtype=object)
    for code, (countries, weights) in catalog.CURRENCY_COUNTRIES.items():
        mask = currency == code
        country[mask] = rng.choice(countries, size=int(mask.sum()), p=weights)
    industry = rng.choice(catalog.INDUSTRIES, size=n, p=catalog.INDUSTRY_WEIGHTS)
    terms = rng.choice(catalog.PAYMENT_TERMS, size=n, p=catalog.PAYMENT_TERMS_WEIGHTS)
    segment = rng.choice(len(SEGMENTS), size=n, p=SEGMENT_WEIGHTS)
    mu = (
        SEGMENT_MEAN_DELAY[segment]
        + rng.normal(0, 1, n) * SEGMENT_MEAN_SPREAD[segment]
        + np.array([catalog.INDUSTRY_DELAY[i] for i in industry])
        + np.array([catalog.COUNTRY_DELAY[c] for c in country])
    )
    sigma = SEGMENT_NOISE[segment] * rng.lognormal(0, 0.25, n)
    # A quarter of customers get steadily better or worse (days per year).
    drift = np.where(rng.random(n) < 0.25, rng.normal(0, 6, n), 0.0)
    fail_rate = np.clip(
        (0.02 + 0.05 * (segment >= 2) + 0.04 * (segment == 3)) * rng.lognormal(0, 0.4, n),
        0,
        0.3,
    )
    size = rng.lognormal(np.log(2500), 0.9, n)
    weight = rng.lognormal(0, 1.0, n)
    first = np.where(rng.random(n) < 0.72, 0, rng.integers(0, int(spec.history_days * 0.85), n))
    churned = rng.random(n) < 0.08
    last = np.where(
        churned,
        first + ((spec.history_days - 1 - first) * rng.uniform(0.3, 0.9, n)).astype(int),
        spec.history_days - 1,
    )
    counts = _invoice_counts(rng, spec, weight)
    tax_rate = np.zeros(n)
    for code, (exempt, rates) in catalog.COUNTRY_TAX.items():
        mask = country == code
        k = int(mask.sum())
        tax_rate[mask] = np.where(rng.random(k) < exempt, 0.0, rng.choice(rates, size=k))
    method = np.empty(n, dtype=object)
    for code, (methods, weights) in catalog.METHODS_BY_CURRENCY.items():
        mask = currency == code
        method[mask] = rng.choice(methods, size=int(mask.sum()), p=weights)
    credit_score = np.clip(np.rint(760 - 3.2 * mu - 0.8 * sigma + rng.normal(0, 35, n)), 300, 850)
    monthly = size * counts / 24
    credit_limit = np.maximum(5000, np.ceil(monthly * 2 / 1000) * 1000)
    names, emails = _names(rng, industry, country)
    channel = rng.choice(["email", "phone", "letter", "sms"], size=n, p=[0.85, 0.08, 0.05, 0.02])
    first_names = rng.choice(catalog.FIRST_NAMES, size=n)
    last_names = rng.choice(catalog.LAST_NAMES, size=n)
    return pd.DataFrame(
        {
            "key": np.arange(n),
            "name": names,
            "email": emails,
            "phone": [
                f"{catalog.COUNTRY_PHONE[c]} {p // 10000:03d} {p % 10000:04d}"
                for c, p in zip(country, rng.integers(2_000_000, 9_999_999, n), strict=True)
            ],
            "contact_name": [f"{f} {s}" for f, s in zip(first_names, last_names, strict=True)],
            "currency": currency,
            "payment_terms_days": terms,
            "credit_limit_cents": (credit_limit * 100).astype(np.int64),
            "credit_score": credit_score.astype(np.int64),
            "industry": industry,
            "country": country,
            "reminder_channel": channel,
            "reminder_language": [catalog.COUNTRY_LANGUAGE.get(c, "en") for c in country],
            "do_not_remind": rng.random(n) < 0.02,
            "uses_po": rng.random(n) < 0.6,
            "first_day": spec.start_day + first,
            "last_day": spec.start_day + last,
            "invoice_count": counts,
            "tax_rate": tax_rate,
            "method": method,
            "price_factor": rng.uniform(0.88, 1.05, n),
            # Latent behaviour: what a model should recover from history, never stored.
            "latent_segment": np.array(SEGMENTS)[segment],
            "latent_mean_delay": mu,
            "latent_noise": sigma,
            "latent_drift": drift,
            "latent_season_sensitivity": rng.uniform(0.4, 1.6, n),
            "latent_amount_sensitivity": rng.uniform(2.0, 9.0, n),
            "latent_dispute_propensity": rng.lognormal(0, 0.5, n),
            "latent_fail_rate": fail_rate,
            "latent_installment_rate": np.where(
                rng.random(n) < 0.12, rng.uniform(0.2, 0.5, n), 0.015
            ),
            "latent_habit": np.array(HABITS)[rng.choice(3, size=n, p=HABIT_WEIGHTS)],
            "latent_run_weekday": rng.choice([1, 2, 3, 4], size=n, p=[0.25, 0.15, 0.3, 0.3]),
            "latent_typical_subtotal": size,
        }
    )


def _invoice_counts(rng: np.random.Generator, spec: DemoSpec, weight: np.ndarray) -> np.ndarray:
    share = weight / weight.sum()
    if spec.invoices >= spec.customers:
        return 1 + rng.multinomial(spec.invoices - spec.customers, share)
    return rng.multinomial(spec.invoices, share)


def _names(
    rng: np.random.Generator, industry: np.ndarray, country: np.ndarray
) -> tuple[list[str], list[str]]:
    names, emails, seen = [], [], {}
    prefixes = rng.choice(catalog.NAME_PREFIXES, size=industry.size)
    picks = rng.integers(0, 1000, size=(industry.size, 2))
    for prefix, ind, ctry, (a, b) in zip(prefixes, industry, country, picks, strict=True):
        nouns = catalog.NAME_NOUNS[ind]
        suffixes = catalog.LEGAL_SUFFIX[ctry]
        base = f"{prefix} {nouns[a % len(nouns)]}"
        repeat = seen.get(base, 0)
        seen[base] = repeat + 1
        label = base if repeat == 0 else f"{base} {repeat + 1}"
        names.append(f"{label} {suffixes[b % len(suffixes)]}")
        slug = "".join(ch for ch in label.lower() if ch.isalnum())
        emails.append(f"ap@{slug}.example")
    return names, emails


def _invoice_skeleton(spec: DemoSpec, world: pd.DataFrame) -> pd.DataFrame:
    """Issue dates and numbers for every invoice, sorted by customer then date.

    Numbers run per calendar year in issue order across all customers (INV-2025-000001),
    so they are assigned here, before the per-chunk detail.
    """
    rng = np.random.default_rng([spec.seed, 2])
    days = np.arange(spec.start_day, spec.as_of_day + 1)
    weekday = _weekday(days)
    weights = np.where(weekday < 5, 1.0, np.where(weekday == 5, 0.06, 0.02))
    weights *= 1 + 0.15 * (days - spec.start_day) / 365.25  # the business grows
    weights *= SEASON_VOLUME[_month(days)]
    cdf = np.cumsum(weights) / weights.sum()
    counts = world["invoice_count"].to_numpy()
    customer = np.repeat(world["key"].to_numpy(), counts)
    first = np.repeat(world["first_day"].to_numpy() - spec.start_day, counts)
    last = np.repeat(world["last_day"].to_numpy() - spec.start_day, counts)
    low = np.where(first > 0, cdf[np.maximum(first - 1, 0)], 0.0)
    high = cdf[last]
    u = low + (high - low) * rng.random(customer.size)
    index = np.clip(np.searchsorted(cdf, u, side="left"), first, last)
    issue = days[index]
    order = np.lexsort((issue, customer))
    customer, issue = customer[order], issue[order]
    by_date = np.lexsort((np.arange(issue.size), customer, issue))
    year = _year(issue[by_date])
    year_start = np.searchsorted(year, year, side="left")
    sequence = np.empty(issue.size, dtype=np.int64)
    sequence[by_date] = np.arange(issue.size) - year_start + 1
    width = max(6, len(str(int(sequence.max()))))
    return pd.DataFrame(
        {"customer": customer, "issue_day": issue, "year": _year(issue), "sequence": sequence}
    ).assign(width=width)


# --- One chunk: lines, payment behaviour, payments, final ledger state ------------------


def _chunk(
    spec: DemoSpec,
    rng: np.random.Generator,
    index: int,
    customers: pd.DataFrame,
    skeleton: pd.DataFrame,
    *,
    offset: int,
) -> DemoChunk:
    c0 = int(customers["key"].iloc[0])
    n = len(skeleton)
    cust = skeleton["customer"].to_numpy() - c0  # local customer index
    issue = skeleton["issue_day"].to_numpy().astype(np.int64)
    col = {name: customers[name].to_numpy() for name in customers.columns}
    width = int(skeleton["width"].iloc[0]) if n else 6
    numbers = np.array(
        [
            f"INV-{y}-{s:0{width}d}"
            for y, s in zip(skeleton["year"], skeleton["sequence"], strict=True)
        ],
        dtype=object,
    )

    lines = _lines(spec, rng, col, cust, issue)
    line_invoice = lines["invoice"].to_numpy()
    subtotal = np.bincount(line_invoice, weights=lines["amount_cents"], minlength=n).astype(
        np.int64
    )
    tax = np.bincount(line_invoice, weights=lines["tax_cents"], minlength=n).astype(np.int64)
    total = subtotal + tax
    terms = col["payment_terms_days"][cust].astype(np.int64)
    due = issue + terms

    # Latent payment delay (days after due) before disputes.
    years = (issue - spec.start_day) / 365.25
    relative_size = np.log(np.maximum(subtotal, 1) / (col["latent_typical_subtotal"][cust] * 100))
    delay = (
        col["latent_mean_delay"][cust]
        + col["latent_drift"][cust] * (years - 1.0)
        + col["latent_season_sensitivity"][cust] * SEASON_DELAY[_month(due)]
        + col["latent_amount_sensitivity"][cust] * np.clip(relative_size, -1.0, 2.5)
        + col["latent_noise"][cust] * 0.7 * rng.standard_t(4, n)
    )

    # Disputes: the later an invoice would have been paid, and the bigger, the likelier.
    logit = (
        -4.0
        + 0.045 * np.clip(delay, -10, 90)
        + 0.35 * np.clip(relative_size, -1, 2.5)
        + np.log(col["latent_dispute_propensity"][cust])
    )
    disputed = rng.random(n) < np.minimum(1 / (1 + np.exp(-logit)), 0.45)
    category = np.where(
        disputed, rng.choice(len(CATEGORIES), size=n, p=CATEGORY_WEIGHTS), -1
    ).astype(np.int64)
    opened = issue + rng.integers(3, terms + 21)
    resolution_days = np.rint(5 + rng.gamma(2.0, 9.0, n)).astype(np.int64)
    resolved = opened + resolution_days

    pay = due + np.rint(delay).astype(np.int64)
    pay = np.where(disputed, np.maximum(pay + 7, resolved), pay)
    pay = np.maximum(pay, issue + 1)
    pay = _apply_habit(
        pay,
        col["latent_habit"][cust],
        col["latent_run_weekday"][cust],
        weekend_ok=col["method"][cust] == "card",
    )
    pay = np.where(pay <= issue, _business_day(issue + 1), pay)

    dispute = _dispute_amounts(rng, lines, disputed, category, subtotal, tax, total)
    partial_category = np.isin(category, [CATEGORIES.index(c) for c in PARTIAL_CATEGORIES])
    short_pay = disputed & partial_category & (rng.random(n) < 0.55) & (dispute["diff"] < total)
    dup_void = disputed & (category == CATEGORIES.index("duplicate_billing"))
    dup_void &= rng.random(n) < 0.35
    random_void = ~disputed & (rng.random(n) < 0.004)
    void_day = np.where(dup_void, resolved, issue + rng.integers(1, 6, n))
    voided = dup_void | random_void
    never = ~voided & (((col["latent_segment"][cust] == "chronic") & (delay > 150)) | (delay > 240))
    write_off_day = np.where(never, due + WRITE_OFF_AFTER_DAYS, pay)

    installment = (
        ~voided
        & ~short_pay
        & (total >= 50_000)
        & (
            rng.random(n)
            < col["latent_installment_rate"][cust] * np.where(relative_size > 0.7, 2.0, 1.0)
        )
    )
    first_share = rng.uniform(0.2, 0.6, n)
    first_amount = np.where(installment, np.rint(total * first_share / 100) * 100, 0).astype(
        np.int64
    )
    first_day = issue + np.rint((pay - issue) * rng.uniform(0.3, 0.7, n)).astype(np.int64)
    first_day = _business_day(np.maximum(first_day, issue + 1))
    final_amount = total - first_amount - np.where(short_pay, dispute["diff"], 0)

    method_pref = col["method"][cust]
    payments, allocations = _payments(
        spec,
        rng,
        col,
        cust,
        issue,
        events=[
            # (invoice, day, amount, may share a payment with other invoices)
            (np.flatnonzero(installment), first_day[installment], first_amount[installment], 0),
            (
                np.flatnonzero(~voided & ~never),
                pay[~voided & ~never],
                final_amount[~voided & ~never],
                1,
            ),
        ],
        method_pref=method_pref,
    )

    # Final ledger state from the allocations of succeeded payments, as of the as-of date.
    succeeded = payments["status"].to_numpy()[allocations["payment"].to_numpy()] == "succeeded"
    alloc_invoice = allocations["invoice"].to_numpy()
    paid = np.bincount(
        alloc_invoice[succeeded], weights=allocations["amount_cents"].to_numpy()[succeeded],
        minlength=n,
    ).astype(np.int64)  # fmt: skip
    last_paid = np.full(n, -1, dtype=np.int64)
    np.maximum.at(
        last_paid,
        alloc_invoice[succeeded],
        payments["day"].to_numpy()[allocations["payment"].to_numpy()[succeeded]],
    )
    balance = total - paid
    status = np.where(balance == 0, "paid", np.where(paid > 0, "partially_paid", "open"))
    is_void = voided & (void_day <= spec.as_of_day)
    short_done = short_pay & (paid == total - dispute["diff"]) & (paid > 0)
    write_off_done = (never & (write_off_day <= spec.as_of_day)) | short_done
    status = np.where(is_void, "void", np.where(write_off_done, "written_off", status))
    paid_day = np.where(status == "paid", last_paid, -1)
    dispute_visible = disputed & (opened <= spec.as_of_day)

    po = np.where(
        col["uses_po"][cust],
        np.char.add("PO-", rng.integers(100000, 999999, n).astype(str)),
        "",
    )
    attributes = _invoice_attributes(
        spec,
        rng,
        customers,
        cust,
        numbers,
        skeleton,
        lines,
        dispute,
        dict(
            category=category,
            visible=dispute_visible,
            opened=opened,
            resolved=np.where(
                dup_void, void_day, np.where(short_done | (status == "paid"), last_paid, resolved)
            ),
            done=(is_void & dup_void) | short_done | (status == "paid"),
            short=short_done,
            void=is_void,
            void_day=void_day,
            random_void=random_void,
            written_off=write_off_done,
            write_off_day=np.where(short_done, last_paid, write_off_day),
            never=never,
            issue=issue,
            due=due,
            terms=terms,
            total=total,
            tax=tax,
            po=po,
        ),
    )
    invoices = pd.DataFrame(
        {
            "key": np.arange(n) + offset,
            "customer": cust + c0,
            "number": numbers,
            "issue_date": issue,
            "due_date": due,
            "currency": col["currency"][cust],
            "subtotal_cents": subtotal,
            "tax_cents": tax,
            "total_cents": total,
            "balance_cents": balance,
            "status": status,
            "disputed": dispute_visible,
            "po_number": po,
            "payment_terms_days": terms,
            "paid_date": paid_day,
            "attributes": attributes,
            "created_at": _local_to_utc(
                issue, rng.integers(8 * 3600, 18 * 3600, n), spec.time_zone
            ),
        }
    )
    return DemoChunk(
        index=index,
        customers=_customer_frame(spec, customers),
        invoices=invoices,
        lines=lines.assign(invoice=lines["invoice"] + offset),
        payments=payments.assign(customer=payments["customer"] + c0),
        allocations=allocations.assign(invoice=allocations["invoice"] + offset),
    )


def _lines(
    spec: DemoSpec,
    rng: np.random.Generator,
    col: dict[str, np.ndarray],
    cust: np.ndarray,
    issue: np.ndarray,
) -> pd.DataFrame:
    n = cust.size
    count = rng.choice(LINES_PER_INVOICE, size=n, p=LINES_WEIGHTS)
    invoice = np.repeat(np.arange(n), count)
    starts = np.cumsum(count) - count
    position = np.arange(invoice.size) - starts[invoice] + 1
    products = catalog.PRODUCTS
    popularity = np.array([p[3] for p in products], dtype=float)
    popularity /= popularity.sum()
    price = np.array([p[1] for p in products])
    typical_qty = np.array([p[2] for p in products], dtype=float)
    product = rng.choice(len(products), size=invoice.size, p=popularity)
    # Quantities scale with the customer's size so a customer's invoices centre on its
    # typical amount; flat charges (freight, setup) stay at one or two.
    expected_line = float((popularity * price * typical_qty).sum())
    expected_lines = float(np.dot(LINES_PER_INVOICE, LINES_WEIGHTS))
    line_cust = cust[invoice]
    scale = col["latent_typical_subtotal"][line_cust] / (expected_line * expected_lines)
    flat = typical_qty[product] == 1
    quantity = np.where(
        flat,
        1 + (rng.random(invoice.size) < 0.2),
        np.maximum(1, np.rint(typical_qty[product] * scale * rng.lognormal(0, 0.45, invoice.size))),
    ).astype(np.int64)
    years = (issue[invoice] - spec.start_day) / 365.25
    unit_cents = np.maximum(
        1,
        np.rint(price[product] * col["price_factor"][line_cust] * (1 + 0.035 * years) * 100),
    ).astype(np.int64)
    amount = quantity * unit_cents
    tax = np.rint(amount * col["tax_rate"][line_cust]).astype(np.int64)
    names = np.array([p[0] for p in products], dtype=object)
    return pd.DataFrame(
        {
            "invoice": invoice,
            "position": position,
            "description": names[product],
            "quantity": quantity,
            "unit_price_cents": unit_cents,
            "amount_cents": amount,
            "tax_cents": tax,
        }
    )


def _dispute_amounts(
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


def _payments(
    spec: DemoSpec,
    rng: np.random.Generator,
    col: dict[str, np.ndarray],
    cust: np.ndarray,
    issue: np.ndarray,
    *,
    events: list[tuple[np.ndarray, np.ndarray, np.ndarray, int]],
    method_pref: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Turn intended payment events into payments, failed attempts, retries and refunds."""
    invoice = np.concatenate([e[0] for e in events]).astype(np.int64)
    day = np.concatenate([e[1] for e in events]).astype(np.int64)
    amount = np.concatenate([e[2] for e in events]).astype(np.int64)
    groupable = np.concatenate([np.full(e[0].size, bool(e[3])) for e in events])
    keep = amount > 0
    invoice, day, amount, groupable = invoice[keep], day[keep], amount[keep], groupable[keep]
    customer = cust[invoice]
    method = method_pref[customer].copy()
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
    first_retry = _business_day(g_day + gap1)
    second_retry = _business_day(first_retry + gap2)
    row_day = np.stack([g_day, first_retry, second_retry])[row_attempt, row_group]
    row_failed = row_attempt < failures[row_group]
    row_method = g_method[row_group]
    code, reason = _failure_reasons(rng, row_method, row_failed)

    # Duplicate remittances get refunded (unapplied; they never touch an invoice balance).
    duplicate = ~row_failed & (rng.random(row_group.size) < 0.004)
    dup_rows = np.flatnonzero(duplicate)
    dup_day = _business_day(row_day[dup_rows] + rng.integers(1, 4, dup_rows.size))
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
            "received_at": _local_to_utc(p_day[happened], seconds, spec.time_zone),
            "currency": col["currency"][p_customer[happened]],
            "amount_cents": p_amount[happened],
            "method": p_method[happened],
            "status": p_status[happened],
            "failure_code": p_code[happened],
            "failure_reason": p_reason[happened],
            "processor": [catalog.PROCESSORS[m] for m in p_method[happened]],
            "reference": _references(rng, p_method[happened]),
            "retry_of": p_retry,
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


def _references(rng: np.random.Generator, method: np.ndarray) -> list[str]:
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


def _invoice_attributes(
    spec: DemoSpec,
    rng: np.random.Generator,
    customers: pd.DataFrame,
    cust: np.ndarray,
    numbers: np.ndarray,
    skeleton: pd.DataFrame,
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
                issue_date=_iso(state["issue"][i]),
                promised_date=_iso(state["issue"][i] - int(rng.integers(5, 15))),
                claim_date=_iso(state["due"][i] - int(rng.integers(-5, 10))),
                method=METHOD_LABEL[method[c]],
                ref=f"{int(rng.integers(10**7, 10**8))}",
                terms=terms,
                alt_terms=int(rng.choice([t for t in catalog.PAYMENT_TERMS if t != terms])),
                days=int(rng.integers(3, 22)),
            )
            resolved = bool(state["done"][i]) and state["resolved"][i] <= spec.as_of_day
            data["dispute"] = {
                "category": category,
                "text": render_note(facts, rng),
                "opened_on": _iso(state["opened"][i]),
                "amount": _decimal(dispute["diff"][i]),
                "status": "resolved" if resolved else "open",
                "resolved_on": _iso(state["resolved"][i]) if resolved else None,
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
            data["void"] = {"on": _iso(state["void_day"][i]), "reason": reason}
        if state["written_off"][i]:
            reason = (
                f"Uncollectible: unpaid {WRITE_OFF_AFTER_DAYS} days after due date"
                if state["never"][i]
                else "Disputed remainder written off after short payment"
            )
            data["write_off"] = {"on": _iso(state["write_off_day"][i]), "reason": reason}
        attributes[i] = json.dumps(data, ensure_ascii=False, sort_keys=True)
    return attributes


def _customer_frame(spec: DemoSpec, customers: pd.DataFrame) -> pd.DataFrame:
    frame = customers.copy()
    frame["contacts"] = [
        json.dumps([{"name": name, "email": email, "role": "Accounts Payable"}])
        for name, email in zip(frame["contact_name"], frame["email"], strict=True)
    ]
    frame["attributes"] = [
        json.dumps({"account_number": f"C{100000 + int(k)}", "preferred_method": m})
        for k, m in zip(frame["key"], frame["method"], strict=True)
    ]
    since = np.maximum(frame["first_day"].to_numpy() - 30, spec.start_day - 365)
    frame["created_at"] = _local_to_utc(since, np.full(len(frame), 10 * 3600), spec.time_zone)
    return frame


# --- Calendar helpers (int days since 1970-01-01) ---------------------------------------


def _weekday(days: np.ndarray) -> np.ndarray:
    """Monday = 0; 1970-01-01 was a Thursday."""
    return (np.asarray(days) + 3) % 7


def _month(days: np.ndarray) -> np.ndarray:
    return (
        np.asarray(days).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12 + 1
    )


def _year(days: np.ndarray) -> np.ndarray:
    return np.asarray(days).astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def _business_day(days: np.ndarray) -> np.ndarray:
    wd = _weekday(days)
    return days + np.where(wd == 5, 2, np.where(wd == 6, 1, 0))


def _last_business_day_of_month(days: np.ndarray) -> np.ndarray:
    month = np.asarray(days).astype("datetime64[D]").astype("datetime64[M]")
    last = ((month + 1).astype("datetime64[D]") - 1).astype(np.int64)
    wd = _weekday(last)
    return last - np.where(wd == 5, 1, np.where(wd == 6, 2, 0))


def _apply_habit(
    pay: np.ndarray, habit: np.ndarray, run_weekday: np.ndarray, *, weekend_ok: np.ndarray
) -> np.ndarray:
    """Move intended payment days onto the customer's payment run: the nearest run day
    (weekly on one weekday, or twice a month on the 15th and the last business day), so
    runs cluster payments without shifting a customer's average delay much."""
    step = (run_weekday - _weekday(pay)) % 7
    weekly = pay + np.where(step > 3, step - 7, step)
    runs = [_mid_month(pay - 31), _last_business_day_of_month(pay - 31), _mid_month(pay)]
    runs += [_last_business_day_of_month(pay), _mid_month(pay + 31)]
    distance = np.abs(np.stack(runs) - pay)
    twice_monthly = np.stack(runs)[distance.argmin(axis=0), np.arange(pay.size)]
    ad_hoc = np.where(weekend_ok, pay, _business_day(pay))
    return np.select(
        [habit == "weekly_run", habit == "month_end_run"], [weekly, twice_monthly], ad_hoc
    )


def _mid_month(days: np.ndarray) -> np.ndarray:
    """The 15th of the month, moved back to Friday when it falls on a weekend."""
    month = np.asarray(days).astype("datetime64[D]").astype("datetime64[M]")
    mid = (month.astype("datetime64[D]") + 14).astype(np.int64)
    wd = _weekday(mid)
    return mid - np.where(wd == 5, 1, np.where(wd == 6, 2, 0))


def _local_to_utc(days: np.ndarray, seconds: np.ndarray, time_zone: str) -> np.ndarray:
    """Local wall-clock day + seconds in ``time_zone`` as UTC epoch seconds (int64)."""
    naive = pd.to_datetime(np.asarray(days, dtype=np.int64) * 86400 + seconds, unit="s")
    local = pd.DatetimeIndex(naive).tz_localize(
        time_zone, ambiguous=np.zeros(len(naive), dtype=bool), nonexistent="shift_forward"
    )
    return local.as_unit("s").asi8


def _iso(day: int) -> str:
    return (EPOCH + dt.timedelta(days=int(day))).isoformat()


def _money(symbol: str, cents: int) -> str:
    return f"{symbol}{int(cents) / 100:,.2f}"


def _decimal(cents: int) -> str:
    return f"{int(cents) // 100}.{int(cents) % 100:02d}"
