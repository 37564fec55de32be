"""Training and inference of the dispute classifier for the disputes app.

``ml.dispute_model`` is pure (texts in, probabilities out); this module loads the data
(the starter corpus in the repo, an organization's staff-confirmed labels), registers
versions in the shared registry (kind ``dispute``) and stores predictions on disputes.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db.models import Q

from disputes import services
from disputes.models import BASELINE_VERSION, Dispute, DisputeChannel
from ml.dispute_labels import DISPUTE_LABELS
from ml.models import ModelKind, ModelStatus, ModelVersion
from paypredict_project.tenancy.models import Organization

STARTER_CORPUS = Path(__file__).resolve().parent / "data" / "starter_corpus.csv"
# An organization's own model is worth training once staff have confirmed this many labels
# beyond those its active model already saw.
MIN_NEW_CONFIRMATIONS = 20
CLASSIFY_BATCH = 64


class CorpusError(ValueError):
    """A labelled CSV that cannot be used; the message names the row."""


@dataclass
class LabelledRows:
    texts: list[str]
    labels: list[str]


def read_labelled_csv(data: bytes, name: str = "file") -> LabelledRows:
    """Parse a text,label CSV strictly: UTF-8, both columns, known labels, no empty text.
    Row numbers in errors count the header as row 1, like a spreadsheet."""
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CorpusError(f"{name}: row {line} is not UTF-8 text ({exc.reason})") from None
    reader = csv.DictReader(io.StringIO(content, newline=""))
    missing = {"text", "label"} - set(reader.fieldnames or [])
    if missing:
        raise CorpusError(
            f"{name}: missing column(s) {', '.join(sorted(missing))}; "
            "the header must name text and label"
        )
    rows = LabelledRows([], [])
    for row in reader:
        number = reader.line_num
        text = (row.get("text") or "").strip()
        label = (row.get("label") or "").strip()
        if not text:
            raise CorpusError(f"{name}: row {number} has an empty text")
        if label not in DISPUTE_LABELS:
            raise CorpusError(
                f"{name}: row {number} has unknown label {label!r} "
                f"(expected one of {', '.join(DISPUTE_LABELS)})"
            )
        rows.texts.append(text)
        rows.labels.append(label)
    if not rows.texts:
        raise CorpusError(f"{name}: no rows")
    return rows


def starter_corpus() -> LabelledRows:
    return read_labelled_csv(STARTER_CORPUS.read_bytes(), STARTER_CORPUS.name)


def confirmed_labels(organization: Organization) -> LabelledRows:
    """Staff-confirmed categories of an organization (never the demo ground truth)."""
    rows = Dispute.objects.filter(organization=organization).exclude(category="")
    pairs = list(rows.values_list("text", "category"))
    return LabelledRows([t for t, _ in pairs], [c for _, c in pairs])


def active_version(organization: Organization | None) -> ModelVersion | None:
    """The organization's own active dispute model, else the shared base model."""
    base = ModelVersion.objects.filter(kind=ModelKind.DISPUTE, status=ModelStatus.ACTIVE)
    if organization is not None:
        own = base.filter(organization=organization).first()
        if own is not None:
            return own
    return base.filter(organization__isnull=True).first()


def dispute_model_train(
    *,
    organization: Organization | None = None,
    config: Any = None,
    corpus: LabelledRows | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> tuple[ModelVersion, dict[str, Any]]:
    """Train a candidate (shared base without an organization; else starter corpus plus the
    organization's confirmed labels), register it and promote it if it beats the active one
    on the held-out split. Returns the version and the promotion decision."""
    from ml import registry
    from ml.dispute_model import TrainConfig, fixed_split, train_and_evaluate

    data = corpus or starter_corpus()
    texts, labels = list(data.texts), list(data.labels)
    extra = 0
    if organization is not None:
        own = confirmed_labels(organization)
        texts += own.texts
        labels += own.labels
        extra = len(own.texts)
    split = fixed_split(texts, labels)
    result = train_and_evaluate(
        texts, labels, split, config or TrainConfig(), progress=progress, log=log
    )
    result.metrics["confirmed_labels"] = extra
    version = registry.register_candidate(
        organization=organization,
        model=result.classifier,
        metrics=result.metrics,
        rows=result.rows | {"confirmed": extra},
        params=result.classifier.params,
        kind=ModelKind.DISPUTE,
    )
    decision = registry.promote_if_better(version)
    version.refresh_from_db()
    return version, decision


def load_classifier(version: ModelVersion):
    from ml import registry

    return registry.load_model(version)


def classify_disputes(*, dispute_ids: Sequence[int]) -> int:
    """Classify the given disputes in batches, one model per organization."""
    disputes = list(
        Dispute.objects.filter(pk__in=dispute_ids)
        .select_related("organization")
        .order_by("organization_id", "pk")
    )
    done = 0
    by_org: dict[int, list[Dispute]] = {}
    for dispute in disputes:
        by_org.setdefault(dispute.organization_id, []).append(dispute)
    for items in by_org.values():
        version = active_version(items[0].organization)
        if version is None:
            # No BERT model yet (it trains in the background after the first start): the
            # TF-IDF baseline answers at once, and the trained model re-classifies later.
            baseline, threshold = interim_classifier()
            predict, name = baseline.predict_top, BASELINE_VERSION
        else:
            classifier = load_classifier(version)
            predict, name, threshold = classifier.predict, version.version, classifier.threshold
        for start in range(0, len(items), CLASSIFY_BATCH):
            chunk = items[start : start + CLASSIFY_BATCH]
            predictions = predict([_model_text(d) for d in chunk])
            done += services.dispute_record_classifications(
                results=zip(chunk, predictions, strict=True),
                model_version=name,
                threshold=threshold,
            )
    _suggest_for([d for d in disputes if d.channel != DisputeChannel.DEMO])
    return done


@functools.cache
def interim_classifier():
    """The TF-IDF baseline on the starter corpus, trained once per process (a few seconds)."""
    from ml.dispute_model import interim_baseline

    corpus = starter_corpus()
    return interim_baseline(list(corpus.texts), list(corpus.labels))


def baseline_classified_ids() -> list[int]:
    """Disputes the stand-in baseline classified and staff have not confirmed: the trained
    model classifies them again."""
    rows = Dispute.objects.filter(model_version=BASELINE_VERSION, category="")
    return list(rows.values_list("pk", flat=True))


def _suggest_for(disputes: list[Dispute]) -> None:
    """Draft the suggestion (rules, plus the LLM when configured) for new live disputes;
    demo history is not sent to an LLM in bulk."""
    from disputes.suggestions import suggest

    for dispute in disputes:
        dispute.refresh_from_db()
        if dispute.invoice_id is not None and dispute.is_active:
            services.dispute_store_suggestion(dispute=dispute, suggestion=suggest(dispute))


def _model_text(dispute: Dispute) -> str:
    return f"{dispute.subject}\n{dispute.text}".strip() if dispute.subject else dispute.text


def unclassified_ids(organization: Organization | None = None) -> list[int]:
    query = Dispute.objects.filter(Q(classified_at__isnull=True))
    if organization is not None:
        query = query.filter(organization=organization)
    return list(query.values_list("pk", flat=True))


def needs_retraining(organization: Organization) -> bool:
    own = (
        ModelVersion.objects.filter(
            organization=organization, kind=ModelKind.DISPUTE, status=ModelStatus.ACTIVE
        )
        .values_list("rows", flat=True)
        .first()
    )
    seen = (own or {}).get("confirmed", 0)
    confirmed = Dispute.objects.filter(organization=organization).exclude(category="").count()
    return confirmed - seen >= MIN_NEW_CONFIRMATIONS


def dispute_model_evaluate(
    *,
    rows: LabelledRows,
    organization: Organization | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Evaluate the active model (training the base model first when none exists) on
    labelled rows, beside the TF-IDF baseline trained on the same training split."""
    import numpy as np

    from ml.dispute_model import BaselineClassifier, classification_metrics, fixed_split

    version = active_version(organization)
    if version is None:
        if log:
            log("no active dispute model: training the base model from the starter corpus")
        dispute_model_train(progress=True, log=log)
        version = active_version(organization)
    classifier = load_classifier(version)
    predictions = classifier.predict(rows.texts)
    metrics = classification_metrics(
        rows.labels,
        [p.label for p in predictions],
        np.array([p.confidence for p in predictions]),
        classifier.threshold,
    )
    corpus = starter_corpus()
    split = fixed_split(corpus.texts, corpus.labels)
    baseline = BaselineClassifier().fit(
        [corpus.texts[i] for i in split.train], [corpus.labels[i] for i in split.train]
    )
    baseline_metrics = classification_metrics(rows.labels, baseline.predict(rows.texts))
    return {
        "accuracy": metrics["accuracy"],
        "macro_f1": metrics["macro_f1"],
        "per_class": metrics["per_class"],
        "confusion": metrics["confusion"],
        "auto_routed_share": metrics["auto_routed_share"],
        "auto_routed_precision": metrics["auto_routed_precision"],
        "baseline_macro_f1": baseline_metrics["macro_f1"],
        "model_version": version.version,
    }
