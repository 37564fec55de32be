"""Reports: every figure against a hand computation; page, CSV and API; viewer and outsider."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from invoices.analytics import dashboard_summary, organization_today
from invoices.models import ExchangeRate, InvoiceStatus
from ml.models import ModelVersion
from paypredict_project import report_sources
from predictions.models import Prediction
from predictions.reports.selectors import report_ar_summary, report_daily_summary
from tests.factories import CustomerFactory, InvoiceFactory

D = Decimal
EDGES = (0, 1, 30, 31, 60, 61, 90, 91)


def bucket_of(days_overdue: int) -> str:
    """Independent statement of the buckets: days past due → name."""
    if days_overdue <= 0:
        return "current"
    for low, high in ((1, 30), (31, 60), (61, 90)):
        if low <= days_overdue <= high:
            return f"{low}-{high}"
    return "90+"


@pytest.fixture
def aging_ledger(org, other_org):
    today = organization_today(organization=org)
    usd = CustomerFactory(organization=org, currency="USD")
    eur = CustomerFactory(organization=org, currency="EUR")
    gbp = CustomerFactory(organization=org, currency="GBP")
    expected: dict[str, list[D]] = {}
    for i, days in enumerate(EDGES):
        amount = D(100 + i)
        due = today - dt.timedelta(days=days)
        InvoiceFactory(
            customer=usd, issue_date=due - dt.timedelta(days=30), due_date=due, total=amount
        )
        expected.setdefault(bucket_of(days), []).append(amount)
    # Partial payment: only the balance counts; void and written off never count.
    partial_due = today - dt.timedelta(days=45)
    InvoiceFactory(
        customer=usd,
        issue_date=partial_due,
        due_date=partial_due,
        total=D("500"),
        balance=D("120"),
        status=InvoiceStatus.PARTIALLY_PAID,
    )
    expected["31-60"].append(D("120"))
    InvoiceFactory(customer=usd, issue_date=today, total=D("999"), status=InvoiceStatus.VOID)
    InvoiceFactory(customer=usd, issue_date=today, total=D("888"), status=InvoiceStatus.WRITTEN_OFF)
    # EUR at 1.5 (3 days overdue); GBP has no rate: reported apart, never in the totals.
    InvoiceFactory(
        customer=eur,
        issue_date=today - dt.timedelta(days=33),
        due_date=today - dt.timedelta(days=3),
        total=D("10"),
    )
    expected["1-30"].append(D("15"))
    ExchangeRate.objects.create(organization=org, currency="EUR", date=today, rate=D("1.5"))
    InvoiceFactory(customer=gbp, issue_date=today, due_date=today, total=D("7000"))
    InvoiceFactory(customer=CustomerFactory(organization=other_org), total=D("55555"))
    return today, expected


@pytest.mark.django_db
def test_it_states_the_ar_summary_with_aging_edges(org, aging_ledger):
    today, expected = aging_ledger
    report = report_ar_summary(organization=org, today=today)
    aging = {row["bucket"]: (row["amount"], row["count"]) for row in report["aging"]}
    assert [row["bucket"] for row in report["aging"]] == [
        "current",
        "1-30",
        "31-60",
        "61-90",
        "90+",
    ]
    for bucket, amounts in expected.items():
        assert aging[bucket] == (sum(amounts, D(0)).quantize(D("0.01")), len(amounts)), bucket
    assert report["open_balance"] == sum((sum(v, D(0)) for v in expected.values()), D(0))
    assert report["overdue_balance"] == report["open_balance"] - aging["current"][0]
    summary = dashboard_summary(organization=org, today=today)
    assert (report["dso_days"], report["cei_percent"]) == (summary.dso, summary.cei)
    assert report["unconverted_currencies"] == ["GBP"]
    gbp = next(c for c in report["by_currency"] if c["currency"] == "GBP")
    assert gbp["converted"] is False and gbp["open_balance"] == D("7000")
    eur = next(c for c in report["by_currency"] if c["currency"] == "EUR")
    assert eur["aging"][1] == {
        "bucket": "1-30",
        "label": eur["aging"][1]["label"],
        "amount": D("10"),
        "count": 1,
    }


@pytest.mark.django_db
def test_it_serves_ar_summary_as_api_page_and_csv(viewer_client, aging_ledger):
    body = viewer_client.get("/api/v1/reports/ar-summary").json()
    assert set(body) >= {
        "as_of",
        "base_currency",
        "open_balance",
        "overdue_balance",
        "dso_days",
        "cei_percent",
        "aging",
        "by_currency",
    }
    assert body["aging"][0]["bucket"] == "current"
    page = viewer_client.get(reverse("report-page", args=["ar-summary"]))
    assert page.status_code == 200
    assert f'data-figure="open_balance">{D(body["open_balance"]):,}' in page.content.decode()
    response = viewer_client.get(reverse("report-csv", args=["ar-summary"]))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["scope", "currency", "bucket", "amount", "count"]
    assert ["all", "USD", "90+", body["aging"][4]["amount"], str(body["aging"][4]["count"])] in rows


@pytest.mark.django_db
def test_it_summarises_a_day_in_local_time(ny_org, payments):
    customer = payments[1].customer
    day = dt.date(2026, 11, 10)
    InvoiceFactory(customer=customer, issue_date=day, total=D("500"))
    InvoiceFactory(customer=payments[5].customer, issue_date=day, total=D("100"))  # EUR x 1.1
    InvoiceFactory(customer=customer, issue_date=day, total=D("300"), status=InvoiceStatus.VOID)
    summary = report_daily_summary(organization=ny_org, day=day)
    p = summary.payments
    # P1 (ok), P2 (failed, its retries come later), P5 (23:30 local, EUR 200 x 1.1).
    assert (p.attempts, p.succeeded, p.failed) == (3, 2, 1)
    assert p.received == D("320.00")
    assert p.success_rate == D("66.7") and p.failure_rate == D("33.3")
    assert (summary.new_invoices, summary.new_invoices_amount) == (2, D("610.00"))


@pytest.mark.django_db
def test_it_lists_failed_payments_with_retries_and_neutralises_formulas(viewer_client, payments):
    params = {"from": "2026-11-01", "to": "2026-11-30"}
    body = viewer_client.get("/api/v1/reports/failed-payments", params).json()
    got = {r["id"]: r["retried"] for r in body["results"]}
    assert got == {
        str(payments[2].code): True,
        str(payments[3].code): True,
        str(payments[6].code): False,
    }
    response = viewer_client.get(reverse("report-csv", args=["failed-payments"]), params)
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 3
    assert {r["customer"] for r in rows} == {"Dollar Co", "'=HYPERLINK(1)"}
    page = viewer_client.get(reverse("report-page", args=["failed-payments"]), params)
    assert "3 failed payments" in page.content.decode()


@pytest.mark.django_db
def test_it_rejects_a_backwards_range(viewer_client):
    params = {"from": "2026-11-30", "to": "2026-11-01"}
    assert viewer_client.get("/api/v1/reports/failed-payments", params).status_code == 400
    assert (
        viewer_client.get(reverse("report-csv", args=["failed-payments"]), params).status_code
        == 400
    )
    assert (
        viewer_client.get(reverse("report-page", args=["failed-payments"]), params).status_code
        == 400
    )
    assert viewer_client.get("/api/v1/reports/high-risk", {"threshold": "2"}).status_code == 400


@pytest.mark.django_db
def test_it_lists_sla_breaches_from_the_source_an_app_registers(viewer_client, org):
    # The disputes app registers its source; with no late dispute the report is empty.
    body = viewer_client.get("/api/v1/reports/sla-breaches").json()
    assert body["message"] == "" and body["breaches"] == []
    registered = report_sources.sla_sources()["disputes"]
    customer = CustomerFactory(organization=org)

    def past_sla(*, organization, now):
        if organization != org:
            return []
        return [
            report_sources.SlaBreach(
                kind="dispute",
                code="d1",
                reference="INV-9",
                customer_code=str(customer.code),
                customer_name=customer.name,
                status="open",
                opened_at=now - dt.timedelta(days=9),
                due_at=now - dt.timedelta(hours=50),
                amount=D("12.50"),
                currency="USD",
            )
        ]

    report_sources.register_sla_breaches("disputes", past_sla)
    try:
        body = viewer_client.get("/api/v1/reports/sla-breaches").json()
        assert body["message"] == ""
        assert [(b["reference"], b["hours_past_sla"]) for b in body["breaches"]] == [("INV-9", 50)]
        page = viewer_client.get(reverse("report-page", args=["sla-breaches"]))
        assert "INV-9" in page.content.decode()
    finally:
        report_sources.register_sla_breaches("disputes", registered)


@pytest.mark.django_db
def test_it_lists_high_risk_invoices_over_the_threshold(viewer_client, org):
    version = ModelVersion.objects.create(
        organization=org, version="t1", trained_at=timezone.now(), artifact_path="x", sha256="0"
    )
    customer = CustomerFactory(organization=org)
    today = organization_today(organization=org)
    made = {}
    for number, at_risk in (("R1", 0.9), ("R2", 0.65), ("R3", 0.2)):
        invoice = InvoiceFactory(customer=customer, number=number)
        made[number] = Prediction.objects.create(
            organization=org,
            invoice=invoice,
            model_version=version,
            scored_at=timezone.now(),
            as_of=today,
            p_paid_by_due=1 - at_risk,
            p_paid_30=0.9,
            p_paid_60=0.95,
            p_paid_90=0.99,
            expected_date=today,
            lower_date=today,
            upper_date=today,
            risk_probability=at_risk,
            risk_level="high" if at_risk >= 0.5 else "low",
        )
    body = viewer_client.get("/api/v1/reports/high-risk", {"threshold": "0.6"}).json()
    # At risk: R1 0.9, R2 0.65 (both >= 0.6), R3 0.2.
    assert [r["invoice"]["number"] for r in body["results"]] == ["R1", "R2"]
    assert body["results"][0]["risk"] == 0.9
    # The default threshold is the high grade: high_at_risk (0.5).
    page = viewer_client.get(reverse("report-page", args=["high-risk"]))
    assert "2 open invoices with risk ≥ 0.5" in page.content.decode()


@pytest.mark.django_db
def test_it_keeps_reports_to_the_organization(outsider_client, client, aging_ledger):
    body = outsider_client.get("/api/v1/reports/ar-summary").json()
    assert body["open_balance"] == "55555.00"
    assert client.get("/api/v1/reports/ar-summary").status_code in (401, 403)
    assert client.get(reverse("report-page", args=["ar-summary"])).status_code == 302


@pytest.mark.django_db
def test_it_lists_the_reports_and_404s_unknown_ones(viewer_client):
    html = viewer_client.get(reverse("report-index")).content.decode()
    for slug in ("ar-summary", "daily-summary", "failed-payments", "sla-breaches", "high-risk"):
        assert f'data-report="{slug}"' in html
    assert viewer_client.get(reverse("report-page", args=["nope"])).status_code == 404


@pytest.mark.django_db
def test_it_documents_the_report_endpoints(viewer_client):
    schema = viewer_client.get("/api/schema/", {"format": "json"}).json()
    for slug in ("ar-summary", "daily-summary", "failed-payments", "sla-breaches", "high-risk"):
        assert f"/api/v1/reports/{slug}" in schema["paths"]
    params = {
        p["name"] for p in schema["paths"]["/api/v1/reports/failed-payments"]["get"]["parameters"]
    }
    assert {"from", "to"} <= params
