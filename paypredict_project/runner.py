"""`make run`: the web server (ASGI, uvicorn), a Celery worker, Celery beat and the event relay.

Ctrl-C stops all three cleanly; if one of them dies, the others are stopped too and the
runner exits non-zero, so a broken process never goes unnoticed behind a working page.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

HOST = os.environ.get("HOST", "127.0.0.1")
PORT = os.environ.get("PORT", "8000")


def _commands() -> dict[str, list[str]]:
    python = sys.executable
    return {
        "web": [
            python,
            "-m",
            "uvicorn",
            "paypredict_project.asgi:application",
            "--host",
            HOST,
            "--port",
            PORT,
            "--lifespan",
            "off",
        ],
        "worker": [
            python,
            "-m",
            "celery",
            "-A",
            "paypredict_project",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            os.environ.get("WORKER_CONCURRENCY", "2"),
        ],
        "beat": [python, "-m", "celery", "-A", "paypredict_project", "beat", "--loglevel", "INFO"],
        # Publishes the transactional outbox to Redis Streams (docs/events.md).
        "relay": [python, "manage.py", "relay_events"],
    }


def _stop(processes: dict[str, subprocess.Popen]) -> None:
    # A second Ctrl-C while the children shut down must not abandon them half-stopped.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for process in processes.values():
        remaining = max(0.1, deadline - time.monotonic())
        try:
            process.wait(timeout=remaining)
        except subprocess.TimeoutExpired:
            process.kill()


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main() -> int:
    # Resolve the embedded servers once here, so all three children share the same URLs.
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paypredict_project.settings")
    django.setup()
    from django.conf import settings

    env = {**os.environ, "DATABASE_URL": settings.DATABASE_URL, "REDIS_URL": settings.REDIS_URL}

    processes = {name: subprocess.Popen(cmd, env=env) for name, cmd in _commands().items()}
    print(
        f"\n  PayPredict is running at http://{HOST}:{PORT}/\n"
        "  Demo login: demo@paypredict.local / demo-password (admin)\n"
        "  Also: collector@paypredict.local, viewer@paypredict.local (same password)\n"
        "  API docs: /api/docs/   Health: /health/detailed   Stop: Ctrl-C\n",
        flush=True,
    )
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        while True:
            for name, process in processes.items():
                if process.poll() is not None:
                    print(
                        f"{name} exited with {process.returncode}; stopping the others",
                        file=sys.stderr,
                    )
                    _stop(processes)
                    return process.returncode or 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nStopping web, worker, beat and relay...", flush=True)
        _stop(processes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
