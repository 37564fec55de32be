"""Every way the ledger changes leads to one debounced rescoring of what it touched:
CSV import (command and dashboard), API writes, dashboard actions and demo seeding."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from invoices.models import CsvUpload, Invoice, InvoiceStatus
from invoices.services.demo import demo_seed
from predictions import tasks
from predictions.models import Prediction
from predictions.services import rescoring
from predictions.services.scoring import invoices_score
from tests.predictions.conftest import TODAY

pytestmark = pytest.mark.django_db


def _csv(number: str) -> str:
    issue = TODAY - dt.timedelta(days=5)
    due = issue + dt.timedelta(days=30)
    return (
        "number,customer,customer_name,issue_date,due_date,total,currency\n"
        f"{number},NEWCO,Newco Ltd,{issue.isoformat()},{due.isoformat()},1200.00,USD\n"
    )


def _assert_one_full_rescoring_scheduled(org, scheduled) -> None:
    assert scheduled == [((org.pk,), rescoring.debounce_seconds())]
    assert rescoring.pending_everything(organization_id=org.pk)


def test_a_csv_import_command_gets_the_new_invoice_scored(
    org, active_model, ledger, scheduled, tmp_path, django_capture_on_commit_callbacks
):
    path = tmp_path / "new.csv"
    path.write_text(_csv("CSV-1"))
    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_csv", "invoices", str(path), "--org", org.slug)
    _assert_one_full_rescoring_scheduled(org, scheduled)

    assert tasks.rescore_pending_task.run(org.pk) == 19  # 18 open in the ledger + the new one
    invoice = Invoice.objects.get(organization=org, number="CSV-1")
    prediction = Prediction.objects.get(invoice=invoice)
    assert 0.0 < prediction.p_paid_by_due < 1.0 and prediction.risk_level
    assert not rescoring.pending_everything(organization_id=org.pk)


def test_a_dashboard_csv_import_gets_the_new_invoice_scored(
    org, active_model, ledger, scheduled, collector_client, settings, tmp_path, worker
):
    settings.MEDIA_ROOT = tmp_path / "media"
    upload = SimpleUploadedFile("new.csv", _csv("CSV-2").encode(), "text/csv")
    collector_client.post(reverse("csv-import"), {"kind": "invoices", "file": upload})
    code = CsvUpload.objects.get(organization=org).code
    fields = ("number", "customer", "customer_name", "issue_date", "due_date", "total", "currency")
    # The dashboard queues the import; the worker runs it, then the import's signal.
    with worker():
        response = collector_client.post(
            reverse("csv-import-preview", args=[code]),
            {
                **{f"field_{f}": f for f in fields},
                "format_issue_date": "%Y-%m-%d",
                "format_due_date": "%Y-%m-%d",
            },
        )
    assert response.status_code == 302
    _assert_one_full_rescoring_scheduled(org, scheduled)
    tasks.rescore_pending_task.run(org.pk)
    assert Prediction.objects.filter(invoice__number="CSV-2", organization=org).exists()


def test_an_api_write_gets_the_invoice_scored(
    org, active_model, ledger, scheduled, owner_client, django_capture_on_commit_callbacks
):
    customer = ledger["slow0"]
    payload = {
        "customer": str(customer.code),
        "number": "API-1",
        "issue_date": (TODAY - dt.timedelta(days=3)).isoformat(),
        "currency": "USD",
        "total": "800.00",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            reverse("api:invoice-list"), payload, content_type="application/json"
        )
    assert response.status_code == 201, response.content
    invoice = Invoice.objects.get(organization=org, number="API-1")
    assert scheduled == [((org.pk,), rescoring.debounce_seconds())]
    assert rescoring.pending_ids(organization_id=org.pk)[0] == {invoice.pk}
    # The customer's 3 open invoices and the new one.
    assert tasks.rescore_pending_task.run(org.pk) == 4
    assert Prediction.objects.filter(invoice=invoice).exists()


def test_a_dashboard_action_rescores_the_customers_invoices(
    org,
    active_model,
    ledger,
    scheduled,
    collector_client,
    django_capture_on_commit_callbacks,
    monkeypatch,
):
    from disputes.tasks import classify_disputes

    # The classification task is queued too; the broker is the boundary here as well.
    classified = []
    monkeypatch.setattr(classify_disputes, "delay", lambda ids: classified.append(ids))
    invoices_score(organization=org)
    invoice = Invoice.objects.filter(
        organization=org, customer=ledger["erratic0"], status=InvoiceStatus.OPEN
    ).first()
    with django_capture_on_commit_callbacks(execute=True):
        response = collector_client.post(
            reverse("invoice-dispute-open", args=[invoice.code]),
            {"text": "The unit price is wrong.", "category": "pricing_error"},
        )
    assert response.status_code == 302
    assert len(classified) == 1
    assert rescoring.pending_ids(organization_id=org.pk)[0] == {invoice.pk}
    assert len(scheduled) == 1
    tasks.rescore_pending_task.run(org.pk)
    assert Prediction.objects.filter(invoice__customer=ledger["erratic0"]).count() == 3


def test_demo_seeding_schedules_a_full_rescoring(
    org, active_model, scheduled, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        demo_seed(organization=org, customers=5, invoices=120, seed=3)
    _assert_one_full_rescoring_scheduled(org, scheduled)
    scored = tasks.rescore_pending_task.run(org.pk)
    open_count = Invoice.objects.filter(
        organization=org, status__in=[InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID]
    ).count()
    assert scored == open_count > 0
    assert Prediction.objects.filter(organization=org).count() == open_count


def test_an_import_into_an_organization_without_a_model_schedules_nothing(
    org, scheduled, tmp_path, model_dir, django_capture_on_commit_callbacks
):
    path = tmp_path / "new.csv"
    path.write_text(_csv("CSV-3"))
    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_csv", "invoices", str(path), "--org", org.slug)
    assert scheduled == []
