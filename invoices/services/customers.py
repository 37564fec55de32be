from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction

from invoices.models import Customer
from paypredict_project.audit import audit_record, model_update, snapshot
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
    customer, _ = model_update(instance=customer, fields=fields, action="customer.update")
    return customer


@transaction.atomic
def customer_risk_set_bulk(
    *, organization: Organization, risks: dict[int, tuple[Decimal | None, str]]
) -> int:
    """Store derived risk scores and levels (computed by a consumer such as predictions).

    ``risks`` maps customer id -> (score 0-100 or None, level or ""); customers of the
    organization not in it are cleared, so a stale grade never lingers. Not audited per
    customer: it is a nightly recomputed figure, not a staff edit, and its day-by-day history
    is kept by the app that computes it.
    """
    customers = list(
        Customer.objects.filter(organization=organization).only("id", "risk_score", "risk_level")
    )
    changed = []
    for customer in customers:
        score, level = risks.get(customer.pk, (None, ""))
        if customer.risk_score != score or customer.risk_level != level:
            customer.risk_score, customer.risk_level = score, level
            changed.append(customer)
    Customer.objects.bulk_update(changed, ["risk_score", "risk_level"], batch_size=5000)
    return len(changed)
