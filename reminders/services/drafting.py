"""Drafting a reminder: the facts it may state (``DraftContext``), the built-in template
drafter, and the LLM drafter whose answer is checked against those facts before use.

The LLM may phrase; it may not invent. Every listed invoice number, amount and due date
must appear exactly as given, and no other invoice number, amount or date may appear.
Anything else (a timeout, a 5xx, malformed JSON, an invented figure) falls back to the
template drafter and the reason is stored on the reminder.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.template.loader import render_to_string, select_template
from django.utils.html import linebreaks
from django.utils.safestring import mark_safe
from pydantic import BaseModel, Field

from ml.llm import llm_is_configured, llm_structured
from ml.llm_checks import dates_in_text, money_amounts_in_text, unknown_facts
from reminders.models import Drafter

TEMPLATE_DIR = "emails/reminders"
DEFAULT_LANGUAGE = "en"


def money(amount: Decimal, currency: str) -> str:
    """The one way an amount is written in a reminder (and the way the checker reads it)."""
    return f"{currency} {amount:,.2f}"


def aging_bucket(days_overdue: int) -> str:
    if days_overdue <= 0:
        return "not yet due"
    for limit in (30, 60, 90):
        if days_overdue <= limit:
            return f"{limit - 29 if limit > 30 else 1}-{limit} days overdue"
    return "over 90 days overdue"


@dataclass(frozen=True)
class InvoiceFact:
    number: str
    amount: Decimal
    currency: str
    due_date: dt.date
    days_overdue: int
    disputed: bool = False

    @property
    def amount_text(self) -> str:
        return money(self.amount, self.currency)

    @property
    def aging(self) -> str:
        return aging_bucket(self.days_overdue)


@dataclass(frozen=True)
class DraftContext:
    """Everything a reminder may say, and nothing else."""

    organization_name: str
    sender_name: str
    reply_to: str
    payment_instructions: str
    customer_name: str
    contact: str
    language: str
    tone: str
    step_name: str
    risk_level: str
    today: dt.date
    history: str
    items: tuple[InvoiceFact, ...]
    statement: tuple[InvoiceFact, ...] = field(default=())

    @property
    def item_totals(self) -> list[str]:
        return [money(total, cur) for cur, total in _totals(self.items).items()]

    @property
    def open_balance(self) -> list[str]:
        return [money(total, cur) for cur, total in _totals(self.statement).items()]

    @property
    def signature(self) -> str:
        return self.sender_name or f"Accounts receivable, {self.organization_name}"

    @property
    def overdue(self) -> bool:
        return any(item.days_overdue > 0 for item in self.items)


def _totals(facts: tuple[InvoiceFact, ...]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for fact in facts:
        totals[fact.currency] = totals.get(fact.currency, Decimal("0")) + fact.amount
    return totals


@dataclass(frozen=True)
class Draft:
    subject: str
    body_text: str
    body_html: str
    drafter: str
    fallback_reason: str = ""
    model: str = ""


# ---------------------------------------------------------------- built-in drafter


def _template(context: DraftContext, part: str) -> str:
    names = [
        f"{TEMPLATE_DIR}/{language}/{context.tone}-{part}.html"
        for language in dict.fromkeys([context.language, DEFAULT_LANGUAGE])
    ]
    return select_template(names).template.name


def draft_offline(context: DraftContext, *, fallback_reason: str = "") -> Draft:
    """Subject, text and HTML from the templates for the step's tone and the language."""
    values = {"c": context}
    subject = render_to_string(_template(context, "subject"), values)
    return Draft(
        subject=" ".join(subject.split()),
        body_text=render_to_string(_template(context, "body-text"), values).strip() + "\n",
        body_html=render_to_string(_template(context, "body-html"), values),
        drafter=Drafter.OFFLINE,
        fallback_reason=fallback_reason,
    )


def html_from_text(context: DraftContext, body_text: str) -> str:
    """The HTML part of a text written by a model or edited by a person: same layout."""
    return render_to_string(
        f"{TEMPLATE_DIR}/text-body-html.html",
        # linebreaks escapes the text itself; the result is safe markup.
        {"c": context, "body": mark_safe(linebreaks(body_text, autoescape=True))},
    )


# ---------------------------------------------------------------- LLM drafter


class ReminderDraft(BaseModel):
    subject: str = Field(min_length=3, max_length=200, description="the e-mail subject line")
    body_text: str = Field(
        min_length=40, max_length=6000, description="the plain-text e-mail body, signed"
    )


SYSTEM_PROMPT = """\
You write payment reminder e-mails for a company's accounts-receivable team to its business
customers. Write in the requested language and tone. Rules you must follow exactly:
- Mention every listed invoice by its number, with its amount and its due date written
  exactly as given (amounts like "USD 1,234.50", dates like 2026-03-05).
- Do not mention any other invoice number, amount or date than those given. Do not compute
  new totals, interest or fees.
- No placeholders such as [Name] or {amount}: every detail you need is in the facts.
- Plain text only; sign with the sender given. Keep it short (under 200 words).
- Tone "friendly": warm, assumes an oversight. "firm": polite but direct, asks for payment
  or a date. "final": factual final notice that the account will be escalated if unpaid.
"""


def llm_prompt(context: DraftContext) -> str:
    facts = {
        "customer": {"name": context.customer_name, "contact": context.contact},
        "language": context.language,
        "tone": context.tone,
        "step": context.step_name,
        "risk_level": context.risk_level or "unknown",
        "today": context.today.isoformat(),
        "invoices_to_remind": [_fact_json(item) for item in context.items],
        "total_of_listed_invoices": context.item_totals,
        "open_balance": context.open_balance,
        "payment_history": context.history,
        "sender": {
            "organization": context.organization_name,
            "signature": context.signature,
            "reply_to": context.reply_to,
        },
        "payment_instructions": context.payment_instructions,
    }
    return (
        "Write the reminder e-mail (subject and plain-text body) from these facts:\n"
        + json.dumps(facts, indent=2, ensure_ascii=False)
    )


def _fact_json(item: InvoiceFact) -> dict:
    return {
        "number": item.number,
        "amount": item.amount_text,
        "due_date": item.due_date.isoformat(),
        "days_overdue": item.days_overdue,
    }


def identifier_pattern(numbers: list[str]) -> str | None:
    """A regex matching anything shaped like these invoice numbers (letters kept, digit
    runs generalised): "INV-000123" → ``INV-\\d+``. A model inventing "INV-000999" is caught."""
    shapes = {re.escape(re.sub(r"\d+", "0", n)).replace("0", r"\d+") for n in numbers}
    if not shapes:
        return None
    return r"(?<![\w-])(?:" + "|".join(sorted(shapes)) + r")(?![\w-])"


def draft_problems(context: DraftContext, draft: ReminderDraft) -> list[str]:
    """What the draft gets wrong against the facts (empty = acceptable)."""
    text = f"{draft.subject}\n{draft.body_text}"
    amounts, dates = money_amounts_in_text(text), dates_in_text(text)
    problems = []
    for item in context.items:
        if item.number not in text:
            problems.append(f"invoice {item.number} is not mentioned")
        if item.amount not in amounts:
            problems.append(f"amount {item.amount_text} of {item.number} is missing")
        if item.due_date not in dates:
            problems.append(f"due date {item.due_date.isoformat()} of {item.number} is missing")
    evidence = context.items + context.statement
    allowed_amounts = {f.amount for f in evidence}
    allowed_amounts |= set(_totals(context.items).values()) | set(
        _totals(context.statement).values()
    )
    numbers = [f.number for f in evidence]
    problems += unknown_facts(
        text,
        amounts=allowed_amounts,
        dates={f.due_date for f in evidence} | {context.today},
        identifiers=numbers,
        identifier_pattern=identifier_pattern(numbers),
    )
    return problems


def draft_llm(context: DraftContext) -> Draft:
    outcome = llm_structured(
        schema=ReminderDraft,
        system=SYSTEM_PROMPT,
        prompt=llm_prompt(context),
        validate=lambda answer: draft_problems(context, answer),
    )
    if outcome.value is None:
        fallback = draft_offline(context, fallback_reason=outcome.fallback_reason)
        return Draft(**{**fallback.__dict__, "model": outcome.model})
    body_text = outcome.value.body_text.strip() + "\n"
    return Draft(
        subject=" ".join(outcome.value.subject.split()),
        body_text=body_text,
        body_html=html_from_text(context, body_text),
        drafter=Drafter.LLM,
        model=outcome.model,
    )


def reminder_draft_text(context: DraftContext) -> Draft:
    """The LLM's draft when one is configured and its answer passes the checks, else the
    template draft (with the reason the LLM's was not used, "not_configured" included)."""
    if not llm_is_configured():
        return draft_offline(context)
    return draft_llm(context)
