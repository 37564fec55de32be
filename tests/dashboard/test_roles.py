"""Roles are enforced in the views: a viewer reads, only collectors and admins change things."""

from __future__ import annotations

import pytest
from django.urls import reverse

from paypredict_project.tenancy.models import AuditLog
from tests.dashboard.conftest import HTMX


def _mutations(ledger) -> list[tuple[str, str, dict]]:
    """Every mutating dashboard endpoint (method, url, data). Keep in step with invoices/urls.py."""
    late, acme = ledger["late"].code, ledger["acme"].code
    return [
        ("post", reverse("invoice-void", kwargs={"code": late}), {}),
        ("post", reverse("invoice-write-off", kwargs={"code": late}), {}),
        (
            "post",
            reverse("invoice-dispute-open", kwargs={"code": late}),
            {"text": "We never received it."},
        ),
        (
            "post",
            reverse("customer-preferences", kwargs={"code": acme}),
            {
                "reminder_channel": "email",
                "reminder_contact": "x@acme.example",
                "reminder_language": "de",
                "do_not_remind": "on",
            },
        ),
        # The confirmation pages of mutating actions are collector/admin pages too.
        ("get", reverse("invoice-void", kwargs={"code": late}), {}),
        ("get", reverse("invoice-write-off", kwargs={"code": late}), {}),
    ]


def test_it_forbids_every_mutation_to_a_viewer(viewer_client, ledger):
    for method, url, data in _mutations(ledger):
        for extra in ({}, HTMX):
            response = getattr(viewer_client, method)(url, data, **extra)
            assert response.status_code == 403, (method, url)
    late = ledger["late"]
    late.refresh_from_db()
    ledger["acme"].refresh_from_db()
    assert late.status == "open" and late.disputed is True
    assert ledger["acme"].reminder_language == "en" and ledger["acme"].do_not_remind is False
    assert not AuditLog.objects.exists()


def test_it_names_the_missing_role_on_the_403_page(viewer_client, ledger):
    url = reverse("invoice-void", kwargs={"code": ledger["late"].code})
    body = viewer_client.post(url).content.decode()
    assert "Viewer of Org A" in body


def test_it_hides_mutating_controls_from_a_viewer(viewer_client, collector_client, ledger):
    url = reverse("invoice-detail", kwargs={"code": ledger["late"].code})
    viewer_body = viewer_client.get(url).content.decode()
    collector_body = collector_client.get(url).content.decode()
    for control in ("Void…", "Write off…", 'name="text"'):  # the last: the Open dispute form
        assert control not in viewer_body
        assert control in collector_body
    profile = reverse("customer-detail", kwargs={"code": ledger["acme"].code})
    assert "Save preferences" not in viewer_client.get(profile).content.decode()
    assert "Save preferences" in collector_client.get(profile).content.decode()


@pytest.mark.parametrize("persona", ["collector_client", "owner_client"])
def test_it_lets_collectors_and_admins_change_invoices(request, persona, ledger):
    client = request.getfixturevalue(persona)
    url = reverse("invoice-void", kwargs={"code": ledger["late"].code})
    response = client.post(url)
    assert response.status_code == 302
    ledger["late"].refresh_from_db()
    assert ledger["late"].status == "void"
