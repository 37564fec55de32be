"""A member of several organizations switches between them; the choice stays in the session."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from paypredict_project.tenancy.models import Role
from tests.factories import CustomerFactory, InvoiceFactory, MembershipFactory


def test_it_switches_organization_and_keeps_the_choice(org, other_org, collector):
    MembershipFactory(user=collector, organization=other_org, role=Role.VIEWER)
    InvoiceFactory(customer=CustomerFactory(organization=org), number="A-ONLY")
    InvoiceFactory(customer=CustomerFactory(organization=other_org), number="B-ONLY")
    client = Client()
    client.force_login(collector)

    first = client.get(reverse("invoice-list"), follow=True).content.decode()
    assert "A-ONLY" in first and "B-ONLY" not in first
    assert f'value="{other_org.code}"' in first  # the switcher offers org B

    response = client.post(
        reverse("organization-switch"),
        {"organization": str(other_org.code), "next": reverse("invoice-list")},
    )
    assert response.status_code == 302 and response["Location"] == reverse("invoice-list")
    for _ in range(2):  # and it stays switched on later requests
        body = client.get(reverse("invoice-list"), follow=True).content.decode()
        assert "B-ONLY" in body and "A-ONLY" not in body
    # The role follows the organization: a viewer in B cannot mutate there.
    invoice_b = InvoiceFactory(customer=CustomerFactory(organization=other_org), number="B-2")
    url = reverse("invoice-void", kwargs={"code": invoice_b.code})
    assert client.post(url).status_code == 403


def test_it_refuses_to_switch_to_an_organization_the_user_is_not_in(collector_client, other_org):
    response = collector_client.post(
        reverse("organization-switch"), {"organization": str(other_org.code)}
    )
    assert response.status_code == 404
