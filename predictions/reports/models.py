"""Scheduled reports: an admin's standing order for a report by e-mail, and each run of it."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from paypredict_project.tenancy.models import Organization


class Frequency(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"


class ReportSchedule(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    report = models.CharField(max_length=32)  # a slug of predictions.reports.catalog.REPORTS
    params = models.JSONField(default=dict, blank=True)  # the report's query parameters
    frequency = models.CharField(max_length=8, choices=Frequency.choices)
    # Local time of the organization; weekday 0 = Monday (weekly only).
    hour = models.PositiveSmallIntegerField(validators=[MaxValueValidator(23)])
    weekday = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(6)]
    )
    recipients = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    active = models.BooleanField(default=True)
    next_run_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["report", "id"]
        # The beat pass reads the due schedules of every organization by this index.
        indexes = [models.Index(fields=["active", "next_run_at"])]

    def __str__(self) -> str:
        return f"{self.report} {self.frequency} at {self.hour:02d}:00"


class RunStatus(models.TextChoices):
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class ReportRun(models.Model):
    schedule = models.ForeignKey(ReportSchedule, on_delete=models.CASCADE, related_name="runs")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    due_at = models.DateTimeField()
    ran_at = models.DateTimeField()
    status = models.CharField(max_length=8, choices=RunStatus.choices)
    recipients = models.JSONField(default=list)
    rows = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-ran_at", "-id"]

    def __str__(self) -> str:
        return f"{self.schedule} {self.status} at {self.ran_at:%Y-%m-%d %H:%M}"
