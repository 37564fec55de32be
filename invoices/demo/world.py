"""The customer world (who pays how, latent and visible), every invoice's issue date and
number, and the exchange rates: everything drawn once per spec, before the chunks."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from invoices.demo import catalog, dates
from invoices.demo.spec import DemoSpec

SEGMENTS = ("early", "punctual", "late", "chronic")
SEGMENT_WEIGHTS = (0.12, 0.45, 0.28, 0.15)
SEGMENT_MEAN_DELAY = np.array([-10.0, -4.0, 6.0, 26.0])
SEGMENT_MEAN_SPREAD = np.array([3.0, 2.5, 4.0, 12.0])
SEGMENT_NOISE = np.array([2.5, 3.5, 7.0, 16.0])
HABITS = ("weekly_run", "month_end_run", "ad_hoc")
HABIT_WEIGHTS = (0.35, 0.2, 0.45)
# Relative invoicing volume by month of issue (quieter December and August).
SEASON_VOLUME = np.array([0, 1, 1, 1.08, 1, 1, 1.08, 1, 0.9, 1.08, 1, 1.05, 0.8])


def exchange_rates(spec: DemoSpec) -> pd.DataFrame:
    """Weekday rates (1 unit of currency = rate units of base) for the demo currencies."""
    rng = np.random.default_rng([spec.seed, 4])
    days = np.arange(spec.start_day - 7, spec.as_of_day + 1)
    usd_per = {}
    for currency, start in catalog.USD_PER_UNIT.items():
        steps = rng.normal(0, 0.004, days.size) if currency != "USD" else np.zeros(days.size)
        usd_per[currency] = start * np.exp(np.cumsum(steps))
    weekdays = dates.weekday(days) < 5
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


def customer_world(spec: DemoSpec) -> pd.DataFrame:
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


def invoice_skeleton(spec: DemoSpec, world: pd.DataFrame) -> pd.DataFrame:
    """Issue dates and numbers for every invoice, sorted by customer then date.

    Numbers run per calendar year in issue order across all customers (INV-2025-000001),
    so they are assigned here, before the per-chunk detail.
    """
    rng = np.random.default_rng([spec.seed, 2])
    days = np.arange(spec.start_day, spec.as_of_day + 1)
    weekday = dates.weekday(days)
    weights = np.where(weekday < 5, 1.0, np.where(weekday == 5, 0.06, 0.02))
    weights *= 1 + 0.15 * (days - spec.start_day) / 365.25  # the business grows
    weights *= SEASON_VOLUME[dates.month(days)]
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
    year = dates.year(issue[by_date])
    year_start = np.searchsorted(year, year, side="left")
    sequence = np.empty(issue.size, dtype=np.int64)
    sequence[by_date] = np.arange(issue.size) - year_start + 1
    width = max(6, len(str(int(sequence.max()))))
    return pd.DataFrame(
        {"customer": customer, "issue_day": issue, "year": dates.year(issue), "sequence": sequence}
    ).assign(width=width)


def customer_frame(spec: DemoSpec, customers: pd.DataFrame) -> pd.DataFrame:
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
    frame["created_at"] = dates.local_to_utc(since, np.full(len(frame), 10 * 3600), spec.time_zone)
    return frame
