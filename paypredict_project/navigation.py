"""The dashboard's main navigation, as data.

A new section adds one line to ``NAV_ITEMS``. An item is shown only when its URL name
resolves (the page exists) and the member holds its permission, so the menu never links to
a page that is not there or that would answer 403.
"""

from __future__ import annotations

from typing import NamedTuple

from django.urls import NoReverseMatch, reverse


class NavItem(NamedTuple):
    label: str
    url_name: str
    permission: str
    # A section is current for every page under its URL (the list and its detail pages).
    section: bool = True


NAV_ITEMS: list[NavItem] = [
    NavItem("Dashboard", "dashboard", "read:invoices", section=False),
    NavItem("Invoices", "invoice-list", "read:invoices"),
    NavItem("Customers", "customer-list", "read:invoices"),
    NavItem("Payments", "payment-list", "read:invoices"),
    NavItem("Payment analytics", "payment-analytics", "read:invoices"),
    NavItem("Forecast", "forecast", "read:predictions"),
    NavItem("Disputes", "dispute-queue", "read:invoices"),
    NavItem("Ask", "ask", "read:invoices"),
    NavItem("Reminders", "reminder-queue", "read:invoices"),
    NavItem("Reports", "report-index", "read:invoices"),
    NavItem("Live feed", "live-feed", "read:invoices"),
    NavItem("Models", "model-list", "admin"),
    NavItem("Import CSV", "csv-import", "write:invoices"),
    NavItem("Integrations", "integrations", "manage:integrations"),
]


def nav_entries(request) -> list[dict]:
    permissions = getattr(request, "org_permissions", frozenset())
    entries = []
    for item in NAV_ITEMS:
        if item.permission not in permissions:
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        path = request.path
        current = path == url or (item.section and path.startswith(url))
        entries.append({"label": item.label, "url": url, "current": current})
    return entries


def navigation(request) -> dict:
    """Context processor: ``nav_items`` for the base layout (empty for anonymous users)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    return {"nav_items": nav_entries(request)}
