"""Shared pieces of the management commands' Django edge."""

from __future__ import annotations

from django.core.management.base import CommandError

from paypredict_project.tenancy.models import Organization
from paypredict_project.tenancy.selectors import organization_get_by_slug


def organization_from_option(slug: str) -> Organization:
    """The organization named by a command's --org, or a CommandError that says what to do."""
    try:
        return organization_get_by_slug(slug=slug)
    except Organization.DoesNotExist as exc:
        raise CommandError(f"{exc}; create it first with create_org") from exc
