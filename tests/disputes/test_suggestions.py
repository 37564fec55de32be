from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from disputes import services
from disputes.suggestions import suggest
from tests.factories import CustomerFactory, InvoiceFactory, PaymentFactory


@pytest.fixture
def dispute(org):
    customer = CustomerFactory(organization=org)
    invoice = InvoiceFactory(customer=customer, number="INV-7001", total=Decimal("480.00"))
    InvoiceFactory(
        customer=customer,
        number="INV-7002",
        total=Decimal("480.00"),
        issue_date=invoice.issue_date + dt.timedelta(days=3),
    )
    return services.dispute_open(
        organization=org,
        invoice=invoice,
        text="INV-7001 and INV-7002 are the same delivery.",
        category="duplicate_billing",
        classify=False,
    )


def test_rule_finds_the_duplicate_without_llm(dispute):
    result = suggest(dispute)
    assert result["source"] == "rules"
    assert result["fallback_reason"] == "not_configured"
    assert result["rule"]["action"] == "credit_note"
    assert result["rule"]["amount"] == "480.00"
    assert "INV-7002" in result["rule"]["evidence"][0]["text"]


def test_already_paid_matches_unapplied_payment(org):
    customer = CustomerFactory(organization=org)
    invoice = InvoiceFactory(customer=customer, total=Decimal("90.00"))
    payment = PaymentFactory(customer=customer, amount=Decimal("90.00"), reference="wire 3 Nov")
    dispute = services.dispute_open(
        organization=org,
        invoice=invoice,
        text="Paid already",
        category="already_paid",
        classify=False,
    )
    result = suggest(dispute)
    assert result["rule"]["action"] == "payment_applied"
    assert result["rule"]["payment"] == str(payment.code)


def test_valid_llm_draft_is_used(fake_openai, dispute):
    fake_openai.reply(
        {
            "reply": "You are right: INV-7002 duplicates INV-7001. We credit 480.00.",
            "action": "credit_note",
            "amount": "480.00",
            "rationale": "Same customer and total three days apart.",
        }
    )
    result = suggest(dispute)
    assert result["source"] == "llm"
    assert result["draft"]["amount"] == "480.00"
    assert "INV-7001" in fake_openai.requests[0]["messages"][-1]["content"]


@pytest.mark.parametrize(
    "setup, reason",
    [
        (
            lambda f: f.reply(
                {
                    "reply": "We credit 999.00.",
                    "action": "credit_note",
                    "amount": "999.00",
                    "rationale": "x",
                }
            ),
            "invalid",
        ),
        (
            lambda f: f.reply({"reply": "See INV-9999.", "action": "reject", "rationale": "x"}),
            "invalid",
        ),
        (lambda f: f.reply_raw("not json"), "malformed_output"),
        (lambda f: f.fail(status=500), "http_error"),
        (lambda f: f.stall(3), "timeout"),
    ],
)
def test_bad_llm_answers_fall_back_to_the_rule(fake_openai, dispute, setup, reason):
    setup(fake_openai)
    result = suggest(dispute, timeout_s=1)
    assert result["source"] == "rules"
    assert result["fallback_reason"].startswith(reason)
    assert result["rule"]["action"] == "credit_note"
