"""Stored payment risk: one row per scored payment, and each organization's threshold.

The ledger's Payment knows nothing of this: the row points at the payment (the reverse
accessor ``payment.risk`` exists for joins only).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from invoices.models import Payment
from ml.models import ModelVersion
from paypredict_project.tenancy.models import Organization

DEFAULT_THRESHOLD = 0.5


class ReviewStatus(models.TextChoices):
    NONE = "", "Not reviewed"
    FINE = "reviewed_fine", "Reviewed: fine"
    PROBLEM = "confirmed_problem", "Confirmed problem"


class PaymentRisk(models.Model):
    # Public id (API cursors and the review URL never carry a database key).
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    payment = models.OneToOneField(Payment, on_delete=models.CASCADE, related_name="risk")
    score = models.FloatField(validators=[MinValueValidator(0.0), MaxValueValidator(1.0)])
    flagged = models.BooleanField(default=False)
    # [{"code": "new_currency", "text": "A currency this customer has never paid in",
    #   "weight": 0.71}], strongest first; empty when nothing stood out.
    reasons = models.JSONField(default=list, blank=True)
    # The feature values the score came from (point in time), for the payment page.
    features = models.JSONField(default=dict, blank=True)
    model_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    scored_at = models.DateTimeField()
    # A collector's verdict; kept across rescoring and used as labels by the evaluation.
    review_status = models.CharField(
        max_length=20, choices=ReviewStatus.choices, blank=True, default=ReviewStatus.NONE
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The flagged filter, the report and the "flagged" count on the payments page.
            models.Index(fields=["organization", "flagged", "score"], name="payment_risk_flag_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(score__gte=0) & models.Q(score__lte=1),
                name="payment_risk_score_range",
            ),
        ]

    def __str__(self) -> str:
        return f"risk {self.score:.2f} for payment {self.payment_id}"


class PaymentRiskSettings(models.Model):
    """Per-organization threshold (admin-editable in Django admin and the API)."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="payment_risk_settings"
    )
    threshold = models.FloatField(
        default=DEFAULT_THRESHOLD,
        validators=[MinValueValidator(0.01), MaxValueValidator(0.99)],
        help_text="Payments scoring at or above this are flagged (0.5 flags about 1.5% of "
        "the history the model was trained on).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "payment risk settings"

    def __str__(self) -> str:
        return f"payment risk threshold {self.threshold} ({self.organization_id})"
