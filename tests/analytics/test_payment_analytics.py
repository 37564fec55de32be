"""Payment analytics against hand-worked figures and an independent Python computation."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import Counter
from decimal import Decimal

import pytest
from django.urls import reverse

from invoices.payment_analytics import PaymentWindow, payment_analytics
from tests.factories import CustomerFactory

D = Decimal
NY = zoneinfo.ZoneInfo("America/New_York")
NOVEMBER = {"start": dt.date(2026, 11, 1), "end": dt.date(2026, 11, 30)}


def reference(payments, start, end):
    """The definitions of the page, computed row by row in Python."""
    rows = [p for p in payments if start <= p.received_at.astimezone(NY).date() <= end]
    ids = {p.id for p in rows}

    def root(p):
        while p.retry_of_id is not None:
            p = p.retry_of
        return p.id

    chains: dict[int, list] = {}
    for p in rows:
        chains.setdefault(root(p), []).append(p)
    decided = [c for c in chains.values() if any(p.status != "pending" for p in c)]
    ok = [c for c in decided if any(p.status in ("succeeded", "refunded") for p in c)]
    attempts_decided = [p for p in rows if p.status != "pending"]
    failed = [p for p in rows if p.status == "failed"]
    hours = Counter(p.received_at.astimezone(NY).hour for p in rows)
    return {
        "ids": ids,
        "attempts": len(rows),
        "success_rate": D(len(ok) * 100 / len(decided)).quantize(D("0.1")),
        "failure_rate": D(len(failed) * 100 / len(attempts_decided)).quantize(D("0.1")),
        "peak_hour": max(sorted(hours), key=lambda h: hours[h]),
    }


@pytest.mark.django_db
def test_it_computes_the_figures_of_november(ny_org, payments):
    analytics = payment_analytics(window=PaymentWindow(organization=ny_org, **NOVEMBER))
    t = analytics.total
    # P1..P9: P10 is 00:00 local on 1 December; P5 (04:30 UTC on the 11th) is the 10th.
    assert t.attempts == 9
    assert (t.decided, t.succeeded, t.failed, t.pending) == (8, 5, 3, 1)
    # Chains: {P1} {P2,P3,P4} {P5} {P6} {P7 pending} {P8 refunded} {P9}.
    assert (t.chains, t.chains_decided, t.chains_succeeded) == (7, 6, 5)
    assert t.success_rate == D("83.3")
    assert t.failure_rate == D("37.5")
    # Succeeded only (P8 was refunded): 100 + 50 + 999 USD + 200 EUR x 1.1.
    assert t.received == D("1369.00")
    assert t.received_count == 4
    assert t.average == D("342.25")
    assert analytics.unconverted == ["GBP"]  # a failed GBP payment, no rate stored
    ref = reference(payments.values(), **NOVEMBER)
    assert ref["attempts"] == t.attempts
    assert ref["success_rate"] == t.success_rate
    assert ref["failure_rate"] == t.failure_rate
    assert ref["peak_hour"] == analytics.peak_hour == 11


@pytest.mark.django_db
def test_it_ranks_failure_reasons_methods_and_currencies(ny_org, payments):
    analytics = payment_analytics(window=PaymentWindow(organization=ny_org, **NOVEMBER))
    reasons = [(r.reason, r.code, r.count, r.share) for r in analytics.failure_reasons]
    assert reasons == [
        ("Insufficient funds", "R01", 2, D("66.7")),
        ("Account closed", "R02", 1, D("33.3")),
    ]
    methods = {f.key: (f.attempts, f.failed, f.received) for f in analytics.by_method}
    assert methods == {
        "card": (6, 2, D("1149.00")),
        "ach": (2, 1, D("0.00")),
        "wire": (1, 0, D("220.00")),
    }
    assert analytics.top_method.key == "card"
    currencies = {f.key: (f.attempts, f.received) for f in analytics.by_currency}
    assert currencies == {"USD": (7, D("1149")), "EUR": (1, D("200")), "GBP": (1, D("0"))}
    # 10 Nov 2026 is a Tuesday: P1, P2 and P5 (23:30 local).
    assert analytics.by_weekday[1] == 3
    assert analytics.by_hour[23] == 2  # P5 and P9, both late evening in New York


@pytest.mark.django_db
def test_it_counts_a_chain_once_across_periods(ny_org, payments):
    analytics = payment_analytics(
        window=PaymentWindow(organization=ny_org, **NOVEMBER), period="week"
    )
    weeks = {f.key: (f.attempts, f.chains, f.chains_succeeded) for f in analytics.trend}
    # Weeks start on Monday: 9 Nov (P1 P2 P5 P3 P4 - the chain counted in its first week),
    # 16 Nov (P6 P7 P8 on the 20th-22nd), 30 Nov (P9).
    assert weeks == {"2026-11-09": (5, 3, 3), "2026-11-16": (3, 3, 1), "2026-11-30": (1, 1, 1)}


@pytest.mark.django_db
def test_it_filters_by_method_currency_and_customer(ny_org, payments):
    window = PaymentWindow(organization=ny_org, method="card", **NOVEMBER)
    assert payment_analytics(window=window).total.attempts == 6
    window = PaymentWindow(organization=ny_org, currency="EUR", **NOVEMBER)
    assert payment_analytics(window=window).total.received == D("220.00")
    customer = payments[6].customer
    window = PaymentWindow(organization=ny_org, customer=customer, **NOVEMBER)
    assert payment_analytics(window=window).total.failed == 1


@pytest.mark.django_db
def test_it_serves_the_page_with_definitions(viewer_client, payments):
    response = viewer_client.get(
        reverse("payment-analytics"), {"from": "2026-11-01", "to": "2026-11-30", "period": "week"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-figure="success_rate">83.3' in html
    assert "retries count once" in html
    assert 'data-period="2026-11-16"' in html
    assert 'data-chart="trend"' in html and "<rect" in html


@pytest.mark.django_db
def test_it_rejects_bad_filters(viewer_client, payments):
    response = viewer_client.get(
        reverse("payment-analytics"), {"from": "2026-12-01", "to": "2026-11-01"}
    )
    assert response.status_code == 400
    assert "must be on or before" in response.content.decode()
    response = viewer_client.get(reverse("api:payment-analytics"), {"period": "year"})
    assert response.status_code == 400
    assert "period" in response.json()["error"]["fields"]


@pytest.mark.django_db
def test_it_answers_the_api(viewer_client, payments):
    response = viewer_client.get(
        reverse("api:payment-analytics"), {"from": "2026-11-01", "to": "2026-11-30"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["total"]["success_rate_percent"] == "83.3"
    assert body["total"]["amount_received"] == "1369.00"
    assert body["peak_hour"] == 11


@pytest.mark.django_db
def test_it_keeps_outsiders_out(outsider_client, payments, other_org):
    response = outsider_client.get(
        reverse("api:payment-analytics"), {"from": "2026-11-01", "to": "2026-11-30"}
    )
    assert response.status_code == 200
    assert response.json()["total"]["attempts"] == 1  # only org B's own payment
    foreign = CustomerFactory(organization=other_org)
    response = outsider_client.get(
        reverse("api:payment-analytics"), {"customer": str(payments[1].customer.code)}
    )
    assert response.status_code == 400  # org A's customer is unknown to org B
    assert foreign.pk
