from __future__ import annotations

from typing import Any

from django.db import transaction

from invoices.models import Customer
from paypredict_project.audit import audit_record, snapshot
from paypredict_project.tenancy.models import Organization

CUSTOMER_EDITABLE_FIELDS = (
    "name",
    "email",
    "phone",
    "contacts",
    "currency",
    "payment_terms_days",
    "credit_limit",
    "credit_score",
    "industry",
    "country",
    "reminder_channel",
    "reminder_contact",
    "reminder_language",
    "do_not_remind",
    "notes",
    "attributes",
    "external_id",
    "source",
)


@transaction.atomic
def customer_create(*, organization: Organization, name: str, **fields: Any) -> Customer:
    unknown = set(fields) - set(CUSTOMER_EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"unknown customer fields: {', '.join(sorted(unknown))}")
    customer = Customer(organization=organization, name=name, **fields)
    customer.full_clean()
    customer.save()
    audit_record(
        organization=organization,
        action="customer.create",
        instance=customer,
        after=snapshot(customer),
    )
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, **fields: Any) -> Customer:
    unknown = set(fields) - set(CUSTOMER_EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"unknown customer fields: {', '.join(sorted(unknown))}")
    before = snapshot(customer)
    for name, value in fields.items():
        setattr(customer, name, value)
    customer.full_clean()
    customer.save(update_fields=[*fields, "updated_at"])
    audit_record(
        organization=customer.organization,
        action="customer.update",
        instance=customer,
        before=before,
        after=snapshot(customer),
    )
    return customer
