"""Suggested resolutions (F33): evidence from the ledger per category, a rule suggestion that
can be applied in one click, and, with an LLM configured, a drafted reply and recommended
action validated against that evidence (falling back to the rule with the reason recorded).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any, Literal

from django.db.models import Sum
from pydantic import BaseModel, Field

from disputes.models import Dispute, ResolutionKind
from invoices.models import CLOSED_STATUSES, Invoice, InvoiceLine, Payment, PaymentStatus
from ml.llm import llm_structured
from ml.llm_checks import unknown_facts

CENT = Decimal("0.01")
DUPLICATE_WINDOW_DAYS = 45
INVOICE_NUMBER_PATTERN = r"\b[A-Z]{2,5}-?\d{3,}[A-Z0-9-]*\b"


@dataclass
class Evidence:
    kind: str  # "invoice", "payment", "line", "tax", "document"
    text: str
    amount: Decimal | None = None
    ref: str = ""  # invoice number / payment code


@dataclass
class Suggestion:
    action: str  # a ResolutionKind value, or "reject"
    amount: Decimal | None
    summary: str
    evidence: list[Evidence] = field(default_factory=list)
    payment: str = ""  # payment code for payment_applied

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["amount"] = str(self.amount) if self.amount is not None else None
        for item in data["evidence"]:
            item["amount"] = str(item["amount"]) if item["amount"] is not None else None
        return data


def _q(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENT)


def _duplicates(dispute: Dispute, invoice: Invoice) -> Suggestion:
    window = dt.timedelta(days=DUPLICATE_WINDOW_DAYS)
    twins = (
        Invoice.objects.filter(
            organization_id=invoice.organization_id,
            customer_id=invoice.customer_id,
            total=invoice.total,
            issue_date__range=(invoice.issue_date - window, invoice.issue_date + window),
        )
        .exclude(pk=invoice.pk)
        .exclude(status__in=CLOSED_STATUSES)
        .order_by("issue_date")
    )
    evidence = [
        Evidence(
            "invoice",
            f"{t.number} issued {t.issue_date:%Y-%m-%d}, same customer and total "
            f"{t.total} {t.currency} ({t.get_status_display().lower()})",
            t.total,
            t.number,
        )
        for t in twins[:5]
    ]
    if not evidence:
        return Suggestion(
            "reject",
            None,
            f"No other invoice of this customer for {invoice.total} {invoice.currency} within "
            f"{DUPLICATE_WINDOW_DAYS} days: nothing suggests a duplicate.",
        )
    return Suggestion(
        ResolutionKind.CREDIT_NOTE,
        _q(invoice.balance),
        f"{invoice.number} looks like a duplicate of {evidence[0].ref}: credit its open "
        f"balance ({invoice.balance} {invoice.currency}) so only one is collected.",
        evidence,
    )


def _unapplied(payment: Payment) -> Decimal:
    applied = payment.allocations.aggregate(total=Sum("amount"))["total"] or Decimal("0")
    return payment.amount - applied


def _payments(dispute: Dispute, invoice: Invoice) -> Suggestion:
    candidates = Payment.objects.filter(
        organization_id=invoice.organization_id,
        customer_id=invoice.customer_id,
        currency=invoice.currency,
        status=PaymentStatus.SUCCEEDED,
    ).order_by("-received_at")[:50]
    evidence, best = [], None
    for payment in candidates:
        free = _unapplied(payment)
        if free <= 0:
            continue
        mentions = invoice.number.lower() in (payment.reference or "").lower()
        matches = free == invoice.balance or payment.amount == invoice.balance
        if not (mentions or matches):
            continue
        evidence.append(
            Evidence(
                "payment",
                f"{payment.amount} {payment.currency} received {payment.received_at:%Y-%m-%d}"
                f" ({payment.get_method_display()}, ref {payment.reference or '—'}), "
                f"{free} unapplied" + (" — reference names this invoice" if mentions else ""),
                _q(free),
                str(payment.code),
            )
        )
        if best is None or mentions:
            best = (payment, free)
    if best is None:
        return Suggestion(
            "reject",
            None,
            "No unapplied payment of this customer matches the balance or names the invoice; "
            "ask for the remittance advice.",
        )
    payment, free = best
    amount = _q(min(free, invoice.balance))
    return Suggestion(
        ResolutionKind.PAYMENT_APPLIED,
        amount,
        f"Apply {amount} {invoice.currency} of the unapplied payment received "
        f"{payment.received_at:%Y-%m-%d} to {invoice.number}.",
        evidence,
        payment=str(payment.code),
    )


def _prices(dispute: Dispute, invoice: Invoice) -> Suggestion:
    """Each line against this customer's earlier invoices for the same item."""
    lines = list(invoice.lines.all())
    evidence, credit = [], Decimal("0")
    for line in lines:
        earlier = (
            InvoiceLine.objects.filter(
                invoice__organization_id=invoice.organization_id,
                invoice__customer_id=invoice.customer_id,
                invoice__issue_date__lt=invoice.issue_date,
                description=line.description,
            )
            .exclude(invoice=invoice)
            .order_by("-invoice__issue_date")
            .select_related("invoice")
            .first()
        )
        if earlier is None:
            continue
        if dispute.effective_category == "pricing_error" and earlier.unit_price < line.unit_price:
            diff = _q((line.unit_price - earlier.unit_price) * line.quantity)
            credit += diff
            evidence.append(
                Evidence(
                    "line",
                    f"line {line.position} '{line.description}': {line.unit_price} now, "
                    f"{earlier.unit_price} on {earlier.invoice.number} "
                    f"({earlier.invoice.issue_date:%Y-%m-%d}); {line.quantity:g} units → {diff}",
                    diff,
                    earlier.invoice.number,
                )
            )
        elif dispute.effective_category == "quantity_mismatch":
            evidence.append(
                Evidence(
                    "line",
                    f"line {line.position} '{line.description}': {line.quantity:g} billed; "
                    f"{earlier.quantity:g} on {earlier.invoice.number}",
                    _q(line.amount),
                    earlier.invoice.number,
                )
            )
    if credit > 0:
        credit = min(credit, invoice.balance)
        return Suggestion(
            ResolutionKind.PRICE_ADJUSTMENT,
            credit,
            f"Credit {credit} {invoice.currency}: the difference to the prices this customer "
            "paid before for the same items.",
            evidence,
        )
    return _disputed_amount(dispute, invoice, evidence)


def _disputed_amount(
    dispute: Dispute, invoice: Invoice, evidence: list[Evidence] | None = None
) -> Suggestion:
    evidence = list(evidence or [])
    if dispute.amount and dispute.amount > 0:
        amount = _q(min(dispute.amount, invoice.balance))
        evidence.append(Evidence("invoice", f"disputed amount {dispute.amount}", amount))
        return Suggestion(
            ResolutionKind.CREDIT_NOTE,
            amount,
            f"Credit the disputed {amount} {invoice.currency} once the claim is verified.",
            evidence,
        )
    return Suggestion(
        ResolutionKind.DOCUMENTS_SENT,
        None,
        "Ask the customer for the amount in dispute and send the invoice with its documents.",
        evidence,
    )


def _taxes(dispute: Dispute, invoice: Invoice) -> Suggestion:
    evidence = [
        Evidence(
            "tax",
            f"line {line.position} '{line.description}': tax {line.tax}",
            _q(line.tax),
            invoice.number,
        )
        for line in invoice.lines.all()
        if line.tax
    ]
    if invoice.tax_total:
        evidence.append(Evidence("tax", f"tax total {invoice.tax_total}", _q(invoice.tax_total)))
    if dispute.amount and invoice.tax_total and dispute.amount <= invoice.tax_total:
        return Suggestion(
            ResolutionKind.CREDIT_NOTE,
            _q(dispute.amount),
            f"Credit the disputed tax/fee of {dispute.amount} {invoice.currency} if the "
            "exemption or rate is confirmed.",
            evidence,
        )
    return _disputed_amount(dispute, invoice, evidence)


def _documents(dispute: Dispute, invoice: Invoice) -> Suggestion:
    evidence = [
        Evidence("document", f"invoice {invoice.number} ({invoice.total} {invoice.currency})"),
        Evidence("document", f"{invoice.lines.count()} invoice lines"),
    ]
    if invoice.po_number:
        evidence.append(Evidence("document", f"purchase order {invoice.po_number}"))
    summary = {
        "not_received": "Send the proof of delivery and the invoice; resolve once confirmed.",
        "billing_details": "Re-send the invoice with the corrected details and documents.",
    }.get(
        dispute.effective_category,
        "Send the documents backing the invoice.",
    )
    return Suggestion(ResolutionKind.DOCUMENTS_SENT, None, summary, evidence)


RULES = {
    "duplicate_billing": _duplicates,
    "already_paid": _payments,
    "pricing_error": _prices,
    "quantity_mismatch": _prices,
    "tax_or_fees": _taxes,
    "billing_details": _documents,
    "not_received": _documents,
}


def rule_suggestion(dispute: Dispute) -> Suggestion | None:
    """The rule's suggestion for the dispute's (confirmed, else predicted) category."""
    invoice = dispute.invoice
    category = dispute.effective_category
    if invoice is None or not category:
        return None
    rule = RULES.get(category, _disputed_amount)
    return rule(dispute, invoice)


# ------------------------------------------------------------------ LLM draft
class DraftedResolution(BaseModel):
    reply: str = Field(description="the e-mail reply to the customer, plain text")
    action: Literal[
        "credit_note",
        "price_adjustment",
        "replacement",
        "documents_sent",
        "payment_applied",
        "written_off",
        "reject",
    ]
    amount: Decimal | None = Field(default=None, description="amount of the action, if any")
    rationale: str = Field(description="why, citing the evidence")


SYSTEM = (
    "You are an accounts-receivable specialist. Draft a short, courteous reply to a customer's "
    "invoice dispute and recommend one action. Use only the amounts, invoice numbers and facts "
    "in the evidence; never invent numbers; no placeholders."
)


def _prompt(dispute: Dispute, rule: Suggestion) -> str:
    invoice = dispute.invoice
    lines = "\n".join(f"- {e.kind}: {e.text}" for e in rule.evidence) or "- none"
    return (
        f"Customer: {invoice.customer.name}\nInvoice: {invoice.number}, total {invoice.total} "
        f"{invoice.currency}, balance {invoice.balance}\nCategory: {dispute.effective_category}\n"
        f"Disputed amount: {dispute.amount if dispute.amount is not None else 'not stated'}\n"
        f"Customer's message:\n{dispute.text}\n\nEvidence from the ledger:\n{lines}\n\n"
        f"Rule suggestion: {rule.action} {rule.amount or ''} — {rule.summary}"
    )


def _known_amounts(dispute: Dispute, rule: Suggestion) -> set[Decimal]:
    invoice = dispute.invoice
    amounts = {invoice.total, invoice.balance, invoice.tax_total}
    amounts |= {e.amount for e in rule.evidence if e.amount is not None}
    if rule.amount is not None:
        amounts.add(rule.amount)
    if dispute.amount is not None:
        amounts.add(dispute.amount)
    for match in re.findall(r"\d[\d,]*\.\d{2}", dispute.text):
        amounts.add(Decimal(match.replace(",", "")))
    return {_q(a) for a in amounts if a is not None}


def _validator(dispute: Dispute, rule: Suggestion):
    amounts = _known_amounts(dispute, rule)
    numbers = {dispute.invoice.number} | {e.ref for e in rule.evidence if e.ref}

    def validate(draft: DraftedResolution) -> list[str]:
        problems = unknown_facts(
            draft.reply,
            amounts=amounts,
            identifiers=numbers,
            identifier_pattern=INVOICE_NUMBER_PATTERN,
        )
        if draft.amount is not None and _q(draft.amount) not in amounts:
            problems.append(f"recommended amount {draft.amount} is not in the evidence")
        if draft.amount is not None and draft.amount > dispute.invoice.balance:
            problems.append(f"recommended amount {draft.amount} exceeds the balance")
        return problems

    return validate


def suggest(dispute: Dispute, *, timeout_s: float | None = None) -> dict[str, Any]:
    """The stored suggestion: the rule's, plus the LLM's draft when it passes validation."""
    rule = rule_suggestion(dispute)
    if rule is None:
        return {}
    result: dict[str, Any] = {"rule": rule.as_json(), "source": "rules"}
    outcome = llm_structured(
        schema=DraftedResolution,
        system=SYSTEM,
        prompt=_prompt(dispute, rule),
        validate=_validator(dispute, rule),
        timeout_s=timeout_s,
    )
    result["fallback_reason"] = outcome.fallback_reason
    result["llm_model"] = outcome.model
    if outcome.value is not None:
        draft = outcome.value
        result["source"] = "llm"
        result["draft"] = {
            "reply": draft.reply,
            "action": draft.action,
            "amount": str(_q(draft.amount)) if draft.amount is not None else None,
            "rationale": draft.rationale,
        }
    return result
