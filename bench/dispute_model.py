"""Dispute classifier speed on this machine: single-message latency and batched throughput.

Run: ``.venv/bin/python -m bench.dispute_model``. Uses the active shared dispute model when
one is registered (MODEL_DIR + DATABASE_URL), else the same architecture freshly built from
the base package (speed does not depend on the weights' values). Messages are the starter
corpus's test split. Prints one JSON object on the last line.
"""

from __future__ import annotations

import json
import os
import statistics
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paypredict_project.settings")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _classifier():
    from disputes.classification import active_version, load_classifier

    try:
        version = active_version(None)
    except Exception:  # no database reachable: measure the architecture alone
        version = None
    if version is not None:
        return load_classifier(version), version.version
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from ml.dispute_labels import DISPUTE_LABELS
    from ml.dispute_model import DisputeClassifier, base_model_dir

    base = str(base_model_dir())
    model = AutoModelForSequenceClassification.from_pretrained(
        base, local_files_only=True, num_labels=len(DISPUTE_LABELS)
    )
    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
    return DisputeClassifier(model=model, tokenizer=tokenizer), "untrained head (architecture)"


def main() -> None:
    import django
    import torch

    django.setup()

    from disputes.classification import starter_corpus
    from ml.dispute_model import fixed_split

    torch.set_num_threads(2)
    classifier, version = _classifier()
    corpus = starter_corpus()
    split = fixed_split(corpus.texts, corpus.labels)
    texts = [corpus.texts[i] for i in split.test]
    classifier.predict(texts[:8])  # warm-up
    single = []
    for text in texts[:100]:
        started = time.perf_counter()
        classifier.predict([text])
        single.append((time.perf_counter() - started) * 1000)
    batch = texts * 3
    started = time.perf_counter()
    classifier.predict(batch, batch_size=64)
    elapsed = time.perf_counter() - started
    result = {
        "model": version,
        "messages": len(batch),
        "single_ms_median": round(statistics.median(single), 1),
        "single_ms_p95": round(sorted(single)[int(len(single) * 0.95) - 1], 1),
        "batched_messages_per_s": round(len(batch) / elapsed, 1),
        "threads": torch.get_num_threads(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(
        f"single message: median {result['single_ms_median']} ms, p95 {result['single_ms_p95']} "
        f"ms; batched: {result['batched_messages_per_s']} messages/s ({version})"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
