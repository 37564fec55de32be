from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail

from reminders.models import PromiseStatus, PromiseToPay, Reminder, ReminderStatus
from reminders.services.planning import reminders_plan
from tests.factories import CustomerFactory
from tests.reminders.conftest import TODAY, make_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def drafts(org, customer, monkeypatch):
    monkeypatch.setattr("reminders.services.sending.organization_today", lambda **_: TODAY)
    make_invoice(customer, days_overdue=16, number="INV-FIRM-1")
    other = CustomerFactory(organization=org, name="Zeta Foods")
    make_invoice(other, days_overdue=2, number="INV-FRIENDLY-1")
    return reminders_plan(organization=org, today=TODAY).reminders


def test_the_queue_groups_drafts_by_step_and_risk(collector_client, drafts):
    response = collector_client.get("/reminders/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-group="d+1-unknown"' in html and 'data-group="d+15-unknown"' in html
    assert "Acme Retail" in html and "Zeta Foods" in html
    assert "Approve selected" in html
    # Filtering answers with the table fragment for HTMX.
    partial = collector_client.get("/reminders/?step=d%2B15", HTTP_HX_REQUEST="true")
    body = partial.content.decode()
    assert "<html" not in body and "Acme Retail" in body and "Zeta Foods" not in body


def test_a_viewer_sees_the_queue_but_cannot_act(viewer_client, drafts):
    response = viewer_client.get("/reminders/")
    assert response.status_code == 200 and "Approve selected" not in response.content.decode()
    code = drafts[0].code
    assert viewer_client.post(f"/reminders/{code}/approve/").status_code == 403
    assert viewer_client.post("/reminders/approve/", {"code": [code]}).status_code == 403


def test_an_outsider_cannot_see_or_touch_another_organizations_reminder(outsider_client, drafts):
    code = drafts[0].code
    assert outsider_client.get(f"/reminders/{code}/").status_code == 404
    assert outsider_client.post(f"/reminders/{code}/approve/").status_code == 404
    assert "Acme Retail" not in outsider_client.get("/reminders/").content.decode()
    assert Reminder.objects.get(code=code).status == ReminderStatus.DRAFT


def test_bulk_approve(collector_client, drafts):
    codes = [str(r.code) for r in drafts]
    response = collector_client.post("/reminders/approve/", {"code": codes})
    assert response.status_code == 302
    assert set(Reminder.objects.values_list("status", flat=True)) == {ReminderStatus.APPROVED}


def test_preview_edit_and_send_now(collector_client, collector, drafts):
    reminder = next(r for r in drafts if r.step_key == "d+15")
    page = collector_client.get(f"/reminders/{reminder.code}/").content.decode()
    assert "srcdoc=" in page and "INV-FIRM-1" in page

    edited = collector_client.post(
        f"/reminders/{reminder.code}/edit/",
        {"subject": "About INV-FIRM-1", "body_text": "Dear Acme, please pay INV-FIRM-1 today."},
        HTTP_HX_REQUEST="true",
    )
    assert edited.status_code == 200 and "About INV-FIRM-1" in edited.content.decode()
    bad = collector_client.post(
        f"/reminders/{reminder.code}/edit/", {"subject": "", "body_text": ""}
    )
    assert bad.status_code == 400

    sent = collector_client.post(f"/reminders/{reminder.code}/send/")
    assert sent.status_code == 302
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.SENT and reminder.approved_by == collector
    assert mail.outbox[0].subject == "About INV-FIRM-1"
    assert "please pay INV-FIRM-1 today" in mail.outbox[0].body


def test_reject(collector_client, drafts):
    reminder = drafts[0]
    collector_client.post(f"/reminders/{reminder.code}/reject/")
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.REJECTED
    # A rejected reminder cannot be sent.
    collector_client.post(f"/reminders/{reminder.code}/send/")
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.REJECTED and mail.outbox == []


def test_delivery_unknown_is_resolved_by_a_person(collector_client, drafts):
    reminder = drafts[0]
    Reminder.objects.filter(pk=reminder.pk).update(
        status=ReminderStatus.SENDING, delivery_unknown=True
    )
    queue = collector_client.get("/reminders/?status=unknown").content.decode()
    assert "delivery unknown" in queue
    collector_client.post(f"/reminders/{reminder.code}/resolve/", {"delivered": "true"})
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.SENT and not reminder.delivery_unknown


def test_promise_to_pay_from_the_invoice_page(collector_client, org, customer, monkeypatch):
    monkeypatch.setattr("reminders.views.organization_today", lambda **_: TODAY)
    invoice = make_invoice(customer, days_overdue=5)
    page = collector_client.get(f"/invoices/{invoice.code}/").content.decode()
    assert "Record promise to pay" in page
    response = collector_client.post(
        "/reminders/promises/",
        {"invoice": invoice.code, "promised_date": "2026-06-20", "amount": "500.00"},
    )
    assert response.status_code == 302
    promise = PromiseToPay.objects.get()
    assert (promise.invoice, promise.amount, promise.status) == (invoice, 500, PromiseStatus.OPEN)
    assert reminders_plan(organization=org, today=TODAY).as_json()["skipped"] == {
        "promise_to_pay": 1
    }
    # A date in the past is refused with a message, nothing written.
    collector_client.post(
        "/reminders/promises/",
        {"invoice": invoice.code, "promised_date": "2026-06-01", "amount": "5.00"},
    )
    assert PromiseToPay.objects.count() == 1
    customer_page = collector_client.get(f"/customers/{customer.code}/").content.decode()
    assert "0</strong> broken" in customer_page and "Promises to pay" in customer_page


def test_viewer_and_outsider_cannot_record_promises(viewer_client, outsider_client, customer):
    invoice = make_invoice(customer, days_overdue=5)
    data = {"invoice": invoice.code, "promised_date": "2030-01-01", "amount": "5.00"}
    assert viewer_client.post("/reminders/promises/", data).status_code == 403
    assert outsider_client.post("/reminders/promises/", data).status_code == 404
    assert not PromiseToPay.objects.exists()


def test_the_report_shows_paid_shares_by_step_and_risk(collector_client, org, drafts):
    from reminders.services.sending import reminders_send_due

    reminders_send_due(organization=org)  # the friendly d+1 is auto-sent
    sent = Reminder.objects.get(status=ReminderStatus.SENT)
    invoice = sent.items.get().invoice
    invoice.status, invoice.balance = "paid", 0
    invoice.paid_date = sent.sent_at.date() + dt.timedelta(days=3)
    invoice.save()
    html = collector_client.get("/reminders/report/").content.decode()
    assert 'data-step="d+1"' in html and "100%" in html


def test_nav_has_reminders(collector_client):
    assert 'href="/reminders/"' in collector_client.get("/reminders/").content.decode()


def test_an_admin_edits_the_policy(owner_client, org):
    from reminders.models import DunningPolicy

    page = owner_client.get("/reminders/policy/")
    assert page.status_code == 200
    policy = DunningPolicy.objects.get(organization=org, customer=None)
    steps = list(policy.steps.order_by("offset_days"))
    data = {
        "name": "Our policy",
        "sender_name": "Jane from AR",
        "reply_to": "ar@org-a.example",
        "payment_instructions": "IBAN XY00 1234",
        "holdout_share": "0.100",
        "steps-TOTAL_FORMS": str(len(steps)),
        "steps-INITIAL_FORMS": str(len(steps)),
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
    }
    for i, step in enumerate(steps):
        for field in ("key", "name", "offset_days", "tone", "high_risk_shift_days"):
            data[f"steps-{i}-{field}"] = getattr(step, field)
        for field in ("high_risk_tone", "low_risk_tone"):
            data[f"steps-{i}-{field}"] = getattr(step, field)
        data[f"steps-{i}-low_risk_shift_days"] = step.low_risk_shift_days
        if step.requires_approval:
            data[f"steps-{i}-requires_approval"] = "on"
        data[f"steps-{i}-id"] = step.id
        data[f"steps-{i}-policy"] = policy.id
    data["steps-1-offset_days"] = "2"
    response = owner_client.post("/reminders/policy/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    policy.refresh_from_db()
    assert policy.sender_name == "Jane from AR" and str(policy.holdout_share) == "0.100"
    assert policy.steps.get(key="d+1").offset_days == 2
    data["holdout_share"] = "0.9"
    assert owner_client.post("/reminders/policy/", data).status_code == 400


def test_only_admins_edit_the_policy(collector_client, outsider_client):
    assert collector_client.get("/reminders/policy/").status_code == 403
    assert collector_client.post("/reminders/policy/", {}).status_code == 403


def test_the_queue_pages_through_groups_in_step_and_risk_order(collector_client, org):
    """Step first, then risk (high before low), then customer; a page holds per_page rows and
    the pager keeps the filters."""
    from reminders.models import DunningStep
    from tests.factories import ReminderFactory

    steps = DunningStep.objects.filter(policy__organization=org, policy__customer=None)
    early, late = steps.get(key="d+1"), steps.get(key="d+7")

    def remind(name, step, risk):
        return ReminderFactory(
            organization=org,
            customer=CustomerFactory(organization=org, name=name),
            step=step,
            step_key=step.key,
            risk_level=risk,
        )

    for n in range(6):
        remind(f"C{n:02d}", late if n % 2 else early, "low" if n < 3 else "high")
    first = collector_client.get("/reminders/").content.decode()
    order = [g.split('"')[0] for g in first.split('data-group="')[1:]]
    assert order == ["d+1-high", "d+1-low", "d+7-high", "d+7-low"]
    assert "6 reminders" in first and "Reminder pages" not in first

    many = [remind(f"M{n:02d}", early, "medium") for n in range(12)]
    page1 = collector_client.get("/reminders/?per_page=10&step=d%2B1").content.decode()
    assert "15 reminders" in page1 and "1\u201310 shown" in page1
    assert "Reminder pages" in page1 and "step=d%2B1" in page1 and "page=2" in page1
    page2 = collector_client.get(
        "/reminders/?per_page=10&step=d%2B1&page=2", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "<html" not in page2 and "11\u201315 shown" in page2
    shown = sum(page.count(f'data-reminder="{r.code}"') for page in (page1, page2) for r in many)
    assert shown == 12
