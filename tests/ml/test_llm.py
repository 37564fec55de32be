"""The shared LLM client against a local OpenAI-compatible server: answers used when valid,
every fault of the endpoint or the model turned into a recorded fallback reason."""

from __future__ import annotations

import socket
import time
from decimal import Decimal

import pytest
from pydantic import BaseModel

from ml.llm import llm_is_configured, llm_structured


class Verdict(BaseModel):
    action: str
    amount: Decimal
    rationale: str


GOOD = {"action": "credit_note", "amount": "120.50", "rationale": "Unit price was 10% too high."}


def _ask(**kwargs):
    return llm_structured(
        schema=Verdict,
        system="You resolve invoice disputes.",
        prompt="Invoice INV-7: 1205.00",
        **kwargs,
    )


def test_it_falls_back_without_configuration():
    assert not llm_is_configured()
    outcome = _ask()
    assert outcome.value is None
    assert outcome.fallback_reason == "not_configured"


def test_it_returns_the_parsed_answer_and_sends_the_prompt(fake_openai):
    fake_openai.reply(GOOD)
    outcome = _ask()
    assert outcome.fallback_reason == ""
    assert outcome.value == Verdict(**GOOD)
    assert outcome.value.amount == Decimal("120.50")
    assert outcome.model == "fake-model"
    request = fake_openai.requests[0]
    assert request["model"] == "fake-model"
    assert request["response_format"]["type"] == "json_schema"
    assert "amount" in request["response_format"]["json_schema"]["schema"]["properties"]
    assert "You resolve invoice disputes." in fake_openai.prompt_text()
    assert "Invoice INV-7: 1205.00" in fake_openai.prompt_text()
    assert fake_openai.headers[0]["authorization"] == "Bearer sk-test-fake-openai"


def test_it_reads_tool_calls_when_configured_for_function_calling(fake_openai, settings):
    settings.OPENAI_STRUCTURED_METHOD = "function_calling"
    fake_openai.reply(GOOD)
    outcome = _ask()
    assert outcome.value == Verdict(**GOOD)
    assert fake_openai.requests[0]["tools"][0]["function"]["name"] == "Verdict"


@pytest.mark.parametrize(
    "content",
    ['{"action": "credit_note", "amount": ', "Sure! I think a credit note.", '{"action": "x"}'],
    ids=["truncated-json", "prose", "missing-fields"],
)
def test_it_falls_back_on_malformed_output(fake_openai, content):
    fake_openai.reply_raw(content)
    outcome = _ask()
    assert outcome.value is None
    assert outcome.fallback_reason.startswith("malformed_output: ")


@pytest.mark.parametrize("status", [500, 503, 429, 401])
def test_it_falls_back_on_http_errors_with_the_status(fake_openai, status):
    fake_openai.fail(status=status, message="upstream exploded")
    outcome = _ask()
    assert outcome.value is None
    assert outcome.fallback_reason == f"http_error: {status} upstream exploded"
    assert len(fake_openai.requests) == 1  # no retries: the offline answer is ready now


def test_it_gives_up_at_the_timeout(fake_openai):
    fake_openai.stall(3, GOOD)
    started = time.monotonic()
    outcome = _ask(timeout_s=0.5)
    assert outcome.value is None
    assert outcome.fallback_reason == "timeout"
    assert time.monotonic() - started < 2.5


def test_it_rejects_answers_that_fail_validation(fake_openai):
    fake_openai.reply({**GOOD, "amount": "999.99"})

    def amounts_known(verdict: Verdict) -> list[str]:
        return [] if verdict.amount == Decimal("120.50") else [f"amount {verdict.amount} unknown"]

    outcome = _ask(validate=amounts_known)
    assert outcome.value is None
    assert outcome.fallback_reason == "invalid: amount 999.99 unknown"


def test_it_reports_an_unreachable_endpoint(fake_openai, settings):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.OPENAI_BASE_URL = f"http://127.0.0.1:{port}/v1"
    outcome = _ask()
    assert outcome.value is None
    assert outcome.fallback_reason.startswith("connection_error: ")
