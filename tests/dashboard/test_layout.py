"""Layout details a newcomer noticed: prices with two decimals, numbers that do not wrap,
organization names that fit, a forecast chart that spans its card."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse

from invoices import services
from invoices.templatetags.ledger import quantity, unit_price
from tests.factories import CustomerFactory


@pytest.mark.parametrize(
    ("value", "shown"),
    [("12.5000", "12.50"), ("0.1234", "0.1234"), ("3.1250", "3.125"), ("1500.0000", "1,500.00")],
)
def test_it_shows_unit_prices_with_the_decimals_they_have(value, shown):
    assert unit_price(Decimal(value)) == shown


def test_it_shows_quantities_without_trailing_zeros():
    assert (quantity(Decimal("2.0000")), quantity(Decimal("2.5000"))) == ("2", "2.5")


@pytest.mark.django_db
def test_it_renders_invoice_lines_and_numbers_tidily(owner_client, org):
    invoice = services.invoice_create(
        organization=org,
        customer=CustomerFactory(organization=org),
        number="INV-2026-000123-LONG",
        issue_date=org.created_at.date(),
        lines=[{"description": "Widget", "unit_price": Decimal("12.5"), "quantity": 2}],
    )
    body = owner_client.get(reverse("invoice-detail", args=[invoice.code])).content.decode()
    assert '<td class="num">2</td><td class="num">12.50</td>' in body
    worklist = owner_client.get(reverse("invoice-list"), {"status": "open"}).content.decode()
    assert (
        f'<td class="nowrap"><a href="/invoices/{invoice.code}/">INV-2026-000123-LONG' in worklist
    )


def test_it_gives_the_organization_selector_and_the_forecast_chart_room():
    css = (settings.BASE_DIR / "static" / "css" / "app.css").read_text()
    assert ".org-switch select { width:auto; max-width:min(30rem, 45vw); }" in css
    assert ".chart.chart-full { max-height:none; }" in css
    forecast = (settings.BASE_DIR / "templates" / "predictions" / "forecast.html").read_text()
    assert 'class="chart chart-full"' in forecast
