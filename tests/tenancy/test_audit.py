from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from invoices.services import customer_update, invoice_create
from paypredict_project.audit import acting_as
from paypredict_project.tenancy.models import AuditLog
from tests.factories import CustomerFactory


@pytest.mark.django_db
def test_it_records_who_changed_what_with_before_and_after(org, owner):
    customer = CustomerFactory(organization=org, name="Old Name", do_not_remind=False)
    with acting_as(owner):
        customer_update(customer=customer, name="New Name", do_not_remind=True)
    entry = AuditLog.objects.get(action="customer.update")
    assert entry.organization == org
    assert entry.actor == owner
    assert entry.object_code == str(customer.code)
    assert entry.before == {"name": "Old Name", "do_not_remind": False}
    assert entry.after == {"name": "New Name", "do_not_remind": True}


@pytest.mark.django_db
def test_it_labels_writes_without_a_user_as_system(org):
    customer = CustomerFactory(organization=org)
    invoice_create(
        organization=org,
        customer=customer,
        number="A-1",
        issue_date=dt.date(2026, 1, 1),
        total=Decimal("10.00"),
    )
    entry = AuditLog.objects.get(action="invoice.create")
    assert entry.actor is None and entry.actor_label == "system"
    assert entry.after["total"] == "10.00"
