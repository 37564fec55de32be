"""A small ledger with learnable behaviour and a tiny payment model trained on it.

Three kinds of customers (prompt, slow, erratic) each with a year of paid invoices and a
few open ones; the model is fitted with h5ml's ``PaymentModel.fit`` on the ledger's own
point-in-time features and registered as the organization's active version, with
``MODEL_DIR`` in a temporary folder.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest
from django.utils import timezone

from invoices.models import Customer, Invoice, InvoiceStatus
from ml.features import features_at_issue, training_labels
from ml.payment_model import PaymentModel
from ml.registry import promote_if_better, register_candidate
from predictions.selectors import ledger_frames

TODAY = dt.date(2026, 11, 26)
TINY_PARAMS = {
    "distributions": ["normal"],
    "sigmas": [0.5],
    "learning_rate": 0.3,
    "max_depth": 3,
    "min_child_weight": 0.1,
    "max_rounds": 60,
    "early_stopping_rounds": 20,
    "calibration": "none",
    "refit_all": False,
    "nthread": 1,
}

# name -> (days late mean, spread)
PROFILES = {"prompt": (-6, 2), "slow": (30, 5), "erratic": (10, 15)}


def build_ledger(organization, *, seed: int = 1, per_customer: int = 30, open_per_customer=3):
    rng = np.random.default_rng(seed)
    customers = {}
    invoices = []
    n = 0
    for name, (late_mean, spread) in PROFILES.items():
        for k in range(2):
            customer = Customer.objects.create(
                organization=organization, name=f"{name.title()} {k}", payment_terms_days=30
            )
            customers[f"{name}{k}"] = customer
            for i in range(per_customer):
                issue = TODAY - dt.timedelta(days=400 - i * 9 - int(rng.integers(0, 5)))
                due = issue + dt.timedelta(days=30)
                late = int(np.rint(rng.normal(late_mean, spread)))
                paid = due + dt.timedelta(days=late)
                if paid < issue:
                    paid = issue
                total = Decimal(str(round(float(rng.uniform(500, 3000)), 2)))
                n += 1
                common = dict(
                    organization=organization,
                    customer=customer,
                    number=f"T-{n:05d}",
                    issue_date=issue,
                    due_date=due,
                    currency="USD",
                    total=total,
                    subtotal=total,
                )
                if paid <= TODAY - dt.timedelta(days=1):
                    invoices.append(
                        Invoice(
                            **common,
                            balance=Decimal("0.00"),
                            status=InvoiceStatus.PAID,
                            paid_date=paid,
                        )
                    )
            for j in range(open_per_customer):
                issue = TODAY - dt.timedelta(days=10 + 15 * j)
                total = Decimal("1000.00") * (j + 1)
                n += 1
                invoices.append(
                    Invoice(
                        organization=organization,
                        customer=customer,
                        number=f"T-{n:05d}",
                        issue_date=issue,
                        due_date=issue + dt.timedelta(days=30),
                        currency="USD",
                        total=total,
                        subtotal=total,
                        balance=total,
                        status=InvoiceStatus.OPEN,
                    )
                )
    Invoice.objects.bulk_create(invoices)
    return customers


def train_active(organization, *, as_of: dt.date = TODAY):
    invoices, payments = ledger_frames(organization=organization)
    features = features_at_issue(invoices, payments)
    labels = training_labels(invoices, as_of)
    model = PaymentModel.fit(features.loc[labels.index], labels, params=TINY_PARAMS, seed=0)
    candidate = register_candidate(
        organization=organization,
        model=model,
        metrics={"model": {"roc_auc": 0.8, "brier": 0.15, "mae_days": 6.0}},
        rows={"train": len(labels), "test": 0},
    )
    promote_if_better(candidate)
    candidate.refresh_from_db()
    return candidate


@pytest.fixture
def model_dir(settings, tmp_path):
    settings.MODEL_DIR = tmp_path / "models"
    return settings.MODEL_DIR


@pytest.fixture
def frozen_today(monkeypatch):
    """Pin "today" so ages and due dates in the fixtures mean the same thing every day."""
    fixed = timezone.make_aware(dt.datetime(2026, 11, 26, 12, 0), dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: fixed)
    return TODAY


@pytest.fixture
def ledger(org, frozen_today):
    return build_ledger(org)


@pytest.fixture
def active_model(org, ledger, model_dir):
    return train_active(org)


@pytest.fixture
def scheduled(monkeypatch, org):
    """Records the debounced task's scheduling (the Celery broker is the boundary here;
    the debounce state itself lives in the real Redis). Keys are per test prefix and org id,
    and both repeat across runs, so a previous run's flag (TTL 2 min) is cleared first."""
    from predictions import tasks
    from predictions.services import rescoring

    rescoring.rescore_pending_clear(organization_id=org.pk)
    calls = []
    monkeypatch.setattr(
        tasks.rescore_pending_task,
        "apply_async",
        lambda args=None, countdown=None, **kw: calls.append((tuple(args), countdown)),
    )
    return calls


# --- payment risk: a small demo ledger with planted anomalies, and an active detector
RISK_AS_OF = dt.date(2026, 11, 26)


@pytest.fixture
def risk_ledger(org, model_dir):
    from invoices.services.demo import demo_seed

    demo_seed(organization=org, customers=25, invoices=2500, seed=4, as_of=RISK_AS_OF)
    return org


@pytest.fixture
def risk_model(risk_ledger):
    from predictions.payment_risk.services import payment_risk_score_all, payment_risk_train

    version = payment_risk_train(organization=risk_ledger)
    payment_risk_score_all(organization=risk_ledger)
    return version
