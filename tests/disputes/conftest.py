from __future__ import annotations

import pytest


@pytest.fixture
def eager_celery(settings):
    """Run tasks in-process (the real task code, no broker round trip)."""
    from paypredict_project.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = True
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False
