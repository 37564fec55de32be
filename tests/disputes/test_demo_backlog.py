"""After `make run`: the demo's old disputes are settled history (through the services), a
believable open queue is left, and every dispute is classified at once by the TF-IDF
baseline while the BERT model would still be training."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from disputes import classification, services
from disputes.models import (
    ACTIVE_STATUSES,
    BASELINE_VERSION,
    Dispute,
    DisputeChannel,
    DisputeStatus,
)
from invoices.models import InvoiceCredit
from ml.dispute_labels import DISPUTE_LABELS
from tests.factories import CustomerFactory, InvoiceFactory

CATEGORIES = list(DISPUTE_LABELS)


def _demo_invoice(org, customer, index: int, days_ago: int):
    """An invoice as the demo generator leaves it: open, flagged, with its dispute note."""
    opened = timezone.localdate() - dt.timedelta(days=days_ago)
    return InvoiceFactory(
        customer=customer,
        number=f"DEMO-{index:03d}",
        total=Decimal("1000.00"),
        disputed=True,
        issue_date=opened - dt.timedelta(days=20),
        due_date=opened + dt.timedelta(days=10),
        attributes={
            "dispute": {
                "category": CATEGORIES[index % len(CATEGORIES)],
                "text": f"About invoice DEMO-{index:03d}: the unit price is not what we agreed.",
                "opened_on": opened.isoformat(),
                "amount": "120.00",
                "status": "open",
                "resolved_on": None,
                "resolution": None,
            }
        },
    )


@pytest.fixture
def imported(org, settings, eager_celery, monkeypatch):
    from disputes import tasks

    settings.MODEL_DIR = "/nonexistent-no-model"
    trainings = []
    # The BERT training would take minutes: the broker boundary records it instead.
    monkeypatch.setattr(tasks.dispute_model_train_base, "delay", lambda: trainings.append(1))
    customer = CustomerFactory(organization=org)
    # 20 old open disputes (the demo's backlog) and 3 from the last days.
    invoices = [_demo_invoice(org, customer, i, 15 + 3 * i) for i in range(20)]
    invoices += [_demo_invoice(org, customer, 20 + i, 1 + i) for i in range(3)]
    out = StringIO()
    call_command("import_demo_disputes", "--org", org.slug, stdout=out)
    return {"out": out.getvalue(), "trainings": trainings, "invoices": invoices}


def test_old_demo_disputes_are_settled_and_a_believable_queue_is_left(org, imported):
    demo = Dispute.objects.filter(organization=org, channel=DisputeChannel.DEMO)
    assert demo.count() == 23
    now = timezone.now()
    active = demo.filter(status__in=ACTIVE_STATUSES)
    old_active = active.filter(opened_at__lt=now - dt.timedelta(days=services.DEMO_OPEN_DAYS))
    # The recent three and the four most recent old ones stay open: a queue, not a backlog.
    assert old_active.count() == services.DEMO_KEEP_BREACHED
    assert active.count() == 3 + services.DEMO_KEEP_BREACHED
    assert set(old_active.values_list("invoice__number", flat=True)) == {
        f"DEMO-{i:03d}" for i in range(4)
    }
    assert "demo backlog settled" in imported["out"]
    # Settled ones are resolved or rejected, back-dated inside their history.
    settled = demo.filter(resolution_note__startswith="Settled") | demo.exclude(rejection_reason="")
    assert settled.count() == 16
    assert demo.filter(status=DisputeStatus.REJECTED).exists()
    for dispute in settled:
        assert dispute.status in (DisputeStatus.RESOLVED, DisputeStatus.REJECTED)
        assert dispute.opened_at <= dispute.resolved_at <= now
        assert dispute.events.filter(action__in=["resolve", "reject"]).exists()
        invoice = dispute.invoice
        invoice.refresh_from_db()
        assert invoice.disputed is False  # the last open one closed: the flag cleared
    # Credit resolutions went through the ledger (no payments here: balance = total - credits).
    credited = InvoiceCredit.objects.filter(
        organization=org, reference__startswith="dispute:"
    ).select_related("invoice")
    assert credited.exists()
    for credit in credited:
        invoice = credit.invoice
        credits = invoice.credits.aggregate(s=Sum("amount"))["s"] or Decimal(0)
        assert credits == Decimal("120.00")
        assert invoice.balance == invoice.total - credits
    # The demo's ground truth chose the settlement, never a confirmed label.
    assert not demo.exclude(category="").exists()


def test_demo_disputes_are_classified_at_once_by_the_baseline(org, imported, client, owner):
    assert imported["trainings"] == [1]  # and the BERT model trains in the background
    demo = Dispute.objects.filter(organization=org, channel=DisputeChannel.DEMO)
    assert not demo.filter(classified_at__isnull=True).exists()
    assert set(demo.values_list("model_version", flat=True)) == {BASELINE_VERSION}
    for dispute in demo[:20]:
        assert dispute.predicted_category in DISPUTE_LABELS
        assert len(dispute.top3) == 3 and 0 < dispute.confidence <= 1
    # The trained model re-classifies exactly these (unconfirmed) ones later.
    assert set(classification.baseline_classified_ids()) == set(demo.values_list("pk", flat=True))
    client.force_login(owner)
    body = client.get(reverse("dispute-queue")).content.decode()
    assert 'id="baseline-note"' in body and "BERT model is still training" in body


def test_a_second_run_imports_and_settles_nothing(org, imported):
    before = list(Dispute.objects.filter(organization=org).values_list("pk", "status"))
    out = StringIO()
    call_command("import_demo_disputes", "--org", org.slug, stdout=out)
    assert "0 demo disputes imported" in out.getvalue()
    assert "settled" not in out.getvalue()
    assert list(Dispute.objects.filter(organization=org).values_list("pk", "status")) == before
