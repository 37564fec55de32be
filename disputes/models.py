"""Disputes (F30, F34): a customer's objection to an invoice, its classification, workflow
and resolution.

A dispute may arrive before anyone knows its invoice (an inbound e-mail naming none), so
``invoice`` and ``customer`` are nullable; a collector links it later. At most one dispute
per invoice is open or in review at a time: a partial unique constraint, not a convention.
Every change is written by ``disputes.services`` and recorded as a ``DisputeEvent``.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from invoices.models import MONEY, Customer, Invoice
from ml.dispute_labels import DISPUTE_LABELS, LABEL_NAMES
from paypredict_project.tenancy.models import Organization, currency_validator

CATEGORY_CHOICES = [(label, LABEL_NAMES[label]) for label in DISPUTE_LABELS]


class DisputeStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_REVIEW = "in_review", "In review"
    RESOLVED = "resolved", "Resolved"
    REJECTED = "rejected", "Rejected"


ACTIVE_STATUSES = (DisputeStatus.OPEN, DisputeStatus.IN_REVIEW)
# The model_version recorded when the TF-IDF baseline classified (no BERT model trained yet).
BASELINE_VERSION = "tfidf-baseline"


class DisputeChannel(models.TextChoices):
    DASHBOARD = "dashboard", "Dashboard"
    API = "api", "API"
    EMAIL = "email", "E-mail"
    DEMO = "demo", "Demo data"


class ResolutionKind(models.TextChoices):
    CREDIT_NOTE = "credit_note", "Credit note"
    PRICE_ADJUSTMENT = "price_adjustment", "Price adjustment"
    REPLACEMENT = "replacement", "Replacement"
    DOCUMENTS_SENT = "documents_sent", "Documents sent"
    PAYMENT_APPLIED = "payment_applied", "Payment applied"
    WRITTEN_OFF = "written_off", "Written off"


class Dispute(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="disputes"
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="disputes"
    )
    channel = models.CharField(max_length=16, choices=DisputeChannel.choices)
    subject = models.CharField(max_length=255, blank=True, default="")
    sender = models.CharField(max_length=255, blank=True, default="")
    text = models.TextField()
    amount = models.DecimalField(**MONEY, null=True, blank=True)
    currency = models.CharField(
        max_length=3, blank=True, default="", validators=[currency_validator]
    )

    # The classifier's answer; empty until the Celery task has run.
    predicted_category = models.CharField(
        max_length=32, blank=True, default="", choices=CATEGORY_CHOICES
    )
    confidence = models.FloatField(null=True, blank=True)
    # [{"label": str, "p": float}, ...] best first
    top3 = models.JSONField(default=list, blank=True)
    model_version = models.CharField(max_length=64, blank=True, default="")
    classified_at = models.DateTimeField(null=True, blank=True)
    needs_review = models.BooleanField(default=True)
    # Staff's word on the category; the learning loop trains on these.
    category = models.CharField(max_length=32, blank=True, default="", choices=CATEGORY_CHOICES)
    category_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    category_confirmed_at = models.DateTimeField(null=True, blank=True)

    status = models.CharField(
        max_length=16, choices=DisputeStatus.choices, default=DisputeStatus.OPEN
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolution = models.CharField(
        max_length=24, blank=True, default="", choices=ResolutionKind.choices
    )
    resolution_amount = models.DecimalField(**MONEY, null=True, blank=True)
    resolution_note = models.TextField(blank=True, default="")
    rejection_reason = models.TextField(blank=True, default="")
    opened_at = models.DateTimeField()
    sla_due_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # The LLM's (or the rules') last suggestion: {"source", "fallback_reason", "reply", ...}
    suggestion = models.JSONField(default=dict, blank=True)
    # Demo data only: the category the generator meant. Ground truth for evaluation,
    # never training data.
    demo_category = models.CharField(max_length=32, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(status__in=["open", "in_review"]),
                name="dispute_one_active_per_invoice",
            ),
            models.CheckConstraint(
                condition=Q(status__in=DisputeStatus.values), name="dispute_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gte=0),
                name="dispute_amount_non_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "status", "sla_due_at"]),
            models.Index(fields=["organization", "-opened_at"]),
        ]

    def __str__(self) -> str:
        return f"dispute {self.code}"

    @property
    def effective_category(self) -> str:
        return self.category or self.predicted_category

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class DisputeEvent(models.Model):
    """The dispute's own audit trail, shown on its page (who did what, when)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=255, blank=True, default="")
    action = models.CharField(max_length=32)
    detail = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.action} on {self.dispute_id}"


class DisputeSlaPolicy(models.Model):
    """Hours to resolve a dispute of one category, per organization (defaults otherwise)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    category = models.CharField(max_length=32, choices=CATEGORY_CHOICES)
    hours = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "category"], name="dispute_sla_unique")
        ]

    def __str__(self) -> str:
        return f"{self.category}: {self.hours} h"
