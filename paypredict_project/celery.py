"""The Celery app. Periodic jobs are listed once, in ``BEAT_SCHEDULE`` below.

django-celery-beat stores the schedule in the database (editable in admin);
``beat_schedule_sync`` writes these defaults there at start-up without
overwriting an admin's edits.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paypredict_project.settings")

app = Celery("paypredict")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# name -> (task, crontab kwargs). Apps add their jobs here, nowhere else.
BEAT_SCHEDULE: dict[str, tuple[str, dict[str, str]]] = {}
