"""The embedded path: with DATABASE_URL / REDIS_URL unset, real servers start from pip
packages, the project migrates and /health answers 200. .ci/run runs this file with both
variables unset; under the normal suite (variables set) it starts its own servers in a
temporary folder through a subprocess, so it always exercises the embedded code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """
import json, os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paypredict_project.settings")
django.setup()
from django.conf import settings
from django.core.management import call_command
from django.test import Client
call_command("migrate", verbosity=0)
response = Client().get("/health")
print(json.dumps({"status": response.status_code, "body": response.json(),
                  "db_host": settings.DATABASES["default"]["HOST"],
                  "redis": settings.REDIS_URL}))
"""


@pytest.mark.slow
def test_it_starts_embedded_servers_migrates_and_is_healthy(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["PAYPREDICT_DATA_DIR"] = os.environ.get("PAYPREDICT_DATA_DIR") or str(tmp_path / "d")
    data_dir = Path(env["PAYPREDICT_DATA_DIR"])
    try:
        result = subprocess.run(
            [sys.executable, "-c", SCRIPT],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        report = json.loads(result.stdout.strip().splitlines()[-1])
        assert report["status"] == 200, report
        assert report["body"]["database"]["ok"] is True
        assert report["body"]["redis"]["ok"] is True
        assert report["db_host"] == str(data_dir / "postgres")
        assert report["redis"] == f"unix://{data_dir / 'redis.sock'}"
    finally:
        subprocess.run(
            [sys.executable, "-m", "paypredict_project.embedded", "stop"],
            cwd=ROOT,
            env=env,
            timeout=60,
        )


def test_it_generates_one_private_secret_key_per_data_folder(tmp_path, monkeypatch):
    from paypredict_project import embedded

    monkeypatch.setattr(embedded, "DATA_DIR", tmp_path / "data")
    first = embedded.local_secret_key()
    assert first == embedded.local_secret_key()
    assert len(first) >= 50
    key_file = tmp_path / "data" / "secret_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    monkeypatch.setattr(embedded, "DATA_DIR", tmp_path / "other")
    assert embedded.local_secret_key() != first
