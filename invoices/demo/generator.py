"""A seeded generative model of two years of accounts receivable for one organization.

Pure numpy/pandas, no ORM: ``generate(spec)`` yields one ``DemoChunk`` of columnar frames per
block of customers, so memory stays bounded however many invoices are asked for, and the
loader streams each chunk into PostgreSQL with COPY. Same spec (seed, sizes, as-of date,
currency, time zone) gives identical frames.

Money is integer cents (int64) throughout, so lines, subtotals, tax and allocations add up
exactly. Dates are int64 days since 1970-01-01 (-1 for none); timestamps are UTC epoch
seconds.

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

from collections.abc import Iterator

import numpy as np
import pandas as pd

from invoices.demo import catalog, dates
from invoices.demo.anomalies import plant_anomalies
from invoices.demo.attributes import WRITE_OFF_AFTER_DAYS, dispute_amounts, invoice_attributes
from invoices.demo.disputes import CATEGORIES, CATEGORY_WEIGHTS, PARTIAL_CATEGORIES
from invoices.demo.payments import build_payments
from invoices.demo.spec import DemoChunk, DemoSpec
from invoices.demo.world import customer_frame, customer_world, invoice_skeleton

# Extra days of delay by the month the invoice falls due (index 1..12).
SEASON_DELAY = np.array([0, 3, 0, 0, 0, 0, 0, 3, 5, 0, 0, 1, 8], dtype=float)
LINES_PER_INVOICE = (1, 2, 3, 4, 5)
LINES_WEIGHTS = (0.35, 0.25, 0.2, 0.12, 0.08)


def generate(spec: DemoSpec) -> Iterator[DemoChunk]:
    world = customer_world(spec)
    skeleton = invoice_skeleton(spec, world)
    bounds = np.concatenate([[0], np.cumsum(world["invoice_count"].to_numpy())])
    for index, c0 in enumerate(range(0, spec.customers, spec.chunk_customers)):
        c1 = min(c0 + spec.chunk_customers, spec.customers)
        rng = np.random.default_rng([spec.seed, 3, index])
        customers = world.iloc[c0:c1].reset_index(drop=True)
        invoices = skeleton.iloc[bounds[c0] : bounds[c1]].reset_index(drop=True)
        yield _chunk(spec, rng, index, customers, invoices, offset=int(bounds[c0]))


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
        + col["latent_season_sensitivity"][cust] * SEASON_DELAY[dates.month(due)]
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
    pay = dates.apply_habit(
        pay,
        col["latent_habit"][cust],
        col["latent_run_weekday"][cust],
        weekend_ok=col["method"][cust] == "card",
    )
    pay = np.where(pay <= issue, dates.business_day(issue + 1), pay)
    # A disputed invoice is paid once the dispute is settled, whatever the payment run.
    pay = np.where(disputed & (pay < resolved), dates.business_day(resolved), pay)

    dispute = dispute_amounts(rng, lines, disputed, category, subtotal, tax, total)
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
    first_day = dates.business_day(np.maximum(first_day, issue + 1))
    final_amount = total - first_amount - np.where(short_pay, dispute["diff"], 0)

    payments, allocations = build_payments(
        spec,
        rng,
        col,
        cust,
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
    # status_for_balance (invoices/models.py), vectorized; void and written off below.
    # tests/invoices/test_demo.py checks the loaded rows against invoice_recalculate.
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
    attributes = invoice_attributes(
        spec,
        rng,
        customers,
        cust,
        numbers,
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
            "created_at": dates.local_to_utc(
                issue, rng.integers(8 * 3600, 18 * 3600, n), spec.time_zone
            ),
        }
    )
    payments, anomalies = plant_anomalies(
        spec, index, payments.assign(customer=payments["customer"] + c0), invoices
    )
    return DemoChunk(
        index=index,
        customers=customer_frame(spec, customers),
        invoices=invoices,
        lines=lines.assign(invoice=lines["invoice"] + offset),
        payments=payments,
        allocations=allocations.assign(invoice=allocations["invoice"] + offset),
        anomalies=anomalies,
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
