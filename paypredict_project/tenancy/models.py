from __future__ import annotations

import uuid
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"unknown time zone {value!r}")


currency_validator = RegexValidator(r"^[A-Z]{3}$", "currency must be a three-letter ISO 4217 code")


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    COLLECTOR = "collector", "Collector"
    VIEWER = "viewer", "Viewer"


# What each role may do, in the same vocabulary as the Auth0 `permissions` claim,
# so session users and API tokens pass through one permission check.
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.VIEWER: frozenset({"read:invoices", "read:predictions"}),
    Role.COLLECTOR: frozenset(
        {
            "read:invoices",
            "write:invoices",
            "read:predictions",
            "manage:disputes",
            "send:reminders",
        }
    ),
    Role.ADMIN: frozenset(
        {
            "read:invoices",
            "write:invoices",
            "read:predictions",
            "manage:disputes",
            "send:reminders",
            "manage:integrations",
            "admin",
        }
    ),
}


class Organization(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    base_currency = models.CharField(max_length=3, default="USD", validators=[currency_validator])
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    auth0_org_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization"], name="membership_unique_user_org"
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=[r.value for r in Role]), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.role})"

    @property
    def permissions(self) -> frozenset[str]:
        return ROLE_PERMISSIONS[self.role]


class AuditLog(models.Model):
    """Who changed what: one row per write made through a service."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="audit_entries"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    actor_label = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_code = models.CharField(max_length=64, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "object_type", "object_code"])]

    def __str__(self) -> str:
        return f"{self.actor_label or 'system'} {self.action} {self.object_type} {self.object_code}"


class ReaderPurpose(models.TextChoices):
    BI = "bi", "BI tool login"
    ASK = "ask", "Ask PayPredict"


class ReaderRole(models.Model):
    """A read-only database login that sees one organization's rows of the ``vw_*`` views.

    The views filter on ``organization_id = (this row's organization for current_user)``, so the
    binding lives in the database: a reader cannot widen it by anything it sends."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="reader_roles"
    )
    role_name = models.CharField(max_length=63, unique=True)
    purpose = models.CharField(max_length=8, choices=ReaderPurpose.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    password_rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "purpose"], name="reader_role_one_per_purpose"
            )
        ]

    def __str__(self) -> str:
        return f"{self.role_name} ({self.purpose})"
