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
    # Payment risk retrains (and rescores) on the payment model's schedule.
    "payment-risk-retrain-nightly": (
        "predictions.payment_risk_retrain_all",
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
    # reminders: plan and draft the day's reminders (after risk is fresh), then send approved
    # and auto-send ones every 30 minutes through the working day.
    "reminders-plan-daily": ("reminders.plan_all", {"minute": "0", "hour": "6"}),
    "reminders-send": ("reminders.send_all", {"minute": "15,45", "hour": "7-22"}),
    # invoices: uploaded CSV files are deleted after CSV_UPLOAD_RETENTION_DAYS.
    "csv-uploads-purge-daily": ("invoices.csv_uploads_purge", {"minute": "15", "hour": "4"}),
    # integrations: incremental QuickBooks / Xero sync of every active connection.
    "integrations-sync-every-15-minutes": ("integrations.sync_all", {"minute": "*/15"}),
    # predictions.reports: scheduled report e-mails (each schedule has its own local hour).
    "reports-send-due": ("predictions.reports_send_due", {"minute": "*/5"}),
    # Operations: the ledger gauges /metrics serves (so a scrape never scans the ledger).
    "metrics-refresh": ("paypredict.metrics_refresh", {"minute": "*"}),
}


@app.task(name="paypredict.metrics_refresh")
def metrics_refresh() -> None:
    from paypredict_project.health import ledger_metrics_refresh

    ledger_metrics_refresh()


@beat_init.connect
def _beat_schedule_sync(**kwargs) -> None:
    from paypredict_project.beat import beat_schedule_sync

    beat_schedule_sync()
