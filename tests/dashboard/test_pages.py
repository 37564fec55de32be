"""Every dashboard page for each persona: who sees what, and what an outsider gets."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.dashboard.conftest import HTMX


def _read_urls(ledger) -> list[str]:
    return [
        reverse("dashboard"),
        reverse("invoice-list") + "?status=open",
        reverse("invoice-detail", kwargs={"code": ledger["late"].code}),
        reverse("customer-list"),
        reverse("customer-detail", kwargs={"code": ledger["acme"].code}),
        reverse("payment-list"),
    ]


@pytest.mark.parametrize("persona", ["owner_client", "collector_client", "viewer_client"])
def test_it_renders_every_page_for_each_member_role(request, persona, ledger):
    client = request.getfixturevalue(persona)
    for url in _read_urls(ledger):
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert "<html" in body
        assert 'id="main"' in body
        assert "Org A" in body  # the organization switcher names the current organization


def test_it_sends_anonymous_visitors_to_login(db, ledger):
    client = Client()
    for url in _read_urls(ledger):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login") + "?next=")


def test_it_sends_an_htmx_client_redirect_to_login_for_anonymous_swaps(db, ledger):
    response = Client().get(reverse("invoice-list"), **HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith(reverse("login"))


def test_it_answers_404_to_an_outsider_on_org_a_objects(outsider_client, ledger):
    urls = [
        reverse("invoice-detail", kwargs={"code": ledger["late"].code}),
        reverse("customer-detail", kwargs={"code": ledger["acme"].code}),
        reverse("invoice-void", kwargs={"code": ledger["late"].code}),
        reverse("invoice-write-off", kwargs={"code": ledger["late"].code}),
    ]
    for url in urls:
        response = outsider_client.get(url)
        assert response.status_code == 404, url
        body = response.content.decode()
        assert "Acme" not in body and "INV-LATE" not in body
    posts = [
        (reverse("invoice-void", kwargs={"code": ledger["late"].code}), {}),
        (reverse("invoice-write-off", kwargs={"code": ledger["late"].code}), {}),
        (
            reverse("invoice-dispute-open", kwargs={"code": ledger["late"].code}),
            {"text": "We never received it."},
        ),
        (
            reverse("customer-preferences", kwargs={"code": ledger["acme"].code}),
            {"reminder_channel": "email", "reminder_language": "en"},
        ),
    ]
    for url, data in posts:
        assert outsider_client.post(url, data).status_code == 404, url
    ledger["late"].refresh_from_db()
    assert ledger["late"].status == "open" and ledger["late"].disputed is True


def test_it_lists_nothing_of_org_a_to_an_outsider(outsider_client, ledger):
    for url in [reverse("invoice-list"), reverse("customer-list"), reverse("dashboard")]:
        body = outsider_client.get(url).content.decode()
        assert "Acme" not in body
        assert "INV-LATE" not in body
        assert "Org A" not in body


def test_it_lists_nothing_of_org_b_to_org_a(owner_client, ledger, foreign_ledger):
    for url in [reverse("invoice-list"), reverse("customer-list"), reverse("payment-list")]:
        body = owner_client.get(url).content.decode()
        assert "Secret Customer B" not in body
        assert "B-SECRET-1" not in body
    response = owner_client.get(
        reverse("invoice-detail", kwargs={"code": foreign_ledger["invoice"].code})
    )
    assert response.status_code == 404


def test_it_tells_a_user_without_an_organization_so(db):
    from tests.factories import UserFactory

    client = Client()
    client.force_login(UserFactory())
    response = client.get(reverse("invoice-list"))
    assert response.status_code == 403
    assert "not a member of any organization" in response.content.decode()


def test_it_shows_only_existing_sections_in_the_navigation(owner_client, viewer_client, ledger):
    body = owner_client.get(reverse("invoice-list"), follow=True).content.decode()
    assert 'aria-current="page">Invoices</a>' in body
    for label, name in [
        ("Customers", "customer-list"),
        ("Payments", "payment-list"),
        ("Reports", "report-index"),
        ("Reminders", "reminder-queue"),
        ("Integrations", "integrations"),
    ]:
        assert f'href="{reverse(name)}">{label}</a>' in body
    # Nothing links to a page that does not exist yet.
    for missing in ("Settings",):
        assert f">{missing}</a>" not in body
    assert "skip-link" in body and 'aria-label="Main"' in body


@pytest.mark.parametrize(
    ("name", "target"),
    [
        ("invoice-list", "invoice-table"),
        ("customer-list", "customer-table"),
        ("payment-list", "payment-table"),
    ],
)
def test_it_returns_only_the_partial_to_htmx(owner_client, ledger, name, target):
    response = owner_client.get(reverse(name), {"q": ""}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and '<nav class="mainnav"' not in body
    assert body.strip().startswith(f'<section id="{target}"')
    assert "HX-Request" in response["Vary"]


def test_it_returns_the_whole_page_for_an_htmx_history_restore(owner_client, ledger):
    response = owner_client.get(
        reverse("invoice-list"),
        {"q": ""},
        HTTP_HX_REQUEST="true",
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
    )
    assert "<html" in response.content.decode()


def test_it_keeps_the_url_in_sync_and_works_without_js(owner_client, ledger):
    body = owner_client.get(reverse("invoice-list"), follow=True).content.decode()
    assert 'hx-push-url="true"' in body
    # The filter form has a real action and method, not only hx-get.
    assert f'method="get" action="{reverse("invoice-list")}"' in body
    # Every sort and page link carries a real href equal to its hx-get.
    links = re.findall(r'<a href="([^"]*)" hx-get="([^"]*)"', body)
    assert len(links) >= 7
    assert all(href == hx_get for href, hx_get in links)
    assert 'href="?status=open&amp;status=partially_paid&amp;sort=number"' in body


def test_it_opens_the_worklist_on_open_invoices_unscored_oldest_due_first(owner_client, ledger):
    response = owner_client.get(reverse("invoice-list"))
    assert response.status_code == 302
    assert response["Location"] == (
        reverse("invoice-list") + "?status=open&status=partially_paid&sort=-at_risk"
    )
    page = owner_client.get(response["Location"]).content.decode()
    assert "INV-PAID" not in page
    assert page.index("INV-LATE") < page.index("INV-CUR") < page.index("INV-GLX")
    assert '<input type="checkbox" name="status" value="open" checked>' in page


def test_it_pages_customer_history_on_its_own(owner_client, org, ledger):
    from tests.factories import InvoiceFactory

    for n in range(12):
        InvoiceFactory(customer=ledger["acme"], number=f"HIST-{n:02d}")
    url = reverse("customer-detail", kwargs={"code": ledger["acme"].code})
    response = owner_client.get(
        url + "?invoices_page=2", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="customer-invoices"
    )
    body = response.content.decode()
    assert body.strip().startswith('<section id="customer-invoices"')
    assert "<html" not in body
    assert "Page 2 of 2" in body
    assert 'hx-push-url="true"' in body


def test_it_lists_failed_payments_with_their_reason(owner_client, ledger):
    from tests.factories import PaymentFactory

    PaymentFactory(
        customer=ledger["acme"],
        status="failed",
        failure_code="insufficient_funds",
        failure_reason="Insufficient funds",
        reference="ACH-FAIL-1",
    )
    PaymentFactory(customer=ledger["globex"], reference="WIRE-OK-1")
    response = owner_client.get(reverse("payment-list"), {"status": "failed"})
    body = response.content.decode()
    assert "ACH-FAIL-1" in body and "WIRE-OK-1" not in body
    assert "Insufficient funds" in body and "<code>insufficient_funds</code>" in body
    assert 'class="row-failed"' in body
    everything = owner_client.get(reverse("payment-list")).content.decode()
    assert "ACH-FAIL-1" in everything and "WIRE-OK-1" in everything
