"""model_update: set, validate, save what changed, audit it (one helper for every service)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from paypredict_project.audit import acting_as, model_update
from paypredict_project.tenancy.models import AuditLog
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_it_saves_and_audits_only_what_changed(org, owner):
    customer = CustomerFactory(organization=org, name="Acme", payment_terms_days=30)
    with acting_as(owner):
        _, changed = model_update(
            instance=customer,
            fields={"name": "Acme Ltd", "payment_terms_days": 30},
            action="customer.update",
        )
    assert changed == ["name"]
    customer.refresh_from_db()
    assert customer.name == "Acme Ltd"
    entry = AuditLog.objects.get(organization=org, action="customer.update")
    assert (entry.before, entry.after) == ({"name": "Acme"}, {"name": "Acme Ltd"})
    assert entry.actor == owner and entry.object_code == str(customer.code)


def test_it_writes_nothing_when_nothing_changed(org):
    customer = CustomerFactory(organization=org, name="Acme")
    _, changed = model_update(instance=customer, fields={"name": "Acme"}, action="x.update")
    assert changed == [] and not AuditLog.objects.filter(action="x.update").exists()


def test_it_validates_before_saving(org):
    customer = CustomerFactory(organization=org, name="Acme")
    with pytest.raises(ValidationError):
        model_update(instance=customer, fields={"payment_terms_days": -5}, action="x.update")
    customer.refresh_from_db()
    assert customer.payment_terms_days != -5
    assert not AuditLog.objects.filter(action="x.update").exists()


def test_it_is_what_the_ledger_services_use():
    import inspect

    from invoices.services import customers, invoices, payments

    for module in (customers, invoices, payments):
        assert "model_update(" in inspect.getsource(module), module.__name__
