from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from paypredict_project.tenancy.models import Membership, Organization, Role


@pytest.mark.django_db
def test_it_creates_an_organization(capsys):
    call_command(
        "create_org",
        "--slug",
        "acme",
        "--name",
        "Acme Ltd",
        "--base-currency",
        "eur",
        "--auth0-org-id",
        "org_123",
        "--time-zone",
        "Europe/Berlin",
    )
    organization = Organization.objects.get(slug="acme")
    assert (organization.name, organization.base_currency) == ("Acme Ltd", "EUR")
    assert organization.auth0_org_id == "org_123"
    assert organization.time_zone == "Europe/Berlin"
    assert "created organization acme" in capsys.readouterr().out


@pytest.mark.django_db
def test_it_refuses_a_duplicate_slug_and_bad_values():
    call_command("create_org", "--slug", "acme", "--name", "Acme")
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_org", "--slug", "acme", "--name", "Acme again")
    with pytest.raises(CommandError, match="three-letter"):
        call_command("create_org", "--slug", "x1", "--name", "X", "--base-currency", "DOLLARS")
    with pytest.raises(CommandError, match="unknown time zone"):
        call_command("create_org", "--slug", "x2", "--name", "X", "--time-zone", "Mars/Base")
    assert Organization.objects.count() == 1


@pytest.mark.django_db
def test_it_creates_a_member_with_a_password_and_changes_role(org):
    call_command(
        "create_member",
        "--org",
        org.slug,
        "--email",
        "Ana@Example.com",
        "--role",
        "collector",
        "--password",
        "s3cret-pass",
    )
    user = get_user_model().objects.get(username="ana@example.com")
    assert user.check_password("s3cret-pass")
    assert Membership.objects.get(user=user, organization=org).role == Role.COLLECTOR
    call_command(
        "create_member", "--org", org.slug, "--email", "ana@example.com", "--role", "viewer"
    )
    assert Membership.objects.get(user=user, organization=org).role == Role.VIEWER
    assert user.memberships.count() == 1


@pytest.mark.django_db
def test_it_rejects_unknown_org_and_bad_email(org):
    with pytest.raises(CommandError, match="no organization with slug 'nope'"):
        call_command("create_member", "--org", "nope", "--email", "a@b.c", "--role", "viewer")
    with pytest.raises(CommandError, match="not an e-mail address"):
        call_command("create_member", "--org", org.slug, "--email", "bob", "--role", "viewer")


def test_it_says_to_migrate_first_on_a_fresh_database(db):
    """A newcomer's first command on an empty database gets the fix, not a traceback."""
    import os
    import subprocess
    import sys
    import uuid
    from pathlib import Path

    import psycopg
    from django.conf import settings as django_settings

    name = f"fresh_{uuid.uuid4().hex[:8]}"
    params = django_settings.DATABASES["default"]
    conninfo = f"host={params['HOST']} port={params['PORT']} user={params['USER']} dbname=postgres"
    if params.get("PASSWORD"):
        conninfo += f" password={params['PASSWORD']}"
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + f"/{name}"
        for command in (
            ["create_org", "--slug", "acme", "--name", "Acme"],
            ["create_member", "--org", "acme", "--email", "a@acme.test", "--role", "admin"],
        ):
            result = subprocess.run(
                [sys.executable, "manage.py", *command],
                env={**os.environ, "DATABASE_URL": url, "DATABASE_POOL": "false"},
                capture_output=True,
                text=True,
                timeout=120,
                cwd=Path(__file__).resolve().parents[2],
            )
            assert result.returncode != 0
            assert "run `.venv/bin/python manage.py migrate` first" in result.stderr
            assert "Traceback" not in result.stderr
    finally:
        with psycopg.connect(conninfo, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
