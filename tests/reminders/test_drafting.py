from __future__ import annotations

import json

import pytest

from reminders.models import Reminder
from reminders.services.drafting import identifier_pattern
from reminders.services.planning import reminders_plan
from tests.reminders.conftest import TODAY, make_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoices(customer):
    return [
        make_invoice(customer, days_overdue=8, total="1200.50", number="INV-004711"),
        make_invoice(customer, days_overdue=9, total="85.00", number="INV-004712"),
    ]


def good_body(invoices) -> dict:
    lines = "\n".join(
        f"- {i.number}: USD {i.balance:,.2f}, due {i.due_date.isoformat()}" for i in invoices
    )
    return {
        "subject": "Two invoices are past due",
        "body_text": f"Hello Acme Retail,\n\nThese invoices are still open:\n{lines}\n\n"
        "Please arrange payment at your earliest convenience.\n\nKind regards,\nOrg A",
    }


def test_the_llm_draft_is_used_when_it_states_exactly_the_facts(
    org, customer, invoices, fake_openai
):
    fake_openai.reply(good_body(invoices))

    result = reminders_plan(organization=org, today=TODAY)

    assert result.as_json()["drafter"] == {"llm": 1, "offline": 0}
    reminder = Reminder.objects.get()
    assert (reminder.drafter, reminder.fallback_reason) == ("llm", "")
    assert reminder.subject == "Two invoices are past due"
    assert "INV-004711" in reminder.body_html and "<p>" in reminder.body_html
    # The prompt carried the facts the draft may use.
    prompt = fake_openai.prompt_text()
    facts = json.loads(prompt.split("from these facts:\n", 1)[1])
    assert facts["customer"] == {"name": "Acme Retail", "contact": "ap@acme.example"}
    # Oldest due first.
    assert facts["invoices_to_remind"][1] == {
        "number": "INV-004711",
        "amount": "USD 1,200.50",
        "due_date": invoices[0].due_date.isoformat(),
        "days_overdue": 8,
    }
    assert facts["open_balance"] == ["USD 1,285.50"]
    assert facts["tone"] == "friendly" and facts["language"] == "en"
    assert facts["sender"]["organization"] == "Org A"
    assert "payment_history" in facts and "risk_level" in facts


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda b: b["body_text"].replace("1,200.50", "1,250.50"), "amount"),
        (lambda b: b["body_text"] + "\nAlso INV-009999 is open.", "INV-009999"),
        (lambda b: b["body_text"].replace("INV-004712", "your other invoice"), "INV-004712"),
        (lambda b: b["body_text"] + "\nPlease pay by 2026-07-01.", "2026-07-01"),
        (lambda b: b["body_text"].replace("Acme Retail", "[Customer Name]"), "placeholder"),
    ],
)
def test_an_invented_or_missing_fact_falls_back_with_the_reason(
    org, customer, invoices, fake_openai, tamper, reason
):
    body = good_body(invoices)
    body["body_text"] = tamper(body)
    fake_openai.reply(body)

    result = reminders_plan(organization=org, today=TODAY)

    reminder = Reminder.objects.get()
    assert reminder.drafter == "offline"
    assert reminder.fallback_reason.startswith("invalid:") and reason in reminder.fallback_reason
    assert result.as_json()["fallbacks"] == {"invalid": 1}
    # The fallback is a complete, correct draft.
    assert all(i.number in reminder.body_text for i in invoices)


def test_malformed_json_falls_back(org, customer, invoices, fake_openai):
    fake_openai.reply_raw("Sure! Here is your e-mail: Dear customer...")
    reminders_plan(organization=org, today=TODAY)
    reminder = Reminder.objects.get()
    assert reminder.drafter == "offline"
    assert reminder.fallback_reason.startswith("malformed_output")


def test_a_server_error_falls_back(org, customer, invoices, fake_openai):
    fake_openai.fail(status=500)
    result = reminders_plan(organization=org, today=TODAY)
    reminder = Reminder.objects.get()
    assert reminder.fallback_reason.startswith("http_error: 500")
    assert result.as_json()["fallbacks"] == {"http_error": 1}


def test_a_slow_answer_falls_back(org, customer, invoices, fake_openai, settings):
    settings.OPENAI_TIMEOUT_S = 1
    fake_openai.stall(3, good_body(invoices))
    reminders_plan(organization=org, today=TODAY)
    assert Reminder.objects.get().fallback_reason == "timeout"


def test_without_an_llm_the_templates_draft_and_nothing_counts_as_a_fallback(org, invoices):
    result = reminders_plan(organization=org, today=TODAY)
    reminder = Reminder.objects.get()
    assert (reminder.drafter, reminder.fallback_reason) == ("offline", "")
    assert result.as_json()["fallbacks"] == {}
    assert reminder.subject == "Reminder: 2 invoices are now due - Org A"
    assert "Total: USD 1,285.50" in reminder.body_text
    assert "<strong>INV-004711</strong>" in reminder.body_html


def test_the_identifier_pattern_follows_the_invoice_numbers_shape():
    pattern = identifier_pattern(["INV-004711", "2024/17"])
    import re

    assert re.findall(pattern, "INV-1 and 2023/5 but not XINV-1 or 12") == ["INV-1", "2023/5"]
