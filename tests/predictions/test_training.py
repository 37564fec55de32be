"""Training edge: ledger_frames over real PostgreSQL, the train/evaluate commands, the
registry's promotion rule and artifact checksums."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from io import StringIO

import numpy as np
import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from invoices.models import ExchangeRate, Invoice, InvoiceStatus, Payment, PaymentStatus
from ml import registry
from ml.models import ModelStatus, ModelVersion
from ml.payment_model import PaymentModel
from predictions.selectors import ledger_frames
from predictions.services.training import payment_model_train
from tests.factories import CustomerFactory, InvoiceFactory, PaymentFactory

TODAY = dt.date(2026, 6, 30)


@pytest.fixture(autouse=True)
def _model_dir(settings, tmp_path):
    settings.MODEL_DIR = tmp_path / "models"
    registry.clear_cache()


def seed_ledger(org, *, customers=24, per_customer=14, seed=0):
    """A small learnable ledger: each customer has its own typical delay."""
    rng = np.random.default_rng(seed)
    custs = [CustomerFactory(organization=org) for _ in range(customers)]
    rows = []
    start = dt.date(2025, 1, 1)
    n = 0
    for c_i, customer in enumerate(custs):
        delay = [-12, -3, 0, 8, 25][c_i % 5]
        for k in range(per_customer):
            issue = start + dt.timedelta(days=int(k * 25 + rng.integers(0, 20)))
            due = issue + dt.timedelta(days=30)
            pay = due + dt.timedelta(days=int(delay + rng.normal(0, 4)))
            pay = max(pay, issue)
            n += 1
            paid = pay <= TODAY
            rows.append(
                Invoice(
                    organization=org,
                    customer=customer,
                    number=f"T-{n:05d}",
                    issue_date=issue,
                    due_date=due,
                    currency="USD",
                    total=Decimal("500.00") + Decimal(int(rng.integers(0, 500))),
                    subtotal=Decimal("0"),
                    balance=Decimal("0") if paid else Decimal("100.00"),
                    status=InvoiceStatus.PAID if paid else InvoiceStatus.OPEN,
                    paid_date=pay if paid else None,
                )
            )
    for r in rows:
        if r.status == InvoiceStatus.OPEN:
            r.balance = r.total
    Invoice.objects.bulk_create(rows)
    return custs


# One AFT configuration keeps the DB tests fast; the tuning grid is covered in tests/ml.
FAST = {"distributions": ["normal"], "sigmas": [0.7], "max_rounds": 300}


def _train(org, **kw):
    return payment_model_train(organization=org, as_of=TODAY, params=FAST, **kw)


def test_it_loads_ledger_frames_in_base_currency(org):
    customer = CustomerFactory(organization=org, currency="EUR")
    ExchangeRate.objects.create(
        organization=org, currency="EUR", date=dt.date(2026, 1, 1), rate=Decimal("1.10")
    )
    ExchangeRate.objects.create(
        organization=org, currency="EUR", date=dt.date(2026, 3, 1), rate=Decimal("1.20")
    )
    eur = InvoiceFactory(
        customer=customer,
        currency="EUR",
        total=Decimal("100.00"),
        issue_date=dt.date(2026, 2, 10),
        status=InvoiceStatus.PAID,
        balance=Decimal("0"),
        paid_date=dt.date(2026, 3, 5),
        disputed=True,
        attributes={"paperless_bill": "Electronic"},
    )
    usd = InvoiceFactory(customer=CustomerFactory(organization=org), total=Decimal("250.00"))
    gbp = InvoiceFactory(customer=CustomerFactory(organization=org, currency="GBP"))
    InvoiceFactory(customer=customer, status=InvoiceStatus.VOID)
    InvoiceFactory(customer=customer, status=InvoiceStatus.DRAFT)
    off = InvoiceFactory(
        customer=CustomerFactory(organization=org), status=InvoiceStatus.WRITTEN_OFF
    )
    InvoiceFactory(customer=CustomerFactory(organization=CustomerFactory().organization))
    PaymentFactory(
        customer=customer,
        currency="EUR",
        amount=Decimal("50.00"),
        status=PaymentStatus.FAILED,
        received_at=dt.datetime(2026, 3, 2, 23, 30, tzinfo=dt.UTC),
    )

    invoices, payments = ledger_frames(organization=org)

    by_id = invoices.set_index("invoice_id")
    assert set(by_id.index) == {eur.id, usd.id, gbp.id, off.id}
    # 2026-02-10 uses the latest rate on or before it (1.10), not the later 1.20
    assert by_id.loc[eur.id, "amount"] == pytest.approx(110.0)
    assert by_id.loc[usd.id, "amount"] == pytest.approx(250.0)
    assert np.isnan(by_id.loc[gbp.id, "amount"])  # no GBP rate: unknown, never mixed
    assert by_id.loc[eur.id, "paid_date"] == np.datetime64("2026-03-05")
    assert by_id.loc[eur.id, "disputed"]
    assert by_id.loc[eur.id, "attributes"] == {"paperless_bill": "Electronic"}
    assert pd.isna(by_id.loc[off.id, "paid_date"])  # written off: censored, never "paid"
    assert str(invoices["issue_date"].dtype) == "datetime64[ns]"
    assert len(payments) == 1
    assert payments.iloc[0]["status"] == "failed"
    assert payments.iloc[0]["amount"] == pytest.approx(60.0)  # 1.20 on 2026-03-02


def test_it_trains_registers_and_promotes_the_first_model(org):
    seed_ledger(org)

    version = _train(org)

    assert version.status == ModelStatus.ACTIVE
    assert version.promotion["decision"] == "promoted"
    assert version.promotion["reason"] == "no active model"
    assert set(version.metrics["baselines"]) == {
        "majority",
        "customer_history",
        "due_date",
        "logistic",
        "linear",
    }
    assert len(version.metrics["calibration"]) == 10
    assert version.rows["train"] + version.rows["test"] == 24 * 14
    assert version.metrics["model"]["roc_auc"] > 0.8
    assert registry.get_active(org) == version
    model = registry.load_active_model(org)
    assert isinstance(model, PaymentModel)
    assert model.feature_columns == version.feature_list


def test_it_keeps_the_active_model_when_the_candidate_is_not_better(org):
    seed_ledger(org)
    first = _train(org)
    # Pretend the active model was excellent: the new candidate cannot beat it.
    first.metrics["model"] = {"roc_auc": 0.999, "brier": 0.001, "mae_days": 0.1, "coverage_80": 0.8}
    first.save(update_fields=["metrics"])

    second = _train(org)

    assert second.status == ModelStatus.CANDIDATE
    assert second.promotion["decision"] == "rejected"
    assert "worse than the active model" in second.promotion["reason"]
    assert second.promotion["active"]["version"] == first.version
    assert second.promotion["active"]["metrics"]["roc_auc"] == 0.999
    assert ModelVersion.objects.filter(organization=org, status="active").count() == 1
    first.refresh_from_db()
    assert first.status == ModelStatus.ACTIVE
    assert second.version.endswith("-2") and first.version.endswith("-1")


def test_it_promotes_a_better_candidate_and_retires_the_old_one(org):
    seed_ledger(org)
    first = _train(org)
    first.metrics["model"] = {"roc_auc": 0.5, "brier": 0.3, "mae_days": 30.0, "coverage_80": 0.2}
    first.save(update_fields=["metrics"])

    second = _train(org)

    first.refresh_from_db()
    assert second.status == ModelStatus.ACTIVE
    assert first.status == ModelStatus.RETIRED
    assert second.promotion["decision"] == "promoted"
    assert ModelVersion.objects.filter(organization=org, status="active").count() == 1


def test_it_refuses_a_tampered_artifact(org):
    seed_ledger(org)
    version = _train(org)
    path = registry.artifact_full_path(version)
    path.write_text(path.read_text().replace('"', "'", 1))
    registry.clear_cache()

    with pytest.raises(registry.ArtifactChecksumError):
        registry.load_active_model(org)


def test_it_prints_the_evaluation_as_json_on_the_last_line(org, monkeypatch):
    seed_ledger(org)
    out = StringIO()

    call_command("evaluate_payment_model", "--org", org.slug, "--test-fraction", "0.3", stdout=out)

    lines = out.getvalue().strip().splitlines()
    report = json.loads(lines[-1])
    assert set(report["rows"]) == {"train", "test"}
    assert report["rows"]["test"] >= 0.25 * 24 * 14
    assert set(report["model"]) == {"roc_auc", "brier", "mae_days", "coverage_80"}
    assert set(report["baselines"]) == {
        "majority",
        "customer_history",
        "due_date",
        "logistic",
        "linear",
    }
    assert report["baselines"]["logistic"]["mae_days"] is None
    assert report["baselines"]["linear"]["mae_days"] > 0
    assert report["baselines"]["linear"]["roc_auc"] is None
    assert set(report["cold_start"]) == {"rows", "paid", "model"}
    assert report["baselines"]["due_date"]["brier"] is not None
    assert any(line.startswith("customer_history") for line in lines)


def test_it_trains_from_the_command_and_prints_the_decision(org):
    seed_ledger(org)
    out = StringIO()

    call_command("train_payment_model", "--org", org.slug, stdout=out)

    assert "promoted: no active model" in out.getvalue()
    assert ModelVersion.objects.get(organization=org).status == ModelStatus.ACTIVE


def test_it_fails_clearly_for_an_unknown_org(db):
    with pytest.raises(CommandError, match="no organization with slug 'nope'"):
        call_command("evaluate_payment_model", "--org", "nope")
    with pytest.raises(CommandError, match="no organization with slug 'nope'"):
        call_command("train_payment_model", "--org", "nope")


def test_it_says_how_many_paid_invoices_are_missing(org):
    customer = CustomerFactory(organization=org)
    for k in range(3):
        InvoiceFactory(
            customer=customer,
            status=InvoiceStatus.PAID,
            balance=Decimal("0"),
            paid_date=dt.date(2026, 2, 1) + dt.timedelta(days=k),
        )

    with pytest.raises(CommandError, match=r"only 3 paid invoices.*at least 50 are needed"):
        call_command("train_payment_model", "--org", org.slug)
    assert not ModelVersion.objects.exists()


def test_it_uses_failed_payments_only_from_before_the_issue_date(org):
    customer = CustomerFactory(organization=org)
    inv = InvoiceFactory(customer=customer, issue_date=dt.date(2026, 3, 1))
    PaymentFactory(
        customer=customer,
        status=PaymentStatus.FAILED,
        received_at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC),
    )
    PaymentFactory(
        customer=customer,
        status=PaymentStatus.FAILED,
        received_at=dt.datetime(2026, 3, 15, tzinfo=dt.UTC),
    )
    from ml.features import features_at_issue

    invoices, payments = ledger_frames(organization=org)
    X = features_at_issue(invoices, payments)
    assert X.loc[inv.id, "failed_payments"] == 1
    assert Payment.objects.filter(organization=org).count() == 2
