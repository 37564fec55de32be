"""Planted anomalous payments: each kind present in a small share, ground truth apart."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from django.db import connection

from invoices.demo import DemoSpec, generate
from invoices.demo.anomalies import KINDS
from invoices.models import DemoPaymentAnomaly, Payment
from invoices.services.demo import demo_delete, demo_seed
from tests.factories import OrganizationFactory


def _chunks(**overrides):
    spec = DemoSpec(
        customers=60,
        invoices=6000,
        seed=5,
        as_of=dt.date(2026, 11, 26),
        time_zone="America/New_York",
        chunk_customers=30,
    )
    return list(generate(spec))


@pytest.fixture(scope="module")
def planted():
    chunks = _chunks()
    payments = pd.concat([c.payments.assign(chunk=c.index) for c in chunks], ignore_index=True)
    truth = pd.concat([c.anomalies.assign(chunk=c.index) for c in chunks], ignore_index=True)
    rows = truth.merge(payments, left_on=["chunk", "payment"], right_on=["chunk", "key"])
    return payments, rows


def test_it_plants_every_kind_in_a_small_share(planted):
    payments, rows = planted
    assert set(rows["kind"]) == set(KINDS)
    assert 0.005 < len(rows) / len(payments) < 0.03
    assert not rows.duplicated(["chunk", "payment"]).any()


def test_it_plants_what_each_kind_says(planted):
    payments, rows = planted
    by_kind = {kind: group for kind, group in rows.groupby("kind")}
    assert (by_kind["quick_refund"]["status"] == "refunded").all()
    lag = by_kind["quick_refund"]["refunded_at"] - by_kind["quick_refund"]["received_at"]
    assert ((lag > 0) & (lag <= 86400)).all()
    assert (by_kind["velocity"]["retry_of"] >= 0).all()  # the attempts after the first
    usual = payments.groupby("customer")["currency"].agg(lambda c: c.mode().iat[0])
    foreign = by_kind["new_currency"]
    assert (foreign["currency"] != usual.loc[foreign["customer"]].to_numpy()).all()
    assert (by_kind["duplicate"]["duplicate"]).all()


def test_it_keeps_references_free_of_any_marker(planted):
    _, rows = planted
    assert not rows["reference"].str.contains("anomal", case=False).any()


def test_it_loads_ground_truth_beside_the_payments_and_deletes_it_with_them(db):
    organization = OrganizationFactory(time_zone="America/New_York")
    result = demo_seed(
        organization=organization, customers=20, invoices=1500, seed=3, as_of=dt.date(2026, 11, 26)
    )
    truth = DemoPaymentAnomaly.objects.filter(organization=organization)
    assert result.counts["planted_anomalies"] == truth.count() > 0
    refunded = Payment.objects.filter(pk__in=truth.filter(kind="quick_refund").values("payment"))
    for payment in refunded:
        # The refund time rides in updated_at: the risk features read the refund lag there.
        assert payment.status == "refunded"
        assert dt.timedelta(0) < payment.updated_at - payment.received_at <= dt.timedelta(days=1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM invoices_payment WHERE reference LIKE 'DEMO%%'")
        assert cursor.fetchone()[0] == 0
    demo_delete(organization=organization)
    assert not DemoPaymentAnomaly.objects.filter(organization=organization).exists()
