"""Dunning: policies with steps, reminders (one per customer and step), delivery events,
promises to pay.

Exactly-once sending rests on two database rules, not on code paths: a reminder is unique
per (customer, step, planning day) and every invoice is listed at most once per step
(``ReminderItem`` unique on invoice + step key), and the status only moves forward
(draft → approved → sending → sent | failed, or cancelled / rejected). A row found in
``sending`` is never re-sent blindly: it is flagged ``delivery_unknown`` for a person.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from invoices.models import MONEY, Customer, Invoice, ReminderChannel
from paypredict_project.tenancy.models import Organization


class Tone(models.TextChoices):
    FRIENDLY = "friendly", "Friendly"
    FIRM = "firm", "Firm"
    FINAL = "final", "Final notice"


# Escalation order: a high-risk variant moves a step's tone one to the right.
TONE_ORDER = [Tone.FRIENDLY, Tone.FIRM, Tone.FINAL]


class DunningPolicy(models.Model):
    """The organization's default policy (customer empty) or one customer's own policy."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    customer = models.OneToOneField(
        Customer,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="dunning_policy",
    )
    name = models.CharField(max_length=120, default="Default dunning policy")
    sender_name = models.CharField(max_length=120, blank=True, default="")
    reply_to = models.EmailField(blank=True, default="")
    payment_instructions = models.TextField(blank=True, default="")
    # Share of customers randomly left out of a (non-final) step to measure its effect.
    holdout_share = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.000"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("0.5"))],
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "dunning policies"
        constraints = [
            models.UniqueConstraint(
                fields=["organization"],
                condition=Q(customer__isnull=True),
                name="dunning_policy_one_default_per_org",
            ),
            models.CheckConstraint(
                condition=Q(holdout_share__gte=0) & Q(holdout_share__lte=Decimal("0.5")),
                name="dunning_policy_holdout_share_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class DunningStep(models.Model):
    policy = models.ForeignKey(DunningPolicy, on_delete=models.CASCADE, related_name="steps")
    # Stable identity of the step ("d+7"): reminders and items refer to it, so editing a
    # step's wording never lets an invoice be chased twice for "the same" step.
    key = models.CharField(max_length=16)
    name = models.CharField(max_length=80)
    offset_days = models.SmallIntegerField(help_text="days relative to the due date")
    tone = models.CharField(max_length=16, choices=Tone.choices, default=Tone.FRIENDLY)
    channel = models.CharField(
        max_length=16, choices=ReminderChannel.choices, default=ReminderChannel.EMAIL
    )
    requires_approval = models.BooleanField(default=True)
    # Risk variants: high-risk customers earlier and firmer, low-risk later and lighter.
    high_risk_shift_days = models.SmallIntegerField(default=0)
    high_risk_tone = models.CharField(max_length=16, choices=Tone.choices, blank=True, default="")
    low_risk_shift_days = models.SmallIntegerField(default=0)
    low_risk_tone = models.CharField(max_length=16, choices=Tone.choices, blank=True, default="")

    class Meta:
        ordering = ["policy", "offset_days"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "key"], name="dunning_step_unique_key"),
            models.UniqueConstraint(
                fields=["policy", "offset_days"], name="dunning_step_unique_offset"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.key})"

    @property
    def is_final(self) -> bool:
        return self.tone == Tone.FINAL


class ReminderStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    APPROVED = "approved", "Approved"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    REJECTED = "rejected", "Rejected"
    # Planned but deliberately not sent: the control group of the holdout measurement.
    HOLDOUT = "holdout", "Holdout (not sent)"


# Reminders that may still be changed or sent.
PENDING_STATUSES = (ReminderStatus.DRAFT, ReminderStatus.APPROVED)


class Drafter(models.TextChoices):
    LLM = "llm", "LLM"
    OFFLINE = "offline", "Built-in templates"


class Reminder(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="reminders")
    step = models.ForeignKey(DunningStep, on_delete=models.PROTECT, related_name="reminders")
    step_key = models.CharField(max_length=16)
    planned_on = models.DateField()
    risk_level = models.CharField(max_length=8, blank=True, default="")
    tone = models.CharField(max_length=16, choices=Tone.choices)
    language = models.CharField(max_length=8, default="en")
    channel = models.CharField(max_length=16, choices=ReminderChannel.choices)
    to_email = models.CharField(max_length=200)
    auto_send = models.BooleanField(default=False)
    status = models.CharField(
        max_length=16, choices=ReminderStatus.choices, default=ReminderStatus.DRAFT
    )
    # Crash while sending: the provider may or may not have accepted it. A person decides.
    delivery_unknown = models.BooleanField(default=False)
    subject = models.CharField(max_length=300)
    body_text = models.TextField()
    body_html = models.TextField(blank=True, default="")
    drafter = models.CharField(max_length=8, choices=Drafter.choices)
    fallback_reason = models.CharField(max_length=500, blank=True, default="")
    llm_model = models.CharField(max_length=120, blank=True, default="")
    edited = models.BooleanField(default=False)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    sending_started_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=300, blank=True, default="")
    last_error = models.CharField(max_length=500, blank=True, default="")
    delivery_status = models.CharField(max_length=32, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-planned_on", "customer__name", "step__offset_days", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "step_key", "planned_on"],
                name="reminder_unique_customer_step_day",
            ),
            models.CheckConstraint(
                condition=Q(status__in=ReminderStatus.values), name="reminder_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status=ReminderStatus.SENT) | Q(sent_at__isnull=False),
                name="reminder_sent_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "status", "planned_on"]),
            models.Index(fields=["organization", "customer"]),
            models.Index(fields=["message_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.customer} {self.step_key} {self.planned_on} ({self.status})"


class ReminderItem(models.Model):
    """One invoice listed in a reminder, with the figures it was listed with."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    reminder = models.ForeignKey(Reminder, on_delete=models.CASCADE, related_name="items")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="reminder_items")
    step_key = models.CharField(max_length=16)
    # The step's order in its policy: planning never goes back to an earlier step.
    step_offset = models.SmallIntegerField()
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    due_date = models.DateField()
    # Dropped before sending: the invoice was paid, voided or disputed in the meantime.
    dropped = models.BooleanField(default=False)
    paid_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["due_date", "id"]
        constraints = [
            # The heart of "never twice for the same step": one row per invoice and step.
            models.UniqueConstraint(
                fields=["invoice", "step_key"], name="reminder_item_unique_invoice_step"
            )
        ]
        indexes = [models.Index(fields=["organization", "invoice"])]

    def __str__(self) -> str:
        return f"{self.invoice_id} in {self.reminder_id}"


class ReminderEvent(models.Model):
    """Delivery events (queued, sent, delivered, bounced...) from the send path or webhooks."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    reminder = models.ForeignKey(Reminder, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=32)
    provider = models.CharField(max_length=40, blank=True, default="")
    # The provider's event id: a retried webhook is recorded once.
    event_id = models.CharField(max_length=200, blank=True, default="")
    detail = models.CharField(max_length=500, blank=True, default="")
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "event_id"],
                condition=~Q(event_id=""),
                name="reminder_event_unique_provider_id",
            )
        ]

    def __str__(self) -> str:
        return f"{self.reminder_id} {self.kind}"


class PromiseStatus(models.TextChoices):
    OPEN = "open", "Open"
    KEPT = "kept", "Kept"
    BROKEN = "broken", "Broken"
    CANCELLED = "cancelled", "Cancelled"


class PromiseToPay(models.Model):
    """A customer's promise to pay an invoice (or all its open invoices) by a date."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="promises")
    # Empty: the promise covers every open invoice of the customer.
    invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.CASCADE, related_name="promises"
    )
    promised_date = models.DateField()
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    # The invoice's balance when the promise was made: kept means it fell by ``amount``.
    balance_at_promise = models.DecimalField(**MONEY, null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=PromiseStatus.choices, default=PromiseStatus.OPEN
    )
    note = models.CharField(max_length=500, blank=True, default="")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_on = models.DateField(null=True, blank=True)
    # A broken promise escalates once: the next planning run goes one step further.
    escalated = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-promised_date", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="promise_amount_positive"),
            models.CheckConstraint(
                condition=Q(status__in=PromiseStatus.values), name="promise_status_valid"
            ),
        ]
        indexes = [models.Index(fields=["organization", "status", "promised_date"])]

    def __str__(self) -> str:
        return f"{self.customer} promises {self.amount} {self.currency} by {self.promised_date}"
