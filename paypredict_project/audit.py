"""Audit trail: services call ``audit_record``; the actor comes from the request context.

A context variable (not a thread-local) carries the acting user so it also works
under the ASGI server; Celery tasks and commands record ``system`` or their own label.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import decimal
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import models

_actor: contextvars.ContextVar[tuple[Any, str] | None] = contextvars.ContextVar(
    "audit_actor", default=None
)


@contextmanager
def acting_as(user=None, label: str = "") -> Iterator[None]:
    token = _actor.set((user, label or (getattr(user, "email", "") or str(user or "system"))))
    try:
        yield
    finally:
        _actor.reset(token)


def set_actor(user, label: str = "") -> None:
    """Name the actor for the rest of this request/task context.

    Token authentication runs inside the view, after AuditContextMiddleware, so it
    names the token's user here; the middleware's context is reset when the request ends.
    """
    _actor.set((user, label or getattr(user, "email", "") or str(user)))


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user if request.user.is_authenticated else None
        with acting_as(user):
            return self.get_response(request)


def jsonable(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    return value


def snapshot(instance: models.Model, fields: list[str] | None = None) -> dict[str, Any]:
    """The concrete field values of a row, JSON-ready (foreign keys as their ids)."""
    names = fields or [f.attname for f in instance._meta.concrete_fields]
    return {name: jsonable(getattr(instance, name)) for name in names}


def audit_record(
    *,
    organization,
    action: str,
    instance: models.Model | None = None,
    object_type: str = "",
    object_code: str = "",
    before: dict | None = None,
    after: dict | None = None,
) -> None:
    from paypredict_project.tenancy.models import AuditLog

    actor = _actor.get()
    user, label = actor if actor else (None, "system")
    if instance is not None:
        object_type = object_type or instance._meta.model_name
        object_code = object_code or str(getattr(instance, "code", instance.pk))
    if before is not None and after is not None:
        # Only what changed is kept; the bookkeeping timestamp always changes and says nothing.
        changed = {k for k in after if before.get(k) != after.get(k)} - {"updated_at"}
        before = {k: v for k, v in before.items() if k in changed}
        after = {k: v for k, v in after.items() if k in changed}
    AuditLog.objects.create(
        organization=organization,
        actor=user if getattr(user, "pk", None) else None,
        actor_label=label,
        action=action,
        object_type=object_type,
        object_code=object_code,
        before=jsonable(before),
        after=jsonable(after),
    )


def model_update(
    *,
    instance: models.Model,
    fields: dict[str, Any],
    action: str,
    organization=None,
    clean: bool = True,
) -> tuple[models.Model, list[str]]:
    """Set ``fields`` on ``instance``, validate, save only what changed, and audit it.

    HackSoft's ``model_update`` plus our audit entry (before → after of the changed fields),
    so services do not repeat "snapshot → set fields → full_clean → save → audit_record".
    Returns the instance and the names that changed; nothing changed means no save and no
    audit entry. The caller holds the row lock when the write must not race.
    """
    changed = [name for name, value in fields.items() if getattr(instance, name) != value]
    if not changed:
        return instance, []
    before = snapshot(instance, changed)
    for name in changed:
        setattr(instance, name, fields[name])
    if clean:
        instance.full_clean()
    update_fields = list(changed)
    if any(f.name == "updated_at" for f in instance._meta.concrete_fields):
        update_fields.append("updated_at")
    instance.save(update_fields=update_fields)
    audit_record(
        organization=organization or instance.organization,
        action=action,
        instance=instance,
        before=before,
        after=snapshot(instance, changed),
    )
    return instance, changed
