"""Predictions, customer risk and collections forecasts, all scoped to an Organization.

``Prediction`` holds the one current prediction per invoice (rewritten in place by the
scoring job, so the worklist joins it with a plain ``select_related('prediction')``);
``PredictionHistory`` keeps every scoring that changed it, for "predictions over time".
Customer risk likewise has a current row (``CustomerRisk``) and daily snapshots.
The ledger never imports this module: it reaches these rows only through the reverse
relation names (``invoice.prediction``, ``customer.risk``).
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from invoices.models import Customer, Invoice
from paypredict_project.tenancy.models import Organization

UNIT = [MinValueValidator(0.0), MaxValueValidator(1.0)]


class RiskLevel(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class RiskThresholds(models.Model):
    """Per-organization cut-offs, editable by an admin.

    An invoice's level is graded on its probability of being AT RISK: not paid within 30
    days after its due date (once past due: not paid within the next 30 days). High when
    that probability is at least ``high_at_risk``, medium from ``medium_at_risk``, low
    otherwise. The defaults make High a short list a collector can work in a week
    (docs/predictions.md has the measured shares). Customers are graded on their 0-100 score.
    """

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="risk_thresholds"
    )
    high_at_risk = models.FloatField(default=0.5, validators=UNIT)
    medium_at_risk = models.FloatField(default=0.2, validators=UNIT)
    customer_high_score = models.FloatField(
        default=60.0, validators=[MinValueValidator(0.0), MaxValueValidator(100.0)]
    )
    customer_medium_score = models.FloatField(
        default=30.0, validators=[MinValueValidator(0.0), MaxValueValidator(100.0)]
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "risk thresholds"
        constraints = [
            models.CheckConstraint(
                condition=Q(medium_at_risk__gte=0) & Q(high_at_risk__lte=1),
                name="risk_thresholds_at_risk_in_unit_range",
            ),
            models.CheckConstraint(
                condition=Q(medium_at_risk__lte=F("high_at_risk")),
                name="risk_thresholds_medium_at_risk_below_high",
            ),
            models.CheckConstraint(
                condition=Q(customer_medium_score__lte=F("customer_high_score")),
                name="risk_thresholds_customer_medium_below_high",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization}: high>={self.high_at_risk}, medium>={self.medium_at_risk}"

    def level_for_score(self, score: float) -> str:
        if score >= self.customer_high_score:
            return RiskLevel.HIGH
        if score >= self.customer_medium_score:
            return RiskLevel.MEDIUM
        return RiskLevel.LOW


class PredictionFields(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    model_version = models.ForeignKey("ml.ModelVersion", on_delete=models.PROTECT, related_name="+")
    scored_at = models.DateTimeField()
    # The day the features were computed for (the invoice's age is counted to it).
    as_of = models.DateField()
    p_paid_by_due = models.FloatField(validators=UNIT)
    p_paid_30 = models.FloatField(validators=UNIT)
    p_paid_60 = models.FloatField(validators=UNIT)
    p_paid_90 = models.FloatField(validators=UNIT)
    expected_date = models.DateField()
    lower_date = models.DateField()
    upper_date = models.DateField()
    # "Likely late": P(paid after the due date); 1 once the invoice is past due unpaid.
    p_late = models.FloatField(default=0.0, validators=UNIT)
    # "At risk": P(not paid within 30 days after due; once past due, within the next 30
    # days). The risk level is graded on it.
    risk_probability = models.FloatField(validators=UNIT)
    risk_level = models.CharField(max_length=8, choices=RiskLevel.choices)
    # Expected money at risk: open balance x risk_probability, in the base currency.
    money_at_risk = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0.00"))

    class Meta:
        abstract = True


class Prediction(PredictionFields):
    # The composite (organization, ...) indexes below serve organization lookups; a separate
    # FK index would only slow down the million-row nightly upsert.
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    invoice = models.OneToOneField(Invoice, on_delete=models.CASCADE, related_name="prediction")
    # [{"feature", "text", "direction": "later"|"earlier", "impact": float}], strongest first.
    factors = models.JSONField(default=list, blank=True)
    # Fingerprint of the model inputs; the nightly run skips rows whose fingerprint and
    # model version are unchanged (HOUSE_STYLE #26).
    inputs_hash = models.BigIntegerField(default=0)

    class Meta:
        indexes = [
            # Worklist risk filter and the "high risk over a threshold" report.
            models.Index(fields=["organization", "risk_level"]),
            models.Index(fields=["organization", "expected_date"]),
            models.Index(fields=["organization", "-money_at_risk"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(lower_date__lte=F("expected_date"))
                & Q(expected_date__lte=F("upper_date")),
                name="prediction_interval_ordered",
            ),
            models.CheckConstraint(
                condition=Q(risk_level__in=RiskLevel.values), name="prediction_risk_level_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id}: {self.risk_level} ({self.p_paid_by_due:.2f})"


class PredictionHistory(PredictionFields):
    invoice = models.ForeignKey(
        Invoice, on_delete=models.CASCADE, related_name="prediction_history"
    )

    class Meta:
        verbose_name_plural = "prediction history"
        indexes = [models.Index(fields=["invoice", "-scored_at"])]

    def __str__(self) -> str:
        return f"{self.invoice_id} @ {self.scored_at:%Y-%m-%d}: {self.risk_level}"


class CustomerRiskFields(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField(validators=[MinValueValidator(0.0), MaxValueValidator(100.0)])
    level = models.CharField(max_length=8, choices=RiskLevel.choices)
    # [{"text", "weight"}]: plain-word reasons, strongest first.
    drivers = models.JSONField(default=list, blank=True)
    open_balance = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0.00"))

    class Meta:
        abstract = True


class CustomerRisk(CustomerRiskFields):
    """The customer's current risk (rewritten by every risk run)."""

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="risk")
    as_of = models.DateField()
    computed_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["organization", "level"])]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.score:.0f} ({self.level})"


class CustomerRiskSnapshot(CustomerRiskFields):
    """One row per customer per day: the trend line on the customer profile."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="risk_snapshots")
    date = models.DateField()

    class Meta:
        ordering = ["customer", "date"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "date"], name="risk_snapshot_unique_day")
        ]
        indexes = [models.Index(fields=["organization", "date"])]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.date}: {self.score:.0f}"


class ForecastSnapshot(models.Model):
    """The 13-week collections forecast as computed on ``as_of`` (one per org per day)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    as_of = models.DateField()
    computed_at = models.DateTimeField()
    model_version = models.ForeignKey("ml.ModelVersion", on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3)
    # [{"week", "start", "end", "expected", "lower", "upper"}] in ``currency``.
    weeks = models.JSONField(default=list)
    open_invoices = models.PositiveIntegerField(default=0)
    open_balance = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0.00"))
    # Open balances left out, e.g. currencies without an exchange rate: {"USD->EUR": "123.00"}.
    excluded = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "as_of"], name="forecast_snapshot_unique_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} forecast {self.as_of}"


class ForecastBacktest(models.Model):
    """A stored backtest run: forecasts made at past origins against actual collections."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    currency = models.CharField(max_length=3)
    # How the model behind each origin was obtained (honesty about leakage).
    model_policy = models.CharField(max_length=200)
    origins = models.PositiveSmallIntegerField()
    wape_model = models.FloatField(null=True)
    wape_due_date = models.FloatField(null=True)
    wape_customer_delay = models.FloatField(null=True)
    # Share of (origin, week) cells inside the Bernoulli 80% band; and, out of sample, inside
    # the band widened by the ratios of the earlier half of the origins (later half tested).
    coverage_80 = models.FloatField(null=True)
    coverage_80_widened = models.FloatField(null=True)
    # [{"origin", "weeks": [{"week", "actual", "model", "lower", "upper", "due_date",
    #   "customer_delay"}]}]
    results = models.JSONField(default=list)
    seconds = models.FloatField(default=0.0)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.organization_id} backtest {self.created_at:%Y-%m-%d}"


# Payment risk flags live in their own module; imported here so Django registers them.
from predictions.payment_risk.models import (  # noqa: E402, F401
    PaymentRisk,
    PaymentRiskSettings,
    ReviewStatus,
)
from predictions.reports.models import (  # noqa: E402, F401
    ReportRun,
    ReportSchedule,
)
