"""Read-only database logins bound to one organization, and queries run through them.

BI tools (``create_bi_role``) and Ask PayPredict read the ``vw_*`` views through a login of
their own, never through the application's. Each login is a member of a group role holding
SELECT on the views and nothing else; it is bound to one organization by a row in
``tenancy_readerrole`` that the views themselves filter on, and its sessions start read-only
with a statement timeout. So a leaked password or a hostile query can read one organization's
view rows, slowly at worst, and change nothing.

Roles are cluster-wide in PostgreSQL while organizations belong to one database, so role names
carry a tag of the database name (test databases and deployments sharing a server never meet).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from psycopg import sql

from paypredict_project.tenancy.models import Organization, ReaderPurpose, ReaderRole

VIEW_PREFIX = "vw_"
# Session defaults of every reader login (a BI tool cannot lift them without a new role).
READER_STATEMENT_TIMEOUT = "15s"


class ReadOnlyQueryError(Exception):
    """The database refused or aborted a reader's query; the message is safe to show."""


@dataclass(frozen=True)
class ReadOnlyResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool


def reader_role_ensure(*, organization: Organization, purpose: str) -> ReaderRole:
    """The organization's reader login for ``purpose``, created (with grants) when missing."""
    existing = ReaderRole.objects.filter(organization=organization, purpose=purpose).first()
    if existing is not None and _role_exists(existing.role_name):
        return existing
    password = _derived_password(_role_name(organization, purpose))
    return _reader_role_create(organization=organization, purpose=purpose, password=password)


def bi_role_rotate(*, organization: Organization) -> tuple[ReaderRole, str]:
    """Create the BI login or give it a new random password; returns it with the password,
    which is shown once and stored nowhere (PostgreSQL keeps only its hash)."""
    password = secrets.token_urlsafe(24)
    role = _reader_role_create(
        organization=organization, purpose=ReaderPurpose.BI, password=password
    )
    return role, password


def reader_connection_url(role: ReaderRole, password: str) -> str:
    params = _connection_params(role.role_name, password)
    credentials = f"{quote(role.role_name)}:{quote(password, safe='')}"
    port = params["port"] or 5432
    host = params["host"] or "localhost"
    if host.startswith("/"):  # a Unix socket directory goes in the query string
        return f"postgresql://{credentials}@/{params['dbname']}?host={quote(host)}&port={port}"
    return f"postgresql://{credentials}@{host}:{port}/{params['dbname']}"


def readonly_query(
    *,
    organization: Organization,
    query: str,
    max_rows: int,
    timeout_ms: int = 5000,
) -> ReadOnlyResult:
    """Run ``query`` as the organization's Ask login: read-only, time-limited, row-capped."""
    role = reader_role_ensure(organization=organization, purpose=ReaderPurpose.ASK)
    params = _connection_params(role.role_name, _derived_password(role.role_name))
    try:
        with psycopg.connect(**params, connect_timeout=5, autocommit=False) as reader:
            reader.read_only = True
            with reader.cursor() as cursor:
                cursor.execute(
                    sql.SQL("SET LOCAL statement_timeout = {}").format(sql.Literal(timeout_ms))
                )
                cursor.execute(query)  # type: ignore[arg-type]  # validated by the caller
                columns = [column.name for column in cursor.description or []]
                rows = cursor.fetchmany(max_rows + 1)
            reader.rollback()
    except psycopg.errors.QueryCanceled as error:
        raise ReadOnlyQueryError(f"the query took longer than {timeout_ms} ms") from error
    except psycopg.Error as error:
        raise ReadOnlyQueryError(_database_message(error)) from error
    return ReadOnlyResult(columns, rows[:max_rows], truncated=len(rows) > max_rows)


def reader_grants_refresh(**_signal_kwargs: Any) -> None:
    """After migrations: readers of an existing group also get the views added since."""
    group = reader_group_name()
    if _role_exists(group):
        with transaction.atomic(), connection.cursor() as cursor:
            _ensure_group(cursor, group)


def reader_group_name() -> str:
    return f"pp_{_database_tag()}_readers"


def _role_name(organization: Organization, purpose: str) -> str:
    return f"pp_{_database_tag()}_{purpose}_{organization.code.hex[:12]}"


def _database_tag() -> str:
    name = connection.settings_dict["NAME"]
    return hashlib.sha1(name.encode()).hexdigest()[:8]


def _derived_password(role_name: str) -> str:
    # The Ask login's password is derived, not stored: only this deployment can compute it.
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"reader-role:{role_name}".encode(), hashlib.sha256).hexdigest()


@transaction.atomic
def _reader_role_create(*, organization: Organization, purpose: str, password: str) -> ReaderRole:
    role_name = _role_name(organization, purpose)
    group = reader_group_name()
    with connection.cursor() as cursor:
        _ensure_group(cursor, group)
        verb = "ALTER" if _role_exists(role_name) else "CREATE"
        cursor.execute(
            _render(
                sql.SQL(verb + " ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {}"),
                sql.Identifier(role_name),
                sql.Literal(password),
            )
        )
        cursor.execute(_render(sql.SQL("GRANT {} TO {}"), *map(sql.Identifier, (group, role_name))))
        for setting, value in (
            ("default_transaction_read_only", "on"),
            ("statement_timeout", READER_STATEMENT_TIMEOUT),
        ):
            cursor.execute(
                _render(
                    sql.SQL("ALTER ROLE {} SET {} = {}"),
                    sql.Identifier(role_name),
                    sql.Identifier(setting),
                    sql.Literal(value),
                )
            )
    role, _ = ReaderRole.objects.update_or_create(
        organization=organization,
        purpose=purpose,
        defaults={"role_name": role_name, "password_rotated_at": timezone.now()},
    )
    return role


def _ensure_group(cursor, group: str) -> None:
    if not _role_exists(group):
        cursor.execute(_render(sql.SQL("CREATE ROLE {} NOLOGIN"), sql.Identifier(group)))
    cursor.execute("SELECT viewname FROM pg_views WHERE schemaname = current_schema()")
    views = [name for (name,) in cursor.fetchall() if name.startswith(VIEW_PREFIX)]
    cursor.execute(_render(sql.SQL("GRANT USAGE ON SCHEMA public TO {}"), sql.Identifier(group)))
    if views:
        cursor.execute(
            _render(
                sql.SQL("GRANT SELECT ON {} TO {}"),
                sql.SQL(", ").join(map(sql.Identifier, views)),
                sql.Identifier(group),
            )
        )


def _role_exists(role_name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role_name])
        return cursor.fetchone() is not None


def _render(template: sql.SQL, *parts: sql.Composable) -> str:
    # Django's cursor takes strings; psycopg quotes identifiers and literals for us.
    return template.format(*parts).as_string(connection.connection)


def _connection_params(user: str, password: str) -> dict[str, Any]:
    database = connection.settings_dict
    return {
        "host": database.get("HOST") or None,
        "port": database.get("PORT") or None,
        "dbname": database["NAME"],
        "user": user,
        "password": password,
    }


def _database_message(error: psycopg.Error) -> str:
    diagnostic = getattr(error, "diag", None)
    primary = getattr(diagnostic, "message_primary", None) if diagnostic else None
    return primary or str(error).splitlines()[0]
