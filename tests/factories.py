from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from invoices.models import (
    Customer,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentStatus,
    SettlementBatch,
)
from paypredict_project.tenancy.models import Membership, Organization, Role
from reminders.models import DunningStep, Reminder


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    slug = factory.Sequence(lambda n: f"org-{n}")
    name = factory.Sequence(lambda n: f"Organization {n}")
    base_currency = "USD"
    time_zone = "UTC"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"user{n}@example.com")
    email = factory.SelfAttribute("username")
    password = factory.django.Password("password")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.ADMIN


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Customer {n}")
    email = factory.Sequence(lambda n: f"ap{n}@customer.example")
    currency = "USD"
    payment_terms_days = 30


class InvoiceFactory(factory.django.DjangoModelFactory):
    """A bare-total invoice written straight to the table (services are tested on their own)."""

    class Meta:
        model = Invoice

    organization = factory.SelfAttribute("customer.organization")
    customer = factory.SubFactory(CustomerFactory)
    number = factory.Sequence(lambda n: f"INV-{n:06d}")
    issue_date = dt.date(2026, 1, 5)
    due_date = factory.LazyAttribute(lambda o: o.issue_date + dt.timedelta(days=30))
    currency = factory.SelfAttribute("customer.currency")
    total = Decimal("1000.00")
    subtotal = factory.SelfAttribute("total")
    balance = factory.SelfAttribute("total")
    status = InvoiceStatus.OPEN


class PaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Payment

    organization = factory.SelfAttribute("customer.organization")
    customer = factory.SubFactory(CustomerFactory)
    amount = Decimal("100.00")
    currency = factory.SelfAttribute("customer.currency")
    received_at = dt.datetime(2026, 2, 1, 12, 0, tzinfo=dt.UTC)
    status = PaymentStatus.SUCCEEDED


class SettlementBatchFactory(factory.django.DjangoModelFactory):
    """A pending payout with no payments (services.settlement_batch_create adds them)."""

    class Meta:
        model = SettlementBatch

    organization = factory.SubFactory(OrganizationFactory)
    processor = "stripe"
    reference = factory.Sequence(lambda n: f"po_{n:06d}")
    currency = "USD"
    gross = Decimal("1000.00")
    fees = Decimal("29.30")
    net = Decimal("970.70")
    expected_settle_date = dt.date(2026, 2, 3)


class ReminderFactory(factory.django.DjangoModelFactory):
    """A drafted reminder of the organization's default policy's first step."""

    class Meta:
        model = Reminder

    organization = factory.SubFactory(OrganizationFactory)
    customer = factory.SubFactory(
        CustomerFactory, organization=factory.SelfAttribute("..organization")
    )
    step = factory.LazyAttribute(
        lambda o: (
            DunningStep.objects.filter(policy__organization=o.organization, policy__customer=None)
            .order_by("offset_days")
            .first()
        )
    )
    step_key = factory.SelfAttribute("step.key")
    planned_on = dt.date(2026, 6, 15)
    tone = "friendly"
    channel = "email"
    to_email = factory.SelfAttribute("customer.email")
    subject = "Friendly heads-up"
    body_text = "Hello, a friendly heads-up about your invoice."
    drafter = "offline"
