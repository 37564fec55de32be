from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from invoices.models import Invoice, InvoiceStatus
from invoices.signals import invoice_changed, payment_changed
from paypredict_project.beat import beat_schedule_sync
from paypredict_project.celery import BEAT_SCHEDULE
from predictions import tasks
from predictions.models import CustomerRisk, ForecastSnapshot, Prediction
from predictions.services import rescoring
from predictions.services.scoring import invoices_score
from tests.factories import PaymentFactory
from tests.predictions.conftest import TODAY

pytestmark = pytest.mark.django_db


def test_it_schedules_one_rescoring_for_a_burst_of_changes(org, active_model, scheduled):
    ids = list(Invoice.objects.filter(organization=org).values_list("pk", flat=True)[:50])
    for invoice_id in ids:
        invoice_changed.send(sender=Invoice, invoice_id=invoice_id, organization_id=org.pk)

    assert scheduled == [((org.pk,), rescoring.debounce_seconds())]
    pending, _ = rescoring.pending_ids(organization_id=org.pk)
    assert pending == set(ids)


def test_it_schedules_again_once_the_pending_run_started(org, active_model, scheduled, ledger):
    invoice = Invoice.objects.filter(organization=org, status=InvoiceStatus.OPEN).first()
    invoice_changed.send(sender=Invoice, invoice_id=invoice.pk, organization_id=org.pk)
    scored = tasks.rescore_pending_task.run(org.pk)
    # The changed invoice's customer has 3 open invoices: all rescored.
    assert scored == 3
    assert Prediction.objects.filter(invoice__customer=invoice.customer).count() == 3
    assert rescoring.pending_ids(organization_id=org.pk) == (set(), set())

    invoice_changed.send(sender=Invoice, invoice_id=invoice.pk, organization_id=org.pk)
    assert len(scheduled) == 2


def test_it_rescores_a_customers_invoices_when_a_payment_changes(
    org, active_model, scheduled, ledger
):
    customer = ledger["slow1"]
    payment = PaymentFactory(customer=customer, organization=org)
    payment_changed.send(sender=type(payment), payment_id=payment.pk, organization_id=org.pk)
    assert rescoring.pending_ids(organization_id=org.pk) == (set(), {customer.pk})
    assert tasks.rescore_pending_task.run(org.pk) == 3


def test_it_does_nothing_for_an_organization_without_a_model(org, ledger, scheduled, model_dir):
    invoice = Invoice.objects.filter(organization=org).first()
    invoice_changed.send(sender=Invoice, invoice_id=invoice.pk, organization_id=org.pk)
    assert scheduled == []


def test_it_runs_the_nightly_jobs_eagerly(org, active_model, settings, ledger):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from paypredict_project.celery import app

    app.conf.task_always_eager = True
    try:
        assert tasks.invoices_score_all_task.delay().get() >= 1
    finally:
        app.conf.task_always_eager = False
    assert Prediction.objects.filter(organization=org).count() == 18
    assert ForecastSnapshot.objects.filter(organization=org, as_of=TODAY).exists()
    assert CustomerRisk.objects.filter(organization=org).count() == 6


def test_it_syncs_the_beat_schedule_idempotently_and_keeps_admin_edits(db):
    first = beat_schedule_sync()
    assert set(first["created"]) == set(BEAT_SCHEDULE)
    job = PeriodicTask.objects.get(name="invoices-score-nightly")
    assert job.task == "predictions.invoices_score_all"
    assert (job.crontab.minute, job.crontab.hour) == ("0", "3")

    # An admin moves the job to 04:15 and disables it; the next sync leaves that alone.
    job.crontab = CrontabSchedule.objects.create(minute="15", hour="4", timezone="UTC")
    job.enabled = False
    job.save()
    crontabs = CrontabSchedule.objects.count()
    second = beat_schedule_sync()
    assert second == {"created": [], "kept": list(BEAT_SCHEDULE)}
    job.refresh_from_db()
    assert (job.crontab.minute, job.crontab.hour, job.enabled) == ("15", "4", False)
    assert PeriodicTask.objects.filter(name__in=BEAT_SCHEDULE).count() == len(BEAT_SCHEDULE)
    assert CrontabSchedule.objects.count() == crontabs


def test_it_rejects_a_misspelled_crontab_field(db):
    with pytest.raises(ValueError, match="unknown crontab fields"):
        beat_schedule_sync({"x": ("predictions.invoices_score_all", {"hours": "3"})})


def test_it_scores_from_the_command_and_prints_json(org, active_model, ledger):
    out = StringIO()
    call_command("score_invoices", "--org", org.slug, stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert lines[0].startswith("org-a: 18 open invoices, 18 scored")
    summary = json.loads(lines[-1])
    assert summary["scored"] == 18 and summary["customers"]["graded"] == 6
    assert summary["forecast_13w"] > 0


def test_it_tells_how_to_get_a_model_when_there_is_none(org, ledger, model_dir):
    with pytest.raises(CommandError, match=re.escape("train_payment_model --org org-a")):
        call_command("score_invoices", "--org", org.slug)
    with pytest.raises(CommandError, match="no organization with slug 'nope'"):
        call_command("score_invoices", "--org", "nope")


def test_it_backtests_from_the_command(org, active_model, ledger):
    out = StringIO()
    call_command(
        "backtest_forecast",
        "--org",
        org.slug,
        "--origins",
        "2",
        "--weeks",
        "4",
        "--end",
        (TODAY - dt.timedelta(days=120)).isoformat(),
        "--no-retrain",
        stdout=out,
    )
    result = json.loads(out.getvalue().strip().splitlines()[-1])
    assert result["origins"] == 2
    assert set(result["wape"]) == {"model", "due_date", "customer_delay"}
    assert "optimistic" in result["model_policy"]


def test_it_drops_scoring_for_invoices_paid_through_a_rescore(org, active_model, ledger, scheduled):
    invoices_score(organization=org)
    invoice = Invoice.objects.filter(organization=org, status=InvoiceStatus.OPEN).first()
    Invoice.objects.filter(pk=invoice.pk).update(
        status=InvoiceStatus.PAID, balance=Decimal("0.00"), paid_date=TODAY
    )
    rescoring.rescore_request(organization_id=org.pk, invoice_ids=[invoice.pk])
    rescoring.rescore_pending_run(organization=org)
    assert not Prediction.objects.filter(invoice=invoice).exists()
