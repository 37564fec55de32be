"""Accounting-system connections and their sync bookkeeping (shared by QuickBooks and Xero).

Tokens are stored only as Fernet ciphertext (``integrations.crypto``); the plain values live
in memory for the length of a request to the provider.
"""

from __future__ import annotations

import uuid

from django.db import models

from paypredict_project.tenancy.models import Organization


class Provider(models.TextChoices):
    QUICKBOOKS = "quickbooks", "QuickBooks Online"
    XERO = "xero", "Xero"


class ConnectionStatus(models.TextChoices):
    ACTIVE = "active", "Connected"
    # The provider refused our refresh token (revoked, expired, rotated away): reconnect.
    BROKEN = "broken", "Needs reconnecting"
    # Disconnected by an admin: tokens revoked and erased; the run history stays.
    DISCONNECTED = "disconnected", "Disconnected"


class Connection(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    provider = models.CharField(max_length=16, choices=Provider.choices)
    # QuickBooks realmId / Xero tenantId: every API call names it.
    account_id = models.CharField(max_length=64)
    account_name = models.CharField(max_length=200, blank=True, default="")
    status = models.CharField(
        max_length=16, choices=ConnectionStatus.choices, default=ConnectionStatus.ACTIVE
    )
    access_token_encrypted = models.TextField(blank=True, default="")
    refresh_token_encrypted = models.TextField(blank=True, default="")
    access_expires_at = models.DateTimeField(null=True, blank=True)
    refresh_expires_at = models.DateTimeField(null=True, blank=True)
    scopes = models.CharField(max_length=500, blank=True, default="")
    last_error = models.TextField(blank=True, default="")
    # Provider call budget: calls made on ``budget_day`` (UTC) and a pause after a day limit.
    budget_day = models.DateField(null=True, blank=True)
    budget_used = models.PositiveIntegerField(default=0)
    paused_until = models.DateTimeField(null=True, blank=True)
    connected_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["provider"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "provider"], name="integration_one_connection_per_provider"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} {self.account_id}"


class SyncTrigger(models.TextChoices):
    SCHEDULE = "schedule", "Schedule"
    WEBHOOK = "webhook", "Webhook"
    MANUAL = "manual", "Manual"


class SyncStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    # Finished, but some records were refused (see errors).
    PARTIAL = "partial", "Finished with errors"
    # The provider's daily call budget ran out; the next run resumes from the cursors.
    BUDGET = "budget", "Stopped: daily limit"
    FAILED = "failed", "Failed"
    # The process died mid-run (found by the next run, which resumes from the cursors).
    INTERRUPTED = "interrupted", "Interrupted"


class SyncRun(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="runs")
    trigger = models.CharField(max_length=16, choices=SyncTrigger.choices)
    status = models.CharField(max_length=16, choices=SyncStatus.choices, default=SyncStatus.RUNNING)
    entities = models.JSONField(default=list, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # {"customers": {"created": 3, "updated": 0, "voided": 0, "skipped": 2, "errors": 0}, ...}
    counts = models.JSONField(default=dict, blank=True)
    # [{"entity": "invoices", "external_id": "145", "message": "..."}], capped.
    errors = models.JSONField(default=list, blank=True)
    error_count = models.PositiveIntegerField(default=0)
    pages = models.PositiveIntegerField(default=0)
    requests = models.PositiveIntegerField(default=0)
    detail = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["connection", "-started_at"])]

    def __str__(self) -> str:
        return f"sync {self.connection_id} {self.started_at:%Y-%m-%d %H:%M} {self.status}"

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return round((self.finished_at - self.started_at).total_seconds(), 1)


class SyncCursor(models.Model):
    """Where a connection's sync of one entity stands.

    ``since`` is the high-water mark of the last complete pass (the provider's own clock at
    its first page, less an overlap). A pass in progress keeps ``since`` and records the
    provider's clock at its start in ``pass_started`` and the next page in ``position``; they
    are saved in the same transaction as the page's rows, so a crashed run resumes at the
    first page it did not commit.
    """

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="cursors")
    entity = models.CharField(max_length=32)
    since = models.DateTimeField(null=True, blank=True)
    pass_started = models.DateTimeField(null=True, blank=True)
    position = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "entity"], name="sync_cursor_unique")
        ]

    def __str__(self) -> str:
        return f"{self.connection_id}/{self.entity}@{self.since}"


class SyncedRecord(models.Model):
    """The provider version last applied per record (SyncToken / UpdatedDateUTC): a record
    seen again at the same version is skipped without touching the ledger."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+")
    entity = models.CharField(max_length=32)
    external_id = models.CharField(max_length=128)
    version = models.CharField(max_length=64)
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "entity", "external_id"], name="synced_record_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.entity} {self.external_id} v{self.version}"


class WebhookEvent(models.Model):
    """Webhook deliveries already accepted, so a redelivery is recognised and ignored."""

    provider = models.CharField(max_length=16, choices=Provider.choices)
    event_key = models.CharField(max_length=300)
    received_at = models.DateTimeField(auto_now_add=True)
    connection = models.ForeignKey(
        Connection, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_key"], name="webhook_event_unique")
        ]
        indexes = [models.Index(fields=["received_at"], name="webhook_received_idx")]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_key}"


class ChangeKey(models.Model):
    """The last change event applied per source row (table + primary key) of a payment
    system's change stream: an event at or before this position changes nothing, so replays,
    duplicates and late (reordered) events are harmless."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    table = models.CharField(max_length=64)
    key = models.CharField(max_length=200)
    # Debezium position: source.lsn (Postgres WAL position), then the connector's ts_ms.
    lsn = models.BigIntegerField(default=-1)
    ts_ms = models.BigIntegerField(default=-1)
    op = models.CharField(max_length=1)
    # The source row as last applied (decoded: money as strings), e.g. the processor's fee,
    # which the ledger's payment has no column for.
    row = models.JSONField(null=True, blank=True)
    payment_external_id = models.CharField(max_length=128, blank=True, default="")
    applied_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "table", "key"], name="change_key_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.table} {self.key} at {self.lsn}/{self.ts_ms}"


class DeadLetter(models.Model):
    """A change event that could not be read or mapped, with the reason; replayable."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    table = models.CharField(max_length=64, blank=True, default="")
    key = models.TextField(blank=True, default="")
    value = models.TextField(blank=True, default="")
    reason = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    replayed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "replayed_at", "id"])]

    def __str__(self) -> str:
        return f"{self.table} {self.key}: {self.reason}"
