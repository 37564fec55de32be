"""The invoice worklist: filters from the shared InvoiceFilter, sorting, paging, bulk export."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.dashboard.conftest import HTMX
from tests.factories import CustomerFactory, InvoiceFactory


def _numbers(response) -> list[str]:
    return re.findall(r'aria-label="Select invoice ([^"]+)"', response.content.decode())


def test_it_filters_by_status_search_amount_disputed_and_overdue(owner_client, ledger):
    url = reverse("invoice-list")
    assert sorted(_numbers(owner_client.get(url, {"status": "paid"}))) == ["INV-PAID"]
    assert sorted(_numbers(owner_client.get(url, {"q": "globex"}))) == ["INV-GLX", "INV-PAID"]
    assert _numbers(owner_client.get(url, {"amount_min": "500", "amount_max": "1500"})) == [
        "INV-CUR"
    ]
    assert _numbers(owner_client.get(url, {"disputed": "true"})) == ["INV-LATE"]
    assert _numbers(owner_client.get(url, {"overdue": "true"})) == ["INV-LATE"]
    assert _numbers(owner_client.get(url, {"days_overdue_min": "20"})) == ["INV-LATE"]
    assert sorted(_numbers(owner_client.get(url, {"status": ["open", "paid"]}))) == [
        "INV-CUR",
        "INV-GLX",
        "INV-LATE",
        "INV-PAID",
    ]


def test_it_filters_by_customer_and_names_the_customer(owner_client, ledger):
    response = owner_client.get(reverse("invoice-list"), {"customer": ledger["globex"].code})
    assert sorted(_numbers(response)) == ["INV-GLX", "INV-PAID"]
    assert "Customer: <a" in response.content.decode()


def test_it_filters_by_due_date_range(owner_client, ledger, today):
    response = owner_client.get(
        reverse("invoice-list"),
        {"due_after": (today - dt.timedelta(days=31)).isoformat(), "due_before": today.isoformat()},
    )
    assert sorted(_numbers(response)) == ["INV-LATE", "INV-PAID"]


def test_it_reports_an_invalid_filter_instead_of_ignoring_it(owner_client, ledger):
    response = owner_client.get(reverse("invoice-list"), {"due_after": "not-a-date"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Some filters are not valid" in body and "due_after" in body
    assert _numbers(response) == []


def test_it_sorts_by_whitelisted_columns_and_toggles_direction(owner_client, ledger):
    url = reverse("invoice-list")
    ascending = _numbers(owner_client.get(url, {"sort": "total"}))
    assert ascending == ["INV-LATE", "INV-PAID", "INV-CUR", "INV-GLX"]
    assert _numbers(owner_client.get(url, {"sort": "-total"})) == ascending[::-1]
    body = owner_client.get(url, {"sort": "total"}).content.decode()
    # The active column's link flips the direction; its header says how it is sorted.
    assert 'aria-sort="ascending"' in body and 'href="?sort=-total"' in body
    # A column outside the whitelist falls back to the default order (due date).
    assert _numbers(owner_client.get(url, {"sort": "customer__email"})) == _numbers(
        owner_client.get(url, {"sort": "due_date"})
    )


def test_it_pages_and_keeps_filters_in_page_links(owner_client, org):
    customer = CustomerFactory(organization=org)
    for n in range(23):
        InvoiceFactory(customer=customer, number=f"P-{n:03d}", total=Decimal(100 + n))
    url = reverse("invoice-list")
    first = owner_client.get(url, {"per_page": "10", "sort": "number", "q": "P-"})
    assert _numbers(first) == [f"P-{n:03d}" for n in range(10)]
    body = first.content.decode()
    assert "Page 1 of 3" in body
    assert 'href="?per_page=10&amp;sort=number&amp;q=P-&amp;page=2"' in body
    third = owner_client.get(url, {"per_page": "10", "sort": "number", "q": "P-", "page": "3"})
    assert _numbers(third) == ["P-020", "P-021", "P-022"]
    # A page number past the end shows the last page rather than an error.
    assert _numbers(owner_client.get(url, {"per_page": "10", "sort": "number", "page": "99"}))


def test_it_runs_the_same_number_of_queries_for_10_or_50_rows(owner_client, org):
    for n in range(60):
        InvoiceFactory(customer=CustomerFactory(organization=org), number=f"Q-{n:03d}")
    url = reverse("invoice-list")
    counts = {}
    for size in (10, 50):
        for extra in ({}, HTMX):
            with CaptureQueriesContext(connection) as queries:
                response = owner_client.get(url, {"per_page": size}, **extra)
            assert len(_numbers(response)) == size
            counts[(size, bool(extra))] = len(queries)
    assert counts[(10, False)] == counts[(50, False)]
    assert counts[(10, True)] == counts[(50, True)]
    assert counts[(50, False)] <= 12


def test_it_offers_bulk_export_of_selected_and_of_all_matching(owner_client, ledger):
    from django.urls import NoReverseMatch

    try:
        export_url = reverse("invoice-export")
    except NoReverseMatch:
        export_url = None
    body = owner_client.get(reverse("invoice-list"), {"status": "open"}).content.decode()
    assert "data-select-all" in body
    assert f'name="code" value="{ledger["late"].code}"' in body
    if export_url:
        assert f'<form id="invoice-bulk" data-bulk method="get" action="{export_url}">' in body
        assert f'href="{export_url}?status=open"' in body
        assert "Export selected as CSV" in body
        assert '<input type="hidden" name="status" value="open">' in body
    else:
        assert "Export selected as CSV" not in body


def test_it_exports_exactly_the_selected_rows_through_the_bulk_form(owner_client, ledger):
    from django.urls import NoReverseMatch

    try:
        export_url = reverse("invoice-export")
    except NoReverseMatch:
        import pytest

        pytest.skip("the CSV export views are not installed")
    page = owner_client.get(reverse("invoice-list"), follow=True).content.decode()
    # What the bulk form submits: its hidden filter fields plus the ticked rows.
    hidden = re.findall(
        r'<input type="hidden" name="([^"]+)" value="([^"]*)">',
        page[page.index('id="invoice-bulk"') :],
    )
    selected = [("code", str(ledger["late"].code)), ("code", str(ledger["current"].code))]
    response = owner_client.get(export_url, [*hidden, *selected])
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    assert "INV-LATE" in body and "INV-CUR" in body
    assert "INV-GLX" not in body and "INV-PAID" not in body


def test_search_matches_number_po_and_customer_name_fragments(owner_client, ledger, org):
    InvoiceFactory(customer=ledger["acme"], number="X-77123", po_number="PO-ZEBRA-9")
    # Another organization's customer with a matching name must not widen the search.
    from tests.factories import OrganizationFactory

    other = OrganizationFactory()
    InvoiceFactory(customer=CustomerFactory(organization=other, name="Globex"), number="FOREIGN")
    url = reverse("invoice-list")
    assert _numbers(owner_client.get(url, {"q": "7712"})) == ["X-77123"]
    assert _numbers(owner_client.get(url, {"q": "zebra"})) == ["X-77123"]
    assert sorted(_numbers(owner_client.get(url, {"q": "lobe"}))) == ["INV-GLX", "INV-PAID"]
    assert sorted(_numbers(owner_client.get(url, {"q": "inv-"}))) == [
        "INV-CUR",
        "INV-GLX",
        "INV-LATE",
        "INV-PAID",
    ]
    assert _numbers(owner_client.get(url, {"q": "no such thing"})) == []


def test_search_by_customer_name_past_the_inline_id_limit(owner_client, ledger, monkeypatch):
    from invoices import filters

    # With more matching customers than it inlines, the condition is a subquery: same rows.
    monkeypatch.setattr(filters, "CUSTOMER_IDS_INLINE", 0)
    url = reverse("invoice-list")
    assert sorted(_numbers(owner_client.get(url, {"q": "lobe"}))) == ["INV-GLX", "INV-PAID"]
    assert sorted(_numbers(owner_client.get(url, {"q": "acme"}))) == ["INV-CUR", "INV-LATE"]


def test_the_pager_counts_only_up_to_a_limit_and_says_more_than(owner_client, org, monkeypatch):
    from invoices.views import common

    monkeypatch.setattr(common, "COUNT_LIMIT", 15)
    customer = CustomerFactory(organization=org)
    for n in range(40):
        InvoiceFactory(customer=customer, number=f"M-{n:03d}")
    url = reverse("invoice-list")
    params = {"per_page": "10", "sort": "number", "q": "M-"}
    with CaptureQueriesContext(connection) as queries:
        first = owner_client.get(url, params)
    body = first.content.decode()
    assert _numbers(first) == [f"M-{n:03d}" for n in range(10)]
    # Page 1 counts up to one row past page 2 (21 rows), not all 40.
    assert "more than 20 invoices match" in body
    assert "Page 1 of more than 2" in body
    assert "Export all matching (more than 20)" in body
    assert 'rel="next"' in body
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts and all("LIMIT 21" in sql for sql in counts)
    # Near the end the count is exact again and the last page is named.
    last = owner_client.get(url, {**params, "page": "4"}).content.decode()
    assert "40 invoices match" in last and "Page 4 of 4" in last
    assert 'rel="next"' not in last
