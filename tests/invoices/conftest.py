from __future__ import annotations

import pytest


@pytest.fixture
def worker(django_capture_on_commit_callbacks):
    """Run what a request queues (transaction.on_commit → task.delay) in-process, as the
    Celery worker would: `with worker(): client.post(...)`."""
    from contextlib import contextmanager

    from paypredict_project.celery import app

    @contextmanager
    def run():
        app.conf.task_always_eager = True
        try:
            with django_capture_on_commit_callbacks(execute=True) as callbacks:
                yield callbacks
        finally:
            app.conf.task_always_eager = False

    return run
