"""Page slots: named places on ledger pages that consumer apps fill.

The ledger (invoices) renders its pages without knowing who extends them. A consumer app
(predictions, disputes, reminders, ...) registers what it adds from its ``AppConfig.ready()``,
exactly as it connects to the ledger's signals::

    from paypredict_project import slots

    slots.register(slots.INVOICE_PANELS, slots.Panel(
        key="disputes.open_disputes",
        template="disputes/_invoice_disputes.html",
        context=lambda request, invoice: {"disputes": dispute_list(invoice=invoice)},
        permission="manage:disputes",
    ))

Four kinds of item, one per kind of slot:

- ``Panel``: a card on a detail page (invoice side panel, customer sections, payments page,
  home dashboard). ``context(request, obj)`` returns the template's context.
- ``Column``: cells appended to every row of a list (invoice worklist, payment list), with
  the sort keys it offers and the queryset hook that joins its data (no query per row).
- ``Filter``: a django-filter filter added to the ledger's FilterSet, so the worklist, the
  CSV export and the API (and its OpenAPI schema) all accept the same query parameter.
- ``ApiField``: a read-only field on the ledger's API objects (payments: ``risk_score``),
  documented in the OpenAPI schema, with the queryset hook that joins its data.

See docs/adr/0001-page-slots.md. This module is base layer: it imports no app.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

# ---------------------------------------------------------------- slot names
# Detail pages (Panel): rendered in registration order, after the page's own cards.
INVOICE_PANELS = "invoice_detail.panels"  # invoice page, beside the summary; obj = Invoice
CUSTOMER_SECTIONS = "customer_detail.sections"  # customer profile; obj = Customer
PAYMENT_PANELS = "payment_list.panels"  # payments page, above the table; obj = None
PAYMENT_DETAIL_PANELS = "payment_detail.panels"  # one payment's page; obj = Payment
DASHBOARD_PANELS = "dashboard.panels"  # home dashboard, below the ledger KPIs; obj = None
# Lists (Column, Filter).
INVOICE_COLUMNS = "invoice_list.columns"  # invoice worklist rows; row = Invoice
INVOICE_FILTERS = "invoice_list.filters"  # InvoiceFilter (worklist, export, API)
PAYMENT_COLUMNS = "payment_list.columns"  # payment list rows; row = Payment
PAYMENT_FILTERS = "payment_list.filters"  # PaymentFilter (list, export, API)
# API objects (ApiField): read-only fields appended to the ledger's payment objects.
PAYMENT_API_FIELDS = "payment_api.fields"  # PaymentOutputSerializer; instance = Payment


@dataclass(frozen=True)
class Panel:
    key: str  # unique within its slot, "<app>.<name>"
    template: str
    # (request, obj) -> template context; obj is the page's object (or None).
    context: Callable[[HttpRequest, Any], Mapping[str, Any]]
    # Shown only to members holding this permission (None: everyone who can see the page).
    permission: str | None = None
    order: int = 100


@dataclass(frozen=True)
class Column:
    key: str
    # Renders this column's <th> cells; sees the list page's context (sort_links, sort, ...).
    header_template: str
    # Renders this column's <td> cells for one row, which the template receives as `row`.
    cell_template: str
    cells: int = 1  # how many <td> the cell template renders (for the empty row's colspan)
    # Extra ?sort= keys → the fields they order by (a whitelist, like the ledger's own).
    sorts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Joins the column's data onto the list's queryset (select_related / annotate).
    queryset: Callable[[QuerySet], QuerySet] | None = None
    permission: str | None = None
    order: int = 100
    # A sort key (one of ``sorts``, "-" for descending) proposed as the list's opening order.
    default_sort: str = ""


@dataclass(frozen=True)
class Filter:
    name: str  # the query parameter
    filter: Any  # a django_filters.Filter instance
    # Renders the form control(s) on the list page; `form[name]` is the bound field.
    template: str | None = None
    order: int = 100

    @property
    def key(self) -> str:
        return self.name


@dataclass(frozen=True)
class ApiField:
    name: str  # the key in the API object
    # Builds the read-only DRF serializer field (called per serializer, so it is a factory).
    field: Callable[[], Any]
    # Joins what the field reads onto the API's queryset (no query per object).
    queryset: Callable[[QuerySet], QuerySet] | None = None
    order: int = 100

    @property
    def key(self) -> str:
        return self.name


Item = Panel | Column | Filter | ApiField

_registry: dict[str, dict[str, Item]] = defaultdict(dict)
_subscribers: dict[str, list[Callable[[Any], None]]] = defaultdict(list)


def register(slot: str, item: Item) -> None:
    """Add (or replace, by key: ready() may run twice in tests) an item in a slot."""
    _registry[slot][item.key] = item
    for callback in _subscribers[slot]:
        callback(item)


def unregister(slot: str, key: str) -> None:
    """Remove an item (tests that register a throw-away panel clean up with this)."""
    _registry[slot].pop(key, None)


def items(slot: str, *, permissions: frozenset[str] | set[str] | None = None) -> list[Any]:
    """The slot's items in display order; with `permissions`, only those the member may see."""
    found = sorted(_registry[slot].values(), key=lambda item: (item.order, item.key))
    if permissions is None:
        return found
    return [item for item in found if getattr(item, "permission", None) in (None, *permissions)]


def subscribe(slot: str, callback: Callable[[Any], None]) -> None:
    """Call `callback(item)` for every item of the slot, already registered or to come.

    The ledger uses it to fold registered filters into its FilterSet classes whatever the
    order in which the apps become ready.
    """
    _subscribers[slot].append(callback)
    for item in list(_registry[slot].values()):
        callback(item)


def extend_filterset(filterset_class: Any, slot: str) -> None:
    """Let a slot add filters to a django-filter FilterSet class (class-level, so the
    OpenAPI schema documents them too)."""
    subscribe(slot, lambda item: filterset_class.base_filters.__setitem__(item.name, item.filter))


def column_sorts(slot: str) -> dict[str, tuple[str, ...]]:
    sorts: dict[str, tuple[str, ...]] = {}
    for column in items(slot):
        sorts.update(column.sorts)
    return sorts


def default_sort(slot: str) -> str:
    """The opening sort proposed by the first column (by order) that proposes one; ""."""
    return next((column.default_sort for column in items(slot) if column.default_sort), "")


def prepare_queryset(slot: str, queryset: QuerySet) -> QuerySet:
    """Apply every column's (or API field's) queryset hook (joins for what it renders)."""
    for column in items(slot):
        if column.queryset is not None:
            queryset = column.queryset(queryset)
    return queryset


def api_fields(slot: str) -> dict[str, Any]:
    """Fresh serializer fields for every ApiField of the slot, by name."""
    return {item.name: item.field() for item in items(slot)}


def member_permissions(request: HttpRequest | None) -> frozenset[str]:
    return frozenset(getattr(request, "org_permissions", None) or ())


def render_panels(slot: str, *, request: HttpRequest, obj: Any = None) -> SafeString:
    """Every panel of the slot the member may see, rendered in order."""
    parts = [
        render_to_string(panel.template, dict(panel.context(request, obj)), request)
        for panel in items(slot, permissions=member_permissions(request))
    ]
    return mark_safe("".join(parts))
