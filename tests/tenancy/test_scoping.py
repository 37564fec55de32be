from __future__ import annotations

import pytest
from django.http import Http404

from invoices.models import Invoice
from paypredict_project.tenancy.selectors import get_scoped_or_404, scoped
from tests.factories import InvoiceFactory


@pytest.mark.django_db
def test_it_scopes_querysets_to_one_organization(org, other_org):
    mine = InvoiceFactory(customer__organization=org)
    InvoiceFactory(customer__organization=other_org)
    assert list(scoped(Invoice.objects.all(), organization=org)) == [mine]


def test_it_refuses_an_unscoped_query():
    with pytest.raises(PermissionError, match="unscoped"):
        scoped(Invoice.objects.all(), organization=None)


@pytest.mark.django_db
def test_it_hides_other_organizations_objects_as_404(org, other_org):
    theirs = InvoiceFactory(customer__organization=other_org)
    with pytest.raises(Http404):
        get_scoped_or_404(Invoice.objects.all(), organization=org, code=theirs.code)
    with pytest.raises(Http404):
        get_scoped_or_404(Invoice.objects.all(), organization=org, code="not-a-uuid")


@pytest.mark.django_db
def test_it_switches_organization_within_the_session(owner_client, owner, other_org):
    from tests.factories import MembershipFactory

    MembershipFactory(user=owner, organization=other_org, role="viewer")
    response = owner_client.post(
        "/organization/switch/", {"organization": str(other_org.code), "next": "/health"}
    )
    assert response.status_code == 302 and response["Location"] == "/health"
    assert owner_client.session["organization_code"] == str(other_org.code)


@pytest.mark.django_db
def test_it_refuses_switching_to_an_organization_without_membership(owner_client, other_org):
    response = owner_client.post("/organization/switch/", {"organization": str(other_org.code)})
    assert response.status_code == 404
    assert "organization_code" not in owner_client.session
