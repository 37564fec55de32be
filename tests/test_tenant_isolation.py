"""Walk EVERY URL of the project as an outsider (admin of org B) against org A's objects.

The walk reads the URL resolver, so a URL added later (dashboard pages, predictions API,
disputes...) is covered without touching this file:

- a route with an object parameter (``<uuid:...>``, ``<int:...>`` or a str parameter named
  like an id/code) is tried with the id of every org-A object and must answer 404 (or 405
  for a method it does not take) to GET, HTMX GET, POST, PUT, PATCH and DELETE;
- any other route is fetched with GET (plain and HTMX, bare and with org A's ids and
  invoice number as query parameters) and POSTed a form naming org A and its objects, and
  must not fail or show anything of org A;
- after each route, every org-A row in the database is exactly as before, and the
  outsider's API lists still show nothing of org A (no request switched their session).

Org A's identifying strings (customer names and e-mails, invoice numbers, PO numbers, line
descriptions, payment references, every UUID) must not appear in any body. The one
exception is a value the request itself carried (a 404 page may echo the path), which
tells the caller nothing they did not already know.

Routes that are skipped are listed in SKIPPED with the reason.
"""

from __future__ import annotations

import datetime as dt
import inspect
import re
import warnings
from decimal import Decimal

import factory
import pytest
from django.apps import apps
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver

from invoices import services
from tests import factories
from tests.factories import CustomerFactory, InvoiceFactory

SKIPPED = {
    "admin/": "Django admin: staff-only, not organization data",
    "logout/": "ends the outsider's session (POST only)",
    "logout/auth0/": "ends the outsider's session and redirects to Auth0",
    "static/": "static files",
    "media/": "uploaded files are served through scoped views only",
    # Third-party webhook receivers (signature / basic auth checked by anymail); the routes of
    # providers whose optional package is not installed raise ImproperlyInstalled.
    "anymail/": "e-mail provider webhooks (django-anymail)",
    # The SSE stream never ends, so the walk cannot read its body; its scoping is tested over a
    # real ASGI server in tests/events/test_live_feed.py (another organization's events never
    # arrive, a removed member is cut off).
    "live/stream": "endless SSE stream, scoped in tests/events/test_live_feed.py",
}
# Operator and documentation pages: no organization data by design, so one GET is enough
# (health/detailed pings Celery workers, which takes a moment each time).
NO_ORG_DATA = {"health", "health/detailed", "metrics", "api/schema/", "api/docs/"}
# Values for str/slug/path parameters that are not object ids.
SAMPLE_PARAMS = {"provider": "quickbooks", "format": "csv", "kind": "invoices"}
OBJECT_PARAM = re.compile(r"(^|_)(id|code|uuid|pk)$")
PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
METHODS = ("get", "htmx", "post", "put", "patch", "delete")


def _routes(resolver=None, prefix: str = ""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _routes(entry, route)
        elif isinstance(entry, URLPattern):
            yield route


def _skip_reason(route: str) -> str | None:
    for prefix, reason in SKIPPED.items():
        if route == prefix or (prefix.endswith("/") and route.startswith(prefix)):
            return reason
    return None


ROUTES = sorted({route for route in _routes() if not _skip_reason(route)})


def _route_id(route: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", route).strip("-") or "root"


def _is_object_param(converter: str | None, name: str) -> bool:
    return converter in ("uuid", "int") or bool(OBJECT_PARAM.search(name))


class OrgA:
    """Org A's objects and everything that identifies them."""

    def __init__(self, org, other_org):
        self.org = org
        customer = CustomerFactory(
            organization=org, name="Zanzibar Quill Traders", email="ap@zanzibar-quill.example"
        )
        self.customer = customer
        self.invoice = services.invoice_create(
            organization=org,
            customer=customer,
            number="A-SECRET-INV-0001",
            issue_date=dt.date(2026, 1, 5),
            po_number="PO-A-SECRET-77",
            lines=[{"description": "Quill sharpening (A only)", "unit_price": Decimal("900")}],
        )
        self.open_invoice = InvoiceFactory(customer=customer, number="A-SECRET-INV-0002")
        self.payment = services.payment_record(
            organization=org,
            customer=customer,
            amount=Decimal("400.00"),
            received_at=dt.datetime(2026, 2, 1, 9, 0, tzinfo=dt.UTC),
            allocations=[(self.invoice, Decimal("400.00"))],
            reference="A-SECRET-PAYREF",
        )
        self.extras = _objects_from_other_factories(org)
        # Org B has data of its own, so its pages are not empty by accident.
        b_customer = CustomerFactory(organization=other_org, name="Bravo Ink Supplies")
        InvoiceFactory(customer=b_customer, number="B-INV-0001")

    def codes(self) -> list[str]:
        codes = [str(self.org.code)]
        for model in _org_models():
            if any(f.name == "code" for f in model._meta.concrete_fields):
                rows = model.objects.filter(organization=self.org).values_list("code", flat=True)
                codes += [str(code) for code in rows]
        return sorted(set(codes))

    def pks(self) -> list[str]:
        pks = set()
        for model in _org_models():
            pks |= {
                str(pk)
                for pk in model.objects.filter(organization=self.org).values_list("pk", flat=True)
            }
        return sorted(pks)

    def form_references(self) -> dict[str, str]:
        return {
            "organization": str(self.org.code),
            "customer": str(self.customer.code),
            "invoice": str(self.invoice.code),
            "payment": str(self.payment.code),
        }

    def secrets(self) -> set[str]:
        return {
            "Zanzibar Quill Traders",
            "ap@zanzibar-quill.example",
            "A-SECRET-INV-0001",
            "A-SECRET-INV-0002",
            "PO-A-SECRET-77",
            "Quill sharpening (A only)",
            "A-SECRET-PAYREF",
            *self.codes(),
        }

    def state(self) -> dict:
        """Every org-A row, as values: compared before and after the outsider's visit."""
        return {
            model._meta.label: sorted(
                map(repr, model.objects.filter(organization=self.org).order_by("pk").values())
            )
            for model in _org_models()
        }


def _org_models():
    return [
        model
        for model in apps.get_models()
        if any(f.name == "organization" and f.is_relation for f in model._meta.concrete_fields)
    ]


def _objects_from_other_factories(org) -> list:
    """Best effort: one org-A object from every other organization-owned factory.

    Factories added by other apps (disputes, predictions...) then give the walk an org-A
    object of their type. A factory that cannot build with just `organization` is skipped.
    """
    built = []
    covered = {"Customer", "Invoice", "Payment", "Organization", "Membership", "User"}
    for _, cls in inspect.getmembers(factories, inspect.isclass):
        if not issubclass(cls, factory.django.DjangoModelFactory) or cls._meta.model is None:
            continue
        model = cls._meta.model
        if model.__name__ in covered or model not in _org_models():
            continue
        try:
            with transaction.atomic():
                built.append(cls(organization=org))
        except Exception:  # an unbuildable factory only narrows coverage
            continue
    return built


@pytest.fixture
def org_a(org, other_org, owner):
    return OrgA(org, other_org)


def _request(client, method: str, url: str):
    if method == "get":
        return client.get(url)
    if method == "htmx":
        return client.get(url, headers={"HX-Request": "true"})
    return getattr(client, method)(url, "{}", content_type="application/json")


def _body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def _urls(route: str, org_a: OrgA) -> tuple[bool, list[tuple[str, set[str]]]]:
    """Concrete URLs for a route, each with the values the URL itself carries."""
    params = list(PARAM.finditer(route))
    is_object = any(_is_object_param(m["converter"], m["name"]) for m in params)
    if not params:
        return False, [("/" + route, set())]
    if not is_object:
        url = PARAM.sub(lambda m: SAMPLE_PARAMS.get(m["name"], "x"), route)
        return False, [("/" + url, set())]
    urls = []
    candidates = org_a.codes() + (
        org_a.pks() if any(m["converter"] == "int" for m in params) else []
    )
    for value in candidates:

        def fill(m, value=value):
            if m["converter"] == "int":
                return value if value.isdigit() else "0"
            if _is_object_param(m["converter"], m["name"]):
                return value if not value.isdigit() else "00000000-0000-4000-8000-000000000000"
            return SAMPLE_PARAMS.get(m["name"], "x")

        urls.append(("/" + PARAM.sub(fill, route), {value}))
    return True, urls


def _assert_clean(response, secrets: set[str], carried: set[str], what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code}"
    body = _body(response)
    leaked = sorted(s for s in secrets - carried if s in body)
    assert not leaked, f"{what} shows org A's {leaked}"


def test_it_finds_the_ledger_api_and_the_dashboard_in_the_walk():
    assert {
        "api/v1/invoices",
        "api/v1/invoices/<uuid:id>",
        "api/v1/payments/<uuid:id>/allocations",
        "api/v1/customers/<uuid:id>",
    } <= set(ROUTES)
    assert all(not route.startswith("admin/") for route in ROUTES)


@pytest.mark.django_db
@pytest.mark.parametrize("route", ROUTES, ids=_route_id)
def test_it_shows_nothing_of_org_a_to_an_outsider(route, org_a, outsider_client):
    secrets = org_a.secrets()
    before = org_a.state()
    is_object, urls = _urls(route, org_a)

    for url, carried in urls:
        if is_object:
            for method in METHODS:
                response = _request(outsider_client, method, url)
                what = f"{method.upper()} {url}"
                assert response.status_code in (404, 405), f"{what}: {response.status_code}"
                _assert_clean(response, secrets, carried, what)
        else:
            queries: dict[str, set[str]] = {
                "": set(),
                f"?customer={org_a.customer.code}&invoice={org_a.invoice.code}"
                f"&payment={org_a.payment.code}": {
                    str(org_a.customer.code),
                    str(org_a.invoice.code),
                    str(org_a.payment.code),
                },
                f"?q={org_a.invoice.number}": {org_a.invoice.number},
            }
            if route in NO_ORG_DATA:
                queries = {"": set()}
            if route not in NO_ORG_DATA:
                # A form or JSON post naming org A's objects (and org A itself, as the
                # organization switcher takes it) must not reach them either.
                response = outsider_client.post(url, org_a.form_references())
                _assert_clean(
                    response, secrets, set(org_a.form_references().values()), f"POST {url}"
                )
            for query, query_carried in queries.items():
                for method in ("get",) if route in NO_ORG_DATA else ("get", "htmx"):
                    response = _request(outsider_client, method, url + query)
                    what = f"{method.upper()} {url + query}"
                    _assert_clean(response, secrets, carried | query_carried, what)

    assert org_a.state() == before, f"the outsider's requests to {route} changed org A's data"
    # And the outsider is still looking at org B (no request switched the session to A).
    for page in ("/api/v1/invoices", "/api/v1/customers", "/api/v1/payments"):
        _assert_clean(outsider_client.get(page), secrets, set(), f"GET {page} after {route}")


@pytest.mark.django_db
def test_it_reaches_org_a_objects_as_org_a_so_the_404s_mean_scoping(org_a, owner_client):
    """The walk's 404s are only evidence if the same URLs work for org A's own admin."""
    reached, unreached = [], []
    for route in ROUTES:
        is_object, urls = _urls(route, org_a)
        if not is_object:
            continue
        statuses = {_request(owner_client, "get", url).status_code for url, _ in urls}
        if 200 in statuses:
            reached.append(route)
        elif statuses != {405}:  # POST-only routes answer GET with 405 whatever the id
            unreached.append(route)
    assert {
        "api/v1/customers/<uuid:id>",
        "api/v1/invoices/<uuid:id>",
        "api/v1/payments/<uuid:id>",
        "invoices/<uuid:code>/",
        "customers/<uuid:code>/",
    } & set(ROUTES) <= set(reached), unreached
    if unreached:
        # Routes whose object type has no org-A row here (no factory yet): still walked
        # above, but their 404s prove less. Reported, not failed, so new apps can land.
        warnings.warn(
            f"no org-A object answered 200 at {sorted(unreached)}; add a factory with an "
            "`organization` argument to tests/factories.py to cover them fully",
            stacklevel=1,
        )
