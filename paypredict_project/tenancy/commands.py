"""Shared pieces of the management commands' Django edge."""

from __future__ import annotations

from django.core.management.base import CommandError

from paypredict_project.tenancy.models import Organization
from paypredict_project.tenancy.selectors import organization_get_by_slug


def require_migrated() -> None:
    """A CommandError that names the fix when the database has unapplied migrations (a fresh
    embedded data folder has none applied), instead of a ProgrammingError traceback."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        raise CommandError(
            f"the database is not set up yet ({len(plan)} migrations not applied); run "
            "`.venv/bin/python manage.py migrate` first (make run does it for you)"
        )


def organization_from_option(slug: str) -> Organization:
    """The organization named by a command's --org, or a CommandError that says what to do."""
    require_migrated()
    try:
        return organization_get_by_slug(slug=slug)
    except Organization.DoesNotExist as exc:
        raise CommandError(f"{exc}; create it first with create_org") from exc
