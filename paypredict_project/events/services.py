"""Writing events. ``event_record`` is the one way any app publishes a domain event."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from paypredict_project.audit import jsonable
from paypredict_project.events.models import OutboxEvent
from paypredict_project.events.schemas import payload_problems
from paypredict_project.tenancy.models import Organization


def event_record(
    *,
    organization: Organization,
    type: str,
    entity_id: str | uuid.UUID,
    payload: dict[str, Any],
    version: int = 1,
    occurred_at: dt.datetime | None = None,
) -> OutboxEvent:
    """Write an event row in the caller's transaction: it is published only if that commits.

    The payload must match the type's JSON Schema (schemas.EVENT_TYPES); a mismatch is a
    programming error and rolls the caller back rather than publishing a broken contract.
    """
    payload = jsonable(payload)
    problems = payload_problems(type, payload)
    if problems:
        raise ValidationError({"payload": f"{type} payload: " + "; ".join(problems)})
    return OutboxEvent.objects.create(
        organization=organization,
        type=type,
        version=version,
        entity_id=str(entity_id),
        payload=payload,
        occurred_at=occurred_at or timezone.now(),
    )
