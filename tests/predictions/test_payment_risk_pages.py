"""Where payment risk shows: the payments list (filter, badge), a payment's page with the
review action, the customer profile, the payment API objects, the flagged-payments report
and the review API; each checked for the viewer (read-only) and the outsider."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.html import escape

from invoices.models import Payment
from paypredict_project.tenancy.models import AuditLog
from predictions.models import PaymentRisk, ReviewStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def flagged(org, risk_model):
    return (
        PaymentRisk.objects.filter(organization=org, flagged=True)
        .select_related("payment__customer")
        .order_by("-score")
        .first()
    )


def test_it_filters_the_payments_list_to_flagged_ones_with_a_badge(viewer_client, org, flagged):
    response = viewer_client.get(reverse("payment-list"), {"flagged": "true", "sort": "-risk"})
    assert response.status_code == 200
    count = PaymentRisk.objects.filter(organization=org, flagged=True).count()
    assert response.context["page"].paginator.count == count
    assert all(p.risk.flagged for p in response.context["page"].object_list)
    body = response.content.decode()
    assert f"Flagged {flagged.score:.2f}" in body
    assert escape(flagged.reasons[0]["text"][:30]) in body
    assert f"{count} flagged" in body  # the summary above the table
    unfiltered = viewer_client.get(reverse("payment-list")).context["page"].paginator
    every_payment = Payment.objects.filter(organization=org).count()
    # The payments list counts only up to its cap (a million-row ledger must not be counted).
    if unfiltered.exact:
        assert unfiltered.count == every_payment
    else:
        assert every_payment > unfiltered.limit and unfiltered.count == unfiltered.limit + 1


def test_it_explains_a_flag_on_the_payment_page(viewer_client, flagged):
    response = viewer_client.get(reverse("payment-detail", args=[flagged.payment.code]))
    assert response.status_code == 200
    body = response.content.decode()
    for reason in flagged.reasons:
        assert escape(reason["text"].split(" (")[0]) in body
    assert "Payment risk" in body
    assert "Confirmed problem" not in body  # a viewer cannot review


def test_it_hides_another_organizations_payment_and_review(outsider_client, flagged):
    code = flagged.payment.code
    assert outsider_client.get(reverse("payment-detail", args=[code])).status_code == 404
    response = outsider_client.post(
        reverse("payment-risk-review", args=[code]), {"status": "confirmed_problem"}
    )
    assert response.status_code == 404
    flagged.refresh_from_db()
    assert flagged.review_status == ReviewStatus.NONE


def test_it_lets_a_collector_review_a_flag_and_not_a_viewer(
    collector_client, viewer_client, flagged, collector
):
    url = reverse("payment-risk-review", args=[flagged.payment.code])
    assert viewer_client.post(url, {"status": "reviewed_fine"}).status_code == 403
    page = collector_client.get(reverse("payment-detail", args=[flagged.payment.code]))
    assert "Confirmed problem" in page.content.decode()
    response = collector_client.post(url, {"status": "confirmed_problem"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Confirmed problem by" in response.content.decode()
    flagged.refresh_from_db()
    assert flagged.review_status == ReviewStatus.PROBLEM and flagged.reviewed_by == collector
    assert AuditLog.objects.filter(action="payment_risk.confirmed_problem").count() == 1
    plain = collector_client.post(url, {"status": "reviewed_fine"})
    assert plain.status_code == 302
    assert collector_client.post(url, {"status": "nonsense"}).status_code == 400


def test_it_lists_a_customers_flagged_payments_on_the_profile(viewer_client, flagged):
    customer = flagged.payment.customer
    response = viewer_client.get(reverse("customer-detail", args=[customer.code]))
    body = response.content.decode()
    assert "Flagged payments" in body
    assert reverse("payment-detail", args=[flagged.payment.code]) in body


def test_it_puts_risk_score_and_flags_on_payment_api_objects(viewer_client, flagged):
    response = viewer_client.get(reverse("api:payment-detail", args=[flagged.payment.code]))
    data = response.json()
    assert data["risk_score"] == pytest.approx(flagged.score)
    assert [f["code"] for f in data["risk_flags"]] == [r["code"] for r in flagged.reasons]
    listing = viewer_client.get(reverse("api:payment-list"), {"page_size": 5}).json()
    assert all("risk_score" in row and "risk_flags" in row for row in listing["results"])


def test_it_reports_flagged_payments_by_date_and_threshold(viewer_client, org, flagged):
    url = reverse("api:report-flagged-payments")
    rows = viewer_client.get(url, {"page_size": 500}).json()["results"]
    assert len(rows) == PaymentRisk.objects.filter(organization=org, flagged=True).count()
    assert rows[0]["risk_score"] == pytest.approx(flagged.score)
    scores = [row["risk_score"] for row in rows]
    assert scores == sorted(scores, reverse=True)
    day = flagged.payment.received_at.astimezone(org.tzinfo).date().isoformat()
    same_day = viewer_client.get(url, {"from": day, "to": day}).json()["results"]
    assert flagged.payment.code.hex in {row["payment"]["id"].replace("-", "") for row in same_day}
    loose = viewer_client.get(url, {"threshold": "0.2", "page_size": 500}).json()["results"]
    assert len(loose) == PaymentRisk.objects.filter(organization=org, score__gte=0.2).count()
    bad = viewer_client.get(url, {"from": "2026-05-01", "to": "2026-04-01"})
    assert bad.status_code == 400 and "to" in bad.json()["error"]["fields"]
    assert viewer_client.get(url, {"threshold": "7"}).status_code == 400


def test_it_reports_nothing_of_another_organization(outsider_client, flagged):
    response = outsider_client.get(reverse("api:report-flagged-payments"))
    assert response.status_code == 200 and response.json()["results"] == []


def test_it_reviews_through_the_api_with_permissions(
    collector_client, viewer_client, outsider_client, flagged
):
    url = reverse("api:payment-risk-review", args=[flagged.payment.code])
    body = {"status": "reviewed_fine"}
    assert viewer_client.post(url, body, content_type="application/json").status_code == 403
    assert outsider_client.post(url, body, content_type="application/json").status_code == 404
    response = collector_client.post(url, body, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["review_status"] == "reviewed_fine"
    bad = collector_client.post(url, {"status": "maybe"}, content_type="application/json")
    assert bad.status_code == 400 and "status" in bad.json()["error"]["fields"]
