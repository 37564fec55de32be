"""The transactional outbox: one row per domain event, written in the changing transaction."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q

from paypredict_project.tenancy.models import Organization


class OutboxEvent(models.Model):
    # The primary key orders events: the relay publishes them by ascending id.
    id = models.BigAutoField(primary_key=True)
    # The idempotency key: consumers drop an event whose key they have already applied.
    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    type = models.CharField(max_length=64)
    version = models.PositiveSmallIntegerField(default=1)
    entity_id = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    occurred_at = models.DateTimeField()
    published_at = models.DateTimeField(null=True, blank=True)
    stream_id = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        ordering = ["id"]
        indexes = [
            # The relay's work queue: small, because published rows leave it.
            models.Index(fields=["id"], name="outbox_unpublished", condition=Q(published_at=None)),
            models.Index(fields=["organization", "type", "id"], name="outbox_org_type"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.entity_id} ({self.event_id})"
