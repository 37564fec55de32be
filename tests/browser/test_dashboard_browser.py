"""A collector works the dashboard in headless Chromium (Debian's package, driven by Playwright).

The browser is never downloaded at test time: `make browser` installs Debian's chromium and
these tests skip, saying so, when it is missing. HTMX interactions must not reload the page:
a marker set on ``window`` before an interaction must still be there after it.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from invoices.analytics import organization_today
from invoices.models import InvoiceStatus
from paypredict_project.tenancy.models import Role
from tests.factories import (
    CustomerFactory,
    InvoiceFactory,
    MembershipFactory,
    OrganizationFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip(
            "Debian chromium is not installed: run `make browser` (apt-get install chromium)"
        )
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    # Playwright's sync API keeps an asyncio loop on this thread, and Django then refuses ORM
    # calls (SynchronousOnlyOperation) although nothing runs concurrently: the test is plain
    # sequential code. Django documents this switch for exactly that case.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=shutil.which("chromium") or CHROMIUM, args=CHROMIUM_ARGS
            )
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda msg: errors.append(msg.text) if msg.type == "error" else None,
    )
    yield page
    context.close()
    assert errors == [], f"JavaScript errors in the page: {errors}"


@pytest.fixture
def world(db):
    organization = OrganizationFactory(slug="browser-org", name="Browser Org")
    membership = MembershipFactory(organization=organization, role=Role.COLLECTOR)
    user = membership.user
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    today = organization_today(organization=organization)
    acme = CustomerFactory(organization=organization, name="Acme Browser Co")
    other = CustomerFactory(organization=organization, name="Zenith Ltd")
    for n in range(30):
        InvoiceFactory(
            customer=acme if n % 2 == 0 else other,
            number=f"BR-{n:03d}",
            issue_date=today - dt.timedelta(days=10 + n * 3),
            due_date=today - dt.timedelta(days=n * 3 - 20),
            total=Decimal(100 + n * 10),
        )
    InvoiceFactory(
        customer=acme,
        number="BR-PAID",
        issue_date=today - dt.timedelta(days=40),
        total=Decimal("55.00"),
        balance=Decimal("0.00"),
        status=InvoiceStatus.PAID,
        paid_date=today - dt.timedelta(days=5),
    )
    return {"user": user, "acme": acme}


def _rows(page) -> list[str]:
    return page.locator("#invoice-table tbody a[href^='/invoices/']").all_inner_texts()


def _mark(page) -> None:
    page.evaluate("window.__marker = 'still-here'")


def _assert_no_reload(page) -> None:
    assert page.evaluate("window.__marker") == "still-here", "the page reloaded"


def _wait_for_htmx(page) -> None:
    page.wait_for_function("() => !document.querySelector('.htmx-request')")


def _assert_not_blank(path: Path) -> None:
    from PIL import Image

    assert path.stat().st_size > 10_000, f"{path} is suspiciously small"
    with Image.open(path) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
        assert colours is not None and len(colours) > 50, f"{path} looks blank"
        # No single colour covers (almost) the whole picture.
        assert max(count for count, _ in colours) < 0.97 * image.width * image.height


def test_it_works_the_worklist_without_full_page_reloads(page, world, tmp_path):
    shots = tmp_path / "screenshots"
    shots.mkdir()

    # Log in with Django's own login form.
    page.goto("/invoices/")
    assert "/login/" in page.url
    page.fill("#id_username", world["user"].username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    # The bare worklist opens on open invoices (explicit in the URL), most money at risk
    # first; without predictions (no model here) oldest due first.
    page.wait_for_url("**/invoices/?status=open&status=partially_paid&sort=-at_risk")
    assert page.locator("h1").inner_text() == "Invoices"
    assert len(_rows(page)) == 25
    assert _rows(page)[0] == "BR-029"
    _mark(page)

    # Filter by typing a search (keyboard only); the table swaps, the URL follows.
    page.focus("#id_q")
    page.keyboard.type("Acme")
    page.keyboard.press("Enter")
    page.wait_for_url("**q=Acme**")
    _wait_for_htmx(page)
    page.wait_for_function(
        "() => document.querySelector('#invoice-table .result-count').textContent.includes('15')"
    )
    assert "15 invoices match" in page.locator("#invoice-table .result-count").inner_text()
    _assert_no_reload(page)

    # Widen by status with a checkbox (change triggers the swap).
    page.check("input[name=status][value=paid]")
    page.wait_for_url("**status=paid**")
    page.wait_for_function(
        "() => document.querySelector('#invoice-table .result-count').textContent.includes('16')"
    )
    _assert_no_reload(page)

    # Fewer rows per page, then page forward with a pager link.
    page.select_option("#id_per_page", "10")
    page.wait_for_url("**per_page=10**")
    page.wait_for_function(
        "() => document.querySelectorAll('#invoice-table tbody tr').length == 10"
    )
    first_page = _rows(page)
    # Page forward by keyboard: focus the "Next" link and press Enter.
    page.focus("#invoice-table nav.pager a[rel=next]")
    page.keyboard.press("Enter")
    page.wait_for_url("**page=2**")
    page.wait_for_function("() => document.querySelectorAll('#invoice-table tbody tr').length == 6")
    assert set(_rows(page)).isdisjoint(first_page)
    assert page.locator("#invoice-table .pager .current").inner_text() == "2"
    _assert_no_reload(page)
    page.screenshot(path=str(shots / "worklist.png"), full_page=True)

    # Sort by total, descending after a second click; the header says so.
    page.click("#invoice-table th >> text=Total")
    page.wait_for_url("**sort=total**")
    page.wait_for_function(
        "() => document.querySelector('#invoice-table th[aria-sort=ascending]') !== null"
    )
    page.click("#invoice-table th >> text=Total")
    page.wait_for_url("**sort=-total**")
    page.wait_for_function(
        "() => document.querySelector('#invoice-table th[aria-sort=descending]') !== null"
    )
    _assert_no_reload(page)
    assert _rows(page)[0] == "BR-028"  # the largest open Acme invoice

    # Bulk selection: select all on the page enables the export of the selection.
    if page.locator("[data-needs-selection]").count():
        assert page.locator("[data-needs-selection]").is_disabled()
        page.check("input[data-select-all]")
        assert page.locator("[data-selected-count]").inner_text() == "10 selected"
        assert page.locator("[data-needs-selection]").is_enabled()

    # The back button restores the previous state of the list.
    page.go_back()
    page.wait_for_url(lambda url: "sort=-total" not in url)

    # Open an invoice (a normal link) and open a dispute on it: the workflow sets the flag.
    page.goto("/invoices/?q=BR-004")
    page.click("#invoice-table tbody a >> text=BR-004")
    page.wait_for_url("**/invoices/*-*/")
    assert "Invoice BR-004" in page.locator("h1").inner_text()
    invoice_url = page.url
    assert page.locator("text=Mark as disputed").count() == 0
    page.click("#invoice-disputes summary")
    page.fill("#dispute-text", "The unit price should be 9.00, not 9.50.")
    page.select_option("#dispute-category", "pricing_error")
    page.click("#invoice-disputes button[type=submit]")
    page.wait_for_url("**/disputes/*-*/")
    page.goto(invoice_url)
    assert page.locator("#invoice-summary .badge", has_text="Disputed").count() == 1
    page.screenshot(path=str(shots / "invoice.png"), full_page=True)

    # Edit a customer preference: a bad e-mail is refused inline, a good one saved.
    page.click("main >> text=Acme Browser Co")
    page.wait_for_url(f"**/customers/{world['acme'].code}/")
    _mark(page)
    page.fill("#id_reminder_contact", "not-an-email")
    page.select_option("#id_reminder_language", "fr")
    page.click("text=Save preferences")
    page.wait_for_selector(".field-error")
    assert "is not a valid e-mail address" in page.locator(".field-error").inner_text()
    _assert_no_reload(page)
    page.fill("#id_reminder_contact", "payables@acme.example")
    page.check("#id_do_not_remind")
    page.click("text=Save preferences")
    page.wait_for_selector("text=Preferences saved.")
    _assert_no_reload(page)
    page.screenshot(path=str(shots / "customer.png"), full_page=True)

    world["acme"].refresh_from_db()
    assert world["acme"].reminder_contact == "payables@acme.example"
    assert world["acme"].reminder_language == "fr"
    assert world["acme"].do_not_remind is True

    # The home dashboard renders its chart.
    page.click("nav.mainnav >> text=Dashboard")
    page.wait_for_selector("svg.chart rect.bar")
    page.screenshot(path=str(shots / "dashboard.png"), full_page=True)

    # On a phone-sized screen nothing forces sideways scrolling of the page (wide tables
    # scroll inside their own box).
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/", "/invoices/", f"/customers/{world['acme'].code}/"):
        page.goto(path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        wide = page.evaluate(
            "[...document.querySelectorAll('body *')].filter(e => "
            "e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 5)"
            ".map(e => e.tagName + '.' + e.className + '#' + e.id)"
        )
        assert overflow <= 0, f"{path} overflows a 390px screen by {overflow}px: {wide}"
    page.screenshot(path=str(shots / "customer-mobile.png"), full_page=True)

    for name in ("worklist", "invoice", "customer", "dashboard", "customer-mobile"):
        _assert_not_blank(shots / f"{name}.png")
