"""Property-based run of the ledger API against its own OpenAPI schema (schemathesis 4).

Bounded and deterministic: 25 examples per operation and generation mode, fixed seed, no
example database. The app is called in-process over WSGI with a real org-admin session
(and CSRF token, since writes go through DRF's session authentication). Seeded customers,
invoices and payments are fed into path ids and body references, so the operations reach
real objects instead of only 404s.

Checks: no 5xx on any operation of the schema; for the ledger's operations also every
status code documented and content type and body as documented (including the error body
of every 4xx).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from invoices import services
from paypredict_project.wsgi import application
from tests.factories import CustomerFactory, InvoiceFactory

CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 20260126,
        "generation": {
            "max-examples": 25,
            "deterministic": True,
            "database": "none",
            "mode": "all",
            # PostgreSQL text cannot hold NUL; the API answers 400 for it (tested elsewhere).
            "allow-x00": False,
        },
        # The coverage phase enumerates every boundary case of every parameter and ignores
        # max-examples; it is what makes a run unbounded, so the suite leaves it out.
        "phases": {"coverage": {"enabled": False}},
    }
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
LEDGER_OPERATION = re.compile(
    r"^/api/v1/(customers|invoices|payments)"
    r"(/\{id\}(/(void|write-off|allocations|fail|refund|succeed))?)?$"
)
CSRF_TOKEN = "schemathesisCsrfToken0123456789a"  # any 32 alphanumerics is a valid secret

# Filled by the `seeded` fixture before any case is generated; read by the hooks below.
SEEDED: dict[str, list[str]] = {"customer": [], "invoice": [], "payment": []}


@pytest.fixture
def in_process_requests():
    """Keep the test's transaction open across WSGI requests, as Django's test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(org, other_org, owner, in_process_requests):
    customers = [
        CustomerFactory(organization=org, name=f"Seed Customer {i}", currency="USD")
        for i in range(3)
    ]
    invoices = [
        InvoiceFactory(customer=customers[i % 3], total=Decimal("100.00") * (i + 1))
        for i in range(6)
    ]
    # Both payments keep unapplied cash, so allocations can succeed whichever the
    # (derandomized, hence mostly first-pick) example lands on.
    payments = [
        services.payment_record(
            organization=org,
            customer=customers[1],
            amount=Decimal("500.00"),
            received_at=dt.datetime(2026, 2, 2, tzinfo=dt.UTC),
            status="pending",
        ),
        services.payment_record(
            organization=org,
            customer=customers[0],
            amount=Decimal("80.00"),
            received_at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC),
            allocations=[(invoices[0], Decimal("50.00"))],
        ),
    ]
    # An outsider's objects: referencing them must be a clean 400/404, never a 5xx.
    foreign = InvoiceFactory(customer=CustomerFactory(organization=other_org))
    SEEDED["customer"] = [str(c.code) for c in customers] + [str(foreign.customer.code)]
    SEEDED["invoice"] = [str(i.code) for i in invoices] + [str(foreign.code)]
    SEEDED["payment"] = [str(p.code) for p in payments]

    client = Client()
    client.force_login(owner)
    return {
        "cookies": {"sessionid": client.cookies["sessionid"].value, "csrftoken": CSRF_TOKEN},
        "headers": {"X-CSRFToken": CSRF_TOKEN},
    }


# Loaded at collection: serving the schema needs no database. (The lazy
# `schemathesis.pytest.from_fixture` loader does not work with pytest 9 yet.)
schema = schemathesis.openapi.from_wsgi("/api/schema/", application, config=CONFIG)


def _kind(path: str) -> str | None:
    for kind in ("customer", "invoice", "payment"):
        if path.startswith(f"/api/v1/{kind}s/"):
            return kind
    return None


@schemathesis.hook
def flatmap_path_parameters(context, path_parameters):
    kind = _kind(context.operation.path) if context.operation else None
    if not path_parameters or "id" not in path_parameters or not kind or not SEEDED[kind]:
        return st.just(path_parameters)
    real = st.sampled_from(SEEDED[kind]).map(lambda code: {**path_parameters, "id": code})
    return st.one_of(real, st.just(path_parameters))


@schemathesis.hook
def flatmap_body(context, body):
    """Besides the generated body, offer a repaired one that can get past validation.

    Generated bodies mostly die on a random customer id, a year-0300 date or a missing
    total; the repaired variant points references at seeded objects and moves dates into
    range, so creates, allocations and status moves actually run through the services.
    """
    if not isinstance(body, dict) or not SEEDED["customer"]:
        return st.just(body)
    return st.one_of(
        st.just(body),
        st.builds(
            _repair,
            st.just(body),
            st.sampled_from(SEEDED["customer"][:3]),
            st.sampled_from(SEEDED["invoice"][:6]),
        ),
    )


def _repair(body: dict, customer: str, invoice: str) -> dict:
    repaired = dict(body)
    if "customer" in repaired:
        repaired["customer"] = customer
        repaired.pop("currency", None)  # the customer's (USD), like the seeded invoices
    if "invoice" in repaired:
        repaired["invoice"] = invoice
        repaired["amount"] = "1.00"
    for field in ("issue_date", "due_date"):
        if field in repaired:
            repaired[field] = "2026-01-15"
    if "received_at" in repaired:
        repaired["received_at"] = "2026-02-01T10:00:00Z"
    if "number" in repaired and not repaired.get("lines"):
        repaired["total"] = "100.00"
        repaired.pop("tax_total", None)
    if isinstance(repaired.get("allocations"), list):
        repaired["allocations"] = [{"invoice": invoice, "amount": "1.00"}]
        repaired["amount"] = "5.00"
        repaired["status"] = "succeeded"
    return repaired


@schema.parametrize()
# The seeded organization is meant to be shared by all examples of an operation (their
# writes pile up in it, like a real client's would); the test transaction resets it after.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@pytest.mark.django_db
def test_it_conforms_to_its_schema_and_never_fails_with_5xx(case, seeded):
    response = case.call(headers=seeded["headers"], cookies=seeded["cookies"])
    # Every operation of the schema must never answer 5xx; the ledger's own operations must
    # also answer exactly as documented. (Other apps' operations are held to the 5xx rule
    # here and to their own tests for the rest.)
    strict = LEDGER_OPERATION.match(case.operation.path)
    case.validate_response(response, checks=CHECKS if strict else [not_a_server_error])
