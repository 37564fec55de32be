"""Planning: which customers get which reminder today, drafted and stored in one pass.

One consolidated reminder per customer and step lists every invoice of that customer due
for that step. Each invoice goes to the most advanced step that is due and later than
any step it already had (so after an outage the next run catches up with one reminder,
not one per missed step), and never to a step it already had (``ReminderItem`` is unique
on invoice + step). Planning the same day twice therefore drafts nothing new.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Max

from invoices.models import OPEN_STATUSES, ZERO, Customer, Invoice, ReminderChannel
from paypredict_project.tenancy.models import Organization
from predictions.selectors import customer_risk_levels, invoice_risk_levels
from reminders import selectors
from reminders.models import (
    DunningPolicy,
    PromiseStatus,
    PromiseToPay,
    Reminder,
    ReminderItem,
    ReminderStatus,
)
from reminders.services.drafting import DraftContext, InvoiceFact, draft_offline
from reminders.services.drafting import reminder_draft_text as draft_text
from reminders.services.policies import (
    EffectiveStep,
    dunning_policies_by_customer,
    effective_steps,
)
from reminders.services.promises import promises_resolve_due

logger = logging.getLogger(__name__)

RISK_ORDER = {"low": 0, "medium": 1, "high": 2}


@dataclass
class PlanResult:
    customers: int = 0
    drafted: int = 0
    holdout: int = 0
    skipped: Counter = field(default_factory=Counter)
    drafter: Counter = field(default_factory=Counter)
    fallbacks: Counter = field(default_factory=Counter)
    reminders: list[Reminder] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "customers": self.customers,
            "drafted": self.drafted,
            "skipped": dict(sorted(self.skipped.items())),
            "drafter": {"llm": self.drafter["llm"], "offline": self.drafter["offline"]},
            "fallbacks": dict(sorted(self.fallbacks.items())),
        }


def _fallback_key(reason: str) -> str:
    # "http_error: 500 upstream down" → "http_error": the JSON counts kinds, not messages.
    return reason.split(":", 1)[0]


def reminders_plan(*, organization: Organization, today: dt.date) -> PlanResult:
    """Plan and draft every reminder due on ``today`` (the organization's calendar day)."""
    escalating = promises_resolve_due(organization=organization, today=today)
    invoices = _candidate_invoices(organization=organization, today=today)
    customer_ids = sorted({invoice.customer_id for invoice in invoices})
    default, own = dunning_policies_by_customer(
        organization=organization, customer_ids=customer_ids
    )
    risks = _risk_levels(organization=organization, invoices=invoices)
    history = _reminded_offsets(invoices)
    paused = _paused_invoice_ids(organization=organization, invoices=invoices, today=today)

    result = PlanResult()
    due: dict[int, dict[str, tuple[EffectiveStep, list[Invoice]]]] = defaultdict(dict)
    for invoice in invoices:
        policy = own.get(invoice.customer_id, default)
        steps = effective_steps(policy=policy, risk_level=risks.get(invoice.customer_id, ""))
        step = _step_due(
            invoice,
            steps,
            today=today,
            last_offset=history.get(invoice.id),
            escalate=invoice.id in escalating or invoice.customer_id in escalating.customers,
        )
        if step is None:
            continue
        reason = _invoice_skip_reason(invoice, paused)
        if reason:
            result.skipped[reason] += 1
            continue
        due[invoice.customer_id].setdefault(step.key, (step, []))[1].append(invoice)

    customers = Customer.objects.in_bulk(list(due))
    facts = _customer_facts(organization=organization, customer_ids=list(due), today=today)
    for customer_id, steps_due in due.items():
        customer = customers[customer_id]
        reason = _customer_skip_reason(customer)
        if reason:
            result.skipped[reason] += 1
            continue
        policy = own.get(customer_id, default)
        for step, step_invoices in steps_due.values():
            reminder = _plan_one(
                customer=customer,
                policy=policy,
                step=step,
                invoices=step_invoices,
                risk_level=risks.get(customer_id, ""),
                facts=facts,
                today=today,
            )
            if reminder is None:
                result.skipped["already_planned"] += 1
                continue
            _count(result, reminder)
    result.customers = len({r.customer_id for r in result.reminders})
    return result


def _count(result: PlanResult, reminder: Reminder) -> None:
    result.reminders.append(reminder)
    if reminder.status == ReminderStatus.HOLDOUT:
        result.holdout += 1
        return
    result.drafted += 1
    result.drafter[reminder.drafter] += 1
    if reminder.fallback_reason:
        result.fallbacks[_fallback_key(reminder.fallback_reason)] += 1


def _candidate_invoices(*, organization: Organization, today: dt.date) -> list[Invoice]:
    # The earliest step of any policy, shifted for high risk, bounds how far ahead to look.
    from reminders.models import DunningStep

    earliest = DunningStep.objects.filter(policy__organization=organization).order_by("offset_days")
    lookahead = 0
    for step in earliest[:20]:
        lookahead = max(lookahead, -(step.offset_days + min(0, step.high_risk_shift_days)))
    return list(
        Invoice.objects.filter(
            organization=organization,
            status__in=OPEN_STATUSES,
            balance__gt=ZERO,
            due_date__lte=today + dt.timedelta(days=lookahead),
        ).order_by("customer_id", "due_date", "id")
    )


def _risk_levels(*, organization: Organization, invoices: list[Invoice]) -> dict[int, str]:
    """The customer's risk level; for a customer never graded, its riskiest open invoice."""
    customer_ids = list({invoice.customer_id for invoice in invoices})
    levels = customer_risk_levels(organization=organization, customer_ids=customer_ids)
    missing = [invoice for invoice in invoices if invoice.customer_id not in levels]
    if missing:
        by_invoice = invoice_risk_levels(
            organization=organization, invoice_ids=[invoice.id for invoice in missing]
        )
        for invoice in missing:
            level = by_invoice.get(invoice.id)
            current = levels.get(invoice.customer_id)
            if level and (current is None or RISK_ORDER[level] > RISK_ORDER[current]):
                levels[invoice.customer_id] = level
    return levels


def _reminded_offsets(invoices: list[Invoice]) -> dict[int, int]:
    rows = (
        ReminderItem.objects.filter(invoice_id__in=[invoice.id for invoice in invoices])
        .values("invoice_id")
        .annotate(last=Max("step_offset"))
        .order_by()
    )
    return {row["invoice_id"]: row["last"] for row in rows}


def _paused_invoice_ids(
    *, organization: Organization, invoices: list[Invoice], today: dt.date
) -> set[int]:
    """Invoices under an open promise to pay (an invoice's own, or its customer's)."""
    promises = PromiseToPay.objects.filter(
        organization=organization, status=PromiseStatus.OPEN, promised_date__gte=today
    ).values_list("customer_id", "invoice_id")
    by_customer = {customer for customer, invoice in promises if invoice is None}
    by_invoice = {invoice for _, invoice in promises if invoice is not None}
    return {
        invoice.id
        for invoice in invoices
        if invoice.id in by_invoice or invoice.customer_id in by_customer
    }


def _step_due(
    invoice: Invoice,
    steps: list[EffectiveStep],
    *,
    today: dt.date,
    last_offset: int | None,
    escalate: bool,
) -> EffectiveStep | None:
    later = [s for s in steps if last_offset is None or s.step.offset_days > last_offset]
    overdue = today > invoice.due_date
    due = [
        s
        for s in later
        if invoice.due_date + dt.timedelta(days=s.offset_days) <= today
        # A heads-up about a coming due date makes no sense once it has passed.
        and not (overdue and s.offset_days < 0)
    ]
    if due:
        return due[-1]
    if escalate and overdue and later:
        # A broken promise moves on to the next step without waiting for its day.
        return next((s for s in later if s.offset_days >= 0), None)
    return None


def _invoice_skip_reason(invoice: Invoice, paused: set[int]) -> str:
    # An open dispute pauses dunning on that invoice only.
    if invoice.disputed:
        return "disputed"
    if invoice.id in paused:
        return "promise_to_pay"
    return ""


def _customer_skip_reason(customer: Customer) -> str:
    if customer.do_not_remind:
        return "do_not_remind"
    if customer.reminder_channel != ReminderChannel.EMAIL:
        return "channel_not_supported"
    if not reminder_contact(customer):
        return "no_contact"
    return ""


def reminder_contact(customer: Customer) -> str:
    return (customer.reminder_contact or customer.email).strip()


@dataclass(frozen=True)
class _CustomerFacts:
    statement: dict[int, list[Invoice]]
    histories: dict


def _customer_facts(
    *, organization: Organization, customer_ids: list[int], today: dt.date
) -> _CustomerFacts:
    return _CustomerFacts(
        statement=selectors.open_invoices_for_customers(
            organization=organization, customer_ids=customer_ids
        ),
        histories=selectors.payment_histories(
            organization=organization, customer_ids=customer_ids, today=today
        ),
    )


def invoice_fact(invoice: Invoice, *, today: dt.date) -> InvoiceFact:
    return InvoiceFact(
        number=invoice.number,
        amount=invoice.balance,
        currency=invoice.currency,
        due_date=invoice.due_date,
        days_overdue=(today - invoice.due_date).days,
        disputed=invoice.disputed,
    )


def draft_context(
    *,
    customer: Customer,
    policy: DunningPolicy,
    step_name: str,
    tone: str,
    risk_level: str,
    invoices: list[Invoice],
    statement: list[Invoice],
    history: str,
    today: dt.date,
) -> DraftContext:
    organization = customer.organization
    return DraftContext(
        organization_name=organization.name,
        sender_name=policy.sender_name,
        reply_to=policy.reply_to,
        payment_instructions=policy.payment_instructions,
        customer_name=customer.name,
        contact=reminder_contact(customer),
        language=customer.reminder_language or "en",
        tone=tone,
        step_name=step_name,
        risk_level=risk_level,
        today=today,
        history=history,
        items=tuple(invoice_fact(invoice, today=today) for invoice in invoices),
        statement=tuple(invoice_fact(invoice, today=today) for invoice in statement),
    )


def _in_holdout(*, customer: Customer, step: EffectiveStep, policy: DunningPolicy) -> bool:
    """A stable pseudo-random share of customers is left out of a non-final step."""
    share = policy.holdout_share or Decimal("0")
    if share <= 0 or step.step.is_final or step.tone == "final":
        return False
    digest = hashlib.sha256(f"{customer.code}:{step.key}".encode()).digest()
    return Decimal(int.from_bytes(digest[:8], "big")) / Decimal(2**64) < share


def _plan_one(
    *,
    customer: Customer,
    policy: DunningPolicy,
    step: EffectiveStep,
    invoices: list[Invoice],
    risk_level: str,
    facts: _CustomerFacts,
    today: dt.date,
) -> Reminder | None:
    context = draft_context(
        customer=customer,
        policy=policy,
        step_name=step.step.name,
        tone=step.tone,
        risk_level=risk_level,
        invoices=invoices,
        statement=facts.statement.get(customer.id, []),
        history=(
            facts.histories[customer.id].summary()
            if customer.id in facts.histories
            else "no invoices paid in the last 12 months"
        ),
        today=today,
    )
    holdout = _in_holdout(customer=customer, step=step, policy=policy)
    # The LLM call happens outside any transaction: no row lock waits on a model.
    draft = draft_offline(context) if holdout else draft_text(context)
    try:
        with transaction.atomic():
            reminder = Reminder.objects.create(
                organization_id=customer.organization_id,
                customer=customer,
                step=step.step,
                step_key=step.key,
                planned_on=today,
                risk_level=risk_level,
                tone=step.tone,
                language=context.language,
                channel=step.step.channel,
                to_email=context.contact,
                auto_send=step.auto_send,
                status=ReminderStatus.HOLDOUT if holdout else ReminderStatus.DRAFT,
                subject=draft.subject,
                body_text=draft.body_text,
                body_html=draft.body_html,
                drafter=draft.drafter,
                fallback_reason=draft.fallback_reason,
                llm_model=draft.model,
            )
            ReminderItem.objects.bulk_create(
                ReminderItem(
                    organization_id=customer.organization_id,
                    reminder=reminder,
                    invoice=invoice,
                    step_key=step.key,
                    step_offset=step.step.offset_days,
                    amount=invoice.balance,
                    currency=invoice.currency,
                    due_date=invoice.due_date,
                )
                for invoice in invoices
            )
    except IntegrityError:
        # Another planner (a second beat run, a command) planned it a moment earlier.
        logger.info("reminder for customer %s step %s already planned", customer.pk, step.key)
        return None
    return reminder


def reminder_context(
    *, reminder: Reminder, invoices: list[Invoice], today: dt.date
) -> DraftContext:
    """The facts of an existing reminder, re-read from the ledger (for edits and re-renders)."""
    customer = reminder.customer
    organization = customer.organization
    statement = selectors.open_invoices_for_customers(
        organization=organization, customer_ids=[customer.id]
    ).get(customer.id, [])
    history = selectors.payment_histories(
        organization=organization, customer_ids=[customer.id], today=today
    ).get(customer.id)
    return draft_context(
        customer=customer,
        policy=reminder.step.policy,
        step_name=reminder.step.name,
        tone=reminder.tone,
        risk_level=reminder.risk_level,
        invoices=invoices,
        statement=statement,
        history=history.summary() if history else "no invoices paid in the last 12 months",
        today=today,
    )
