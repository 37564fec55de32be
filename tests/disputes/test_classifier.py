"""The classifier pipeline end to end on a tiny subset (a few fine-tuning steps): training,
registry, promotion, classification task, evaluation command and its input errors."""

from __future__ import annotations

import json
from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from disputes import classification, services
from disputes.models import Dispute
from ml.dispute_labels import DISPUTE_LABELS
from ml.dispute_model import TrainConfig, choose_threshold, fixed_split
from ml.models import ModelStatus
from tests.factories import CustomerFactory, InvoiceFactory

TINY = TrainConfig(epochs=1, batch_size=8, max_steps=2, max_length=32)


@pytest.fixture(autouse=True)
def _model_dir(settings, tmp_path):
    settings.MODEL_DIR = str(tmp_path)


def tiny_corpus(per_label: int = 4) -> classification.LabelledRows:
    corpus = classification.starter_corpus()
    texts, labels, seen = [], [], {}
    for text, label in zip(corpus.texts, corpus.labels, strict=True):
        if seen.get(label, 0) < per_label:
            seen[label] = seen.get(label, 0) + 1
            texts.append(text)
            labels.append(label)
    return classification.LabelledRows(texts, labels)


def test_starter_corpus_has_100_messages_per_label():
    corpus = classification.starter_corpus()
    counts = {label: corpus.labels.count(label) for label in DISPUTE_LABELS}
    assert min(counts.values()) >= 100, counts
    assert len(set(corpus.texts)) == len(corpus.texts)


def test_fixed_split_is_stratified_and_stable():
    corpus = classification.starter_corpus()
    split = fixed_split(corpus.texts, corpus.labels)
    again = fixed_split(list(reversed(corpus.texts)), list(reversed(corpus.labels)))
    test_texts = {corpus.texts[i] for i in split.test}
    assert test_texts == {list(reversed(corpus.texts))[i] for i in again.test}
    assert not test_texts & {corpus.texts[i] for i in split.train}
    for label in DISPUTE_LABELS:
        n = corpus.labels.count(label)
        in_test = sum(1 for i in split.test if corpus.labels[i] == label)
        assert in_test == round(n * 0.2)


def test_threshold_is_lowest_cut_with_target_precision():
    confidence = np.array([0.99, 0.95, 0.9, 0.8, 0.6, 0.5])
    correct = np.array([1, 1, 1, 1, 0, 1])
    # Top 4 are all right (precision 1.0); adding 0.6 makes 4/5 = 0.8 < 0.95.
    assert choose_threshold(confidence, correct, 0.95) == 0.8
    assert choose_threshold(confidence, np.zeros(6), 0.95) == 1.0


def test_malformed_csv_errors_name_the_row(tmp_path):
    cases = {
        b"body,label\nhello,pricing_error\n": "missing column\\(s\\) text",
        b"text,label\nhello,pricing_error\n,already_paid\n": "row 3 has an empty text",
        b"text,label\nhello,angry\n": "row 2 has unknown label 'angry'",
        b"text,label\nok,pricing_error\ncaf\xe9,already_paid\n": "row 3 is not UTF-8",
    }
    for content, message in cases.items():
        path = tmp_path / "bad.csv"
        path.write_bytes(content)
        with pytest.raises(CommandError, match=message):
            call_command("evaluate_dispute_model", str(path), stdout=StringIO())


@pytest.mark.django_db
def test_train_register_classify_and_evaluate(
    org, tmp_path, django_capture_on_commit_callbacks, eager_celery
):
    version, decision = classification.dispute_model_train(
        config=TINY, corpus=tiny_corpus(), progress=False
    )
    assert version.organization is None
    assert version.kind == "dispute"
    assert decision["decision"] == "promoted"
    assert version.status == ModelStatus.ACTIVE
    for key in ("model", "baselines", "macro_f1_over_baseline", "validation"):
        assert key in version.metrics
    assert classification.active_version(org) == version

    invoice = InvoiceFactory(customer=CustomerFactory(organization=org))
    with django_capture_on_commit_callbacks(execute=True):
        dispute = services.dispute_open(
            organization=org, invoice=invoice, text="We were billed twice for this order."
        )
    dispute.refresh_from_db()
    assert dispute.predicted_category in DISPUTE_LABELS
    assert len(dispute.top3) == 3
    assert dispute.model_version == version.version
    assert dispute.events.filter(action="classify").exists()

    path = tmp_path / "eval.csv"
    path.write_text("text,label\nwe paid already by wire,already_paid\nwrong VAT,tax_or_fees\n")
    out = StringIO()
    call_command("evaluate_dispute_model", str(path), "--org", org.slug, stdout=out)
    report = json.loads(out.getvalue().strip().splitlines()[-1])
    assert set(report) == {
        "accuracy",
        "macro_f1",
        "per_class",
        "confusion",
        "auto_routed_share",
        "auto_routed_precision",
        "baseline_macro_f1",
        "model_version",
    }
    assert report["model_version"] == version.version
    assert report["per_class"]["already_paid"]["support"] == 1


@pytest.mark.django_db
def test_worse_candidate_is_not_promoted(org):
    first, _ = classification.dispute_model_train(config=TINY, corpus=tiny_corpus(), progress=False)
    first.metrics["model"]["macro_f1"] = 1.0
    first.save(update_fields=["metrics"])
    second, decision = classification.dispute_model_train(
        config=TINY, corpus=tiny_corpus(), progress=False
    )
    assert decision["decision"] == "rejected"
    assert second.status == ModelStatus.CANDIDATE
    assert classification.active_version(org) == first
    assert Dispute.objects.count() == 0
