"""Page slots: a new app adds to ledger pages without the ledger knowing it (ADR 0001)."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from invoices.models import InvoiceStatus
from paypredict_project import slots
from tests.factories import CustomerFactory, InvoiceFactory, PaymentFactory

pytestmark = pytest.mark.django_db

# What a new app would ship in its own templates/ folder.
NEW_APP_TEMPLATES = {
    "newapp/_invoice_panel.html": (
        '<section class="card" id="newapp-panel">New app says {{ number }} '
        "for {{ request.organization.slug }}</section>"
    ),
    "newapp/_customer_section.html": '<section id="newapp-section">{{ name }}</section>',
    "newapp/_header.html": '<th scope="col">{{ sort_links.newapp_customer.aria }}Flag</th>',
    "newapp/_cell.html": '<td data-newapp="{{ row.number }}">{{ row.customer.name }}</td>',
    "newapp/_payment_cell.html": '<td data-newapp-payment="{{ row.code }}">x</td>',
    "newapp/_panel_plain.html": '<section id="newapp-plain">plain</section>',
}


@pytest.fixture
def new_app_templates(settings):
    config = copy.deepcopy(django_settings.TEMPLATES)
    config[0]["APP_DIRS"] = False
    config[0]["OPTIONS"]["loaders"] = [
        ("django.template.loaders.locmem.Loader", NEW_APP_TEMPLATES),
        "django.template.loaders.filesystem.Loader",
        "django.template.loaders.app_directories.Loader",
    ]
    settings.TEMPLATES = config


@pytest.fixture
def registered(new_app_templates):
    """Register like a new app's ready() would; remove again afterwards."""
    added: list[tuple[str, str]] = []

    def add(slot: str, item) -> None:
        slots.register(slot, item)
        added.append((slot, item.key))

    yield add
    for slot, key in added:
        slots.unregister(slot, key)


def test_it_renders_a_new_apps_panel_on_the_invoice_page(owner_client, org, registered):
    invoice = InvoiceFactory(customer=CustomerFactory(organization=org), number="INV-SLOT")
    registered(
        slots.INVOICE_PANELS,
        slots.Panel(
            key="newapp.panel",
            template="newapp/_invoice_panel.html",
            context=lambda request, obj: {"number": obj.number},
        ),
    )
    body = owner_client.get(reverse("invoice-detail", args=[invoice.code])).content.decode()
    assert '<section class="card" id="newapp-panel">New app says INV-SLOT for org-a' in body


def test_it_hides_a_panel_from_a_member_without_its_permission(
    owner_client, viewer_client, org, registered
):
    customer = CustomerFactory(organization=org, name="Slot Customer")
    registered(
        slots.CUSTOMER_SECTIONS,
        slots.Panel(
            key="newapp.section",
            template="newapp/_customer_section.html",
            context=lambda request, obj: {"name": obj.name},
            permission="write:invoices",
        ),
    )
    url = reverse("customer-detail", args=[customer.code])
    assert (
        '<section id="newapp-section">Slot Customer</section>'
        in owner_client.get(url).content.decode()
    )
    assert "newapp-section" not in viewer_client.get(url).content.decode()


def test_it_renders_panels_on_the_payments_page_and_the_dashboard(owner_client, org, registered):
    panel = slots.Panel(
        key="newapp.plain", template="newapp/_panel_plain.html", context=lambda r, o: {}
    )
    registered(slots.PAYMENT_PANELS, panel)
    registered(slots.DASHBOARD_PANELS, panel)
    InvoiceFactory(customer=CustomerFactory(organization=org))
    assert 'id="newapp-plain"' in owner_client.get(reverse("payment-list")).content.decode()
    assert 'id="newapp-plain"' in owner_client.get(reverse("dashboard")).content.decode()


def test_it_adds_a_worklist_column_with_its_sort_key_and_join(owner_client, org, registered):
    zed = CustomerFactory(organization=org, name="Zed Ltd")
    abe = CustomerFactory(organization=org, name="Abe Inc")
    InvoiceFactory(customer=zed, number="INV-Z")
    InvoiceFactory(customer=abe, number="INV-A")
    joined = []
    registered(
        slots.INVOICE_COLUMNS,
        slots.Column(
            key="newapp.column",
            header_template="newapp/_header.html",
            cell_template="newapp/_cell.html",
            sorts={"newapp_customer": ("customer__name",)},
            queryset=lambda qs: joined.append(True) or qs.select_related("customer"),
        ),
    )
    response = owner_client.get(
        reverse("invoice-list"), {"status": InvoiceStatus.OPEN, "sort": "-newapp_customer"}
    )
    body = response.content.decode()
    assert joined == [True]
    assert "descendingFlag</th>" in body
    assert body.index('data-newapp="INV-Z">Zed Ltd') < body.index('data-newapp="INV-A">Abe Inc')


def test_it_adds_a_column_to_the_payment_list(owner_client, org, registered):
    payment = PaymentFactory(customer=CustomerFactory(organization=org))
    registered(
        slots.PAYMENT_COLUMNS,
        slots.Column(
            key="newapp.payment",
            header_template="newapp/_header.html",
            cell_template="newapp/_payment_cell.html",
        ),
    )
    body = owner_client.get(reverse("payment-list")).content.decode()
    assert f'data-newapp-payment="{payment.code}"' in body


def test_it_offers_a_registered_filter_on_the_worklist_the_export_and_the_api(owner_client, org):
    # predictions registers risk_level; the ledger's own filter class never declares it.
    from invoices.filters import InvoiceFilter

    assert "risk_level" not in InvoiceFilter.declared_filters
    assert "risk_level" in InvoiceFilter.base_filters
    bad = {"status": "open", "risk_level": "catastrophic"}
    assert owner_client.get("/api/v1/invoices", bad).status_code == 400
    assert owner_client.get(reverse("invoice-export"), bad).status_code == 400
    body = owner_client.get(reverse("invoice-list"), bad).content.decode()
    assert "risk_level:" in body
    schema = owner_client.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "risk_level" in schema


LEDGER_TEMPLATES = Path(django_settings.BASE_DIR) / "templates"
CONSUMERS = ("predictions", "disputes", "reminders", "integrations")


@pytest.mark.parametrize(
    "template",
    sorted((LEDGER_TEMPLATES / "invoices").rglob("*.html"))
    + sorted((LEDGER_TEMPLATES / "dashboard").rglob("*.html")),
    ids=lambda p: p.name,
)
def test_it_keeps_ledger_templates_free_of_consumer_apps(template):
    source = template.read_text()
    loads = " ".join(re.findall(r"{%\s*load ([^%]+)%}", source)).split()
    assert not set(loads) & set(CONSUMERS), f"{template.name} loads a consumer's tags"
    for consumer in CONSUMERS:
        assert f'"{consumer}/' not in source, f"{template.name} includes a {consumer} template"
