"""The Celery app. Periodic jobs are listed once, in ``BEAT_SCHEDULE`` below.

django-celery-beat stores the schedule in the database (editable in admin);
``beat_schedule_sync`` writes these defaults there at start-up without
overwriting an admin's edits.
"""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import beat_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paypredict_project.settings")

app = Celery("paypredict")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# name -> (task, crontab kwargs). Apps add their jobs here, nowhere else.
BEAT_SCHEDULE: dict[str, tuple[str, dict[str, str]]] = {
    # predictions: retrain, then rescore (which also rebuilds forecast and customer risk).
    "payment-model-retrain-nightly": (
        "predictions.payment_model_retrain_all",
        {"minute": "0", "hour": "1"},
    ),
    "invoices-score-nightly": ("predictions.invoices_score_all", {"minute": "0", "hour": "3"}),
    "customer-risk-snapshot-daily": (
        "predictions.customer_risk_snapshot_all",
        {"minute": "30", "hour": "5"},
    ),
    # disputes: fine-tune organizations' classifiers from new staff-confirmed labels (weekly).
    "dispute-model-retrain-weekly": (
        "disputes.dispute_model_retrain_all",
        {"minute": "0", "hour": "2", "day_of_week": "0"},
    ),
}


@beat_init.connect
def _beat_schedule_sync(**kwargs) -> None:
    from paypredict_project.beat import beat_schedule_sync

    beat_schedule_sync()
