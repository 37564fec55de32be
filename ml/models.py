"""Model registry rows: one per trained model version, with its metrics and artifact.

A version is born a ``candidate``; ``ml.registry.promote_if_better`` makes it ``active``
(retiring the previous active one) only when it beats the active version on the holdout.
The partial unique constraint makes "one active model per organization and kind" a
database guarantee, not a convention.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from paypredict_project.tenancy.models import Organization


class ModelKind(models.TextChoices):
    PAYMENT = "payment", "Payment time"
    DISPUTE = "dispute", "Dispute classifier"
    PAYMENT_RISK = "payment_risk", "Payment risk"


class ModelStatus(models.TextChoices):
    CANDIDATE = "candidate", "Candidate"
    ACTIVE = "active", "Active"
    RETIRED = "retired", "Retired"


class ModelVersion(models.Model):
    # Null for a shared base model (the dispute classifier trained on the starter corpus),
    # active for every organization without a version of its own.
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="model_versions",
        null=True,
        blank=True,
    )
    kind = models.CharField(max_length=16, choices=ModelKind.choices, default=ModelKind.PAYMENT)
    # "2026.11.26-1": the training day, then a counter within that day.
    version = models.CharField(max_length=32)
    trained_at = models.DateTimeField()
    # {"train": n, "test": n, "production": n}
    rows = models.JSONField(default=dict)
    feature_list = models.JSONField(default=list)
    # {"model": {...}, "baselines": {...}, "calibration": [...], "split": {...}}
    metrics = models.JSONField(default=dict)
    params = models.JSONField(default=dict)
    # Relative to settings.MODEL_DIR, so the folder can move between machines.
    artifact_path = models.CharField(max_length=500)
    sha256 = models.CharField(max_length=64)
    status = models.CharField(
        max_length=16, choices=ModelStatus.choices, default=ModelStatus.CANDIDATE
    )
    # {"decision": "promoted"|"rejected", "reason": str, "candidate": {...}, "active": {...}}
    promotion = models.JSONField(default=dict, blank=True)
    promoted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-trained_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "kind", "version"], name="model_version_unique"
            ),
            models.UniqueConstraint(
                fields=["organization", "kind"],
                condition=Q(status="active"),
                name="model_version_one_active",
            ),
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(status="active", organization__isnull=True),
                name="model_version_one_active_shared",
            ),
        ]
        indexes = [models.Index(fields=["organization", "kind", "status"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.version} ({self.status})"
