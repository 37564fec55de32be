from __future__ import annotations

import datetime as dt

import pytest

from invoices.models import InvoiceStatus
from reminders.models import DunningPolicy, PromiseStatus, PromiseToPay, Reminder, ReminderStatus
from reminders.services.planning import reminders_plan
from tests.factories import CustomerFactory, OrganizationFactory
from tests.reminders.conftest import TODAY, make_invoice

pytestmark = pytest.mark.django_db


def test_it_gives_every_new_organization_the_default_policy():
    organization = OrganizationFactory()
    policy = DunningPolicy.objects.get(organization=organization, customer=None)
    steps = list(policy.steps.values_list("key", "offset_days", "tone", "requires_approval"))
    assert steps == [
        ("d-3", -3, "friendly", False),
        ("d+1", 1, "friendly", False),
        ("d+7", 7, "friendly", False),
        ("d+15", 15, "firm", True),
        ("d+30", 30, "firm", True),
        ("d+45", 45, "final", True),
    ]


def test_it_consolidates_one_reminder_per_customer_and_step(org, customer):
    first = make_invoice(customer, days_overdue=8)
    second = make_invoice(customer, days_overdue=10, total="300.00")
    older = make_invoice(customer, days_overdue=31)
    make_invoice(customer, days_overdue=-20)  # not due for anything yet

    result = reminders_plan(organization=org, today=TODAY)

    assert result.as_json() == {
        "customers": 1,
        "drafted": 2,
        "skipped": {},
        "drafter": {"llm": 0, "offline": 2},
        "fallbacks": {},
    }
    by_step = {r.step_key: r for r in Reminder.objects.filter(customer=customer)}
    assert set(by_step) == {"d+7", "d+30"}
    assert {i.invoice_id for i in by_step["d+7"].items.all()} == {first.id, second.id}
    assert [i.invoice_id for i in by_step["d+30"].items.all()] == [older.id]
    assert by_step["d+7"].auto_send is True and by_step["d+30"].auto_send is False
    text = by_step["d+7"].body_text
    assert first.number in text and second.number in text and "USD 1,200.50" in text
    assert first.due_date.isoformat() in text
    # The statement of open items lists the invoice of the other step too.
    assert older.number in text


def test_planning_twice_drafts_nothing_new(org, customer):
    make_invoice(customer, days_overdue=2)
    assert reminders_plan(organization=org, today=TODAY).drafted == 1
    again = reminders_plan(organization=org, today=TODAY)
    assert again.drafted == 0 and Reminder.objects.count() == 1
    # Nor the next day: the invoice already had its d+1 step.
    assert reminders_plan(organization=org, today=TODAY + dt.timedelta(days=1)).drafted == 0


def test_it_catches_up_with_the_most_advanced_step_after_an_outage(org, customer):
    invoice = make_invoice(customer, days_overdue=0)
    reminders_plan(organization=org, today=TODAY + dt.timedelta(days=1))  # d+1
    # Nothing ran for five weeks: one reminder, at the step due now, not d+7 and d+15 too.
    result = reminders_plan(organization=org, today=TODAY + dt.timedelta(days=35))
    assert result.drafted == 1
    assert list(
        Reminder.objects.filter(customer=customer)
        .order_by("planned_on")
        .values_list("step_key", flat=True)
    ) == ["d+1", "d+30"]
    assert invoice.reminder_items.count() == 2


def test_it_skips_what_must_not_be_chased(org, customer):
    make_invoice(customer, days_overdue=5, status=InvoiceStatus.PAID, balance=0)
    make_invoice(customer, days_overdue=5, status=InvoiceStatus.VOID)
    make_invoice(customer, days_overdue=5, status=InvoiceStatus.WRITTEN_OFF)
    make_invoice(customer, days_overdue=5, disputed=True)
    promised = make_invoice(customer, days_overdue=5)
    PromiseToPay.objects.create(
        organization=org,
        customer=customer,
        invoice=promised,
        promised_date=TODAY + dt.timedelta(days=3),
        amount=promised.balance,
        currency="USD",
    )
    quiet = CustomerFactory(organization=org, do_not_remind=True)
    make_invoice(quiet, days_overdue=5)
    no_contact = CustomerFactory(organization=org, email="", reminder_contact="")
    make_invoice(no_contact, days_overdue=5)

    result = reminders_plan(organization=org, today=TODAY)

    assert result.drafted == 0
    assert result.as_json()["skipped"] == {
        "disputed": 1,
        "do_not_remind": 1,
        "no_contact": 1,
        "promise_to_pay": 1,
    }


def test_a_broken_promise_escalates_to_the_next_step_and_is_recorded(org, customer):
    invoice = make_invoice(customer, days_overdue=2)
    reminders_plan(organization=org, today=TODAY)  # d+1
    promise = PromiseToPay.objects.create(
        organization=org,
        customer=customer,
        invoice=invoice,
        promised_date=TODAY + dt.timedelta(days=1),
        amount=invoice.balance,
        balance_at_promise=invoice.balance,
        currency="USD",
    )
    assert reminders_plan(organization=org, today=TODAY + dt.timedelta(days=1)).drafted == 0

    # The day after the promised date, unpaid: broken, and d+7 comes at once (day 5).
    result = reminders_plan(organization=org, today=TODAY + dt.timedelta(days=3))

    promise.refresh_from_db()
    assert promise.status == PromiseStatus.BROKEN
    assert result.drafted == 1
    assert Reminder.objects.filter(customer=customer, step_key="d+7").exists()
    from paypredict_project.tenancy.models import AuditLog

    entry = AuditLog.objects.get(action="customer.promise_broken")
    assert entry.object_code == str(customer.code)


def test_risk_variants_shift_timing_and_tone(org, customer):
    from predictions.models import CustomerRisk

    CustomerRisk.objects.create(
        organization=org,
        customer=customer,
        score=80,
        level="high",
        as_of=TODAY,
        computed_at=dt.datetime(2026, 6, 15, tzinfo=dt.UTC),
    )
    make_invoice(customer, days_overdue=5)  # d+7 is due at day 5 for high risk
    reminders_plan(organization=org, today=TODAY)
    reminder = Reminder.objects.get(customer=customer)
    assert (reminder.step_key, reminder.tone, reminder.risk_level) == ("d+7", "firm", "high")
    # Firm wording is never sent unreviewed.
    assert reminder.auto_send is False
    assert reminder.subject.startswith("Payment overdue")


def test_holdout_reminders_are_recorded_but_not_drafted_for_sending(org, customer):
    DunningPolicy.objects.filter(organization=org).update(holdout_share="0.5")
    customers = [CustomerFactory(organization=org) for _ in range(30)]
    for each in customers:
        make_invoice(each, days_overdue=2)
    result = reminders_plan(organization=org, today=TODAY)
    held = Reminder.objects.filter(status=ReminderStatus.HOLDOUT).count()
    assert 5 < held < 25 and result.holdout == held and result.drafted == 30 - held


def test_it_plans_nothing_for_another_organization(org, customer, other_org):
    make_invoice(customer, days_overdue=2)
    assert reminders_plan(organization=other_org, today=TODAY).drafted == 0
    assert Reminder.objects.count() == 0
