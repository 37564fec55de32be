"""Demo data: deterministic, exact, consistent with the ledger's rules, and learnable.

Generator tests run on the frames (no database); load tests COPY into real PostgreSQL and
check the ledger invariants in SQL, in committed transactions so deferred foreign keys are
checked too.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import timezone

from invoices.demo import DemoSpec, exchange_rates, generate
from invoices.demo.catalog import ACH_FAILURES, CARD_FAILURES
from invoices.demo.disputes import CATEGORIES
from invoices.models import (
    Customer,
    ExchangeRate,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentAllocation,
    Source,
)
from invoices.services import invoice_recalculate
from invoices.services.demo import demo_delete, demo_seed
from paypredict_project.tenancy.models import Membership, Organization
from tests.factories import InvoiceFactory, OrganizationFactory

AS_OF = dt.date(2026, 11, 26)
FRAMES = ("customers", "invoices", "lines", "payments", "allocations", "anomalies")


def _spec(seed: int = 11, **overrides) -> DemoSpec:
    options = {
        "customers": 40,
        "invoices": 2000,
        "seed": seed,
        "as_of": AS_OF,
        "time_zone": "America/New_York",
        "chunk_customers": 15,
    } | overrides
    return DemoSpec(**options)


def _frames(spec: DemoSpec) -> dict[str, pd.DataFrame]:
    chunks = list(generate(spec))
    frames = {}
    for name in FRAMES:
        parts = []
        for chunk in chunks:
            frame = getattr(chunk, name)
            if name in ("payments", "allocations", "anomalies"):
                # payment keys are per chunk; make them global for the tests
                frame = frame.assign(chunk=chunk.index)
            parts.append(frame)
        frames[name] = pd.concat(parts, ignore_index=True)
    return frames


@pytest.fixture(scope="module")
def world() -> dict[str, pd.DataFrame]:
    return _frames(_spec())


def _digest(frames: dict[str, pd.DataFrame]) -> list[int]:
    return [int(pd.util.hash_pandas_object(frames[n], index=False).sum()) for n in FRAMES]


# --- The generator -----------------------------------------------------------------------


def test_it_generates_identical_data_for_the_same_seed(world):
    assert _digest(_frames(_spec())) == _digest(world)
    assert exchange_rates(_spec()).equals(exchange_rates(_spec()))


def test_it_generates_different_data_for_another_seed(world):
    other = _digest(_frames(_spec(seed=12)))
    assert all(a != b for a, b in zip(other, _digest(world), strict=True))


def test_it_spreads_invoices_over_two_years_up_to_the_as_of_date(world):
    invoices, spec = world["invoices"], _spec()
    assert len(invoices) == 2000
    assert invoices["issue_date"].max() <= spec.as_of_day
    assert invoices["issue_date"].min() >= spec.as_of_day - 729
    assert invoices["issue_date"].min() < spec.as_of_day - 700
    assert invoices["number"].is_unique
    assert set(world["customers"]["payment_terms_days"]) <= {15, 30, 45, 60}
    assert set(world["customers"]["currency"]) == {"USD", "EUR", "GBP", "CAD"}
    assert (world["customers"]["currency"] == "USD").mean() > 0.5


def test_it_makes_lines_add_up_to_the_invoice_exactly(world):
    lines, invoices = world["lines"], world["invoices"].set_index("key")
    assert (lines["amount_cents"] == lines["quantity"] * lines["unit_price_cents"]).all()
    per_invoice = lines.groupby("invoice").agg(
        n=("position", "size"), subtotal=("amount_cents", "sum"), tax=("tax_cents", "sum")
    )
    assert per_invoice["n"].between(1, 5).all()
    assert (per_invoice["subtotal"] == invoices["subtotal_cents"]).all()
    assert (per_invoice["tax"] == invoices["tax_cents"]).all()
    assert (invoices["total_cents"] == invoices["subtotal_cents"] + invoices["tax_cents"]).all()


def test_it_rejects_a_nonsense_spec():
    with pytest.raises(ValueError, match="customers must be at least 1"):
        _spec(customers=0)
    with pytest.raises(ValueError, match="not JPY"):
        _spec(base_currency="JPY")


# --- Learnable behaviour -----------------------------------------------------------------


def _paid(world) -> pd.DataFrame:
    invoices = world["invoices"]
    paid = invoices[invoices["status"] == "paid"].copy()
    paid["days_late"] = paid["paid_date"] - paid["due_date"]
    paid["late"] = paid["days_late"] > 0
    return paid


def test_it_gives_customers_different_and_stable_reliability(world):
    paid, spec = _paid(world), _spec()
    paid["year"] = np.where(paid["issue_date"] < spec.start_day + 365, 1, 2)
    by_year = paid.groupby(["customer", "year"])["late"].agg(["mean", "size"]).unstack()
    enough = (by_year["size"] >= 8).all(axis=1)
    assert enough.sum() >= 15
    rate = by_year["mean"][enough]
    spearman = rate[1].rank().corr(rate[2].rank())
    assert spearman > 0.5
    overall = paid.groupby("customer")["late"].mean()
    assert overall.quantile(0.9) - overall.quantile(0.1) > 0.5


def test_it_makes_disputed_invoices_later(world):
    paid = _paid(world)
    late_by_dispute = paid.groupby("disputed")["days_late"].mean()
    assert late_by_dispute[True] > late_by_dispute[False] + 10
    # Disputes cluster on late invoices: their share is far higher among the latest decile.
    latest = paid["days_late"] >= paid["days_late"].quantile(0.9)
    assert paid.loc[latest, "disputed"].mean() > 3 * paid.loc[~latest, "disputed"].mean()


def test_it_makes_larger_than_typical_invoices_pay_later(world):
    paid = _paid(world)
    typical = paid.groupby("customer")["subtotal_cents"].transform("median")
    larger = paid["subtotal_cents"] > 1.5 * typical
    smaller = paid["subtotal_cents"] < typical / 1.5
    assert paid.loc[larger, "days_late"].mean() > paid.loc[smaller, "days_late"].mean() + 3


def test_it_makes_december_and_summer_slower(world):
    paid = _paid(world)
    month = pd.to_datetime(paid["due_date"], unit="D").dt.month
    slow = paid.loc[month.isin([12, 7, 8]), "days_late"].mean()
    usual = paid.loc[month.isin([3, 4, 5, 9, 10]), "days_late"].mean()
    assert slow > usual + 2


def test_it_clusters_payments_on_payment_runs(world):
    payments = world["payments"]
    day = pd.to_datetime(payments.loc[payments["status"] == "succeeded", "day"], unit="D")
    last_three = ((day + pd.offsets.MonthEnd(0)) - day).dt.days < 3
    assert last_three.mean() > 0.13  # ~10% of business days are in the last three
    assert (day.dt.day_of_week >= 5).mean() < 0.05


def test_it_fails_card_and_ach_payments_with_real_reasons_and_retries_them(world):
    payments = world["payments"]
    failed = payments[payments["status"] == "failed"]
    assert len(failed) > 5
    assert set(failed["method"]) <= {"card", "ach"}
    known = {code for code, _, _ in CARD_FAILURES} | {code for code, _, _ in ACH_FAILURES}
    assert set(failed["failure_code"]) <= known
    assert (failed["failure_reason"] != "").all()
    keyed = payments.set_index(["chunk", "key"])
    retries = payments[payments["retry_of"] >= 0]
    originals = keyed.loc[list(zip(retries["chunk"], retries["retry_of"], strict=True))]
    assert (originals["status"].to_numpy() == "failed").all()
    assert (originals["day"].to_numpy() < retries["day"].to_numpy()).all()
    assert (originals["amount_cents"].to_numpy() == retries["amount_cents"].to_numpy()).all()
    assert (retries["status"] == "succeeded").sum() > 5


def test_it_pays_mostly_by_the_customers_usual_method_within_its_currency(world):
    payments = world["payments"].merge(
        world["customers"][["key", "method", "currency"]],
        left_on="customer",
        right_on="key",
        suffixes=("", "_usual"),
    )
    assert (payments["method"] == payments["method_usual"]).mean() > 0.85
    planted = world["anomalies"].merge(world["payments"], left_on=["chunk", "payment"],
                                       right_on=["chunk", "key"])  # fmt: skip
    foreign = planted.loc[planted["kind"] == "new_currency", "reference"]
    ordinary = payments[~payments["reference"].isin(foreign)]
    assert (ordinary["currency"] == ordinary["currency_usual"]).all()
    euro = payments[payments["currency"] == "EUR"]
    assert set(euro["method"]) <= {"sepa", "wire", "card"}


def test_it_copes_with_fewer_invoices_than_customers():
    frames = _frames(_spec(customers=30, invoices=12, chunk_customers=7))
    assert len(frames["invoices"]) == 12
    assert len(frames["customers"]) == 30
    assert frames["invoices"]["number"].is_unique


def test_it_has_refunds_partial_payments_write_offs_and_voids(world):
    statuses = world["invoices"]["status"].value_counts()
    assert statuses["written_off"] > 0 and statuses["void"] > 0
    assert statuses["partially_paid"] > 0
    assert (world["payments"]["status"] == "refunded").sum() > 0


def test_it_leaves_recent_invoices_open(world):
    invoices, spec = world["invoices"], _spec()
    open_ = invoices[invoices["status"].isin(["open", "partially_paid"])]
    assert len(open_) > 50
    assert (spec.as_of_day - open_["issue_date"]).median() < 45
    assert (open_["due_date"] < spec.as_of_day).any()  # some are overdue
    old = invoices["issue_date"] < spec.as_of_day - 365
    assert invoices.loc[old, "status"].isin(["paid", "void", "written_off"]).mean() > 0.97


def test_it_writes_realistic_dispute_notes(world):
    disputed = world["invoices"][world["invoices"]["disputed"]]
    assert len(disputed) > 20
    notes = [json.loads(a)["dispute"] for a in disputed["attributes"]]
    assert {n["category"] for n in notes} <= set(CATEGORIES)
    assert len({n["category"] for n in notes}) >= 8
    texts = [n["text"] for n in notes]
    assert len(set(texts)) == len(texts)
    assert all(len(t) > 40 for t in texts)
    numbers = set(disputed["number"])
    mentions = sum(bool(re.search(r"INV-\d{4}-\d{6}", t)) for t in texts)
    assert mentions > 0.6 * len(texts)
    for note, number in zip(notes, disputed["number"], strict=True):
        found = re.findall(r"INV-\d{4}-\d{6}", note["text"])
        assert not found or number in found
        assert dt.date.fromisoformat(note["opened_on"]) <= AS_OF
        if note["status"] == "resolved":
            assert note["opened_on"] < note["resolved_on"] <= AS_OF.isoformat()
            assert note["resolution"] in ("paid_in_full", "short_paid", "voided")
        assert Decimal(note["amount"]) > 0
    assert numbers


# --- Loading into PostgreSQL ---------------------------------------------------------------


@pytest.fixture
def demo_org(transactional_db):
    organization = OrganizationFactory(
        slug="demo-test", name="Demo test", time_zone="America/New_York"
    )
    demo_seed(organization=organization, customers=40, invoices=2000, seed=11, as_of=AS_OF)
    return organization


def _scalar(sql: str, params) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


SUCCEEDED = """
    SELECT a.invoice_id, sum(a.amount) AS paid, max(p.received_at) AS last_paid
    FROM invoices_paymentallocation a JOIN invoices_payment p ON p.id = a.payment_id
    WHERE p.status = 'succeeded' GROUP BY a.invoice_id
"""


def test_it_loads_every_row_the_generator_made(demo_org):
    frames = _frames(_spec(chunk_customers=1000))
    counts = {
        Customer: len(frames["customers"]),
        Invoice: len(frames["invoices"]),
        InvoiceLine: len(frames["lines"]),
        Payment: len(frames["payments"]),
        PaymentAllocation: len(frames["allocations"]),
    }
    for model, expected in counts.items():
        rows = model.objects.filter(
            **({"invoice__organization": demo_org} if model is InvoiceLine else {})
        )
        if model is not InvoiceLine:
            rows = rows.filter(organization=demo_org)
        assert rows.count() == expected, model.__name__
    assert ExchangeRate.objects.filter(organization=demo_org).count() == len(
        exchange_rates(_spec())
    )
    assert set(Invoice.objects.filter(organization=demo_org).values_list("source", flat=True)) == {
        Source.DEMO
    }


def test_it_loads_balances_statuses_and_paid_dates_as_the_ledger_computes_them(demo_org):
    org = [demo_org.pk]
    wrong_balance = _scalar(
        f"""SELECT count(*) FROM invoices_invoice i LEFT JOIN ({SUCCEEDED}) s
            ON s.invoice_id = i.id
            WHERE i.organization_id = %s AND i.balance <> i.total - coalesce(s.paid, 0)""",
        org,
    )
    wrong_status = _scalar(
        """SELECT count(*) FROM invoices_invoice i WHERE i.organization_id = %s
           AND i.status NOT IN ('void', 'written_off') AND i.status <> CASE
             WHEN i.balance = 0 THEN 'paid' WHEN i.balance < i.total THEN 'partially_paid'
             ELSE 'open' END""",
        org,
    )
    wrong_paid_date = _scalar(
        f"""SELECT count(*) FROM invoices_invoice i
            JOIN tenancy_organization o ON o.id = i.organization_id
            LEFT JOIN ({SUCCEEDED}) s ON s.invoice_id = i.id
            WHERE i.organization_id = %s AND i.paid_date IS DISTINCT FROM CASE
              WHEN i.status = 'paid' THEN (s.last_paid AT TIME ZONE o.time_zone)::date END""",
        org,
    )
    wrong_lines = _scalar(
        """SELECT count(*) FROM invoices_invoice i
           JOIN (SELECT invoice_id, sum(amount) AS amount, sum(tax) AS tax, count(*) AS n
                 FROM invoices_invoiceline GROUP BY invoice_id) l ON l.invoice_id = i.id
           WHERE i.organization_id = %s AND (i.subtotal <> l.amount OR i.tax_total <> l.tax
             OR i.total <> i.subtotal + i.tax_total OR l.n NOT BETWEEN 1 AND 5)""",
        org,
    )
    line_maths = _scalar(
        """SELECT count(*) FROM invoices_invoiceline l
           JOIN invoices_invoice i ON i.id = l.invoice_id
           WHERE i.organization_id = %s AND l.amount <> round(l.quantity * l.unit_price, 2)""",
        org,
    )
    assert (wrong_balance, wrong_status, wrong_paid_date, wrong_lines, line_maths) == (
        0,
        0,
        0,
        0,
        0,
    )
    statuses = set(Invoice.objects.filter(organization=demo_org).values_list("status", flat=True))
    assert statuses == {"paid", "open", "partially_paid", "void", "written_off"}


def test_it_loads_allocations_the_ledger_services_would_accept(demo_org):
    org = [demo_org.pk]
    over_reserved = _scalar(
        """SELECT count(*) FROM (SELECT a.invoice_id, sum(a.amount) AS held
             FROM invoices_paymentallocation a JOIN invoices_payment p ON p.id = a.payment_id
             WHERE p.status IN ('succeeded', 'pending') AND a.organization_id = %s
             GROUP BY a.invoice_id) h
           JOIN invoices_invoice i ON i.id = h.invoice_id WHERE h.held > i.total""",
        org,
    )
    over_allocated = _scalar(
        """SELECT count(*) FROM invoices_payment p
           JOIN (SELECT payment_id, sum(amount) AS used FROM invoices_paymentallocation
                 GROUP BY payment_id) a ON a.payment_id = p.id
           WHERE p.organization_id = %s AND a.used > p.amount""",
        org,
    )
    mismatched = _scalar(
        """SELECT count(*) FROM invoices_paymentallocation a
           JOIN invoices_payment p ON p.id = a.payment_id
           JOIN invoices_invoice i ON i.id = a.invoice_id
           WHERE a.organization_id = %s AND (p.currency <> i.currency
             OR p.customer_id <> i.customer_id OR i.organization_id <> a.organization_id)""",
        org,
    )
    paid_void = _scalar(
        """SELECT count(*) FROM invoices_paymentallocation a
           JOIN invoices_invoice i ON i.id = a.invoice_id
           WHERE a.organization_id = %s AND i.status = 'void'""",
        org,
    )
    bad_retries = _scalar(
        """SELECT count(*) FROM invoices_payment r JOIN invoices_payment f ON f.id = r.retry_of_id
           WHERE r.organization_id = %s AND (f.status <> 'failed' OR f.received_at >= r.received_at
             OR f.customer_id <> r.customer_id OR f.amount <> r.amount)""",
        org,
    )
    unexplained_failures = _scalar(
        """SELECT count(*) FROM invoices_payment WHERE organization_id = %s
           AND (status = 'failed') <> (failure_code <> '')""",
        org,
    )
    assert (
        over_reserved,
        over_allocated,
        mismatched,
        paid_void,
        bad_retries,
        unexplained_failures,
    ) == (0, 0, 0, 0, 0, 0)
    assert Payment.objects.filter(organization=demo_org, retry_of__status="failed").exists()


def test_it_agrees_with_invoice_recalculate_row_by_row(demo_org):
    sample = list(
        Invoice.objects.filter(organization=demo_org)
        .exclude(status__in=["void"])
        .order_by("?")
        .select_related("organization")[:150]
    )
    sample += list(Invoice.objects.filter(organization=demo_org, status="partially_paid")[:20])
    before = {i.pk: (i.balance, i.status, i.paid_date) for i in sample}
    with transaction.atomic():
        for invoice in sample:
            locked = Invoice.objects.select_for_update().select_related("organization")
            after = invoice_recalculate(invoice=locked.get(pk=invoice.pk))
            assert (after.balance, after.status, after.paid_date) == before[invoice.pk]
        transaction.set_rollback(True)


def test_it_keeps_the_same_rows_for_the_same_seed_apart_from_codes(transactional_db):
    first = OrganizationFactory(slug="first", time_zone="Europe/London", base_currency="GBP")
    second = OrganizationFactory(slug="second", time_zone="Europe/London", base_currency="GBP")
    for organization in (first, second):
        demo_seed(organization=organization, customers=5, invoices=120, seed=3, as_of=AS_OF)
    fields = ("number", "issue_date", "due_date", "total", "balance", "status", "paid_date")

    def rows(org):
        return list(
            Invoice.objects.filter(organization=org).order_by("number").values_list(*fields)
        )

    assert rows(first) == rows(second)
    assert Invoice.objects.filter(organization=second, currency="GBP").exists()
    codes = Invoice.objects.filter(organization__in=[first, second]).values_list("code", flat=True)
    assert len(set(codes)) == 240


def test_it_seeds_as_of_today_with_nothing_in_the_future(transactional_db):
    organization = OrganizationFactory(slug="today", time_zone="Pacific/Auckland")
    result = demo_seed(organization=organization, customers=10, invoices=600, seed=2)
    now = timezone.now()
    today = now.astimezone(organization.tzinfo).date()
    assert result.as_of == today
    invoices = Invoice.objects.filter(organization=organization)
    assert not invoices.filter(issue_date__gt=today).exists()
    assert not invoices.filter(created_at__gt=now).exists()
    assert not Payment.objects.filter(organization=organization, received_at__gt=now).exists()
    for invoice in invoices.filter(status="paid").order_by("?")[:50]:
        last = invoice.allocations.filter(payment__status="succeeded").latest(
            "payment__received_at"
        )
        assert last.payment.received_at.astimezone(organization.tzinfo).date() == invoice.paid_date


def test_it_refuses_to_delete_demo_rows_that_real_data_depends_on(transactional_db):
    organization = OrganizationFactory(slug="mixed")
    demo_seed(organization=organization, customers=3, invoices=30, seed=5, as_of=AS_OF)
    customer = Customer.objects.filter(organization=organization).first()
    InvoiceFactory(customer=customer, number="REAL-1")
    with pytest.raises(ValidationError, match="invoices outside the demo data"):
        demo_delete(organization=organization)
    assert Invoice.objects.filter(organization=organization, source=Source.DEMO).count() == 30


# --- Commands ------------------------------------------------------------------------------


def _seed_command(*extra: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command(
        "seed_demo",
        "--org=cmd",
        "--customers=6",
        "--invoices=150",
        "--seed=9",
        "--as-of=2026-06-30",
        *extra,
        stdout=out,
    )
    return out.getvalue()


def test_it_seeds_from_the_command_and_refuses_a_second_time(transactional_db):
    organization = OrganizationFactory(slug="cmd")
    output = _seed_command()
    assert "150 invoices" in output and "6 customers" in output and "rows/s" in output
    with pytest.raises(CommandError, match="already has demo data; pass --replace"):
        _seed_command()
    assert Invoice.objects.filter(organization=organization).count() == 150
    numbers = set(Invoice.objects.filter(organization=organization).values_list("number", "total"))
    output = _seed_command("--replace")
    assert "deleted previous demo data" in output
    assert set(
        Invoice.objects.filter(organization=organization).values_list("number", "total")
    ) == (numbers)
    assert Customer.objects.filter(organization=organization).count() == 6
    latest = Invoice.objects.filter(organization=organization).latest("issue_date")
    assert latest.issue_date <= dt.date(2026, 6, 30)


def test_it_names_bad_command_input(transactional_db):
    with pytest.raises(CommandError, match="no organization with slug 'nope'"):
        call_command("seed_demo", org="nope", customers=1, invoices=1, seed=1)
    OrganizationFactory(slug="cmd")
    with pytest.raises(CommandError, match="--as-of must be a date as YYYY-MM-DD"):
        _seed_command("--as-of=30/06/2026")
    with pytest.raises(CommandError, match="invoices must be at least 1"):
        call_command("seed_demo", org="cmd", customers=1, invoices=0, seed=1)


def test_it_bootstraps_the_demo_organization_once(transactional_db, settings):
    from io import StringIO

    settings.EMBEDDED_DATABASE = True

    def bootstrap() -> str:
        out = StringIO()
        call_command("bootstrap_demo", customers=8, invoices=200, skip_models=True, stdout=out)
        return out.getvalue()

    first = bootstrap()
    assert "demo@paypredict.local / demo-password" in first
    organization = Organization.objects.get(slug="demo")
    assert (organization.name, organization.base_currency, organization.time_zone) == (
        "Demo Manufacturing Co",
        "USD",
        "America/New_York",
    )
    roles = dict(
        Membership.objects.filter(organization=organization).values_list("user__email", "role")
    )
    assert roles == {
        "demo@paypredict.local": "admin",
        "collector@paypredict.local": "collector",
        "viewer@paypredict.local": "viewer",
    }
    user = get_user_model().objects.get(username="viewer@paypredict.local")
    assert user.check_password("demo-password")
    counts = (
        Invoice.objects.filter(organization=organization).count(),
        Payment.objects.filter(organization=organization).count(),
        Customer.objects.filter(organization=organization).count(),
    )
    assert counts[0] == 200 and counts[2] == 8

    second = bootstrap()
    assert "already has invoices; not seeding" in second
    assert (
        Invoice.objects.filter(organization=organization).count(),
        Payment.objects.filter(organization=organization).count(),
        Customer.objects.filter(organization=organization).count(),
    ) == counts
    assert Membership.objects.filter(organization=organization).count() == 3
