"""Realistic dispute notes for demo invoices, one per disputed invoice.

Categories are the ten the dispute classifier (F31) predicts. Each note is filled from the
invoice itself (number, PO, a product on it, its quantity and price), so the text agrees with
the ledger it is attached to, and phrasing varies (greetings, tone, sign-offs) so a classifier
cannot learn the template instead of the meaning.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CATEGORIES = (
    "pricing_error",
    "quantity_mismatch",
    "damaged_or_defective",
    "not_received",
    "duplicate_billing",
    "already_paid",
    "tax_or_fees",
    "terms_or_discount",
    "late_delivery",
    "billing_details",
)
CATEGORY_WEIGHTS = (0.16, 0.14, 0.12, 0.09, 0.07, 0.10, 0.07, 0.09, 0.08, 0.08)
# Categories where the customer disputes part of the amount and may short-pay the rest.
PARTIAL_CATEGORIES = frozenset(
    {"pricing_error", "quantity_mismatch", "damaged_or_defective", "tax_or_fees",
     "terms_or_discount"}
)  # fmt: skip

TEMPLATES: dict[str, tuple[str, ...]] = {
    "pricing_error": (
        "Invoice {number} bills {product} at {unit_price} per unit, but our contract price is "
        "{contract_price}. Please send a corrected invoice; we will not approve {diff} extra.",
        "The unit price on line {line} ({product}) is wrong. Quote {quote} says {contract_price}, "
        "you charged {unit_price}. Difference is {diff} on {qty} units.",
        "We were overcharged on {number}: {qty} x {product} should be {contract_price} each as "
        "agreed on {po}. Please credit {diff}.",
        "Pricing on {number} doesn't match our agreement. {product} went up from "
        "{contract_price} to {unit_price} without notice. We can pay at the old price only.",
        "Your invoice uses list price for {product}. We have a negotiated discount; the correct "
        "price is {contract_price}/unit. Holding {diff} until a credit memo is issued.",
        "Price discrepancy on invoice {number}, line {line}: billed {unit_price}, PO price "
        "{contract_price}. Total overbilling {diff}.",
        "hi, the price for {product} on {number} is higher than what sales quoted us "
        "({contract_price}). can you fix and resend?",
    ),
    "quantity_mismatch": (
        "Invoice {number} charges for {qty} x {product} but we only received {got}. Please "
        "adjust the invoice by {diff}.",
        "Quantity billed does not match the packing slip: {qty} invoiced, {got} delivered "
        "({product}). We will pay for what we received.",
        "Our receiving report for {po} shows {got} units of {product}; you billed {qty}. "
        "Short shipment of {short} units, please credit {diff}.",
        "We counted {got} {product} on the pallet, not {qty}. Invoice {number} needs to be "
        "corrected before we can process it.",
        "Three-way match failed on {number}: {po} and goods receipt say {got}, invoice says "
        "{qty} for line {line}.",
        "Partial delivery only. {short} of the {qty} units of {product} are still back-ordered "
        "but were already invoiced on {number}.",
    ),
    "damaged_or_defective": (
        "{short} of the {qty} {product} delivered under {number} arrived damaged. Photos "
        "attached. We are rejecting those units and deducting {diff}.",
        "The {product} shipped on {po} is defective: {short} units failed incoming "
        "inspection. Please arrange a return and credit {diff}.",
        "Goods received with broken packaging and visible damage ({product}, {short} units). "
        "We filed a claim and will not pay for the damaged items on invoice {number}.",
        "Quality issue: {product} does not meet the drawing tolerances. {short} pieces scrapped. "
        "Requesting an RMA and credit against {number}.",
        "Several units of {product} stopped working within a week of installation. We are "
        "withholding {diff} on {number} until replacements arrive.",
        "damaged on arrival - {short} x {product}. please credit or replace, invoice {number}",
    ),
    "not_received": (
        "We have no record of receiving the goods on invoice {number}. Please send proof of "
        "delivery before we pay {total}.",
        "Nothing under {po} has arrived yet, but we already have invoice {number}. The "
        "carrier tracking shows no delivery.",
        "The shipment for {number} ({product}) never reached our warehouse. Can you check "
        "with the freight company?",
        "Invoice {number} is for a service visit that did not take place. Our site log shows "
        "no technician on {issue_date}.",
        "We cannot pay {number}: the order was never delivered. Please provide a signed POD.",
        "Still waiting on the {product} from {po}. Why are we being invoiced for it?",
    ),
    "duplicate_billing": (
        "Invoice {number} appears to be a duplicate of {other_number}, same {po}, same "
        "items and amount {total}. Please cancel one of them.",
        "We have been billed twice for the same delivery of {product}. {number} and "
        "{other_number} are identical.",
        "Duplicate invoice: {number} repeats the charges already billed on {other_number}. "
        "We paid that one. Please void {number}.",
        "This looks like a double billing. Our AP system flagged {number} as a duplicate of "
        "{other_number} ({total}).",
        "You sent two invoices for {po}. We will only pay one; please withdraw {number}.",
    ),
    "already_paid": (
        "Invoice {number} was paid on {claim_date} by {method} (reference {ref}). Please check "
        "your records and apply the payment.",
        "We already settled {number} for {total} on {claim_date}. Remittance advice attached.",
        "Our records show this invoice was paid in full. Payment ref {ref}, {claim_date}. "
        "Please stop sending reminders for {number}.",
        "Paid! {total} went out on {claim_date}, ref {ref}. Maybe it was applied to the wrong "
        "invoice?",
        "The amount on {number} was included in our payment of {claim_date} covering several "
        "invoices (ref {ref}). Please reconcile.",
    ),
    # tax_or_fees has three kinds of note, picked to match what the invoice charged:
    # sales tax (US/Canada), VAT (Europe) or a fee when no tax was charged.
    "tax_or_fees:sales_tax": (
        "We are tax exempt and sent our exemption certificate in {cert_year}. Invoice {number} "
        "charges {diff} sales tax; please reissue without tax.",
        "Incorrect tax rate applied on {number}. Our delivery address is in a different "
        "jurisdiction; the tax should not be {diff}.",
        "Sales tax of {diff} on {number} is wrong: these parts are for resale and our resale "
        "certificate is on file.",
        "Please remove the tax ({diff}) from invoice {number}. We are a manufacturer and the "
        "purchase is exempt.",
    ),
    "tax_or_fees:vat": (
        "VAT was charged on {number}, but this is a cross-border B2B supply under reverse "
        "charge. Please reissue without the {diff} VAT.",
        "Invoice {number} shows {diff} VAT although our VAT number is on the order. Reverse "
        "charge applies; please correct.",
        "Wrong VAT treatment on {number}: {diff} charged, should be zero-rated for export.",
        "The VAT amount ({diff}) on {number} does not match the rate for this supply.",
    ),
    "tax_or_fees:fee": (
        "The {fee} of {diff} on {number} was not part of our agreement. Please remove it.",
        "Why is there a {fee} on this invoice? Shipping was supposed to be included. "
        "Disputing {diff} on {number}.",
        "Unexpected surcharge ({fee}, {diff}) on invoice {number}. Not on the quote, not approved.",
        "We do not accept the {fee} ({diff}) added to {number}. Our contract is all-inclusive.",
    ),
    "terms_or_discount": (
        "Our terms are net {alt_terms}, not net {terms}. Invoice {number} shows the wrong due "
        "date; we will pay on the agreed schedule.",
        "We paid within 10 days and are entitled to the 2% early-payment discount ({diff}). "
        "Please credit the difference on {number}.",
        "The volume rebate agreed for this quarter ({diff}) is missing from {number}.",
        "Invoice {number} does not reflect the {pct}% discount in our master agreement.",
        "Payment terms on {number} were changed without our consent. Contract says net "
        "{alt_terms}.",
        "Please apply the promotional discount from the {promo} promotion, {diff} is missing "
        "on {number}.",
    ),
    "late_delivery": (
        "The order on {number} arrived {days} days late and our production line stood still. "
        "We are claiming the late-delivery penalty before paying.",
        "Delivery of {product} was due on {promised_date} and came {days} days later. Per our "
        "contract, late shipments are subject to a penalty.",
        "Because {product} was delivered late we had to source elsewhere. We are disputing "
        "invoice {number} until this is discussed.",
        "{po} specified delivery by {promised_date}. Goods arrived {days} days late. "
        "Requesting a price concession on {number}.",
        "Late again. {product} arrived {days} days after the promised date. Escalating "
        "invoice {number} to purchasing.",
    ),
    "billing_details": (
        "Invoice {number} is missing our PO number. Our AP team cannot process invoices "
        "without a valid PO; please reissue with {po}.",
        "The invoice is addressed to the wrong legal entity. Please reissue {number} to "
        "{customer} with our VAT/tax ID.",
        "Wrong billing address on {number}. Please send a corrected invoice to our AP department.",
        "We need the invoice to reference our cost centre and the contract number. {number} "
        "was rejected by our system.",
        "Bank details on invoice {number} differ from those on file. We will not pay until "
        "this is confirmed by phone.",
        "The invoice was sent to a person who left the company. Please resend {number} to "
        "ap@ and include the PO.",
    ),
}
GREETINGS = ("", "", "", "Hello, ", "Hi team, ", "Dear Accounts Receivable, ", "Good morning, ")
SIGN_OFFS = (
    "",
    "",
    "",
    " Thanks.",
    " Regards, Accounts Payable.",
    " Please advise.",
    " Thank you for your prompt attention.",
    " Kind regards.",
)
FEES = ("fuel surcharge", "handling fee", "small-order fee", "freight charge", "pallet fee")
PROMOS = ("spring", "year-end", "loyalty", "new-product")


@dataclass(frozen=True)
class DisputeFacts:
    """What a note may cite, taken from the invoice it disputes."""

    category: str
    number: str
    other_number: str
    po: str
    customer: str
    product: str
    line: int
    qty: int
    short: int
    unit_price: str
    contract_price: str
    diff: str
    total: str
    issue_date: str
    promised_date: str
    claim_date: str
    method: str
    ref: str
    terms: int
    alt_terms: int
    days: int
    tax_kind: str = "fee"  # sales_tax | vat | fee, for tax_or_fees notes


def render_note(facts: DisputeFacts, rng: np.random.Generator) -> str:
    key = facts.category
    if key == "tax_or_fees":
        key = f"{key}:{facts.tax_kind}"
    templates = TEMPLATES[key]
    template = templates[int(rng.integers(len(templates)))]
    text = template.format(
        **facts.__dict__,
        got=facts.qty - facts.short,
        quote=f"Q-{int(rng.integers(10000, 99999))}",
        cert_year=int(facts.issue_date[:4]) - int(rng.integers(1, 4)),
        fee=FEES[int(rng.integers(len(FEES)))],
        pct=int(rng.choice((2, 3, 5, 8))),
        promo=PROMOS[int(rng.integers(len(PROMOS)))],
    )
    greeting = GREETINGS[int(rng.integers(len(GREETINGS)))]
    if greeting:
        text = text[0].lower() + text[1:] if text[:2].isalpha() and text[1].islower() else text
    return greeting + text + SIGN_OFFS[int(rng.integers(len(SIGN_OFFS)))]
